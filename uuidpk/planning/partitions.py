"""Partitioned tables in an online conversion: what PostgreSQL 15 does not allow on a
partitioned table, done partition by partition and put together at the cutover. Pure.

What PostgreSQL does on a partitioned table, and what follows from it:
- ADD COLUMN, DROP COLUMN, RENAME COLUMN, SET/DROP NOT NULL, DROP CONSTRAINT, CHECK ... NOT
  VALID and VALIDATE recurse to the partitions; a row trigger (BEFORE too, since 13) is cloned
  onto every partition, and ENABLE ALWAYS follows it. SET NOT NULL on each partition is proven by
  the inherited, validated CHECK, without a scan. The expand phase, the NOT NULL proof, the swap
  and the contract work on the partitioned table as they are.
- A partitioned table has no rows of its own: the backfill runs partition by partition, each
  journaled on its own.
- CREATE INDEX CONCURRENTLY is not supported on a partitioned table. A plain index's twin is
  created ON ONLY the partitioned table (invalid, nothing built), built CONCURRENTLY on each
  partition, and each partition's is ATTACHed; the twin turns valid with the last one.
- ADD CONSTRAINT ... USING INDEX is refused on a partitioned table. A primary key or unique
  constraint's twin is built CONCURRENTLY on each partition only; at the cutover each partition
  gets its constraint USING its twin, then ADD CONSTRAINT on the partitioned table finds them and
  attaches them instead of building (DefineIndex looks for an equivalent index that already
  belongs to a constraint on each partition).
- A foreign key on a partitioned table cannot be added NOT VALID (up to PostgreSQL 17). Its twin
  is made on each partition (NOT VALID, then VALIDATE, writes go on); at the cutover the old key
  goes, each partition's twin takes the name of the partition's old key, and ADD FOREIGN KEY on
  the partitioned table attaches the partitions' keys instead of checking any row.
- A foreign key referencing a partitioned table needs that table's unique constraint, which only
  the cutover makes (a partitioned index cannot become a constraint). It is added NOT VALID in
  the cutover (enforced from then on; the rows before were proven by the old key and the proof)
  and VALIDATEd right after it, outside the cutover's locks. PostgreSQL 15 leaves the
  convalidated flag of the bookkeeping rows it makes for each referenced partition false after
  VALIDATE (an offline conversion adds them valid); nothing reads that flag.
- What a partition has on its own (an index, a unique constraint, a foreign key: PostgreSQL 10
  had nothing else) is a plain table's, and gets its twin the same way.
- Not written yet (refused at plan time): sub-partitioned tables; a partitioned table
  referencing a partitioned table (it could only be made in the cutover, where it cannot be NOT
  VALID: every row would be checked under the cutover's locks).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from psycopg import sql

from ..errors import Refused
from ..model import FK_ACTIONS, MATCH_TYPES, Constraint, QualifiedName
from .shadows import (
    ForeignKeyTwin,
    IndexTwin,
    Layout,
    fit_name,
    ident,
    migrate_template,
    template,
)
from .shadows import _index_twin as index_twin  # a plain table's twin, on one partition
from .shadows import text as as_text


@dataclass(frozen=True)
class LeafIndex:
    """A twin built on one partition."""

    table: QualifiedName  # the partition
    name: str  # the twin's name until the cutover
    original: str  # the partition's index (or constraint) it replaces, whose name it takes
    statement: str  # CREATE INDEX CONCURRENTLY on the partition


@dataclass(frozen=True)
class LeafForeignKey:
    """A foreign key twin made on one partition of a partitioned referencing table."""

    table: QualifiedName
    name: str
    original: str  # the partition's clone of the old key, whose name it takes
    statement: str  # ADD CONSTRAINT ... NOT VALID on the partition


@dataclass
class Partitions:
    """The partition-by-partition parts of an online plan."""

    leaves: dict[int, list[int]] = field(default_factory=dict)  # partitioned table -> partitions
    indexes: dict[int, list[LeafIndex]] = field(default_factory=dict)  # by the old index's oid
    foreign_keys: dict[int, list[LeafForeignKey]] = field(default_factory=dict)  # by fk oid
    referenced: set[int] = field(default_factory=set)  # fk oids re-added in the cutover
    # partition -> twins of the indexes it has on its own (a partitioned table's index is not
    # behind them): built and swapped as a plain table's
    local: dict[int, list[IndexTwin]] = field(default_factory=dict)

    def is_partitioned(self, table_oid: int) -> bool:
        return table_oid in self.leaves


def partitions_for(layout: Layout) -> Partitions:
    """The partitions of every partitioned table of the layout and their twins, or Refused
    naming the first shape that would need a long lock (or is not written yet)."""
    catalog = layout.graph.catalog
    parts = Partitions()
    for table_oid in layout.tables:
        table = catalog.table(table_oid)
        if not table.is_partitioned:
            continue
        below = sorted(
            (t for t in catalog.tables if t.is_partition and t.parent_oid == table_oid),
            key=lambda t: t.qname,
        )
        for leaf in below:
            if leaf.is_partitioned:
                raise Refused(
                    f"online mode does not convert sub-partitioned tables yet ({leaf.qname} "
                    f"is partitioned itself); use offline"
                )
        parts.leaves[table_oid] = [t.oid for t in below]
    if not parts.leaves:
        return parts
    taken: dict[str, set[str]] = {}
    for rel in catalog.tables:
        taken.setdefault(rel.schema, set()).add(rel.name)
    for seq in catalog.sequences:
        taken.setdefault(seq.schema, set()).add(seq.name)
    for index in catalog.indexes:
        taken.setdefault(catalog.table(index.table_oid).schema, set()).add(index.name)
    for twins in layout.twins.values():
        for twin in twins:
            taken.setdefault(catalog.table(twin.index.table_oid).schema, set()).add(twin.name)
    for table_oid, leaves in parts.leaves.items():
        # The partitions' columns under the shadows' names (ADD COLUMN recursed), so that what
        # a partition has on its own (an index, a foreign key: PostgreSQL 10 had nothing else)
        # gets its twin as a plain table's does.
        for leaf_oid in leaves:
            layout.columns[leaf_oid] = [
                replace(p, node=(leaf_oid, column.attnum), column=column)
                for p in layout.columns[table_oid]
                if (column := catalog.column_named(leaf_oid, p.column.name)) is not None
            ]
        for twin in layout.twins[table_oid]:
            parts.indexes[twin.index.oid] = _leaf_indexes(layout, twin, leaves, taken)
        _local_indexes(layout, parts, table_oid, taken)
    for position, fk_twin in enumerate(layout.foreign_keys):
        fk = fk_twin.constraint
        assert fk.ref_table_oid is not None
        owner = catalog.table(fk.table_oid)
        if owner.is_partition or catalog.table(fk.ref_table_oid).is_partition:
            # Declared on a partition alone: its twin on the partitions' shadows.
            statement = foreign_key_sql(layout, fk, owner.qname, fk_twin.name, shadows=True)
            fk_twin = replace(fk_twin, statement=statement)
            layout.foreign_keys[position] = fk_twin
        referencing = parts.is_partitioned(fk.table_oid)
        referenced = parts.is_partitioned(fk.ref_table_oid)
        if referencing and referenced:
            # Its twin could only be made at the cutover (the referenced key is made there),
            # and it cannot be NOT VALID on a partitioned table: it would check every row
            # under the cutover's locks.
            raise Refused(
                f"online mode cannot convert {owner.qname}.{fk.name} without a long lock: a "
                "partitioned table referencing a partitioned table (PostgreSQL before 18 "
                "cannot add it NOT VALID); use offline"
            )
        if referencing:
            parts.foreign_keys[fk.oid] = _leaf_foreign_keys(layout, fk_twin, parts)
        elif referenced:
            parts.referenced.add(fk.oid)
    return parts


def _local_indexes(
    layout: Layout, parts: Partitions, table_oid: int, taken: dict[str, set[str]]
) -> None:
    """The twins of the indexes (and unique constraints) a partition has on its own over a
    converted column."""
    catalog = layout.graph.catalog
    attached = {
        (leaf, name)
        for index in catalog.indexes_of(table_oid)
        for leaf, name in _children(layout, index.oid).items()
    }
    for leaf in parts.leaves[table_oid]:
        converted = {p.column.attnum for p in layout.columns[leaf]}
        schema = catalog.table(leaf).schema
        twins = [
            index_twin(layout, index, layout.extra.shapes, taken.setdefault(schema, set()))
            for index in sorted(catalog.indexes_of(leaf), key=lambda i: i.name)
            if (leaf, index.name) not in attached
            and (set(index.used_columns) | set(index.key_columns)) & converted
        ]
        if twins:
            parts.local[leaf] = twins


def _children(layout: Layout, index_oid: int) -> dict[int, str]:
    """partition oid -> name of the partition's index attached to this partitioned index."""
    return dict(layout.extra.index_partitions.get(index_oid, ()))


def _leaf_indexes(
    layout: Layout, twin: IndexTwin, leaves: list[int], taken: dict[str, set[str]]
) -> list[LeafIndex]:
    catalog = layout.graph.catalog
    table = catalog.table(twin.index.table_oid)
    unique = sql.SQL("UNIQUE " if twin.index.is_unique else "")
    prefix = as_text(
        template("index_create_partition").format(
            unique=unique, name=sql.Identifier(twin.name), table=ident(table.qname)
        )
    )
    assert twin.statement.startswith(prefix), twin.statement
    rest = twin.statement[len(prefix) :]
    children = _children(layout, twin.index.oid)
    found = []
    for leaf_oid in leaves:
        leaf = catalog.table(leaf_oid)
        original = children.get(leaf_oid)
        if original is None:
            raise Refused(
                f"online mode cannot rebuild index {table.schema}.{twin.index.name}: partition "
                f"{leaf.qname} has no index attached to it; use offline"
            )
        name = fit_name(
            f"{original}_uuidpk", taken.setdefault(leaf.schema, set()), f"{leaf.qname}.{original}"
        )
        start = template("index_create_partition").format(
            unique=unique, name=sql.Identifier(name), table=ident(leaf.qname)
        )
        found.append(LeafIndex(leaf.qname, name, original, as_text(start) + rest))
    return found


def _leaf_foreign_keys(
    layout: Layout, fk_twin: ForeignKeyTwin, parts: Partitions
) -> list[LeafForeignKey]:
    catalog = layout.graph.catalog
    fk = fk_twin.constraint
    found = []
    for leaf_oid in parts.leaves[fk.table_oid]:
        leaf = catalog.table(leaf_oid)
        constraints = catalog.constraints_of(leaf_oid)
        original = next((c.name for c in constraints if c.parent_oid == fk.oid), None)
        if original is None:
            raise Refused(
                f"online mode cannot convert {fk_twin.table}.{fk.name}: partition {leaf.qname} "
                "has no clone of it; use offline"
            )
        taken = {c.name for c in constraints}
        name = fit_name(f"{original}_uuidpk", taken, f"{leaf.qname}.{original}")
        statement = foreign_key_sql(layout, fk, leaf.qname, name, shadows=True, not_valid=True)
        found.append(LeafForeignKey(leaf.qname, name, original, statement))
    return found


def foreign_key_sql(
    layout: Layout,
    fk: Constraint,
    table: QualifiedName,
    name: str,
    *,
    shadows: bool,
    not_valid: bool = True,
) -> str:
    """ADD FOREIGN KEY of fk on `table` (the key's table or one of its partitions): on the
    shadow columns (before the cutover) or on the columns' own names (after the swap)."""
    catalog = layout.graph.catalog
    assert fk.ref_table_oid is not None

    def columns(table_oid: int, attnums: tuple[int, ...]) -> sql.Composable:
        names = []
        for a in attnums:
            shadow = layout.shadow_of(table_oid, a) if shadows else None
            names.append(sql.Identifier(shadow or catalog.column(table_oid, a).name))
        return sql.SQL(", ").join(names)

    deferrable = ""
    if fk.deferrable:
        deferrable = " DEFERRABLE INITIALLY " + ("DEFERRED" if fk.deferred else "IMMEDIATE")
    return as_text(
        migrate_template("add_foreign_key").format(
            table=ident(table),
            name=sql.Identifier(name),
            columns=columns(fk.table_oid, fk.columns),
            ref_table=ident(catalog.table(fk.ref_table_oid).qname),
            ref_columns=columns(fk.ref_table_oid, fk.ref_columns),
            match=sql.SQL(MATCH_TYPES[fk.match_type]),
            on_update=sql.SQL(FK_ACTIONS[fk.on_update]),
            on_delete=sql.SQL(FK_ACTIONS[fk.on_delete]),
            deferrable=sql.SQL(deferrable),
            not_valid=sql.SQL(" NOT VALID" if not_valid else ""),
        )
    )


# -- statements for online.py's steps -----------------------------------------------------------
def on_only_sql(layout: Layout, twin: IndexTwin) -> str:
    table = layout.graph.catalog.table(twin.index.table_oid)
    prefix = as_text(
        template("index_create_partition").format(
            unique=sql.SQL("UNIQUE " if twin.index.is_unique else ""),
            name=sql.Identifier(twin.name),
            table=ident(table.qname),
        )
    )
    start = template("index_create_on_only").format(
        unique=sql.SQL("UNIQUE " if twin.index.is_unique else ""),
        name=sql.Identifier(twin.name),
        table=ident(table.qname),
    )
    return as_text(start) + twin.statement[len(prefix) :]


def attach_sql(schema: str, twin: IndexTwin, leaf: LeafIndex) -> str:
    return as_text(
        template("index_attach").format(
            index=sql.Identifier(schema, twin.name),
            partition=sql.Identifier(leaf.table.schema, leaf.name),
        )
    )


def drop_partitioned_index_sql(schema: str, name: str) -> str:
    return as_text(template("index_drop_partitioned").format(index=sql.Identifier(schema, name)))


# -- the cutover ---------------------------------------------------------------------------------
# The statements for the partitions of one table go to the server as one string (one round
# trip, the simple query protocol runs them in order in the cutover's transaction): each takes
# a fraction of a millisecond, and with hundreds of partitions the round trips under the
# cutover's locks would cost more than the statements.
def one_round_trip(statements: Iterable[sql.Composable]) -> sql.Composable:
    return sql.SQL(";\n").join(list(statements))


def key_statements(
    layout: Layout, parts: Partitions, twin: IndexTwin, deferrable: str
) -> sql.Composable:
    """A primary key or unique constraint of a partitioned table, from the partitions' twins:
    each partition's constraint USING its twin (catalog only), then the partitioned table's,
    which attaches them."""
    return one_round_trip(_key_statements(layout, parts, twin, deferrable))


def _key_statements(
    layout: Layout, parts: Partitions, twin: IndexTwin, deferrable: str
) -> Iterable[sql.Composable]:
    con = twin.constraint
    assert con is not None
    kind = sql.SQL("PRIMARY KEY" if con.kind == "p" else "UNIQUE")
    for leaf in parts.indexes[twin.index.oid]:
        yield template("constraint_using_index").format(
            table=ident(leaf.table),
            name=sql.Identifier(leaf.original),
            kind=kind,
            index=sql.Identifier(leaf.name),
            deferrable=sql.SQL(deferrable),
        )
    catalog = layout.graph.catalog
    table_oid = twin.index.table_oid
    shape = layout.extra.shapes[twin.index.oid]

    def names(attnums: tuple[int, ...]) -> sql.Composable:
        # After the swap the columns' own names are the new columns'.
        return sql.SQL(", ").join(
            sql.Identifier(catalog.column(table_oid, a).name) for a in attnums
        )

    included = shape.columns[shape.key_count :]
    yield template("constraint_add_key").format(
        table=ident(layout.qname(table_oid)),
        name=sql.Identifier(con.name),
        kind=kind,
        nulls=sql.SQL(" NULLS NOT DISTINCT" if shape.nulls_not_distinct else ""),
        columns=names(shape.columns[: shape.key_count]),
        include=sql.SQL(" INCLUDE ({})").format(names(included)) if included else sql.SQL(""),
        deferrable=sql.SQL(deferrable),
    )


def leaf_column_renames(layout: Layout, twin: IndexTwin, leaf: LeafIndex) -> list[str]:
    """A key's twin on a partition gives its columns the names of the columns they stand for
    (an index column keeps the name its table column had at CREATE INDEX). Index column names
    are the index's own: this can happen before the cutover, outside its locks."""
    return [
        as_text(
            template("index_column_rename").format(
                index=sql.Identifier(leaf.table.schema, leaf.name),
                column=sql.Identifier(p.shadow),
                name=sql.Identifier(p.column.name),
            )
        )
        for p in layout.columns[twin.index.table_oid]
        if p.column.attnum in twin.index.key_columns
    ]


def leaf_index_renames(parts: Partitions, twin: IndexTwin) -> sql.Composable:
    return one_round_trip(
        template("index_rename").format(
            index=sql.Identifier(leaf.table.schema, leaf.name), name=sql.Identifier(leaf.original)
        )
        for leaf in parts.indexes[twin.index.oid]
    )


def foreign_key_statements(
    layout: Layout, parts: Partitions, fk_twin: ForeignKeyTwin
) -> sql.Composable:
    return one_round_trip(_foreign_key_statements(layout, parts, fk_twin))


def _foreign_key_statements(
    layout: Layout, parts: Partitions, fk_twin: ForeignKeyTwin
) -> Iterable[sql.Composable]:
    """A foreign key touching a partitioned table, after the old one is gone and the new keys
    exist: the partitions' twins take the old names and the partitioned table's key attaches
    them; or, referencing a partitioned table, the key NOT VALID (validated after the cutover)."""
    fk = fk_twin.constraint
    for leaf in parts.foreign_keys.get(fk.oid, ()):
        yield template("constraint_rename").format(
            table=ident(leaf.table),
            name=sql.Identifier(leaf.name),
            new_name=sql.Identifier(leaf.original),
        )
    not_valid = fk.oid in parts.referenced
    yield sql.SQL(
        foreign_key_sql(layout, fk, fk_twin.table, fk.name, shadows=False, not_valid=not_valid)
    )


def local_index_statements(layout: Layout, parts: Partitions) -> Iterable[sql.Composable]:
    """The indexes a partition has on its own, swapped as a plain table's: the old one (or its
    constraint) dropped, the twin's columns and name restored, or its constraint made USING it.
    After the partitioned tables' keys: until then the twin of a partition's own unique
    constraint is no constraint, so ADD PRIMARY KEY on the partitioned table cannot take it."""
    catalog = layout.graph.catalog
    for leaf_oid, twins in sorted(parts.local.items()):
        table = catalog.table(leaf_oid).qname
        for twin in twins:
            con = twin.constraint
            if con is not None:
                yield migrate_template("drop_constraint").format(
                    table=ident(table), name=sql.Identifier(con.name)
                )
            else:
                yield template("index_drop").format(
                    index=sql.Identifier(table.schema, twin.index.name)
                )
            for p in layout.columns[leaf_oid]:
                if p.column.attnum in twin.index.key_columns:
                    yield template("index_column_rename").format(
                        index=sql.Identifier(table.schema, twin.name),
                        column=sql.Identifier(p.shadow),
                        name=sql.Identifier(p.column.name),
                    )
            if con is None:
                yield template("index_rename").format(
                    index=sql.Identifier(table.schema, twin.name),
                    name=sql.Identifier(twin.index.name),
                )
                continue
            deferrable = ""
            if con.deferrable:
                deferrable = " DEFERRABLE INITIALLY " + (
                    "DEFERRED" if con.deferred else "IMMEDIATE"
                )
            yield template("constraint_using_index").format(
                table=ident(table),
                name=sql.Identifier(con.name),
                kind=sql.SQL("PRIMARY KEY" if con.kind == "p" else "UNIQUE"),
                index=sql.Identifier(twin.name),
                deferrable=sql.SQL(deferrable),
            )


def leaf_column_statements(layout: Layout, parts: Partitions) -> Iterable[sql.Composable]:
    """Comments and column privileges a partition's own columns had (neither is inherited from
    the partitioned table): the new columns get them again, as ALTER TYPE keeps them offline."""
    catalog = layout.graph.catalog
    for table_oid in layout.tables:
        for leaf_oid in parts.leaves.get(table_oid, ()):
            qname = catalog.table(leaf_oid).qname
            table = ident(qname)
            for p in layout.columns[leaf_oid]:
                if p.column.comment is not None:
                    yield migrate_template("comment_on").format(
                        kind=sql.SQL("COLUMN"),
                        object=sql.Identifier(qname.schema, qname.name, p.column.name),
                        comment=sql.Literal(p.column.comment),
                    )
                for grant in layout.extra.grants.get(p.node, ()):
                    yield template("column_grant").format(
                        privilege=sql.SQL(grant.privilege),
                        column=sql.Identifier(p.column.name),
                        table=table,
                        grantee=sql.SQL("PUBLIC")
                        if grant.grantee == "PUBLIC"
                        else sql.Identifier(grant.grantee),
                        option=sql.SQL(" WITH GRANT OPTION" if grant.grantable else ""),
                    )
