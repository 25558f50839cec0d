"""Every real corpus converts with `--all` and loses nothing.

For each corpus in tests/corpus/, on a private copy: `uuidpk apply --all --yes`, then
`uuidpk verify` exits 0, and this file checks on its own, with SQL written here and read from the
catalog before the change (never from uuidpk):

- every integer primary key of a single-column primary key table is uuid afterwards, and so is
  every column that references one through a foreign key (transitively): exactly those columns;
- every constraint and index name is still there, foreign keys with the same ON DELETE / ON UPDATE /
  MATCH / DEFERRABLE / INITIALLY DEFERRED / validated flags;
- row counts per table are equal;
- relations, seen through the non-key columns: per foreign key, the multiset of
  (child row, parent row) pairs, and per table the multiset of rows with each foreign key
  replaced by the referenced row, are equal before and after;
- a second `generate --all` finds nothing left to convert.

Plus: the forum keeps its RLS policies, and NetBox's generic relation
extras_taggeditem.object_id is named as a problem by `inspect --all --format json`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pgutil
import psycopg
import pytest
from checks import django_owned
from click.testing import CliRunner
from psycopg import sql

from uuidpk.cli import main as uuidpk_main

pytestmark = pytest.mark.corpus

# Schemas that belong to PostgreSQL, or to uuidpk itself (its fingerprint runs).
USER_SCHEMAS = """
    n.nspname NOT IN ('pg_catalog', 'information_schema', 'uuidpk')
    AND n.nspname NOT LIKE 'pg\\_%%'
"""

Column = tuple[str, str, str]  # schema, table, column
Table = tuple[str, str]


# -- the CLI, in process ------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def describe(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out[-4000:]}\n--- stderr\n{self.err[-4000:]}"


def uuidpk(*args: str) -> Run:
    result = CliRunner().invoke(
        uuidpk_main, list(args), env={"DATABASE_URL": None, "UUIDPK_KEY": None}
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def apply_flags() -> set[str]:
    return {opt for param in uuidpk_main.commands["apply"].params for opt in param.opts}


def apply_all(dsn: str) -> Run:
    """`apply --all --yes`, accepting the warnings (functions that use the old type, soft
    references) when the CLI has the flag for it: the corpora have both, and the point here is
    that the declared relations survive."""
    # --no-generic: generic relations are found and converted by themselves in a Django
    # database (test_django.py); here the closures are the foreign keys' alone.
    args = ["apply", "--dsn", dsn, "--all", "--yes", "--no-generic"]
    if "--accept-risks" in apply_flags():
        args.append("--accept-risks")
    return uuidpk(*args)


# -- the catalog, read without uuidpk -----------------------------------------------------------


def integer_keys(conn: psycopg.Connection) -> set[Column]:
    """Columns that are the whole primary key of their table and smallint/integer/bigint."""
    rows = conn.execute(
        f"""SELECT n.nspname, c.relname, a.attname
              FROM pg_constraint k
              JOIN pg_class c ON c.oid = k.conrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
             WHERE k.contype = 'p' AND cardinality(k.conkey) = 1
               AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
               AND {USER_SCHEMAS}"""
    ).fetchall()
    return {(r[0], r[1], r[2]) for r in rows}


@dataclass(frozen=True)
class ForeignKey:
    name: str
    table: Table
    columns: tuple[str, ...]
    ref_table: Table
    ref_columns: tuple[str, ...]
    flags: tuple[Any, ...]  # on update, on delete, match, deferrable, deferred, validated
    inherited: bool  # a copy PostgreSQL made on a partition (conparentid <> 0)


def foreign_keys(conn: psycopg.Connection) -> list[ForeignKey]:
    rows = conn.execute(
        f"""SELECT k.conname, n.nspname, c.relname,
                   (SELECT array_agg(a.attname ORDER BY u.i)
                      FROM unnest(k.conkey) WITH ORDINALITY u(num, i)
                      JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.num),
                   rn.nspname, rc.relname,
                   (SELECT array_agg(a.attname ORDER BY u.i)
                      FROM unnest(k.confkey) WITH ORDINALITY u(num, i)
                      JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.num),
                   k.confupdtype, k.confdeltype, k.confmatchtype, k.condeferrable,
                   k.condeferred, k.convalidated, k.conparentid <> 0
              FROM pg_constraint k
              JOIN pg_class c ON c.oid = k.conrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_class rc ON rc.oid = k.confrelid
              JOIN pg_namespace rn ON rn.oid = rc.relnamespace
             WHERE k.contype = 'f' AND {USER_SCHEMAS}
             ORDER BY 2, 3, 1"""
    ).fetchall()
    return [
        ForeignKey(
            name=r[0],
            table=(r[1], r[2]),
            columns=tuple(r[3]),
            ref_table=(r[4], r[5]),
            ref_columns=tuple(r[6]),
            flags=tuple(r[7:13]),
            inherited=bool(r[13]),
        )
        for r in rows
    ]


def expected_closure(keys: set[Column], fks: list[ForeignKey]) -> set[Column]:
    """The integer keys and every column that references one of them, transitively (a column
    that references a converted column is converted, whatever it is itself)."""
    edges = [
        ((*fk.table, child), (*fk.ref_table, parent))
        for fk in fks
        for child, parent in zip(fk.columns, fk.ref_columns, strict=True)
    ]
    closure = set(keys)
    while True:
        more = {child for child, parent in edges if parent in closure and child not in closure}
        if not more:
            return closure
        closure |= more


def column_facts(conn: psycopg.Connection) -> dict[Column, tuple[str, str, str | None]]:
    """(type, identity, default) of every column of every user table."""
    rows = conn.execute(
        f"""SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                   a.attidentity, pg_get_expr(d.adbin, d.adrelid)
              FROM pg_attribute a
              JOIN pg_class c ON c.oid = a.attrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p')
               AND {USER_SCHEMAS}"""
    ).fetchall()
    return {(r[0], r[1], r[2]): (r[3], r[4], r[5]) for r in rows}


def constraint_names(conn: psycopg.Connection) -> set[tuple[str, str, str, str]]:
    """Every constraint and index, by table and name, with its kind."""
    rows = conn.execute(
        f"""SELECT n.nspname, c.relname, k.conname, k.contype::text
              FROM pg_constraint k
              JOIN pg_class c ON c.oid = k.conrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE {USER_SCHEMAS}
            UNION ALL
            SELECT n.nspname, c.relname, i.relname, 'index'
              FROM pg_index x
              JOIN pg_class i ON i.oid = x.indexrelid
              JOIN pg_class c ON c.oid = x.indrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE {USER_SCHEMAS}"""
    ).fetchall()
    return {(r[0], r[1], r[2], r[3]) for r in rows}


def tables(conn: psycopg.Connection) -> list[tuple[Table, str]]:
    """Every user table, partitions included, with its relkind ('r' or 'p')."""
    rows = conn.execute(
        f"""SELECT n.nspname, c.relname, c.relkind::text
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p') AND {USER_SCHEMAS}
             ORDER BY 1, 2"""
    ).fetchall()
    return [((r[0], r[1]), r[2]) for r in rows]


def policies(conn: psycopg.Connection) -> dict[tuple[str, str, str], dict[str, Any]]:
    rows = conn.execute(
        f"""SELECT n.nspname, c.relname, p.polname, p.polcmd::text, p.polpermissive,
                   ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE r::regrole::text END
                           FROM unnest(p.polroles) r ORDER BY 1),
                   pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid),
                   c.relrowsecurity
              FROM pg_policy p
              JOIN pg_class c ON c.oid = p.polrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE {USER_SCHEMAS}"""
    ).fetchall()
    return {
        (r[0], r[1], r[2]): {
            "cmd": r[3],
            "permissive": r[4],
            "roles": list(r[5]),
            "using": r[6],
            "check": r[7],
            "rls": r[8],
        }
        for r in rows
    }


# -- data, seen through the columns a conversion keeps ------------------------------------------


def _without_keys(alias: str, hidden: list[str]) -> sql.Composable:
    """The row's text as jsonb, minus the converted columns (their values are new)."""
    return sql.SQL("(to_jsonb({}) - {}::text[])::text").format(
        sql.Identifier(alias), sql.Literal(hidden)
    )


def _join(fk: ForeignKey, child: str, parent: str) -> sql.Composable:
    return sql.SQL(" AND ").join(
        sql.SQL("{} = {}").format(sql.Identifier(child, c), sql.Identifier(parent, p))
        for c, p in zip(fk.columns, fk.ref_columns, strict=True)
    )


def _multiset(expression: sql.Composable) -> sql.Composable:
    """An order-independent hash of the multiset of `expression` over the rows aggregated."""
    return sql.SQL("md5(coalesce(string_agg(md5({0}), ',' ORDER BY md5({0})), ''))").format(
        expression
    )


@dataclass(frozen=True)
class Snapshot:
    counts: dict[Table, int]
    pairs: dict[tuple[Table, str], str]  # per foreign key
    images: dict[Table, str]  # per table, foreign keys resolved one level


def snapshot(conn: psycopg.Connection, converted: set[Column], fks: list[ForeignKey]) -> Snapshot:
    """Measure the data as the pre-change catalog (`converted`, `fks`) describes it, so that the
    same queries run before and after the change. One scan per table: its rows' kept columns
    (`kept`), and per foreign key declared on it the referenced row's kept columns (`p0`, ...):
    the table's image is each row with its parents, a foreign key's pairs are (kept, p<i>)."""

    def hidden(table: Table) -> list[str]:
        return sorted(c for s, t, c in converted if (s, t) == table)

    # Small queries over many tables: compiling each with JIT costs more than it saves.
    conn.execute("SET jit = off")
    counts: dict[Table, int] = {}
    images: dict[Table, str] = {}
    pairs: dict[tuple[Table, str], str] = {}
    for table, kind in tables(conn):
        own = sorted(
            (fk for fk in fks if fk.table == table and not fk.inherited), key=lambda f: f.name
        )
        kept = sql.Identifier("kept")
        columns: list[sql.Composable] = [
            sql.SQL("{} AS {}").format(_without_keys("t", hidden(table)), kept)
        ]
        joins: list[sql.Composable] = []
        image: list[sql.Composable] = [kept]
        aggregates: list[sql.Composable] = []
        for i, fk in enumerate(own):
            # A hash join on the parent's kept text, computed once per parent row.
            alias = f"p{i}"
            joins.append(
                sql.SQL(" LEFT JOIN (SELECT {}, {} AS kept FROM {} p) {} ON {}").format(
                    sql.SQL(", ").join(sql.Identifier("p", c) for c in fk.ref_columns),
                    _without_keys("p", hidden(fk.ref_table)),
                    sql.Identifier(*fk.ref_table),
                    sql.Identifier(alias),
                    _join(fk, "t", alias),
                )
            )
            columns.append(
                sql.SQL("coalesce({}, 'none') AS {}").format(
                    sql.Identifier(alias, "kept"), sql.Identifier(alias)
                )
            )
            image += [sql.Literal(f"|{fk.name}="), sql.Identifier(alias)]
            aggregates.append(
                _multiset(sql.SQL("concat({}, ' -> ', {})").format(kept, sql.Identifier(alias)))
            )
        # OFFSET 0 keeps the subquery from being flattened, which would compute every row's
        # text once per aggregate that uses it.
        only = sql.SQL("ONLY ") if kind == "r" else sql.SQL("")
        query = sql.SQL("SELECT count(*), {} FROM (SELECT {} FROM {}{} t{} OFFSET 0) s").format(
            sql.SQL(", ").join(
                [_multiset(sql.SQL("concat({})").format(sql.SQL(", ").join(image))), *aggregates]
            ),
            sql.SQL(", ").join(columns),
            only,
            sql.Identifier(*table),
            sql.Composed(joins),
        )
        row = conn.execute(query).fetchone()
        assert row is not None
        counts[table] = row[0]
        images[table] = row[1]
        for fk, value in zip(own, row[2:], strict=True):
            pairs[(table, fk.name)] = value
    return Snapshot(counts, pairs, images)


@dataclass(frozen=True)
class Before:
    keys: set[Column]
    fks: list[ForeignKey]
    converted: set[Column]
    columns: dict[Column, tuple[str, str, str | None]]
    constraints: set[tuple[str, str, str, str]]
    policies: dict[tuple[str, str, str], dict[str, Any]]
    data: Snapshot


def read_before(dsn: str) -> Before:
    with psycopg.connect(dsn, autocommit=True) as conn:
        # In a Django database --all leaves Django's own tables alone (see test_django.py).
        owned = django_owned(conn)
        keys = {k for k in integer_keys(conn) if k[:2] not in owned}
        fks = foreign_keys(conn)
        converted = expected_closure(keys, fks)
        return Before(
            keys=keys,
            fks=fks,
            converted=converted,
            columns=column_facts(conn),
            constraints=constraint_names(conn),
            policies=policies(conn),
            data=snapshot(conn, converted, fks),
        )


def assert_converted_and_intact(dsn: str, before: Before) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        columns = column_facts(conn)
        fks = foreign_keys(conn)
        constraints = constraint_names(conn)
        data = snapshot(conn, before.converted, before.fks)

    # Types: exactly the closure became uuid, with no sequence or identity left on it.
    assert set(columns) == set(before.columns), "columns appeared or disappeared"
    now_uuid = {
        c
        for c, (kind, _, _) in columns.items()
        if kind == "uuid" and before.columns[c][0] != "uuid"
    }
    assert sorted(before.converted - now_uuid) == [], "not converted"
    assert sorted(now_uuid - before.converted) == [], "converted without being in a closure"
    for column in sorted(before.converted):
        _, identity, default = columns[column]
        assert identity == "", f"{column} is still an identity column"
        assert "nextval" not in (default or ""), f"{column} still defaults to {default}"
    for column, facts in before.columns.items():
        if column not in before.converted:
            assert columns[column] == facts, f"{column} changed but is not converted"

    # Names and flags of constraints.
    assert sorted(before.constraints - constraints) == [], "constraints or indexes lost"
    assert sorted(constraints - before.constraints) == [], "constraints or indexes added"
    flags_before = {(fk.table, fk.name): (fk.columns, fk.ref_table, fk.flags) for fk in before.fks}
    flags_after = {(fk.table, fk.name): (fk.columns, fk.ref_table, fk.flags) for fk in fks}
    assert flags_after == flags_before

    # Rows and relations, through the columns that kept their values.
    assert data.counts == before.data.counts
    changed_pairs = sorted(
        k for k in before.data.pairs if data.pairs.get(k) != before.data.pairs[k]
    )
    assert changed_pairs == [], "(child, parent) pairs differ for these foreign keys"
    assert data.pairs.keys() == before.data.pairs.keys()
    changed_images = sorted(
        t for t in before.data.images if data.images.get(t) != before.data.images[t]
    )
    assert changed_images == [], "rows (with their parents) differ in these tables"


def assert_nothing_left(dsn: str) -> None:
    again = uuidpk("generate", "--dsn", dsn, "--all", "--no-generic")  # as apply_all
    assert again.code == 0, again.describe()
    assert not re.search(r"\b(ALTER|UPDATE|DROP)\b", again.out), again.describe()
    assert re.search(r"nothing (left )?to convert", again.err), again.describe()


def problems_in(document: Any) -> Iterator[dict[str, Any]]:
    """Every entry of every "problems" list, wherever the document nests it."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "problems" and isinstance(value, list):
                yield from (p for p in value if isinstance(p, dict))
            else:
                yield from problems_in(value)
    elif isinstance(document, list):
        for item in document:
            yield from problems_in(item)


# -- the tests ----------------------------------------------------------------------------------

CorpusFactory = Callable[[str], str]


@pytest.mark.parametrize("corpus", pgutil.CORPUS_NAMES)
def test_apply_all_converts_every_key_and_loses_nothing(
    corpus_dsn_factory: CorpusFactory, corpus: str
) -> None:
    dsn = corpus_dsn_factory(corpus)
    before = read_before(dsn)
    assert before.keys, f"{corpus} has no integer key: the test would prove nothing"

    applied = apply_all(dsn)
    assert applied.code == 0, applied.describe()
    verified = uuidpk("verify", "--dsn", dsn)
    assert verified.code == 0, verified.describe()

    assert_converted_and_intact(dsn, before)
    assert_nothing_left(dsn)


def test_forum_keeps_its_row_level_security_policies(corpus_dsn_factory: CorpusFactory) -> None:
    dsn = corpus_dsn_factory("forum")
    with psycopg.connect(dsn) as conn:
        before = policies(conn)
    assert len(before) == 7, before
    assert any("::integer" in (p["using"] or "") + (p["check"] or "") for p in before.values())

    applied = apply_all(dsn)
    assert applied.code == 0, applied.describe()
    with psycopg.connect(dsn) as conn:
        after = policies(conn)

    def as_uuid(text: str | None) -> str | None:
        # current_setting('jwt.claims.person_id', true)::integer compared with a converted key
        # now casts to uuid; everything else in the expression stays as it was.
        return None if text is None else text.replace("::integer", "::uuid")

    assert after.keys() == before.keys()
    for name, policy in before.items():
        expected = {**policy, "using": as_uuid(policy["using"]), "check": as_uuid(policy["check"])}
        assert after[name] == expected, name

    # The restored policies still work: a person sees (and may change) only their own rows.
    with psycopg.connect(dsn) as conn:
        person = conn.execute("SELECT id FROM forum_example.person ORDER BY 1 LIMIT 1").fetchone()
        assert person is not None
        conn.execute("SET LOCAL ROLE forum_example_person")
        conn.execute("SELECT set_config('jwt.claims.person_id', %s, true)", [str(person[0])])
        updated = conn.execute(
            "UPDATE forum_example.person SET about = about RETURNING id"
        ).fetchall()
        assert updated == [person]


def test_netbox_inspect_names_the_generic_tag_relation(corpus_dsn_factory: CorpusFactory) -> None:
    dsn = corpus_dsn_factory("netbox")
    outcome = uuidpk("inspect", "--dsn", dsn, "--all", "--format", "json", "--no-generic")
    assert outcome.code == 0, outcome.describe()
    document = json.loads(outcome.out)
    assert len(document["keys"]) == 140  # 186 integer keys, 46 of them Django's
    problems = list(problems_in(document))
    named = [p for p in problems if p.get("name") == "public.extras_taggeditem.object_id"]
    assert named, "extras_taggeditem.object_id (content_type_id + object_id) is not named"
    assert {p["severity"] for p in named} == {"warning"}
    assert all("soft" in p["what"] or "generic" in p["reason"] for p in named), named
