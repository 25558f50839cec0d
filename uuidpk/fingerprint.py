"""Fingerprints: what is measured before the change (and again after it), and how.

A fingerprint spec says what to measure; it is computed from the graph and the closures alone
(no I/O) and names only things a conversion keeps: tables, constraint names, and the columns
that are not converted. `record_fingerprint` stores the spec and what it measured in the uuidpk
schema, inside the migration's transaction, before anything changes; `verify` measures again with
the stored spec and compares.

What is measured, per closure:
- per table: row count and a multiset hash of its rows, each row being its non-converted columns
  plus, for each closure foreign key declared on it, the referenced parent row's non-converted
  columns (so swapping two pairings in a join table whose only columns are the keys shows);
- per foreign key: the multiset of (child row, parent row) pairs it joins, the child rows whose
  reference is NULL, and those whose reference finds no parent (orphans).
One query per table computes its own measure and those of the foreign keys declared on it (one
join per foreign key, shared by both). A parent referenced by several foreign keys is hashed once
into a scratch table (keep_parent_rows.sql) instead of once per foreign key.

A row hash XORs one 64-bit hash per column (of the column's text, seeded with its position) and
mixes the result; a multiset hash is the sum of row hashes as numeric: duplicate rows count as
often as they occur, row order does not matter. Text depends on settings (time zone, date style,
float digits, ...), so those are pinned with SET LOCAL while measuring and put back afterwards.

Storage (sql_templates/verify/create_*.sql):
    uuidpk.fingerprint_run (id, taken_at, spec jsonb, status recorded|verified|failed)
    uuidpk.fingerprint (run_id, kind table|fk|fk_nulls|fk_orphans, object, row_count, hash)
object is "schema.table" for a table, "constraint on schema.table" for a foreign key, each name
double-quoted when it is not a plain lower-case identifier. spec is FingerprintSpec.to_json():
    {"version": 1,
     "tables": [{"schema", "name", "only", "values": [...], "converted": [...]}],
     "foreign_keys": [{"name", "schema", "table", "only", "columns", "values",
                       "ref_schema", "ref_table", "ref_only", "ref_columns", "ref_values",
                       "validated"}]}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from . import store, templates
from .errors import VerificationFailed
from .graph import Closure, Graph
from .model import QualifiedName
from .naming import display_name, quote_if_needed

SPEC_VERSION = 1

TABLE = "table"
FK = "fk"
FK_NULLS = "fk_nulls"
FK_ORPHANS = "fk_orphans"

# Settings that change the text of a value, pinned while measuring so that a fingerprint taken by
# one session compares equal with one taken by another (psql with another TimeZone, a driver
# with another DateStyle, ...).
PINNED_SETTINGS: dict[str, str] = {
    "TimeZone": "UTC",
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "extra_float_digits": "3",
    "bytea_output": "hex",
    "lc_monetary": "C",
    # Never a fingerprint of only the rows a policy lets this role see: with row_security off,
    # a query that a policy would filter fails instead (superusers and owners see every row).
    "row_security": "off",
}

Progress = Callable[[str], None]


# -- the spec: what to measure ---------------------------------------------------------------
@dataclass(frozen=True)
class TableSpec:
    """One table of the closures."""

    table: QualifiedName
    only: bool  # FROM ONLY: a plain table (a partitioned one is read with its partitions)
    values: tuple[str, ...]  # the columns the conversion leaves alone
    converted: tuple[str, ...]  # the closure's columns on this table
    keep_text: tuple[str, ...] = ()  # converted, but stay text (generic relations' object ids)

    @property
    def object(self) -> str:
        return display_name(self.table)


@dataclass(frozen=True)
class ForeignKeySpec:
    """One foreign key of the closures (all its column pairs), or a soft reference the user
    declared (--soft-ref): a column converted with its target's closure, with no constraint."""

    name: str
    table: QualifiedName
    only: bool
    columns: tuple[str, ...]
    values: tuple[str, ...]  # the child's non-converted columns
    ref_table: QualifiedName
    ref_only: bool
    ref_columns: tuple[str, ...]
    ref_values: tuple[str, ...]  # the parent's non-converted columns
    validated: bool
    soft: bool = False

    @property
    def what(self) -> str:
        return "soft reference" if self.soft else "foreign key"

    @property
    def object(self) -> str:
        if self.soft:
            return (
                f"{display_name(self.table)}.{quote_if_needed(self.columns[0])} -> "
                f"{display_name(self.ref_table)}.{quote_if_needed(self.ref_columns[0])}"
            )
        return f"{quote_if_needed(self.name)} on {display_name(self.table)}"


@dataclass(frozen=True)
class FingerprintSpec:
    tables: tuple[TableSpec, ...]
    foreign_keys: tuple[ForeignKeySpec, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": SPEC_VERSION,
            "tables": [
                {
                    "schema": t.table.schema,
                    "name": t.table.name,
                    "only": t.only,
                    "values": list(t.values),
                    "converted": list(t.converted),
                    "keep_text": list(t.keep_text),
                }
                for t in self.tables
            ],
            "foreign_keys": [
                {
                    "name": f.name,
                    "schema": f.table.schema,
                    "table": f.table.name,
                    "only": f.only,
                    "columns": list(f.columns),
                    "values": list(f.values),
                    "ref_schema": f.ref_table.schema,
                    "ref_table": f.ref_table.name,
                    "ref_only": f.ref_only,
                    "ref_columns": list(f.ref_columns),
                    "ref_values": list(f.ref_values),
                    "validated": f.validated,
                    "soft": f.soft,
                }
                for f in self.foreign_keys
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FingerprintSpec:
        if data.get("version") != SPEC_VERSION:
            raise VerificationFailed(
                f"fingerprint spec version {data.get('version')!r} is not one this uuidpk reads"
            )
        tables = tuple(
            TableSpec(
                QualifiedName(t["schema"], t["name"]),
                bool(t["only"]),
                tuple(t["values"]),
                tuple(t["converted"]),
                tuple(t.get("keep_text", ())),
            )
            for t in data["tables"]
        )
        foreign_keys = tuple(
            ForeignKeySpec(
                name=f["name"],
                table=QualifiedName(f["schema"], f["table"]),
                only=bool(f["only"]),
                columns=tuple(f["columns"]),
                values=tuple(f["values"]),
                ref_table=QualifiedName(f["ref_schema"], f["ref_table"]),
                ref_only=bool(f["ref_only"]),
                ref_columns=tuple(f["ref_columns"]),
                ref_values=tuple(f["ref_values"]),
                validated=bool(f["validated"]),
                soft=bool(f.get("soft", False)),
            )
            for f in data["foreign_keys"]
        )
        return cls(tables, foreign_keys)


def fingerprint_spec(
    graph: Graph, closures: Sequence[Closure], keep_text: frozenset[tuple[int, int]] = frozenset()
) -> FingerprintSpec:
    """What to measure for these closures. Pure: the graph already holds the catalog."""
    catalog = graph.catalog
    nodes = {n for closure in closures for n in closure.nodes}

    def split(table_oid: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
        # A column of a partition is converted when its column on the topmost table is.
        values, converted = [], []
        for column in catalog.columns_of(table_oid):
            if graph.canon((table_oid, column.attnum)) in nodes:
                converted.append(column.name)
            else:
                values.append(column.name)
        return tuple(values), tuple(converted)

    def only(table_oid: int) -> bool:
        return not catalog.table(table_oid).is_partitioned

    tables = []
    for table_oid in sorted(
        {t for c in closures for t in c.tables}, key=lambda t: catalog.table(t).qname
    ):
        values, converted = split(table_oid)
        texts = tuple(
            c.name for c in catalog.columns_of(table_oid) if (table_oid, c.attnum) in keep_text
        )
        tables.append(
            TableSpec(catalog.table(table_oid).qname, only(table_oid), values, converted, texts)
        )
    constraints = {e.constraint.oid: e.constraint for c in closures for e in c.edges}
    foreign_keys = []
    for fk in constraints.values():
        assert fk.ref_table_oid is not None
        foreign_keys.append(
            ForeignKeySpec(
                name=fk.name,
                table=catalog.table(fk.table_oid).qname,
                only=only(fk.table_oid),
                columns=tuple(catalog.column(fk.table_oid, a).name for a in fk.columns),
                values=split(fk.table_oid)[0],
                ref_table=catalog.table(fk.ref_table_oid).qname,
                ref_only=only(fk.ref_table_oid),
                ref_columns=tuple(catalog.column(fk.ref_table_oid, a).name for a in fk.ref_columns),
                ref_values=split(fk.ref_table_oid)[0],
                validated=fk.validated,
            )
        )
    soft = {e for c in closures for e in c.soft_edges}
    for edge in soft:
        child, parent = catalog.table(edge.child[0]), catalog.table(edge.parent[0])
        foreign_keys.append(
            ForeignKeySpec(
                name="",
                table=child.qname,
                only=only(child.oid),
                columns=(catalog.column(*edge.child).name,),
                values=split(child.oid)[0],
                ref_table=parent.qname,
                ref_only=only(parent.oid),
                ref_columns=(catalog.column(*edge.parent).name,),
                ref_values=split(parent.oid)[0],
                validated=False,
                soft=True,
            )
        )
    foreign_keys.sort(key=lambda f: (f.soft, f.table, f.name, f.columns))
    return FingerprintSpec(tuple(tables), tuple(foreign_keys))


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
    values: tuple[str, ...]
    foreign_keys: tuple[ForeignKeySpec, ...]
    object: str | None  # record the table's own measure under this name; None: only its FKs


def _relations(spec: FingerprintSpec) -> list[_Relation]:
    """One per table of the spec, plus one per other table that declares a closure foreign key
    (a partition with its own foreign key: its rows are in the partitioned table's scan, but
    the key constrains only the partition's)."""
    relations = []
    tables = {t.table for t in spec.tables}
    for t in spec.tables:
        fks = tuple(f for f in spec.foreign_keys if f.table == t.table)
        relations.append(_Relation(t.table, t.only, t.values, fks, t.object))
    others: dict[QualifiedName, list[ForeignKeySpec]] = {}
    for f in spec.foreign_keys:
        if f.table not in tables:
            others.setdefault(f.table, []).append(f)
    for table, declared in sorted(others.items()):
        first = declared[0]
        relations.append(_Relation(table, first.only, first.values, tuple(declared), None))
    return relations


def _template(name: str, folder: str = "verify") -> sql.SQL:
    """A template without its comment header."""
    return templates.statement(f"{folder}/{name}.sql")


def _only(flag: bool) -> sql.SQL:
    return sql.SQL("ONLY") if flag else sql.SQL("")


def _row_hash(alias: str, columns: Sequence[str]) -> sql.Composable:
    terms: list[sql.Composable] = [
        _template("column_hash").format(
            column=sql.Identifier(alias, column), position=sql.Literal(position)
        )
        for position, column in enumerate(columns, start=1)
    ]
    joined = sql.SQL(" # ").join(terms) if terms else sql.SQL("0::int8")
    return _template("row_hash").format(columns=joined)


# A parent as the joins see it: which rows, which key columns, which columns hashed.
ParentKey = tuple[QualifiedName, bool, tuple[str, ...], tuple[str, ...]]


def _parent_key(fk: ForeignKeySpec) -> ParentKey:
    return (fk.ref_table, fk.ref_only, fk.ref_columns, fk.ref_values)


def parent_rows_sql(parent: ParentKey) -> sql.Composed:
    """(k1, ..., h) per parent row (see parent_rows.sql)."""
    table, only, columns, values = parent
    keys = sql.SQL(", ").join(
        sql.SQL("{} AS {}").format(sql.Identifier("p", col), sql.Identifier(f"k{i}"))
        for i, col in enumerate(columns, start=1)
    )
    return _template("parent_rows").format(
        keys=keys,
        row_hash=_row_hash("p", values),
        only=_only(only),
        table=sql.Identifier(table.schema, table.name),
    )


def measure_sql(
    relation: _Relation, kept: dict[ParentKey, sql.Identifier] | None = None
) -> sql.Composed:
    """The one query that measures a relation (see measure_relation.sql); parents found in
    kept are joined from their kept (key, hash) table instead of being hashed again."""
    kept = kept or {}
    child_hash = _row_hash("c", relation.values)
    joins: list[sql.Composable] = []
    aggregates: list[sql.Composable] = []
    row_hash: sql.Composable = child_hash
    fk_parts: list[sql.Composable] = []
    matched_first: sql.Composable = sql.SQL("true")
    for n, fk in enumerate(relation.foreign_keys, start=1):
        alias = f"p{n}"
        parent = _parent_key(fk)
        source = kept.get(parent) or sql.SQL("({})").format(parent_rows_sql(parent))
        # A soft reference may hold a key's values in another type (a text or bigint object
        # id): compare their text, which is the same before and after the conversion.
        equals = sql.SQL("{}::text = {}::text" if fk.soft else "{} = {}")
        condition = sql.SQL(" AND ").join(
            equals.format(sql.Identifier(alias, f"k{i}"), sql.Identifier("c", col))
            for i, col in enumerate(fk.columns, start=1)
        )
        joins.append(
            _template("parent_join").format(
                source=source, alias=sql.Identifier(alias), condition=condition
            )
        )
        parent_hash = sql.Identifier(alias, "h")
        matched = sql.SQL("{} IS NOT NULL").format(parent_hash)
        has_null = sql.SQL(" OR ").join(
            sql.SQL("{} IS NULL").format(sql.Identifier("c", col)) for col in fk.columns
        )
        if n == 1:
            matched_first = matched
        row_hash = _template("pair_hash").format(child=row_hash, parent=parent_hash)
        fk_parts.append(
            _template("fk_aggregates").format(
                matched=matched,
                pair_hash=_template("pair_hash").format(child=child_hash, parent=parent_hash),
                has_null=has_null,
                pairs=sql.Identifier(f"fk{n}_pairs"),
                hash=sql.Identifier(f"fk{n}_hash"),
                nulls=sql.Identifier(f"fk{n}_nulls"),
                orphans=sql.Identifier(f"fk{n}_orphans"),
            )
        )
    aggregates.append(
        _template("relation_aggregates").format(row_hash=row_hash, split=matched_first)
    )
    aggregates.extend(fk_parts)
    return _template("measure_relation").format(
        aggregates=sql.SQL(",\n       ").join(aggregates),
        only=_only(relation.only),
        table=sql.Identifier(relation.table.schema, relation.table.name),
        joins=sql.SQL("\n").join(joins),
    )


def _as_int(value: Decimal | int | None) -> int:
    return 0 if value is None else int(value)


def _measure_relation(
    conn: psycopg.Connection, relation: _Relation, kept: dict[ParentKey, sql.Identifier]
) -> Measures:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(measure_sql(relation, kept))
        row = cur.fetchone()
    assert row is not None
    result: Measures = {}
    if relation.object is not None:
        result[(TABLE, relation.object)] = Measure(
            row["row_count"], _as_int(row["hash_a"]) + _as_int(row["hash_b"])
        )
    for n, fk in enumerate(relation.foreign_keys, start=1):
        result[(FK, fk.object)] = Measure(row[f"fk{n}_pairs"], _as_int(row[f"fk{n}_hash"]))
        result[(FK_NULLS, fk.object)] = Measure(row[f"fk{n}_nulls"], None)
        result[(FK_ORPHANS, fk.object)] = Measure(row[f"fk{n}_orphans"], None)
    return result


@dataclass(frozen=True)
class Unmeasurable:
    what: str  # table, foreign key, soft reference
    object: str
    reason: str


def _pin_settings(conn: psycopg.Connection) -> dict[str, str]:
    """SET LOCAL the pinned settings; returns the previous values, to put them back."""
    names = list(PINNED_SETTINGS)
    rows = conn.execute(_template("current_settings"), {"names": names}).fetchall()
    previous = {name: value for name, value in rows}
    _set_settings(conn, PINNED_SETTINGS)
    return previous


def _set_settings(conn: psycopg.Connection, settings: dict[str, str]) -> None:
    conn.execute(
        _template("set_settings"),
        {"names": list(settings), "values": list(settings.values())},
    )


def measure_all(
    conn: psycopg.Connection,
    spec: FingerprintSpec,
    *,
    tolerate: bool,
    progress: Progress | None = None,
) -> tuple[Measures, list[Unmeasurable]]:
    measures: Measures = {}
    failures: list[Unmeasurable] = []
    with conn.transaction():
        previous = _pin_settings(conn)
        kept = _keep_parents(conn, spec, tolerate=tolerate, progress=progress)
        for relation in _relations(spec):
            if progress:
                progress(f"fingerprint {display_name(relation.table)}")
            if not tolerate:
                measures.update(_measure_relation(conn, relation, kept))
                continue
            # A savepoint each: a table dropped or a column renamed since the fingerprint is a
            # difference to report, not a reason to stop measuring the others.
            try:
                with conn.transaction():
                    measures.update(_measure_relation(conn, relation, kept))
            except psycopg.Error as exc:
                reason = (getattr(exc.diag, "message_primary", None) or str(exc)).strip()
                if relation.object is not None:
                    failures.append(Unmeasurable("table", relation.object, reason))
                for fk in relation.foreign_keys:
                    failures.append(Unmeasurable(fk.what, fk.object, reason))
        for name in kept.values():
            conn.execute(_template("drop_parent_rows").format(name=name))
        # Put back what the session had: inside a migration the statements after this one run
        # with the user's settings, as generate's script would.
        _set_settings(conn, previous)
    return measures, failures


def _keep_parents(
    conn: psycopg.Connection,
    spec: FingerprintSpec,
    *,
    tolerate: bool,
    progress: Progress | None = None,
) -> dict[ParentKey, sql.Identifier]:
    """Hash once each parent that several foreign keys reference (a users table referenced by
    thirty keys would otherwise be read and hashed thirty times). A parent that cannot be kept
    (gone since the fingerprint, when tolerating) is left to the joins, which then report it."""
    uses: dict[ParentKey, int] = {}
    for fk in spec.foreign_keys:
        uses[_parent_key(fk)] = uses.get(_parent_key(fk), 0) + 1
    shared = [parent for parent, count in uses.items() if count > 1]
    kept: dict[ParentKey, sql.Identifier] = {}
    if not shared:
        return kept
    store.create_schema(conn)
    pid = conn.info.backend_pid
    for n, parent in enumerate(shared, start=1):
        if progress:
            progress(f"fingerprint parent rows of {display_name(parent[0])}")
        name = sql.Identifier("uuidpk", f"fingerprint_parent_{pid}_{n}")
        try:
            with conn.transaction():
                conn.execute(_template("drop_parent_rows").format(name=name))
                conn.execute(
                    _template("keep_parent_rows").format(name=name, rows=parent_rows_sql(parent))
                )
                conn.execute(_template("analyze_parent_rows").format(name=name))
        except psycopg.Error:
            if not tolerate:
                raise
            continue
        kept[parent] = name
    return kept


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


def record_fingerprint(
    conn: psycopg.Connection, spec: FingerprintSpec, *, progress: Progress | None = None
) -> Run:
    """Measure now and store spec and values in uuidpk.fingerprint_run / uuidpk.fingerprint.
    Meant for apply's `before` hook: same transaction as the migration, before any change."""
    with conn.transaction():
        store.create_fingerprint_tables(conn)
        measures = measure(conn, spec, progress=progress)
        run_id, taken_at = store.insert_run(conn, spec.to_json())
        store.insert_values(
            conn,
            run_id,
            [(kind, obj, m.row_count, m.hash) for (kind, obj), m in sorted(measures.items())],
        )
    return Run(run_id, taken_at, spec, "recorded")


def read_run(conn: psycopg.Connection, run_id: int | None = None) -> Run:
    """The fingerprint run asked for, or the latest; VerificationFailed when there is none."""
    stored = store.read_run(conn, run_id)
    return Run(stored.id, stored.taken_at, FingerprintSpec.from_json(stored.spec), stored.status)


def read_measures(conn: psycopg.Connection, run_id: int) -> Measures:
    return {
        (kind, obj): Measure(count, h) for kind, obj, count, h in store.read_values(conn, run_id)
    }
