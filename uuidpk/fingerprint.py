"""Fingerprints: what is measured inside the migration (before the change, with the derivation
at hand) and again by a later `verify`, and how.

A fingerprint spec says what to measure; it is computed from the graph and the closures alone
(no I/O) and names only things a conversion keeps: tables, constraint names, column names.

Relations are proven by identity, not by content. Inside the migration's transaction the
derivation function f exists (the plan's prepare step makes it in pg_temp), so before anything
changes each converted column is measured as f(old value): the value it is about to become.
After the change, and at any later `verify`, the same columns are measured as they are. Two
parents with equal other columns stay two parents (their keys differ), and a parent whose uuid
was changed together with all its children differs from f(its old key), which no one can
compute without the key.

What is measured, per closure:
- per table: row count and a multiset hash of its rows (every column: converted ones as f(old)
  before, as they are after);
- per foreign key (or declared soft reference): the multiset of (child row identity, parent key)
  pairs, where the identity is the child's primary key (f(old) when converted) or, for a table
  without one, its whole row; the child rows whose reference is NULL; and those whose reference
  finds no parent (orphans), by a join on the key alone.
One query per table computes its own measure and those of the foreign keys declared on it, and
inserts them into uuidpk.fingerprint itself (record_sql), so `generate`'s script records the
very same fingerprint with the same statements.

A row hash XORs one 64-bit hash per column (seeded with its position) and mixes the result; a
multiset hash is the sum of row hashes as numeric: duplicate rows count as often as they occur,
row order does not matter. A column is hashed by its text, except integers and uuids (every
converted column ends as one), hashed by their own type's hash: one value has one text there,
so the proof is the same, without writing a text per value (the spec says which, per column).
Text depends on settings (time zone, date style, float digits, search_path for deparsed
definitions, ...), so those are pinned for the length of a measurement (pin_sql), with memory
for its joins as PostgreSQL gives its own foreign-key validation, and put back afterwards
(unpin_sql).

Inside the migration f() is a sha256 per value: each parent key referenced by validated foreign
keys is derived once into a table of kept keys (keep_keys_sql), and the children's references
and the parent's own key take their f(value) from there by a hash join. Kept keys are an
unlogged table in the tool's schema and each measure is written by CREATE TABLE AS, so that
PostgreSQL can scan, join and hash with parallel workers (a temporary table, a subquery fenced
with OFFSET or an INSERT ... SELECT would keep the query in one process).

Storage: see store.py. spec is FingerprintSpec.to_json():
    {"version": 3,
     "tables": [{"schema", "name", "only", "values", "converted", "keep_text", "identity",
                 "hashes"}],
     "foreign_keys": [{"name", "schema", "table", "only", "columns", "identity", "row",
                       "row_hashes", "ref_schema", "ref_table", "ref_only", "ref_columns",
                       "validated", "soft"}]}
"hashes" ("text", "int" or "uuid" per column of values + converted) is new in version 3; a
version 2 spec (all "text") is still read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from . import store, templates
from .fingerprint_spec import (
    INT,
    SPEC_VERSION,
    TEXT,
    UUID,
    Derived,
    FingerprintSpec,
    ForeignKeySpec,
    TableSpec,
    derived_columns,
    fingerprint_spec,
)
from .model import QualifiedName
from .naming import display_name
from .schema_record import SchemaRecord

TABLE = "table"
FK = "fk"
FK_NULLS = "fk_nulls"
FK_ORPHANS = "fk_orphans"

# Settings that change the text of a value or of a deparsed definition, pinned while measuring
# so that a fingerprint taken by one session compares equal with one taken by another (psql with
# another TimeZone, a driver with another DateStyle, another search_path, ...).
PINNED_SETTINGS: dict[str, str] = {
    "TimeZone": "UTC",
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "extra_float_digits": "3",
    "bytea_output": "hex",
    "lc_monetary": "C",
    # pg_get_constraintdef() and pg_get_expr() qualify every name not visible on the path.
    "search_path": "pg_catalog",
    # Never a fingerprint of only the rows a policy lets this role see: with row_security off,
    # a query that a policy would filter fails instead (superusers and owners see every row).
    "row_security": "off",
}

# Memory for the measuring queries, as PostgreSQL gives its own foreign-key validation
# (RI_Initial_Check: work_mem = maintenance_work_mem, hash_mem_multiplier = 1): each query is
# one scan hash-joined with its parents' keys, and with the default 4MB work_mem a million keys
# split into batches written to temporary files and read back (about 15 % of a measurement).
MEMORY_SETTINGS: dict[str, sql.Composable] = {
    "work_mem": sql.SQL("current_setting('maintenance_work_mem')"),
    "hash_mem_multiplier": sql.Literal("1"),
}

Progress = Callable[[str], None]
Statement = sql.SQL | sql.Composed

__all__ = [
    "FK",
    "FK_NULLS",
    "FK_ORPHANS",
    "SPEC_VERSION",
    "TABLE",
    "Derived",
    "FingerprintSpec",
    "ForeignKeySpec",
    "Measure",
    "Run",
    "TableSpec",
    "derived_columns",
    "fingerprint_spec",
    "fingerprint_sql",
    "measure",
    "measure_again_sql",
    "measure_all",
    "measure_sql",
    "read_measures",
    "read_run",
    "record_fingerprint",
    "record_schema",
    "record_sql",
    "schema_sql",
]


# -- measuring ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Measure:
    row_count: int
    hash: int | None  # None for pure counts (fk_nulls, fk_orphans)


Measures = dict[tuple[str, str], Measure]


@dataclass(frozen=True)
class _Relation:
    """One scan: a table with the closure foreign keys declared on it."""

    table: QualifiedName
    only: bool
    columns: tuple[str, ...]
    foreign_keys: tuple[ForeignKeySpec, ...]
    object: str | None  # record the table's own measure under this name; None: only its FKs
    hashes: tuple[str, ...] = ()  # per column: how its values are hashed (fingerprint_spec)


def _relations(spec: FingerprintSpec) -> list[_Relation]:
    """One per table of the spec, plus one per other table that declares a closure foreign key
    (a partition with its own foreign key: its rows are in the partitioned table's scan, but
    the key constrains only the partition's)."""
    relations = []
    tables = {t.table for t in spec.tables}
    for t in spec.tables:
        fks = tuple(f for f in spec.foreign_keys if f.table == t.table)
        relations.append(_Relation(t.table, t.only, t.columns, fks, t.object, t.column_hashes))
    others: dict[QualifiedName, list[ForeignKeySpec]] = {}
    for f in spec.foreign_keys:
        if f.table not in tables:
            others.setdefault(f.table, []).append(f)
    for table, declared in sorted(others.items()):
        first = declared[0]
        relations.append(
            _Relation(table, first.only, first.row, tuple(declared), None, first.row_column_hashes)
        )
    return relations


def _template(name: str, folder: str = "verify") -> sql.SQL:
    """A template without its comment header."""
    return templates.statement(f"{folder}/{name}.sql")


def _only(flag: bool) -> sql.SQL:
    return sql.SQL("ONLY") if flag else sql.SQL("")


# The template hashing a column's values, by the column's hash kind (fingerprint_spec).
_COLUMN_HASH = {TEXT: "column_hash", INT: "column_hash_int", UUID: "column_hash_uuid"}


def _row_hash(values: Sequence[tuple[sql.Composable, str]]) -> sql.Composable:
    """The hash of some values of one row, each with its hash kind (column_hash*.sql,
    row_hash.sql)."""
    terms: list[sql.Composable] = [
        _template(_COLUMN_HASH[kind]).format(column=value, position=sql.Literal(position))
        for position, (value, kind) in enumerate(values, start=1)
    ]
    joined = sql.SQL(" # ").join(terms) if terms else sql.SQL("0::int8")
    return _template("row_hash").format(columns=joined)


# A parent's key column whose (old key, derived key) pairs are kept for the joins.
KeptKey = tuple[QualifiedName, str]


def _kept_key(fk: ForeignKeySpec) -> KeptKey | None:
    """The parent key a foreign key can take its reference's new value from: a validated,
    single-column key (every non-NULL reference finds its parent, so the parent's f(key) is the
    reference's f(value)). Soft references and NOT VALID keys may hold orphans, and a partly
    NULL composite reference matches nothing: those derive their own values."""
    if fk.soft or not fk.validated or len(fk.columns) != 1:
        return None
    return (fk.ref_table, fk.ref_columns[0])


def measure_sql(
    relation: _Relation,
    derived: Mapping[str, sql.Composable] | None = None,
    kept: Mapping[KeptKey, str] | None = None,
) -> sql.Composed:
    """The one query that measures a relation (see measure_relation.sql). With derived (inside
    the migration, before the change), converted columns are measured as f(old value); a
    reference whose parent's keys are kept (keep_keys_sql) takes its f(value) from there."""
    derived = derived or {}
    kept = kept or {}
    index = {column: i for i, column in enumerate(relation.columns, start=1)}
    referencing = {col for fk in relation.foreign_keys for col in fk.columns}
    from_parent: dict[str, sql.Identifier] = {}
    for n, fk in enumerate(relation.foreign_keys, start=1):
        key = _kept_key(fk)
        if key is not None and key in kept and fk.columns[0] in derived:
            from_parent.setdefault(fk.columns[0], sql.Identifier(f"p{n}", "d1"))
    # A parent's own key whose derived values are kept: each row finds its one kept key (a
    # primary key's value, never NULL, kept from the same rows), a hash join that costs a
    # fraction of a sha256 per row.
    own_keys: list[tuple[str, str]] = []
    for column in index:
        if column in derived and column not in from_parent and (relation.table, column) in kept:
            alias = f"s{len(own_keys) + 1}"
            own_keys.append((column, kept[(relation.table, column)]))
            from_parent[column] = sql.Identifier(alias, "d1")
    outputs: list[sql.Composable] = []
    inline = False
    for column, i in index.items():
        name = sql.Identifier(column)
        if column in derived and column not in from_parent:
            inline = True
            outputs.append(sql.SQL("{} AS {}").format(derived[column], _value(i)))
        if column in derived and (column in referencing or column in dict(own_keys)):
            outputs.append(sql.SQL("{} AS {}").format(name, _old(i)))
        elif column not in derived:
            outputs.append(sql.SQL("{} AS {}").format(name, _value(i)))

    kinds = dict(zip(relation.columns, relation.hashes or (TEXT,) * len(index), strict=True))

    def value(column: str) -> tuple[sql.Identifier, str]:
        if column in from_parent:
            return from_parent[column], kinds[column]
        return sql.Identifier("c", f"uuidpk_v{index[column]}"), kinds[column]

    def old(column: str) -> sql.Identifier:
        prefix = "uuidpk_o" if column in derived else "uuidpk_v"
        return sql.Identifier("c", f"{prefix}{index[column]}")

    joins: list[sql.Composable] = []
    aggregates: list[sql.Composable] = []
    for n, fk in enumerate(relation.foreign_keys, start=1):
        alias = f"p{n}"
        identity = _row_hash([value(c) for c in fk.identity or relation.columns])
        reference = _row_hash([value(c) for c in fk.columns])
        # A soft reference may hold a key's values in another type (a text or bigint object
        # id): compare their text, which is the same before and after the conversion.
        equals = sql.SQL("{}::text = {}::text" if fk.soft else "{} = {}")
        condition = sql.SQL(" AND ").join(
            equals.format(sql.Identifier(alias, f"k{i}"), old(col))
            for i, col in enumerate(fk.columns, start=1)
        )
        keys = sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(sql.Identifier("p", col), sql.Identifier(f"k{i}"))
            for i, col in enumerate(fk.ref_columns, start=1)
        )
        kept_key = _kept_key(fk)
        source: sql.Composable = _template("parent_keys").format(
            keys=keys,
            only=_only(fk.ref_only),
            table=sql.Identifier(fk.ref_table.schema, fk.ref_table.name),
        )
        if kept_key is not None and kept_key in kept:
            source = _kept_table(kept[kept_key])
        joins.append(
            _template("parent_join").format(
                source=source, alias=sql.Identifier(alias), condition=condition
            )
        )
        aggregates.append(
            _template("fk_aggregates").format(
                matched=sql.SQL("{} IS NOT NULL").format(sql.Identifier(alias, "k1")),
                pair_hash=_template("pair_hash").format(child=identity, parent=reference),
                has_null=sql.SQL(" OR ").join(
                    sql.SQL("{} IS NULL").format(old(col)) for col in fk.columns
                ),
                pairs=sql.Identifier(f"fk{n}_pairs"),
                hash=sql.Identifier(f"fk{n}_hash"),
                nulls=sql.Identifier(f"fk{n}_nulls"),
                orphans=sql.Identifier(f"fk{n}_orphans"),
            )
        )
    for n, (column, table) in enumerate(own_keys, start=1):
        alias = f"s{n}"
        joins.append(
            _template("parent_join").format(
                source=_kept_table(table),
                alias=sql.Identifier(alias),
                condition=sql.SQL("{} = {}").format(sql.Identifier(alias, "k1"), old(column)),
            )
        )
    return _template("measure_relation").format(
        row_hash=_row_hash([value(c) for c in relation.columns]),
        columns=sql.SQL(",\n               ").join(outputs) if outputs else sql.SQL("1"),
        # OFFSET 0 keeps PostgreSQL from pulling the subquery up into the aggregates, which
        # would compute each derivation (a sha256) once per hash that uses it, not once a row.
        # Only where a derivation is computed here: a subquery with OFFSET runs in the leader
        # alone, while values taken from kept keys let the whole query run in parallel.
        fence=sql.SQL(" OFFSET 0" if inline else ""),
        aggregates=sql.SQL("").join(sql.SQL(",\n       ") + a for a in aggregates),
        only=_only(relation.only),
        table=sql.Identifier(relation.table.schema, relation.table.name),
        joins=sql.SQL("\n").join(joins),
    )


def _kept_table(name: str) -> sql.Identifier:
    """Where kept keys live for the length of a fingerprint (keep_keys.sql): the tool's schema,
    not pg_temp, so that parallel workers can read them."""
    return sql.Identifier("uuidpk", name)


def _value(i: int) -> sql.Identifier:
    return sql.Identifier(f"uuidpk_v{i}")


def _old(i: int) -> sql.Identifier:
    return sql.Identifier(f"uuidpk_o{i}")


def _kinds(relation: _Relation) -> list[tuple[str, str, str, str | None]]:
    """(kind, object, count column, hash column) for each value one measuring query gives."""
    kinds: list[tuple[str, str, str, str | None]] = []
    if relation.object is not None:
        kinds.append((TABLE, relation.object, "row_count", "hash"))
    for n, fk in enumerate(relation.foreign_keys, start=1):
        kinds.append((FK, fk.object, f"fk{n}_pairs", f"fk{n}_hash"))
        kinds.append((FK_NULLS, fk.object, f"fk{n}_nulls", None))
        kinds.append((FK_ORPHANS, fk.object, f"fk{n}_orphans", None))
    return kinds


def keep_keys_sql(
    spec: FingerprintSpec, derived: Derived
) -> tuple[dict[KeptKey, str], list[Statement]]:
    """Each parent key that validated foreign keys reference, with its derived value, in a
    temporary table (keep_keys.sql): f() is a sha256, and a child table would otherwise compute
    it once per row for a value its parent has. The kept keys, and the statements."""
    kept: dict[KeptKey, str] = {}
    statements: list[Statement] = []
    for fk in spec.foreign_keys:
        key = _kept_key(fk)
        if key is None or key in kept:
            continue
        table, column = key
        expression = derived.get(table, {}).get(column)
        if expression is None:
            continue
        name = f"fingerprint_keys_{len(kept) + 1}"
        kept[key] = name
        target = _kept_table(name)
        statements.append(
            _template("keep_keys").format(
                name=target,
                key=sql.Identifier(column),
                derived=expression,
                only=_only(fk.ref_only),
                table=sql.Identifier(table.schema, table.name),
            )
        )
        statements.append(_template("analyze_keys").format(name=target))
    return kept, statements


def record_sql(
    relation: _Relation,
    derived: Mapping[str, sql.Composable],
    kept: Mapping[KeptKey, str] | None = None,
    target: str = "record_values",
) -> list[sql.Composed]:
    """Measure a relation into a temporary table (measure_into.sql), insert its values into the
    current run (record_values.sql), drop the temporary table; or, in one statement, measure it
    as it is now into an online migration's end (record_after.sql)."""
    rows = sql.SQL(",\n       ").join(
        sql.SQL("({}, {}, m.{}, {})").format(
            sql.Literal(kind),
            sql.Literal(obj),
            sql.Identifier(count),
            sql.SQL("coalesce(m.{}, 0)").format(sql.Identifier(h))
            if h
            else sql.SQL("NULL::numeric"),
        )
        for kind, obj, count, h in _kinds(relation)
    )
    if target != "record_values":
        return [
            _template(target).format(
                run=store.current_run_sql(), measure=measure_sql(relation, derived, kept), rows=rows
            )
        ]
    # PostgreSQL 15 plans INSERT ... SELECT without parallel workers, CREATE TABLE AS with them:
    # the measure goes through a temporary table of one row.
    measured = sql.Identifier("pg_temp", "uuidpk_measure")
    return [
        _template("measure_into").format(
            name=measured, measure=measure_sql(relation, derived, kept)
        ),
        _template("record_values").format(run=store.current_run_sql(), source=measured, rows=rows),
        _template("drop_keys").format(name=measured),
    ]


def _as_int(value: Decimal | int | None) -> int:
    return 0 if value is None else int(value)


def _measure_relation(conn: psycopg.Connection, relation: _Relation) -> Measures:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(measure_sql(relation))
        row = cur.fetchone()
    assert row is not None
    return {
        (kind, obj): Measure(row[count], None if h is None else _as_int(row[h]))
        for kind, obj, count, h in _kinds(relation)
    }


@dataclass(frozen=True)
class Unmeasurable:
    what: str  # table, foreign key, soft reference
    object: str
    reason: str


def pin_sql() -> sql.Composed:
    """SET LOCAL the pinned settings, keeping the session's values to put back (unpin_sql)."""
    values = [sql.Literal(v) for v in PINNED_SETTINGS.values()] + list(MEMORY_SETTINGS.values())
    return _template("pin_settings").format(
        names=sql.Literal([*PINNED_SETTINGS, *MEMORY_SETTINGS]),
        values=sql.SQL("ARRAY[{}]").format(sql.SQL(", ").join(values)),
    )


def unpin_sql() -> sql.Composed:
    """Put back the settings pin_sql found: inside a migration the statements after a
    measurement run with the user's settings (a view restored with the user's search_path)."""
    return _template("unpin_settings").format(
        names=sql.Literal([*PINNED_SETTINGS, *MEMORY_SETTINGS])
    )


def measure_all(
    conn: psycopg.Connection,
    spec: FingerprintSpec,
    *,
    tolerate: bool,
    progress: Progress | None = None,
) -> tuple[Measures, list[Unmeasurable]]:
    """Measure the database as it is now, one read-only query per relation."""
    measures: Measures = {}
    failures: list[Unmeasurable] = []
    with conn.transaction():
        conn.execute(pin_sql())
        for relation in _relations(spec):
            if progress:
                progress(f"fingerprint {display_name(relation.table)}")
            if not tolerate:
                measures.update(_measure_relation(conn, relation))
                continue
            # A savepoint each: a table dropped or a column renamed since the fingerprint is a
            # difference to report, not a reason to stop measuring the others.
            try:
                with conn.transaction():
                    measures.update(_measure_relation(conn, relation))
            except psycopg.Error as exc:
                reason = (getattr(exc.diag, "message_primary", None) or str(exc)).strip()
                if relation.object is not None:
                    failures.append(Unmeasurable("table", relation.object, reason))
                for fk in relation.foreign_keys:
                    failures.append(Unmeasurable(fk.what, fk.object, reason))
        conn.execute(unpin_sql())
    return measures, failures


def measure(
    conn: psycopg.Connection, spec: FingerprintSpec, *, progress: Progress | None = None
) -> Measures:
    """Measure the database now, one query per relation. Runs inside the caller's transaction
    when there is one (a savepoint), else in its own."""
    measures, _ = measure_all(conn, spec, tolerate=False, progress=progress)
    return measures


# -- recording ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    id: int
    taken_at: dt.datetime
    spec: FingerprintSpec
    status: str
    schema_after: SchemaRecord | None = None  # None: not recorded
    problems_before: tuple[dict[str, Any], ...] = ()
    online: dict[str, Any] | None = None  # taken by an online migration (online_fingerprint.py)


def fingerprint_sql(spec: FingerprintSpec, derived: Derived) -> list[tuple[str, Statement]]:
    """The statements that record a fingerprint, each with what it does: the tool's tables, a
    new run, then under pinned settings one measurement per relation and the problems there
    already are (sequences behind their columns). For the migration's transaction, after its
    locks and its derivation functions, before any change; apply runs them and `generate`
    prints them. The sequences are those feeding the measured tables: what the migration
    locks grows with its closure, not with the database."""
    statements: list[tuple[str, Statement]] = [
        ("fingerprint tables", s) for s in store.fingerprint_tables_sql()
    ]
    statements.append(("fingerprint run", store.insert_run_sql(spec.to_json())))
    statements.append(("pin settings", pin_sql()))
    kept, keep = keep_keys_sql(spec, derived)
    statements += [("fingerprint parent keys", s) for s in keep]
    for relation in _relations(spec):
        measure, record, forget = record_sql(relation, derived.get(relation.table, {}), kept)
        statements.append((f"fingerprint {display_name(relation.table)}", measure))
        statements.append(("record the measures", record))
        statements.append(("forget the measures", forget))
    statements += [
        ("forget parent keys", _template("drop_keys").format(name=_kept_table(n)))
        for n in kept.values()
    ]
    tables = [t.table for t in spec.tables]
    statements += [("fingerprint lagging sequences", s) for s in store.record_problems_sql(tables)]
    statements.append(("put settings back", unpin_sql()))
    return statements


def measure_again_sql(spec: FingerprintSpec) -> list[Statement]:
    """Every relation of the spec measured as it is now into pg_temp.uuidpk_after: an online
    migration's end (online_fingerprint.py). For the caller to run under pin_sql()."""
    statements: list[Statement] = [_template("after_table")]
    statements += [s for r in _relations(spec) for s in record_sql(r, {}, target="record_after")]
    return statements


def schema_sql(spec: FingerprintSpec) -> list[Statement]:
    """Record in the current run the schema the migration leaves on the measured tables and
    the views reading them (schema_record.py): after the change, before commit."""
    return [pin_sql(), store.record_schema_sql(spec.relations), unpin_sql()]


def record_fingerprint(
    conn: psycopg.Connection,
    spec: FingerprintSpec,
    derived: Derived,
    *,
    progress: Progress | None = None,
) -> Run:
    """Measure now and store spec and values in the uuidpk schema. Meant for apply's `before`
    hook: same transaction as the migration, after the prepare step, before any change."""
    with conn.transaction():
        for what, statement in fingerprint_sql(spec, derived):
            if progress and what.startswith("fingerprint "):
                progress(what)
            conn.execute(statement)
        stored = store.read_run(conn, None)
    return Run(stored.id, stored.taken_at, spec, stored.status)


def record_schema(conn: psycopg.Connection, spec: FingerprintSpec) -> None:
    """Meant for apply's `after` hook: the schema as the migration leaves it."""
    with conn.transaction():
        for statement in schema_sql(spec):
            conn.execute(statement)


def read_run(conn: psycopg.Connection, run_id: int | None = None) -> Run:
    """The fingerprint run asked for, or the latest; VerificationFailed when there is none."""
    stored = store.read_run(conn, run_id)
    return Run(
        stored.id,
        stored.taken_at,
        FingerprintSpec.from_json(stored.spec),
        stored.status,
        None if stored.schema_after is None else SchemaRecord.from_json(stored.schema_after),
        tuple(stored.problems_before or ()),
        stored.online,
    )


def read_measures(conn: psycopg.Connection, run_id: int) -> Measures:
    return {
        (kind, obj): Measure(count, h) for kind, obj, count, h in store.read_values(conn, run_id)
    }
