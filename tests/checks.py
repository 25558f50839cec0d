"""Helpers for the inspect/convert tests: run the CLI, read the catalogs independently of uuidpk,
compare databases before and after a conversion, split psql scripts into statements.

Nothing here imports uuidpk's catalog, graph or planner: expectations are built from the
database itself, so a wrong answer from uuidpk cannot hide behind the same wrong helper.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pgutil
import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from uuidpk.cli import main as uuidpk_main
from uuidpk.sample import load_shop

REPO = Path(__file__).resolve().parent.parent
USER_SCHEMAS = """
    n.nspname NOT IN ('pg_catalog', 'information_schema', 'uuidpk')
    AND n.nspname NOT LIKE 'pg\\_%%'
"""

# The key of public.order_order and the five columns that reference it (uuidpk/sample).
SHOP_KEY_COLUMNS = frozenset(
    {
        ("public", "order_order", "id"),
        ("public", "order_order", "original_id"),
        ("public", "invoice_invoice", "order_id"),
        ("public", "order_orderline", "order_id"),
        ("public", "order_order_gift_cards", "order_id"),
        ("public", "payment_payment", "order_id"),
    }
)


# A schema whose names break anything that does not quote them (shared by several tests).
HOSTILE_SQL = '''
CREATE SCHEMA "App";
CREATE TABLE "App"."Order ""x""" (
    id serial PRIMARY KEY,
    "from" text NOT NULL UNIQUE,
    "select" integer CONSTRAINT "Order ""x"" replaces" REFERENCES "App"."Order ""x""" (id)
);
CREATE TABLE "App"."LineItem" (
    "Id" integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "Order ""x"" id" integer NOT NULL
        CONSTRAINT "LineItem → Order ""x"""
        REFERENCES "App"."Order ""x""" ON DELETE CASCADE,
    "from" text NOT NULL,
    CONSTRAINT "one ""from"" per order; really" UNIQUE ("Order ""x"" id", "from")
);
CREATE TABLE "App"."select" (
    id bigserial PRIMARY KEY,
    "from" integer
        CONSTRAINT "fk ""weird""; drop table x; --"
        REFERENCES "App"."Order ""x""" (id) DEFERRABLE INITIALLY DEFERRED,
    "LineItem" integer REFERENCES "App"."LineItem" ("Id") ON DELETE SET NULL,
    note text NOT NULL
);
CREATE INDEX "index on ""from""" ON "App"."select" ("from");
COMMENT ON CONSTRAINT "fk ""weird""; drop table x; --" ON "App"."select" IS 'it''s $$ odd';
INSERT INTO "App"."Order ""x""" ("from", "select")
SELECT 'order ' || i, NULL FROM generate_series(1, 30) i;
UPDATE "App"."Order ""x""" SET "select" = id - 1 WHERE id % 3 = 0;
INSERT INTO "App"."LineItem" ("Order ""x"" id", "from")
SELECT 1 + i % 30, 'line ' || i FROM generate_series(1, 60) i;
INSERT INTO "App"."select" ("from", "LineItem", note)
SELECT CASE WHEN i % 4 = 0 THEN NULL ELSE 1 + (i * 7) % 30 END,
       CASE WHEN i % 5 = 0 THEN NULL ELSE 1 + (i * 11) % 60 END,
       'note ' || i
  FROM generate_series(1, 40) i;
'''


# -- running the CLI ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str
    exception: BaseException | None  # anything but SystemExit escaping the command

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]

    def describe(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out[-3000:]}\n--- stderr\n{self.err[-3000:]}"


def uuidpk(
    *args: str, env: Mapping[str, str | None] | None = None, input: str | None = None
) -> Outcome:
    """Run the CLI in-process (click's runner: stdin is not a terminal)."""
    base: dict[str, str | None] = {"DATABASE_URL": None, "UUIDPK_KEY": None}
    base.update(env or {})
    result = CliRunner().invoke(uuidpk_main, list(args), env=base, input=input)
    exception = None if isinstance(result.exception, SystemExit) else result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr, exception)


def uuidpk_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "uuidpk", *args]


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PG") and k not in ("DATABASE_URL", "UUIDPK_KEY")
    }
    env.update(extra)
    return env


def uuidpk_process(*args: str, timeout: float = 300, **popen: Any) -> Outcome:
    """Run the CLI as a separate program, the way a user does."""
    proc = subprocess.run(
        uuidpk_command(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean_env(),
        cwd=REPO,
        check=False,
        **popen,
    )
    return Outcome(proc.returncode, proc.stdout, proc.stderr, None)


def assert_ok(outcome: Outcome) -> Outcome:
    assert outcome.exception is None, outcome.exception
    assert outcome.code == 0, outcome.describe()
    return outcome


def assert_clean_failure(outcome: Outcome, code: int = 1) -> str:
    """A failure a user can cause: the exit code, one line on stderr, no traceback."""
    assert outcome.exception is None, f"unexpected {outcome.exception!r}\n{outcome.describe()}"
    assert outcome.code == code, outcome.describe()
    assert "Traceback" not in outcome.out + outcome.err
    if code == 1:
        assert len(outcome.err_lines) == 1, outcome.describe()
        return outcome.err_lines[0]
    # click's usage errors: "Usage: ..." and "Error: ..." lines.
    assert any(line.startswith("Error:") for line in outcome.err_lines), outcome.describe()
    return next(line for line in outcome.err_lines if line.startswith("Error:"))


# -- databases ----------------------------------------------------------------------------------

_templates: dict[tuple[int, int], str] = {}
_template_lock = threading.Lock()


def shop_template(pg: pgutil.PgCluster, orders: int) -> str:
    """A database holding load_shop(orders), made once per cluster: clone it, never change it."""
    key = (id(pg), orders)
    with _template_lock:
        name = _templates.get(key)
        if name is None or name not in pg._databases:
            name, dsn = pg.create_database(pgutil.unique_name(f"tpl_shop_{orders}"))
            with psycopg.connect(dsn, autocommit=True) as conn:
                load_shop(conn, orders=orders)
            _templates[key] = name
    return name


def clone(pg: pgutil.PgCluster, template: str, hint: str = "copy") -> tuple[str, str]:
    return pgutil.clone_database(pg, template, hint=hint)


def shop_copy(pg: pgutil.PgCluster, request: pytest.FixtureRequest, orders: int = 200) -> str:
    """DSN of a private copy of the shop with `orders` orders, dropped after the test."""
    name, dsn = clone(pg, shop_template(pg, orders), hint=f"shop_{orders}")
    request.addfinalizer(lambda: pg.drop_database(name))
    return dsn


def connect(dsn: str) -> psycopg.Connection:
    return psycopg.connect(dsn, autocommit=True)


# -- what the catalog says, read without uuidpk ------------------------------------------------

Column = tuple[str, str, str]  # schema, table, column

_FACTS = f"""
SELECT 'relation', n.nspname, c.relname, '', jsonb_build_object(
           'kind', c.relkind, 'owner', pg_get_userbyid(c.relowner), 'acl', c.relacl::text,
           'comment', obj_description(c.oid, 'pg_class'), 'rls', c.relrowsecurity,
           'persistence', c.relpersistence,
           'partition', CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
           'view', CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {USER_SCHEMAS}
UNION ALL
SELECT 'column', n.nspname, c.relname, a.attname, jsonb_build_object(
           'num', a.attnum, 'not_null', a.attnotnull, 'comment', col_description(c.oid, a.attnum),
           'acl', a.attacl::text, 'type', format_type(a.atttypid, a.atttypmod),
           'identity', a.attidentity, 'generated', a.attgenerated,
           'default', pg_get_expr(d.adbin, d.adrelid))
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND {USER_SCHEMAS}
UNION ALL
SELECT 'constraint', n.nspname, c.relname, k.conname, jsonb_build_object(
           'type', k.contype, 'deferrable', k.condeferrable, 'deferred', k.condeferred,
           'validated', k.convalidated, 'on_update', k.confupdtype, 'on_delete', k.confdeltype,
           'match', k.confmatchtype, 'local', k.conislocal, 'inherited', k.coninhcount,
           'columns', (SELECT array_agg(a.attname ORDER BY u.i) FROM unnest(k.conkey)
                         WITH ORDINALITY u(num, i)
                         JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.num),
           'references', (SELECT rn.nspname || '.' || rc.relname FROM pg_class rc
                            JOIN pg_namespace rn ON rn.oid = rc.relnamespace
                           WHERE rc.oid = k.confrelid),
           'ref_columns', (SELECT array_agg(a.attname ORDER BY u.i) FROM unnest(k.confkey)
                             WITH ORDINALITY u(num, i)
                             JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.num),
           'index', (SELECT relname FROM pg_class WHERE oid = k.conindid),
           'definition', pg_get_constraintdef(k.oid),
           'comment', obj_description(k.oid, 'pg_constraint'))
  FROM pg_constraint k
  JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE {USER_SCHEMAS}
UNION ALL
SELECT 'index', n.nspname, c.relname, i.relname, jsonb_build_object(
           'definition', pg_get_indexdef(x.indexrelid), 'unique', x.indisunique,
           'primary', x.indisprimary, 'immediate', x.indimmediate,
           'comment', obj_description(i.oid, 'pg_class'))
  FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE {USER_SCHEMAS}
UNION ALL
SELECT 'trigger', n.nspname, c.relname, t.tgname,
       jsonb_build_object('definition', pg_get_triggerdef(t.oid), 'enabled', t.tgenabled)
  FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT t.tgisinternal AND {USER_SCHEMAS}
UNION ALL
SELECT 'policy', n.nspname, c.relname, p.polname, jsonb_build_object(
           'cmd', p.polcmd, 'permissive', p.polpermissive, 'roles', p.polroles::text,
           'using', pg_get_expr(p.polqual, p.polrelid),
           'check', pg_get_expr(p.polwithcheck, p.polrelid))
  FROM pg_policy p
  JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE {USER_SCHEMAS}
UNION ALL
SELECT 'sequence', n.nspname, c.relname, '', jsonb_build_object(
           'owner', pg_get_userbyid(c.relowner), 'acl', c.relacl::text)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'S' AND {USER_SCHEMAS}
"""

Fact = tuple[str, str, str, str]


def schema_record(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """The objects of the schema record of the latest fingerprint run: what verify holds the
    database to (uuidpk/schema_record.py)."""
    row = conn.execute(
        "SELECT schema_after::text FROM uuidpk.fingerprint_run ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert row is not None and row[0] is not None
    return list(json.loads(row[0])["objects"])


def schema_facts(conn: psycopg.Connection) -> dict[Fact, dict[str, Any]]:
    """Every user object with the properties applications depend on, keyed by
    (what, schema, table, name)."""
    rows = conn.execute(_FACTS).fetchall()
    return {(r[0], r[1], r[2], r[3]): r[4] for r in rows}


def facts_without(
    facts: dict[Fact, dict[str, Any]],
    columns: Iterable[Column],
    *,
    drop_sequences: bool = True,
    extra_columns: Iterable[Column] = (),
    retargeted_casts: bool = False,
) -> dict[Fact, dict[str, Any]]:
    """The facts minus what a conversion of `columns` is meant to change: their type, default
    and identity, and sequences (which go away with the integer keys). Columns in
    `extra_columns` (e.g. --keep-old-id) are removed entirely. With `retargeted_casts`, integer
    casts in policy and view expressions count as uuid casts (uuidpk retargets
    `id = current_setting(...)::integer`)."""
    changed = set(columns)
    gone = set(extra_columns)
    result: dict[Fact, dict[str, Any]] = {}
    for fact, props in facts.items():
        what, schema, table, name = fact
        if what == "sequence" and drop_sequences:
            continue
        if what == "column" and (schema, table, name) in gone:
            continue
        if what == "column" and (schema, table, name) in changed:
            props = {k: v for k, v in props.items() if k not in ("type", "default", "identity")}
        if retargeted_casts and what in ("policy", "relation"):
            props = {
                k: _INTEGER_CAST.sub("::uuid", v) if isinstance(v, str) else v
                for k, v in props.items()
            }
        result[fact] = props
    return result


_INTEGER_CAST = re.compile(r"::(?:integer|bigint|smallint)\b")


def column_types(conn: psycopg.Connection) -> dict[Column, str]:
    rows = conn.execute(
        f"""SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
              FROM pg_attribute a
              JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p')
               AND {USER_SCHEMAS}"""
    ).fetchall()
    return {(r[0], r[1], r[2]): r[3] for r in rows}


def changed_to_uuid(before: dict[Column, str], after: dict[Column, str]) -> set[Column]:
    return {c for c, t in after.items() if t == "uuid" and before.get(c) not in (None, "uuid")}


def user_tables(conn: psycopg.Connection, *, partitions: bool = False) -> list[tuple[str, str]]:
    where = "" if partitions else "AND NOT c.relispartition"
    rows = conn.execute(
        f"""SELECT n.nspname, c.relname FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p') {where} AND {USER_SCHEMAS}
             ORDER BY 1, 2"""
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def data_hashes(conn: psycopg.Connection) -> dict[tuple[str, str], tuple[int, str | None]]:
    """Per table (partitions included): row count and a hash of every row, ids and all."""
    result = {}
    for schema, table in user_tables(conn, partitions=True):
        query = sql.SQL(
            "SELECT count(*), md5(string_agg(t::text, E'\\n' ORDER BY t::text)) FROM ONLY {} t"
        ).format(sql.Identifier(schema, table))
        row = conn.execute(query).fetchone()
        assert row is not None
        result[(schema, table)] = (int(row[0]), row[1])
    return result


def state(conn: psycopg.Connection) -> tuple[Any, ...]:
    """Schema and data, exactly: two equal states are the same database for any application.
    Includes whatever uuidpk keeps in its own schema (fingerprints, mapping tables)."""
    own = conn.execute(
        "SELECT c.relkind, c.relname FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'uuidpk' ORDER BY 2"
    ).fetchall()
    return schema_facts(conn), data_hashes(conn), own


def foreign_keys(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Every foreign key declared on a table (not the copies PostgreSQL makes on partitions)."""
    rows = conn.execute(
        f"""SELECT k.conname, n.nspname, c.relname, rn.nspname, rc.relname,
                   (SELECT array_agg(a.attname ORDER BY u.i) FROM unnest(k.conkey)
                      WITH ORDINALITY u(num, i)
                      JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.num),
                   (SELECT array_agg(a.attname ORDER BY u.i) FROM unnest(k.confkey)
                      WITH ORDINALITY u(num, i)
                      JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.num)
              FROM pg_constraint k
              JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_class rc ON rc.oid = k.confrelid
              JOIN pg_namespace rn ON rn.oid = rc.relnamespace
             WHERE k.contype = 'f' AND k.conparentid = 0 AND {USER_SCHEMAS}
             ORDER BY 2, 3, 1"""
    ).fetchall()
    return [
        {
            "name": r[0],
            "table": (r[1], r[2]),
            "ref_table": (r[3], r[4]),
            "columns": list(r[5]),
            "ref_columns": list(r[6]),
        }
        for r in rows
    ]


def integer_key_closures(
    conn: psycopg.Connection,
    leave: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
) -> set[tuple[str, str, str]]:
    """Every single-column integer primary key and every column that references one; the keys
    of the tables in `leave` (schema, table) and their references left out."""
    rows = conn.execute(
        """WITH keys AS (
               SELECT k.conrelid AS rel, k.conkey[1] AS att FROM pg_constraint k
                JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
               WHERE k.contype = 'p' AND cardinality(k.conkey) = 1
                 AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)),
           cols AS (
               SELECT rel, att, rel AS key_rel FROM keys
               UNION
               SELECT f.conrelid, f.conkey[1], keys.rel FROM pg_constraint f
                 JOIN keys ON keys.rel = f.confrelid AND keys.att = f.confkey[1]
                WHERE f.contype = 'f' AND f.conparentid = 0)
           SELECT n.nspname, c.relname, a.attname, kn.nspname, k.relname FROM cols
             JOIN pg_class c ON c.oid = cols.rel JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_class k ON k.oid = cols.key_rel
             JOIN pg_namespace kn ON kn.oid = k.relnamespace
             JOIN pg_attribute a ON a.attrelid = cols.rel AND a.attnum = cols.att
            WHERE NOT c.relispartition"""
    ).fetchall()
    left = set(leave)
    return {(r[0], r[1], r[2]) for r in rows if (r[3], r[4]) not in left}


# -- relations through natural values ----------------------------------------------------------


@dataclass(frozen=True)
class Rows:
    """Every row of every (non-partition) table, and the foreign keys between them."""

    tables: dict[tuple[str, str], list[dict[str, Any]]]
    fks: list[dict[str, Any]]


def read_rows(conn: psycopg.Connection) -> Rows:
    tables = {}
    for schema, table in user_tables(conn):
        query = sql.SQL("SELECT to_jsonb(t) FROM {} t").format(sql.Identifier(schema, table))
        tables[(schema, table)] = [r[0] for r in conn.execute(query).fetchall()]
    return Rows(tables, foreign_keys(conn))


def natural_image(rows: Rows, hidden: Iterable[Column], depth: int = 3) -> dict[str, list[str]]:
    """Each table as a sorted list of rows without the `hidden` columns (the converted keys),
    where every foreign key is replaced by the referenced row's own natural image (`depth`
    levels up). Equal images before and after a conversion mean no row changed and no relation
    was lost or rewired, whatever the key values became."""
    hide = set(hidden)
    fks_by_table: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for fk in rows.fks:
        fks_by_table.setdefault(fk["table"], []).append(fk)
    indexes: dict[
        tuple[tuple[str, str], tuple[str, ...]], dict[tuple[Any, ...], dict[str, Any]]
    ] = {}

    def lookup(table: tuple[str, str], columns: tuple[str, ...], values: tuple[Any, ...]) -> Any:
        key = (table, columns)
        if key not in indexes:
            indexes[key] = {tuple(r[c] for c in columns): r for r in rows.tables.get(table, [])}
        return indexes[key].get(values)

    def image(table: tuple[str, str], row: dict[str, Any], level: int) -> dict[str, Any]:
        result = {c: v for c, v in row.items() if (*table, c) not in hide}
        if level == 0:
            return result
        for fk in fks_by_table.get(table, []):
            values = tuple(row[c] for c in fk["columns"])
            if any(v is None for v in values):
                result[f"fk {fk['name']}"] = None
                continue
            parent = lookup(fk["ref_table"], tuple(fk["ref_columns"]), values)
            result[f"fk {fk['name']}"] = (
                "dangling" if parent is None else image(fk["ref_table"], parent, level - 1)
            )
        return result

    return {
        f"{schema}.{table}": sorted(
            json.dumps(image((schema, table), row, depth), sort_keys=True, default=str)
            for row in table_rows
        )
        for (schema, table), table_rows in rows.tables.items()
    }


def assert_same_relations(before: Rows, after: Rows, changed: Iterable[Column]) -> None:
    changed = set(changed)
    assert {fk["name"] for fk in before.fks} == {fk["name"] for fk in after.fks}
    image_before = natural_image(before, changed)
    image_after = natural_image(after, changed)
    assert image_before.keys() == image_after.keys()
    for table in image_before:
        assert image_before[table] == image_after[table], f"rows or relations of {table} changed"


# -- psql scripts -------------------------------------------------------------------------------

_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def split_script(script: str) -> list[str]:
    """The SQL statements of a psql script, as psql sends them: psql meta-command lines
    (backslash) and `--` comments skipped, semicolons inside quotes, quoted identifiers and
    dollar-quoted bodies (DO $uuidpk$ ... $uuidpk$) kept."""
    statements: list[str] = []
    buf: list[str] = []
    i, n = 0, len(script)
    at_line_start = True
    while i < n:
        ch = script[i]
        if at_line_start and not "".join(buf).strip() and script[i:].lstrip(" \t").startswith("\\"):
            end = script.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        at_line_start = ch == "\n"
        if script.startswith("--", i):
            end = script.find("\n", i)
            i = n if end < 0 else end
            continue
        if ch in ("'", '"'):
            # E'...' strings take backslash escapes; elsewhere a quote is doubled.
            escapes = ch == "'" and bool(buf) and buf[-1][-1:] in ("E", "e")
            j = i + 1
            while j < n:
                if escapes and script[j] == "\\":
                    j += 2
                    continue
                if script[j] == ch:
                    if j + 1 < n and script[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            buf.append(script[i : j + 1])
            i = j + 1
            continue
        if ch == "$":
            match = _DOLLAR.match(script, i)
            if match and not (buf and re.match(r"[A-Za-z0-9_]", buf[-1][-1:] or " ")):
                tag = match.group(0)
                end = script.find(tag, match.end())
                if end < 0:
                    raise ValueError(f"unterminated dollar quote {tag}")
                buf.append(script[i : end + len(tag)])
                i = end + len(tag)
                continue
        if ch == ";":
            statement = "".join(buf).strip()
            if statement:
                statements.append(statement)
            buf = []
            i += 1
            continue
        buf.append(ch)
        i += 1
    rest = "".join(buf).strip()
    if rest:
        statements.append(rest)
    return statements


def sql_shape(statement: str) -> str:
    """A statement's shape for reports: its leading keywords, without names or values."""
    words = []
    for word in statement.split():
        if not re.fullmatch(r"[A-Za-z_]+", word) or len(words) >= 4:
            break
        words.append(word.upper())
    return " ".join(words)


# -- Django's own tables, read without uuidpk ----------------------------------------------------

DJANGO_APPS = ("admin", "auth", "contenttypes", "sessions", "sites", "redirects", "flatpages")
DJANGO_TABLES = {
    ("admin", "logentry"): "django_admin_log",
    ("contenttypes", "contenttype"): "django_content_type",
    ("sessions", "session"): "django_session",
    ("sites", "site"): "django_site",
    ("redirects", "redirect"): "django_redirect",
    ("flatpages", "flatpage"): "django_flatpage",
}


def django_owned(conn: psycopg.Connection) -> set[tuple[str, str]]:
    """(schema, table) that `--all` leaves to Django in a database with django_content_type:
    the tables of django.contrib's models, django_migrations, and every auto-created
    many-to-many table (`<model table>_<field>`: id and two foreign keys, one to the model)."""
    if conn.execute("SELECT to_regclass('public.django_content_type')").fetchone() == (None,):
        return set()
    models = {
        DJANGO_TABLES.get((app, model), f"{app}_{model}"): app
        for app, model in conn.execute("SELECT app_label, model FROM public.django_content_type")
    }
    owned = {("public", t) for t, app in models.items() if app in DJANGO_APPS}
    owned.add(("public", "django_migrations"))
    m2m = conn.execute(
        """SELECT c.relname, r.relname
             FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
             JOIN pg_constraint f ON f.conrelid = c.oid AND f.contype = 'f'
             JOIN pg_class r ON r.oid = f.confrelid
            WHERE c.relkind = 'r'
              AND (SELECT count(*) FROM pg_attribute a
                    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) = 3
              AND (SELECT count(*) FROM pg_constraint g
                    WHERE g.conrelid = c.oid AND g.contype = 'f') = 2
              AND EXISTS (SELECT FROM pg_attribute a
                           WHERE a.attrelid = c.oid AND a.attname = 'id')"""
    ).fetchall()
    for table, target in m2m:
        if target in models and table not in models and table.startswith(target + "_"):
            owned.add(("public", table))
    return owned
