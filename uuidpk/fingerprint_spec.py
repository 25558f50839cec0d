"""The fingerprint spec: what to measure, computed from the graph and the closures alone (no
I/O), naming only things a conversion keeps: tables, constraint names, column names; and the
derivation expressions that measure converted columns as f(old value) inside the migration.
See fingerprint.py for how it is measured and stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from .errors import VerificationFailed
from .graph import Closure, Graph
from .model import Column, QualifiedName
from .naming import display_name, quote_if_needed
from .ops import AlterColumns, Plan
from .render import derive

SPEC_VERSION = 3
# Version 2 (before the typed hashes) is still read: every column measured by its text.
READ_VERSIONS = (2, 3)

# How a column's values are hashed (column_hash*.sql): by their own type's hash function where
# equal values have equal text (integers, uuid), so the proof is as strong as hashing the text,
# without the cost of writing the text; by their text for every other type.
TEXT, INT, UUID = "text", "int", "uuid"

# Per table, the SQL giving each converted column's new value from its old one.
Derived = Mapping[QualifiedName, Mapping[str, sql.Composable]]


# -- the spec: what to measure ---------------------------------------------------------------
@dataclass(frozen=True)
class TableSpec:
    """One table of the closures."""

    table: QualifiedName
    only: bool  # FROM ONLY: a plain table (a partitioned one is read with its partitions)
    values: tuple[str, ...]  # the columns the conversion leaves alone
    converted: tuple[str, ...]  # the closure's columns on this table
    keep_text: tuple[str, ...] = ()  # converted, but stay text (generic relations' object ids)
    identity: tuple[str, ...] = ()  # the primary key's columns; () for a table without one
    hashes: tuple[str, ...] = ()  # per column of `columns`: TEXT, INT or UUID; (): all TEXT

    @property
    def object(self) -> str:
        return display_name(self.table)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.values + self.converted

    @property
    def column_hashes(self) -> tuple[str, ...]:
        return self.hashes or (TEXT,) * len(self.columns)


@dataclass(frozen=True)
class ForeignKeySpec:
    """One foreign key of the closures (all its column pairs), or a soft reference the user
    declared (--soft-ref): a column converted with its target's closure, with no constraint."""

    name: str
    table: QualifiedName
    only: bool
    columns: tuple[str, ...]
    identity: tuple[str, ...]  # the child's primary key; (): its whole row
    ref_table: QualifiedName
    ref_only: bool
    ref_columns: tuple[str, ...]
    validated: bool
    soft: bool = False
    row: tuple[str, ...] = ()  # every column of the child (its identity when it has no key)
    row_hashes: tuple[str, ...] = ()  # per column of `row`, as TableSpec.hashes

    @property
    def row_column_hashes(self) -> tuple[str, ...]:
        return self.row_hashes or (TEXT,) * len(self.row)

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
                    "identity": list(t.identity),
                    "hashes": list(t.column_hashes),
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
                    "identity": list(f.identity),
                    "row": list(f.row),
                    "row_hashes": list(f.row_column_hashes),
                    "ref_schema": f.ref_table.schema,
                    "ref_table": f.ref_table.name,
                    "ref_only": f.ref_only,
                    "ref_columns": list(f.ref_columns),
                    "validated": f.validated,
                    "soft": f.soft,
                }
                for f in self.foreign_keys
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FingerprintSpec:
        if data.get("version") not in READ_VERSIONS:
            raise VerificationFailed(
                f"fingerprint spec version {data.get('version')!r} is not one this uuidpk reads"
            )
        tables = tuple(
            TableSpec(
                QualifiedName(t["schema"], t["name"]),
                bool(t["only"]),
                tuple(t["values"]),
                tuple(t["converted"]),
                tuple(t["keep_text"]),
                tuple(t["identity"]),
                tuple(t.get("hashes", ())),
            )
            for t in data["tables"]
        )
        foreign_keys = tuple(
            ForeignKeySpec(
                name=f["name"],
                table=QualifiedName(f["schema"], f["table"]),
                only=bool(f["only"]),
                columns=tuple(f["columns"]),
                identity=tuple(f["identity"]),
                ref_table=QualifiedName(f["ref_schema"], f["ref_table"]),
                ref_only=bool(f["ref_only"]),
                ref_columns=tuple(f["ref_columns"]),
                validated=bool(f["validated"]),
                soft=bool(f["soft"]),
                row=tuple(f["row"]),
                row_hashes=tuple(f.get("row_hashes", ())),
            )
            for f in data["foreign_keys"]
        )
        return cls(tables, foreign_keys)

    @property
    def relations(self) -> tuple[QualifiedName, ...]:
        """Every table measured: the closures' and those declaring a closure foreign key."""
        seen = dict.fromkeys([t.table for t in self.tables] + [f.table for f in self.foreign_keys])
        return tuple(seen)


def hash_kind(column: Column) -> str:
    """How a column the conversion leaves alone is hashed: integers and uuids by their type's
    hash (one integer or uuid value has one text, and the reverse), anything else by its text."""
    if column.is_integer:
        return INT
    if column.is_uuid:
        return UUID
    return TEXT


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

    def identity(table_oid: int) -> tuple[str, ...]:
        pk = graph.primary_key(table_oid)
        if pk is None:
            return ()
        return tuple(catalog.column(table_oid, a).name for a in pk.columns)

    def row(table_oid: int) -> tuple[str, ...]:
        values, converted = split(table_oid)
        return values + converted

    def hashes(table_oid: int) -> tuple[str, ...]:
        # A converted column is hashed as what it becomes: uuid, or text for the object ids of
        # a generic relation that stay text.
        kinds = {}
        for column in catalog.columns_of(table_oid):
            node = graph.canon((table_oid, column.attnum))
            if node in nodes:
                kinds[column.name] = TEXT if (table_oid, column.attnum) in keep_text else UUID
            else:
                kinds[column.name] = hash_kind(column)
        return tuple(kinds[name] for name in row(table_oid))

    tables = []
    for table_oid in sorted(
        {t for c in closures for t in c.tables}, key=lambda t: catalog.table(t).qname
    ):
        values, converted = split(table_oid)
        texts = tuple(
            c.name for c in catalog.columns_of(table_oid) if (table_oid, c.attnum) in keep_text
        )
        tables.append(
            TableSpec(
                catalog.table(table_oid).qname,
                only(table_oid),
                values,
                converted,
                texts,
                identity(table_oid),
                hashes(table_oid),
            )
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
                identity=identity(fk.table_oid),
                ref_table=catalog.table(fk.ref_table_oid).qname,
                ref_only=only(fk.ref_table_oid),
                ref_columns=tuple(catalog.column(fk.ref_table_oid, a).name for a in fk.ref_columns),
                validated=fk.validated,
                row=row(fk.table_oid),
                row_hashes=hashes(fk.table_oid),
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
                identity=identity(child.oid),
                ref_table=parent.qname,
                ref_only=only(parent.oid),
                ref_columns=(catalog.column(*edge.parent).name,),
                validated=False,
                soft=True,
                row=row(child.oid),
                row_hashes=hashes(child.oid),
            )
        )
    foreign_keys.sort(key=lambda f: (f.soft, f.table, f.name, f.columns))
    return FingerprintSpec(tuple(tables), tuple(foreign_keys))


def derived_columns(graph: Graph, plan: Plan, spec: FingerprintSpec) -> Derived:
    """Per measured table, each converted column's new value as SQL over its old one: the very
    expression the plan's ALTER ... USING computes (render.derive). Valid only inside the
    migration's transaction, after the plan's prepare step made the derivation functions."""
    catalog = graph.catalog
    by_node: dict[tuple[int, int], sql.Composable] = {}
    for step in plan.steps:
        for op in step.ops:
            if not isinstance(op, AlterColumns):
                continue
            (table,) = catalog.find_tables(op.table.schema, op.table.name)
            for change in op.changes:
                column = catalog.column_named(table.oid, change.column)
                assert column is not None
                by_node[(table.oid, column.attnum)] = derive(change.derivation, change.column)
    result: dict[QualifiedName, dict[str, sql.Composable]] = {}
    for name in spec.relations:
        (table,) = catalog.find_tables(name.schema, name.name)
        for column in catalog.columns_of(table.oid):
            canon = graph.canon((table.oid, column.attnum))
            if canon in by_node:
                # Partitions have their topmost table's column names (PostgreSQL requires it).
                result.setdefault(name, {})[column.name] = by_node[canon]
    return result
