"""Property tests: random schemas with random data, converted by uuidpk, keep every relation.

Hypothesis draws a schema (2 to 7 tables; smallint/integer/bigint keys that are plain, serial or
identity; foreign keys between them, nullable or not, deferrable or not, with ON DELETE /
ON UPDATE actions; self references and cycles; one-to-ones through a unique foreign key or a
shared primary key; join tables with a surrogate or a composite key; now and then a composite-key
table, a foreign key to a natural text key, an index on a foreign key column; names that are
sometimes hostile: mixed case, spaces, quotes, reserved words, a non-public schema) and data
consistent with it (NULLs, duplicate non-key values, negative and extreme key values).

Every table has a unique text column `nat`, filled deterministically, so every relation can be
checked as (child nat, parent nat) pairs against the data Hypothesis drew, before and after the
conversion, without trusting uuidpk or the database's own key values. Which columns must become
uuid is computed from the drawn schema alone.

Each example gets its own database. The run is bounded and reproducible (derandomized, 15
examples per test); UUIDPK_HYPOTHESIS_EXAMPLES=N runs more, UUIDPK_HYPOTHESIS_RANDOM=1 explores
new examples instead of the fixed ones.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pgutil
import psycopg
from click.testing import CliRunner
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from psycopg import sql

from uuidpk.cli import main as uuidpk_main

PROPERTY_SETTINGS = settings(
    max_examples=int(os.environ.get("UUIDPK_HYPOTHESIS_EXAMPLES", "15")),
    deadline=None,
    derandomize=os.environ.get("UUIDPK_HYPOTHESIS_RANDOM") != "1",
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
)

RANGES = {
    "smallint": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}
WIDER = {"smallint": ("smallint", "integer", "bigint"), "integer": ("integer", "bigint")}
SERIAL = {"smallint": "smallserial", "integer": "serial", "bigint": "bigserial"}
FLAVOURS = ("plain", "serial", "identity always", "identity by default")
ACTIONS = ("NO ACTION", "RESTRICT", "CASCADE", "SET NULL")
DEFERRABLE = ("", "DEFERRABLE", "DEFERRABLE INITIALLY DEFERRED")

TABLE_NAMES = ("customer", "product", "invoice", "tag", "node", "account", "item", "shop")
# The longest names PostgreSQL keeps (63 bytes), so that anything derived from them overflows.
LONGEST_TABLE = "T" * 51 + ' "long" ñé'
LONGEST_KEY = "K" * 56 + " ñ key"
assert len(LONGEST_TABLE.encode()) == len(LONGEST_KEY.encode()) == 63
HOSTILE_TABLE_NAMES = (
    'Order "x"',
    "select",
    "Line Item",
    "MixedCase",
    "user",
    "ünï",
    "a;b--",
    "a.b",
    LONGEST_TABLE,
)
HOSTILE_SCHEMAS = ("App", "my schema", "select", 'S "q"')
KEY_NAMES = ("id", "Id", "select", 'key "k"', "order id", LONGEST_KEY)
FK_PREFIXES = ("ref_", "Ref ", 'from"', "select ")
NOTES = (None, "", "same", "same", "it's", 'x"y', "ünï")


# -- the drawn schema ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # smallint, integer, bigint or text
    not_null: bool = True
    flavour: str = "plain"  # how a key gets its values: plain, serial, identity ...


@dataclass(frozen=True)
class ForeignKey:
    child: int
    columns: tuple[str, ...]
    parent: int
    ref_columns: tuple[str, ...]
    name: str | None = None
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"
    deferrable: str = ""
    unique: bool = False  # a one-to-one: the foreign key columns are unique too
    late: bool = False  # filled by UPDATE once every table has its rows (cycles, self refs)
    indexed: bool = False
    match_full: bool = False


@dataclass
class Table:
    schema: str
    name: str
    kind: str  # entity, shared (key is a FK to a parent's key), join, composite
    columns: list[Column]
    primary_key: tuple[str, ...]
    uniques: list[tuple[str, ...]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    @property
    def single_integer_key(self) -> str | None:
        if len(self.primary_key) != 1:
            return None
        column = self.column(self.primary_key[0])
        return column.name if column.type in RANGES else None

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@dataclass
class Schema:
    tables: list[Table]
    fks: list[ForeignKey]
    views: list[int] = field(default_factory=list)  # a view joining child and parent, per fk

    def describe(self) -> str:
        lines = []
        for i, t in enumerate(self.tables):
            cols = ", ".join(
                f"{c.name!r} {c.type}{'' if c.not_null else ' null'}"
                f"{'' if c.flavour == 'plain' else ' ' + c.flavour}"
                for c in t.columns
            )
            lines.append(
                f"[{i}] {t.schema}.{t.name} ({t.kind}; pk {t.primary_key}; unique {t.uniques}):"
                f" {cols}; {len(t.rows)} rows"
            )
            lines += [f"      {row}" for row in t.rows]
        for fk in self.fks:
            lines.append(
                f"fk {fk.name!r}: [{fk.child}]{fk.columns} -> [{fk.parent}]{fk.ref_columns}"
                f" on delete {fk.on_delete} on update {fk.on_update} {fk.deferrable}"
                f"{' unique' if fk.unique else ''}{' late' if fk.late else ''}"
                f"{' indexed' if fk.indexed else ''}{' match full' if fk.match_full else ''}"
            )
        lines += [f"view over fk {self.fks[k].name!r}" for k in self.views]
        return "\n".join(lines)


def integer_keys(schema: Schema) -> list[int]:
    """Tables whose primary key is one smallint/integer/bigint column (what --all converts)."""
    return [i for i, t in enumerate(schema.tables) if t.single_integer_key]


def key_values(table: Table, columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return [tuple(row[c] for c in columns) for row in table.rows]


@st.composite
def schemas(draw: st.DrawFn) -> Schema:
    n = draw(st.integers(2, 7))
    hostile = draw(st.booleans())
    pool = TABLE_NAMES + HOSTILE_TABLE_NAMES if hostile else TABLE_NAMES
    names = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n, unique=True))
    other_schema = draw(st.sampled_from(HOSTILE_SCHEMAS)) if hostile else "public"
    tables: list[Table] = []
    fks: list[ForeignKey] = []

    def key_column(name: str) -> Column:
        kind = draw(st.sampled_from(tuple(RANGES)))
        return Column(name, kind, flavour=draw(st.sampled_from(FLAVOURS)))

    def distinct_ints(kind: str, count: int) -> list[int]:
        low, high = RANGES[kind]
        values = st.one_of(st.integers(1, 1000), st.integers(low, high))
        return draw(st.lists(values, min_size=count, max_size=count, unique=True))

    def fk_name(i: int, k: int) -> str | None:
        return draw(st.sampled_from((None, None, f'fk "{i}.{k}"; --', f"Fk {i} {k}")))

    # Pass 1: tables, their keys and their rows' key values (children draw from parents).
    for i, name in enumerate(names):
        schema = draw(st.sampled_from(("public", other_schema)))
        keyed = [j for j, t in enumerate(tables) if t.single_integer_key]
        kind = draw(
            st.sampled_from(("entity",) * 4 + ("shared", "shared", "join", "join", "composite"))
        )
        if not keyed:
            kind = "entity"  # at least one key to convert (else apply records no fingerprint)
        key_name = draw(st.sampled_from(KEY_NAMES)) if hostile else "id"
        nat = f"{name} #{{}}"
        if kind == "entity":
            key = key_column(key_name)
            count = draw(st.integers(0, 6))
            table = Table(schema, name, kind, [key], (key.name,))
            table.rows = [{key.name: v} for v in distinct_ints(key.type, count)]
        elif kind == "shared":
            j = draw(st.sampled_from(keyed))
            parent = tables[j]
            parent_key = parent.column(parent.primary_key[0])
            key = Column(key_name, draw(st.sampled_from(WIDER.get(parent_key.type, ("bigint",)))))
            table = Table(schema, name, kind, [key], (key.name,))
            values = [v for (v,) in key_values(parent, parent.primary_key)]
            chosen = draw(st.lists(st.sampled_from(values), unique=True)) if values else []
            table.rows = [{key.name: v} for v in chosen]
            fks.append(
                ForeignKey(
                    i,
                    (key.name,),
                    j,
                    parent.primary_key,
                    name=fk_name(i, 0),
                    on_delete=draw(st.sampled_from(ACTIONS[:3])),
                    deferrable=draw(st.sampled_from(DEFERRABLE)),
                )
            )
        elif kind == "join":
            a, b = draw(st.sampled_from(keyed)), draw(st.sampled_from(keyed))
            prefix = draw(st.sampled_from(FK_PREFIXES)) if hostile else "ref_"
            sides = [(f"{prefix}{a}", a), (f"{prefix}{b}_2", b)]
            columns = [Column(c, tables[p].column(tables[p].primary_key[0]).type) for c, p in sides]
            pairs = [
                (x, y)
                for (x,) in key_values(tables[a], tables[a].primary_key)
                for (y,) in key_values(tables[b], tables[b].primary_key)
            ]
            chosen = (
                draw(st.lists(st.sampled_from(pairs), unique=True, max_size=8)) if pairs else []
            )
            surrogate = draw(st.booleans())
            pair_names = (columns[0].name, columns[1].name)
            if surrogate:
                key = key_column(key_name)
                table = Table(schema, name, kind, [key, *columns], (key.name,), [pair_names])
                ids = distinct_ints(key.type, len(chosen))
            else:
                table = Table(schema, name, kind, columns, pair_names)
                ids = []
            table.rows = [
                {columns[0].name: x, columns[1].name: y} | ({key.name: ids[r]} if ids else {})
                for r, (x, y) in enumerate(chosen)
            ]
            for k, (column, parent) in enumerate(sides):
                fks.append(
                    ForeignKey(
                        i,
                        (column,),
                        parent,
                        tables[parent].primary_key,
                        name=fk_name(i, k),
                        on_delete=draw(st.sampled_from(ACTIONS[:3])),
                        on_update=draw(st.sampled_from(ACTIONS[:3])),
                        deferrable=draw(st.sampled_from(DEFERRABLE)),
                        indexed=draw(st.booleans()),
                    )
                )
        else:  # composite: a two-column integer key that is nobody's closure
            columns = [Column("a", "integer"), Column("b b" if hostile else "b", "smallint")]
            pairs = draw(
                st.lists(st.tuples(st.integers(-5, 5), st.integers(-5, 5)), unique=True, max_size=5)
            )
            table = Table(schema, name, kind, columns, ("a", columns[1].name))
            table.rows = [{"a": x, columns[1].name: y} for x, y in pairs]
        table.columns += [Column("nat", "text"), Column("note", "text", not_null=False)]
        table.uniques.append(("nat",))
        for r, row in enumerate(table.rows):
            row["nat"] = nat.format(r)
            row["note"] = draw(st.sampled_from(NOTES))
        tables.append(table)

    # Pass 2: more foreign keys, from any table to any table (itself and later ones too: those
    # are nullable and filled in afterwards, so cycles load).
    for i, table in enumerate(tables):
        prefix = draw(st.sampled_from(FK_PREFIXES)) if hostile else "ref_"
        for k in range(draw(st.integers(0, 2))):
            j = draw(st.integers(0, n - 1))
            parent = tables[j]
            late = j >= i
            target = draw(st.sampled_from(("key", "key", "key", "nat")))
            if target == "nat" or not parent.primary_key:
                ref_columns: tuple[str, ...] = ("nat",)
                types = ["text"]
            else:
                ref_columns = parent.primary_key
                types = [
                    draw(st.sampled_from(WIDER.get(parent.column(c).type, ("bigint",))))
                    for c in ref_columns
                ]
            columns = [
                Column(f"{prefix}{k}.{c[:20]}", kind, not_null=False)
                for c, kind in zip(ref_columns, types, strict=True)
            ]
            parent_values = key_values(parent, ref_columns)
            nullable = late or not parent_values or draw(st.booleans())
            unique = draw(st.integers(0, 4)) == 0
            if unique and len(parent_values) < len(table.rows):
                nullable = True
            columns = [Column(c.name, c.type, not_null=not nullable) for c in columns]
            table.columns += columns
            actions = ACTIONS if nullable else ACTIONS[:3]
            fk = ForeignKey(
                i,
                tuple(c.name for c in columns),
                j,
                ref_columns,
                name=fk_name(i, k + 2),
                on_delete=draw(st.sampled_from(actions)),
                on_update=draw(st.sampled_from(actions)),
                deferrable=draw(st.sampled_from(DEFERRABLE)),
                unique=unique,
                late=late,
                indexed=draw(st.booleans()),
                match_full=len(columns) > 1 and draw(st.booleans()),
            )
            fks.append(fk)
            if unique:
                table.uniques.append(fk.columns)
                order = draw(st.permutations(parent_values)) if parent_values else []
            for r, row in enumerate(table.rows):
                if unique:
                    # Distinct parents; NULLs (as many as wanted) only where allowed.
                    keep = not nullable or draw(st.integers(0, 3)) > 0
                    value = order[r] if r < len(order) and keep else None
                elif parent_values and (not nullable or draw(st.integers(0, 3)) > 0):
                    value = draw(st.sampled_from(parent_values))
                else:
                    value = None
                for c, v in zip(fk.columns, value or (None,) * len(fk.columns), strict=True):
                    row[c] = v
        # Now and then one column that references two keys at once: both keys share its
        # values, so they must convert as one closure (with two roots) or the FKs break.
        keyed = [j for j, t in enumerate(tables) if t.single_integer_key]
        if len(keyed) >= 2 and draw(st.integers(0, 5)) == 0:
            parents = draw(st.lists(st.sampled_from(keyed), min_size=2, max_size=2, unique=True))
            keys = [tables[j].column(tables[j].primary_key[0]) for j in parents]
            kind = max((k.type for k in keys), key=list(RANGES).index)
            common = sorted(
                set(key_values(tables[parents[0]], (keys[0].name,)))
                & set(key_values(tables[parents[1]], (keys[1].name,)))
            )
            column = Column(f"{prefix}both", kind, not_null=False)
            table.columns.append(column)
            for row in table.rows:
                chosen = draw(st.sampled_from(common)) if common and draw(st.booleans()) else None
                row[column.name] = None if chosen is None else chosen[0]
            for k, j in enumerate(parents):
                fks.append(
                    ForeignKey(
                        i,
                        (column.name,),
                        j,
                        (keys[k].name,),
                        name=fk_name(i, 8 + k),
                        on_delete=draw(st.sampled_from(ACTIONS)),
                        deferrable=draw(st.sampled_from(DEFERRABLE)),
                        late=j >= i,
                    )
                )
    views = draw(st.lists(st.integers(0, len(fks) - 1), unique=True, max_size=2)) if fks else []
    return Schema(tables, fks, views)


# -- building it --------------------------------------------------------------------------------


def column_sql(column: Column) -> sql.Composable:
    if column.flavour == "serial":
        kind = sql.SQL(SERIAL[column.type])
    elif column.flavour.startswith("identity"):
        mode = "ALWAYS" if column.flavour == "identity always" else "BY DEFAULT"
        kind = sql.SQL(f"{column.type} GENERATED {mode} AS IDENTITY")
    else:
        kind = sql.SQL(column.type)
    null = sql.SQL(" NOT NULL") if column.not_null else sql.SQL("")
    return sql.SQL("{} {}{}").format(sql.Identifier(column.name), kind, null)


def names(columns: tuple[str, ...]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(c) for c in columns)


def ddl(schema: Schema) -> list[sql.Composable]:
    statements: list[sql.Composable] = []
    for name in sorted({t.schema for t in schema.tables} - {"public"}):
        statements.append(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    for table in schema.tables:
        parts = [column_sql(c) for c in table.columns]
        parts.append(sql.SQL("PRIMARY KEY ({})").format(names(table.primary_key)))
        parts += [sql.SQL("UNIQUE ({})").format(names(u)) for u in table.uniques]
        statements.append(
            sql.SQL("CREATE TABLE {} ({})").format(table.ident, sql.SQL(", ").join(parts))
        )
    for fk in schema.fks:
        child, parent = schema.tables[fk.child], schema.tables[fk.parent]
        constraint = (
            sql.SQL("CONSTRAINT {} ").format(sql.Identifier(fk.name)) if fk.name else sql.SQL("")
        )
        statements.append(
            sql.SQL(
                "ALTER TABLE {} ADD {}FOREIGN KEY ({}) REFERENCES {} ({}) {}"
                "ON DELETE {} ON UPDATE {} {}"
            ).format(
                child.ident,
                constraint,
                names(fk.columns),
                parent.ident,
                names(fk.ref_columns),
                sql.SQL("MATCH FULL " if fk.match_full else ""),
                sql.SQL(fk.on_delete),
                sql.SQL(fk.on_update),
                sql.SQL(fk.deferrable),
            )
        )
        if fk.indexed:
            statements.append(
                sql.SQL("CREATE INDEX ON {} ({})").format(child.ident, names(fk.columns))
            )
    for k in schema.views:
        fk = schema.fks[k]
        child = schema.tables[fk.child]
        statements.append(
            sql.SQL(
                "CREATE VIEW {} AS SELECT c.nat AS child, p.nat AS parent, {} "
                "FROM {} c JOIN {} p ON {}"
            ).format(
                view_ident(schema, k),
                sql.SQL(", ").join(sql.Identifier("c", c) for c in fk.columns),
                child.ident,
                schema.tables[fk.parent].ident,
                join_condition(fk),
            )
        )
    return statements


def view_ident(schema: Schema, k: int) -> sql.Identifier:
    return sql.Identifier(schema.tables[schema.fks[k].child].schema, f"pairs of {k}")


def join_condition(fk: ForeignKey) -> sql.Composable:
    return sql.SQL(" AND ").join(
        sql.SQL("{} = {}").format(sql.Identifier("c", c), sql.Identifier("p", p))
        for c, p in zip(fk.columns, fk.ref_columns, strict=True)
    )


def load(conn: psycopg.Connection, schema: Schema) -> None:
    late = {(fk.child, c) for fk in schema.fks if fk.late for c in fk.columns}
    with conn.transaction():
        for statement in ddl(schema):
            conn.execute(statement)
        for i, table in enumerate(schema.tables):
            early = [c.name for c in table.columns if (i, c.name) not in late]
            insert = sql.SQL("INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE VALUES ({})").format(
                table.ident,
                names(tuple(early)),
                sql.SQL(", ").join([sql.Placeholder()] * len(early)),
            )
            if table.rows:
                with conn.cursor() as cur:
                    cur.executemany(insert, [[row[c] for c in early] for row in table.rows])
        for fk in schema.fks:
            if not fk.late:
                continue
            table = schema.tables[fk.child]
            update = sql.SQL("UPDATE {} SET ({}) = ROW({}) WHERE ({}) = ({})").format(
                table.ident,
                names(fk.columns),
                sql.SQL(", ").join([sql.Placeholder()] * len(fk.columns)),
                names(table.primary_key),
                sql.SQL(", ").join([sql.Placeholder()] * len(table.primary_key)),
            )
            params = [
                [*(row[c] for c in fk.columns), *(row[c] for c in table.primary_key)]
                for row in table.rows
                if row[fk.columns[0]] is not None
            ]
            if params:
                with conn.cursor() as cur:
                    cur.executemany(update, params)
        # A sequence behind its column is a problem of its own (verify reports it): start the
        # sequences past the values we inserted, as a live database would have them.
        for table in schema.tables:
            for column in table.columns:
                if column.flavour == "plain":
                    continue
                conn.execute(
                    sql.SQL(
                        "SELECT setval(pg_get_serial_sequence(%s, %s), "
                        "greatest(coalesce(max({}), 1), 1)::bigint) FROM {}"
                    ).format(sql.Identifier(column.name), table.ident),
                    [table.ident.as_string(conn), column.name],
                )


# -- what must hold -----------------------------------------------------------------------------


def closure(schema: Schema, roots: list[int]) -> set[tuple[int, str]]:
    """The columns that must become uuid when the keys of `roots` are converted: each key, every
    column that references one, transitively, and the columns those keys reference (a shared
    primary key converts with its parent: it is one closure)."""
    edges = [
        ((fk.child, c), (fk.parent, p))
        for fk in schema.fks
        for c, p in zip(fk.columns, fk.ref_columns, strict=True)
    ]
    result = {(i, schema.tables[i].primary_key[0]) for i in roots}
    while True:
        more = {
            x
            for child, parent in edges
            if child in result or parent in result
            for x in (child, parent)
        } - result
        if not more:
            return result
        result |= more


def expected_pairs(schema: Schema, fk: ForeignKey) -> list[tuple[str, str | None]]:
    child, parent = schema.tables[fk.child], schema.tables[fk.parent]
    by_key = {tuple(row[c] for c in fk.ref_columns): row["nat"] for row in parent.rows}
    result = []
    for row in child.rows:
        values = tuple(row[c] for c in fk.columns)
        result.append((row["nat"], None if values[0] is None else by_key[values]))
    return sorted(result)


def actual_pairs(conn: psycopg.Connection, schema: Schema, fk: ForeignKey) -> list[tuple[Any, ...]]:
    child, parent = schema.tables[fk.child], schema.tables[fk.parent]
    query = sql.SQL("SELECT c.nat, p.nat FROM {} c LEFT JOIN {} p ON {} ORDER BY 1, 2").format(
        child.ident, parent.ident, join_condition(fk)
    )
    return [tuple(r) for r in conn.execute(query).fetchall()]


def rows_of(conn: psycopg.Connection, table: Table) -> list[tuple[Any, ...]]:
    query = sql.SQL("SELECT nat, note FROM {} ORDER BY nat").format(table.ident)
    return [tuple(r) for r in conn.execute(query).fetchall()]


def column_facts(conn: psycopg.Connection, table: Table) -> dict[str, tuple[str, str, str]]:
    """Per column: its type, identity ('' when none) and default expression ('' when none)."""
    rows = conn.execute(
        """SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attidentity::text,
                  coalesce(pg_get_expr(d.adbin, d.adrelid), '')
             FROM pg_attribute a
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped""",
        [table.ident.as_string(conn)],
    ).fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def constraints(conn: psycopg.Connection) -> set[tuple[Any, ...]]:
    """Every constraint (name, kind, flags) and index name in the user's schemas."""
    rows = conn.execute(
        """SELECT n.nspname, c.relname, k.conname, k.contype::text, k.confupdtype::text,
                  k.confdeltype::text, k.confmatchtype::text, k.condeferrable, k.condeferred,
                  k.convalidated
             FROM pg_constraint k
             JOIN pg_class c ON c.oid = k.conrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'uuidpk')
           UNION ALL
           SELECT schemaname, tablename, indexname, 'index', '', '', '', NULL, NULL, NULL
             FROM pg_indexes
            WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'uuidpk')"""
    ).fetchall()
    return {tuple(r) for r in rows}


def uuidpk(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        uuidpk_main, list(args), env={"DATABASE_URL": None, "UUIDPK_KEY": None}
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr}"


@contextmanager
def database(pg: pgutil.PgCluster) -> Iterator[str]:
    name, dsn = pg.create_database(pgutil.unique_name("prop"))
    try:
        yield dsn
    finally:
        pg.drop_database(name)


def assert_data(conn: psycopg.Connection, schema: Schema, when: str) -> None:
    for table in schema.tables:
        expected = sorted((row["nat"], row["note"]) for row in table.rows)
        assert rows_of(conn, table) == expected, f"{when}: rows of {table.name}"
    for fk in schema.fks:
        assert actual_pairs(conn, schema, fk) == expected_pairs(schema, fk), (
            f"{when}: (child nat, parent nat) pairs of {fk}"
        )
    for k in schema.views:
        query = sql.SQL("SELECT child, parent FROM {} ORDER BY 1, 2").format(view_ident(schema, k))
        expected = [p for p in expected_pairs(schema, schema.fks[k]) if p[1] is not None]
        assert [tuple(r) for r in conn.execute(query)] == expected, f"{when}: view over {k}"


def convert_and_check(
    pg: pgutil.PgCluster, schema: Schema, selection: list[str], roots: list[int]
) -> None:
    note(schema.describe())
    converted = closure(schema, roots)
    with database(pg) as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            load(conn, schema)
            assert_data(conn, schema, "loaded")
            facts_before = {i: column_facts(conn, t) for i, t in enumerate(schema.tables)}
            constraints_before = constraints(conn)

        code, output = uuidpk("apply", "--dsn", dsn, *selection, "--yes")
        assert code == 0, output
        code, output = uuidpk("verify", "--dsn", dsn)
        assert code == 0, output

        with psycopg.connect(dsn, autocommit=True) as conn:
            for i, table in enumerate(schema.tables):
                facts = column_facts(conn, table)
                assert facts.keys() == facts_before[i].keys(), f"columns of {table.name}"
                for column, (kind, identity, default) in facts.items():
                    if (i, column) not in converted:
                        assert (kind, identity, default) == facts_before[i][column], (
                            f"{table.name}.{column} changed but is not in the closure"
                        )
                        continue
                    # The integer's sequence or identity is gone with it.
                    assert kind == "uuid", f"{table.name}.{column} is {kind}"
                    assert identity == "", f"{table.name}.{column} is still an identity"
                    assert "nextval" not in default, f"{table.name}.{column} default {default}"
            assert constraints(conn) == constraints_before
            assert_data(conn, schema, "converted")
            # New rows of a converted key that had a sequence get a UUID from the new default.
            for i, table in enumerate(schema.tables):
                key = table.single_integer_key
                required = [
                    c.name for c in table.columns if c.not_null and c.name not in (key, "nat")
                ]
                if not key or (i, key) not in converted or required:
                    continue
                if table.column(key).flavour == "plain":
                    continue
                row = conn.execute(
                    sql.SQL("INSERT INTO {} (nat) VALUES ('new row') RETURNING {}").format(
                        table.ident, sql.Identifier(key)
                    )
                ).fetchone()
                assert row is not None and row[0] is not None, f"no default key on {table.name}"


@PROPERTY_SETTINGS
@given(schema=schemas())
def test_apply_all_keeps_every_relation(pg: pgutil.PgCluster, schema: Schema) -> None:
    convert_and_check(pg, schema, ["--all"], integer_keys(schema))


@PROPERTY_SETTINGS
@given(schema=schemas(), data=st.data())
def test_apply_one_table_converts_exactly_its_closure(
    pg: pgutil.PgCluster, schema: Schema, data: st.DataObject
) -> None:
    root = data.draw(st.sampled_from(integer_keys(schema)), label="--table")
    table = schema.tables[root]
    spec = sql.Identifier(table.schema, table.name).as_string(None)
    convert_and_check(pg, schema, ["--table", spec], [root])
