"""Closures of keys over the foreign-key graph, and relation kinds.

Pure: takes a Catalog, returns values. A node is one column, (table oid, attnum), always named
through its topmost partitioned table: ALTER on a partitioned table changes every partition, and
partitions must keep their parent's column types.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

from .errors import Refused, TableNotFound
from .leftout import LeftOut, Reason
from .model import Catalog, Column, Constraint, QualifiedName, Table

Node = tuple[int, int]


class RelationKind(StrEnum):
    """What a foreign key says about its two tables."""

    MANY_TO_ONE = "many-to-one"
    ONE_TO_ONE = "one-to-one"  # the FK columns are unique
    MANY_TO_MANY = "many-to-many"  # the child is a join table
    SELF = "self"  # the table references itself


@dataclass(frozen=True)
class Edge:
    """One column pair of a foreign key: child references parent."""

    constraint: Constraint
    child: Node
    parent: Node
    kind: RelationKind


@dataclass(frozen=True)
class SoftEdge:
    """A reference the user declared (--soft-ref) where no foreign key exists: the column
    converts with its target's closure, by the same derivation."""

    child: Node
    parent: Node


@dataclass(frozen=True)
class Key:
    """A primary key a user asked to convert."""

    table: Table
    column: Column
    constraint: Constraint


@dataclass(frozen=True)
class Closure:
    """Every column that holds values of one key, which must all change type together."""

    root: Node  # the column whose table name seeds the derivation
    roots: tuple[Node, ...]  # every column that references nothing in the closure
    nodes: tuple[Node, ...]  # sorted
    edges: tuple[Edge, ...]
    root_name: QualifiedName
    soft_edges: tuple[SoftEdge, ...] = ()

    @property
    def tables(self) -> tuple[int, ...]:
        return tuple(sorted({t for t, _ in self.nodes}))


class Graph:
    """The foreign-key graph of one catalog, at column level."""

    def __init__(self, catalog: Catalog, soft: tuple[SoftEdge, ...] = ()) -> None:
        self.catalog = catalog
        self.soft = soft
        self._closures: dict[Node, Closure] = {}
        self._canon: dict[Node, Node] = {}
        self.foreign_keys = [
            c for c in catalog.constraints if c.kind == "f" and c.parent_oid is None
        ]
        self.by_parent: dict[Node, list[Edge]] = {}
        self.by_child: dict[Node, list[Edge]] = {}
        for fk in self.foreign_keys:
            assert fk.ref_table_oid is not None
            for child_att, parent_att in fk.pairs:
                child = self.canon((fk.table_oid, child_att))
                parent = self.canon((fk.ref_table_oid, parent_att))
                edge = Edge(fk, child, parent, self._kind(fk, child, parent))
                self.by_parent.setdefault(parent, []).append(edge)
                self.by_child.setdefault(child, []).append(edge)

    # -- naming -------------------------------------------------------------------------
    def canon(self, node: Node) -> Node:
        """The same column on the topmost partitioned table above a partition."""
        if node in self._canon:
            return self._canon[node]
        table_oid, attnum = node
        result = node
        table = self.catalog.table(table_oid) if self.catalog.has_table(table_oid) else None
        if table is not None and table.is_partition and table.parent_oid is not None:
            column = self.catalog.column(table_oid, attnum)
            parent_col = self.catalog.column_named(table.parent_oid, column.name)
            if parent_col is not None:
                result = self.canon((table.parent_oid, parent_col.attnum))
        self._canon[node] = result
        return result

    @cached_property
    def _partition_columns(self) -> dict[Node, list[Node]]:
        """Each partitioned table's column -> the same column on every partition below it."""
        below: dict[Node, list[Node]] = {}
        for table in self.catalog.tables:
            if table.is_partition:
                for column in self.catalog.columns_of(table.oid):
                    node = (table.oid, column.attnum)
                    top = self.canon(node)
                    if top != node:
                        below.setdefault(top, []).append(node)
        return below

    def members(self, nodes: tuple[Node, ...] | list[Node]) -> list[Node]:
        """The nodes and the same columns on every partition below them: what really changes."""
        result = list(nodes)
        for node in nodes:
            result.extend(self._partition_columns.get(node, ()))
        return result

    def describe(self, node: Node) -> str:
        table = self.catalog.table(node[0])
        return f"{table.qname}.{self.catalog.column(*node).name}"

    def sort_key(self, node: Node) -> tuple[str, str, str]:
        table = self.catalog.table(node[0])
        return (table.schema, table.name, self.catalog.column(*node).name)

    # -- kinds --------------------------------------------------------------------------
    @cached_property
    def _unique_sets(self) -> dict[int, set[frozenset[int]]]:
        """Per table, the column sets that are unique: constraints and plain unique indexes."""
        sets: dict[int, set[frozenset[int]]] = {}
        for c in self.catalog.constraints:
            if c.kind in ("p", "u"):
                sets.setdefault(c.table_oid, set()).add(frozenset(c.columns))
        for i in self.catalog.indexes:
            if i.is_unique and not i.is_partial and not i.has_expressions:
                sets.setdefault(i.table_oid, set()).add(frozenset(i.key_columns))
        return sets

    @cached_property
    def _fks_by_table(self) -> dict[int, list[Constraint]]:
        result: dict[int, list[Constraint]] = {}
        for fk in self.foreign_keys:
            result.setdefault(fk.table_oid, []).append(fk)
        return result

    @cached_property
    def _primary_keys(self) -> dict[int, Constraint]:
        return {c.table_oid: c for c in self.catalog.constraints if c.kind == "p"}

    def primary_key(self, table_oid: int) -> Constraint | None:
        return self._primary_keys.get(table_oid)

    def is_join_table(self, table_oid: int) -> bool:
        """Two or more foreign keys and no payload: every column is an FK column, or the
        single-column surrogate primary key that no FK uses."""
        fks = self._fks_by_table.get(table_oid, [])
        if len(fks) < 2:
            return False
        fk_columns = {a for fk in fks for a in fk.columns}
        pk = self.primary_key(table_oid)
        surrogate = set(pk.columns) if pk and len(pk.columns) == 1 else set()
        surrogate -= fk_columns
        columns = {c.attnum for c in self.catalog.columns_of(table_oid)}
        return columns <= fk_columns | surrogate

    def _kind(self, fk: Constraint, child: Node, parent: Node) -> RelationKind:
        if child[0] == parent[0]:
            return RelationKind.SELF
        if frozenset(fk.columns) in self._unique_sets.get(fk.table_oid, set()):
            return RelationKind.ONE_TO_ONE
        if self.is_join_table(fk.table_oid):
            return RelationKind.MANY_TO_MANY
        return RelationKind.MANY_TO_ONE

    # -- closures -----------------------------------------------------------------------
    def closure(self, start: Node) -> Closure:
        """Every column connected to start by foreign keys, in either direction: a referenced
        column and its referencing columns must have comparable types, so all change at once."""
        start = self.canon(start)
        if start in self._closures:
            return self._closures[start]
        seen = {start}
        edges: dict[tuple[int, Node, Node], Edge] = {}
        soft: set[SoftEdge] = set()
        queue = deque([start])
        while queue:
            node = queue.popleft()
            pairs: list[tuple[Node, Node]] = []
            for edge in self.by_parent.get(node, []) + self.by_child.get(node, []):
                edges[(edge.constraint.oid, edge.child, edge.parent)] = edge
                pairs.append((edge.child, edge.parent))
            for declared in self.soft:
                if node in (declared.child, declared.parent):
                    soft.add(declared)
                    pairs.append((declared.child, declared.parent))
            for other in (n for pair in pairs for n in pair):
                if other not in seen:
                    seen.add(other)
                    queue.append(other)
        nodes = tuple(sorted(seen, key=self.sort_key))
        children = {e.child for e in edges.values() if e.child != e.parent}
        children |= {e.child for e in soft}
        roots = tuple(n for n in nodes if n not in children) or nodes[:1]
        root = roots[0]
        ordered_edges = tuple(
            sorted(edges.values(), key=lambda e: (self.sort_key(e.child), e.constraint.name))
        )
        closure = Closure(
            root,
            roots,
            nodes,
            ordered_edges,
            self.catalog.table(root[0]).qname,
            tuple(sorted(soft, key=lambda e: self.sort_key(e.child))),
        )
        self._closures.update((node, closure) for node in nodes)  # one component, many keys
        return closure

    # -- keys ---------------------------------------------------------------------------
    def find_table(self, spec: str) -> Table:
        """A table named [schema.]table; either part may be double-quoted (app."Order ""x"")."""
        schema, name = split_name(spec)
        found = self.catalog.find_tables(schema, name)
        if not found and schema is not None and '"' not in spec:
            found = self.catalog.find_tables(None, spec)  # a table whose name has a dot
        if not found:
            where = f" in schema {schema}" if schema else ""
            raise TableNotFound(f"table {spec!r} not found{where}")
        if len(found) > 1:
            options = ", ".join(str(t.qname) for t in found)
            raise TableNotFound(f"table name {spec!r} is ambiguous: {options}; name the schema")
        table = found[0]
        if not table.is_table:
            kind = {"v": "a view", "m": "a materialized view", "f": "a foreign table"}
            raise TableNotFound(f"{table.qname} is {kind.get(table.relkind, 'not a table')}")
        return table

    def key_of(self, table: Table) -> Key:
        """The single-column primary key of a table, or Refused with the reason."""
        if table.extension is not None:  # catalog: the extension owns it (pg_depend 'e')
            raise Refused(
                f"{table.qname} belongs to extension {table.extension}: "
                "uuidpk does not convert an extension's tables"
            )
        if table.is_partition and table.parent_oid is not None:
            parent = self.catalog.table(table.parent_oid)
            raise Refused(f"{table.qname} is a partition of {parent.qname}: convert the parent")
        pk = self.primary_key(table.oid)
        if pk is None:
            raise Refused(f"{table.qname} has no primary key")
        attnum = self._key_column(table, pk)
        if attnum is None:
            names = ", ".join(self.catalog.column(table.oid, a).name for a in pk.columns)
            raise Refused(f"{table.qname} has a composite primary key ({names})")
        return Key(table, self.catalog.column(table.oid, attnum), pk)

    def key_column(self, table: Table) -> int | None:
        """The attnum of a table's key column (see _key_column), or None."""
        pk = self.primary_key(table.oid)
        return None if pk is None else self._key_column(table, pk)

    def _key_column(self, table: Table, pk: Constraint) -> int | None:
        """The key column, by one rule for every table: the primary key's only column once the
        partition key's columns are set aside. PostgreSQL requires the partition key in every
        unique key of a partitioned table, so (id, partition_id) there is keyed by id; a plain
        table has no partition key, and a composite primary key there has no key column."""
        if len(pk.columns) == 1:
            return pk.columns[0]  # a partitioned table's only key column is its partition key
        rest = [a for a in pk.columns if a not in table.partition_key]
        return rest[0] if len(rest) == 1 else None

    def all_keys(self) -> list[Key]:
        """Every table whose key column (see _key_column) is smallint/integer/bigint."""
        return [k for k in self.survey() if isinstance(k, Key)]

    def survey(self) -> list[Key | LeftOut]:
        """Every table of the user's schemas (partitions aside: they follow their parent): its
        key when --all converts it, else what it leaves out and why."""
        found: list[Key | LeftOut] = []
        for table in self.catalog.tables:
            if not table.is_table or table.is_partition:
                continue
            if table.extension is not None:  # catalog: the extension owns it (pg_depend 'e')
                found.append(
                    LeftOut(
                        table.qname,
                        None,
                        None,
                        Reason.EXTENSION,
                        f"belongs to extension {table.extension}: uuidpk does not convert an "
                        "extension's tables",
                    )
                )
                continue
            pk = self.primary_key(table.oid)
            attnum = None if pk is None else self._key_column(table, pk)
            if pk is None or attnum is None:
                detail = "no primary key"
                if pk is not None:
                    names = ", ".join(self.catalog.column(table.oid, a).name for a in pk.columns)
                    detail = f"a composite primary key ({names})"
                found.append(LeftOut(table.qname, None, None, Reason.NO_KEY, detail))
                continue
            column = self.catalog.column(table.oid, attnum)
            if column.is_integer:
                found.append(Key(table, column, pk))
                continue
            if column.is_uuid:
                detail = "its key is uuid already"
            elif column.is_text:
                detail = (
                    f"a {column.type} key is likely a natural key: convert it only by name "
                    "(--table with --allow-text-keys)"
                )
            else:
                detail = f"keys of type {column.type} are not converted"
            found.append(LeftOut(table.qname, column.name, column.type, Reason.NOT_INTEGER, detail))
        return found


def split_name(spec: str) -> tuple[str | None, str]:
    """Split [schema.]name where either part may be double-quoted ("" escapes a quote).

    Unquoted parts are taken as written (not folded to lower case): table names are matched
    exactly, as a user copies them from \\dt.
    """
    parts: list[str] = []
    i, n = 0, len(spec)
    while i <= n:
        if i < n and spec[i] == '"':
            j, buf = i + 1, []
            while True:
                if j >= n:
                    raise TableNotFound(f"unterminated quote in table name {spec!r}")
                if spec[j] == '"':
                    if j + 1 < n and spec[j + 1] == '"':
                        buf.append('"')
                        j += 2
                        continue
                    break
                buf.append(spec[j])
                j += 1
            parts.append("".join(buf))
            i = j + 1
        else:
            j = spec.find(".", i)
            j = n if j < 0 else j
            parts.append(spec[i:j])
            i = j
        if i < n and spec[i] != ".":
            raise TableNotFound(f"cannot read table name {spec!r}")
        i += 1
    if len(parts) == 1 and parts[0]:
        return None, parts[0]
    if len(parts) == 2 and all(parts):
        return parts[0], parts[1]
    raise TableNotFound(f"cannot read table name {spec!r}: use [schema.]table")
