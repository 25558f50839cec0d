"""The cutover's one transaction, as statements: locks parents first, old constraints out,
names swapped, primary keys and unique constraints over the twin indexes, every name, comment and
default restored, dependent objects recreated on the new columns. Pure (planning/online.py puts
it in its step, after the proof)."""

from __future__ import annotations

from psycopg import sql

from ..dependents import affected_objects
from ..graph import Closure
from ..model import QualifiedName
from ..render import render_op
from .common import drop_dependents, new_default, restore_dependents
from .partitions import (
    Partitions,
    foreign_key_statements,
    key_statements,
    leaf_column_statements,
    leaf_index_renames,
    local_index_statements,
)
from .shadows import ColumnPlan, Layout, ident, migrate_template, template


def cutover_statements(
    layout: Layout, closures: list[Closure], parts: Partitions | None = None
) -> list[sql.Composable]:
    graph = layout.graph
    parts = parts or Partitions()
    affected = affected_objects(graph, closures)
    out: list[sql.Composable] = [
        migrate_template("lock_tables").format(
            tables=sql.SQL(", ").join(ident(layout.qname(t)) for t in layout.tables)
        )
    ]
    # Views, policies, triggers and rules name columns by number: dropped before the names
    # swap, recreated after it from their text, they stand on the new columns.
    out += [s for op in drop_dependents(graph, affected) for s in render_op(op)]
    # The fill triggers name the shadows, which are about to be renamed.
    out += [
        template("trigger_drop").format(
            name=sql.Identifier(layout.trigger), table=ident(layout.qname(t))
        )
        for t in layout.tables
    ]
    # Old foreign keys first: they depend on the old primary keys' indexes.
    for twin in layout.foreign_keys:
        out.append(
            migrate_template("drop_constraint").format(
                table=ident(twin.table), name=sql.Identifier(twin.constraint.name)
            )
        )
    for table_oid in layout.tables:
        qname = layout.qname(table_oid)
        for index_twin in layout.twins[table_oid]:
            if index_twin.constraint is not None:
                out.append(
                    migrate_template("drop_constraint").format(
                        table=ident(qname), name=sql.Identifier(index_twin.constraint.name)
                    )
                )
            else:
                out.append(
                    template("index_drop").format(
                        index=sql.Identifier(qname.schema, index_twin.index.name)
                    )
                )
    for table_oid in layout.tables:
        out += _swap_columns(layout, table_oid)
        qname = layout.qname(table_oid)
        for index_twin in layout.twins[table_oid]:
            if parts.is_partitioned(table_oid) and index_twin.constraint is not None:
                # A key's twin exists only on the partitions until the constraint is made;
                # their columns were named in the prepare phase.
                continue
            for p in layout.columns[table_oid]:
                if p.column.attnum in index_twin.index.key_columns:
                    out.append(
                        template("index_column_rename").format(
                            index=sql.Identifier(qname.schema, index_twin.name),
                            column=sql.Identifier(p.shadow),
                            name=sql.Identifier(p.column.name),
                        )
                    )
            for twin_name, name in index_twin.expression_names:
                out.append(
                    template("index_column_rename").format(
                        index=sql.Identifier(qname.schema, index_twin.name),
                        column=sql.Identifier(twin_name),
                        name=sql.Identifier(name),
                    )
                )
    for table_oid in layout.tables:
        qname = layout.qname(table_oid)
        for index_twin in layout.twins[table_oid]:
            con = index_twin.constraint
            if con is None:
                out.append(
                    template("index_rename").format(
                        index=sql.Identifier(qname.schema, index_twin.name),
                        name=sql.Identifier(index_twin.index.name),
                    )
                )
                if parts.is_partitioned(table_oid):
                    out.append(leaf_index_renames(parts, index_twin))
                continue
            deferrable = ""
            if con.deferrable:
                deferrable = " DEFERRABLE INITIALLY " + (
                    "DEFERRED" if con.deferred else "IMMEDIATE"
                )
            if parts.is_partitioned(table_oid):
                out.append(key_statements(layout, parts, index_twin, deferrable))
            else:
                out.append(
                    template("constraint_using_index").format(
                        table=ident(qname),
                        name=sql.Identifier(con.name),
                        kind=sql.SQL("PRIMARY KEY" if con.kind == "p" else "UNIQUE"),
                        index=sql.Identifier(index_twin.name),
                        deferrable=sql.SQL(deferrable),
                    )
                )
            if con.comment is not None:
                out.append(_constraint_comment(qname, con.name, con.comment))
    out += local_index_statements(layout, parts)
    out += index_comments(layout, parts)
    out += leaf_column_statements(layout, parts)
    for twin in layout.foreign_keys:
        oid = twin.constraint.oid
        if oid in parts.foreign_keys or oid in parts.referenced:
            out.append(foreign_key_statements(layout, parts, twin))
        else:
            out.append(
                template("constraint_rename").format(
                    table=ident(twin.table),
                    name=sql.Identifier(twin.name),
                    new_name=sql.Identifier(twin.constraint.name),
                )
            )
        if twin.constraint.comment is not None:
            out.append(
                _constraint_comment(twin.table, twin.constraint.name, twin.constraint.comment)
            )
    out += [s for op in restore_dependents(graph, affected) for s in render_op(op)]
    return out


def index_comments(layout: Layout, parts: Partitions) -> list[sql.Composable]:
    """The comments of the indexes the twins replace, on the twins once they have the
    originals' names: offline, ALTER TYPE keeps an index and its comment; online, a twin is a
    new index (on a partition too)."""
    catalog = layout.graph.catalog
    twins = [twin for t in layout.tables for twin in layout.twins[t]]
    twins += [twin for leaf in sorted(parts.local) for twin in parts.local[leaf]]
    out: list[sql.Composable] = []
    for twin in twins:
        schema = catalog.table(twin.index.table_oid).schema
        if twin.index.comment is not None:
            out.append(_index_comment(schema, twin.index.name, twin.index.comment))
        for leaf in parts.indexes.get(twin.index.oid, ()):
            (table,) = catalog.find_tables(leaf.table.schema, leaf.table.name)
            for index in catalog.indexes_of(table.oid):
                if index.name == leaf.original and index.comment is not None:
                    out.append(_index_comment(table.schema, index.name, index.comment))
    return out


def _index_comment(schema: str, name: str, comment: str) -> sql.Composable:
    return migrate_template("comment_on").format(
        kind=sql.SQL("INDEX"), object=sql.Identifier(schema, name), comment=sql.Literal(comment)
    )


def _constraint_comment(table: QualifiedName, name: str, comment: str) -> sql.Composable:
    return migrate_template("comment_on_constraint").format(
        name=sql.Identifier(name), table=ident(table), comment=sql.Literal(comment)
    )


def _swap_columns(layout: Layout, table_oid: int) -> list[sql.Composable]:
    qname = layout.qname(table_oid)
    table = ident(qname)
    out: list[sql.Composable] = []
    actions: list[sql.Composable] = []
    checks: list[sql.Composable] = []
    for p in layout.columns[table_oid]:
        old, new = sql.Identifier(p.old_name), sql.Identifier(p.column.name)
        out.append(template("column_rename").format(table=table, column=new, name=old))
        out.append(
            template("column_rename").format(table=table, column=sql.Identifier(p.shadow), name=new)
        )
        # The old column stays until the contract phase, but new rows no longer give it a
        # value: no default, no identity, no NOT NULL (its sequence goes with it later).
        if p.column.default_expr is not None:
            actions.append(migrate_template("action_drop_default").format(column=old))
        if p.column.identity:
            actions.append(template("action_drop_identity").format(column=old))
        if p.column.not_null:
            actions.append(template("action_drop_not_null").format(column=old))
            # Proven by the validated CHECK: no scan under the lock (PostgreSQL 12+). The CHECK
            # goes in a later statement: within one ALTER TABLE, constraints are dropped before
            # SET NOT NULL is verified, which would then scan the whole table.
            actions.append(template("action_set_not_null").format(column=new))
            assert p.not_null_check is not None
            checks.append(
                template("action_drop_constraint").format(name=sql.Identifier(p.not_null_check))
            )
        if p.had_generator:
            default = new_default(layout.options)  # as offline
            actions.append(
                migrate_template("action_set_default").format(
                    column=new, default=migrate_template(f"default_{default}")
                )
            )
        if p.column.comment is not None:
            out.append(_column_comment(qname, p.old_name, None))
    if actions:
        out.append(
            migrate_template("alter_table").format(
                table=table, actions=sql.SQL(",\n    ").join(actions)
            )
        )
    if checks:
        out.append(
            migrate_template("alter_table").format(
                table=table, actions=sql.SQL(",\n    ").join(checks)
            )
        )
    for p in layout.columns[table_oid]:
        if p.column.comment is not None:
            out.append(_column_comment(qname, p.column.name, p.column.comment))
        for grant in layout.extra.grants.get(p.node, ()):
            out.append(
                template("column_grant").format(
                    privilege=sql.SQL(grant.privilege),
                    column=new_name(p),
                    table=table,
                    grantee=sql.SQL("PUBLIC")
                    if grant.grantee == "PUBLIC"
                    else sql.Identifier(grant.grantee),
                    option=sql.SQL(" WITH GRANT OPTION" if grant.grantable else ""),
                )
            )
    return out


def new_name(plan: ColumnPlan) -> sql.Identifier:
    return sql.Identifier(plan.column.name)


def _column_comment(table: QualifiedName, column: str, comment: str | None) -> sql.Composable:
    return migrate_template("comment_on").format(
        kind=sql.SQL("COLUMN"),
        object=sql.Identifier(table.schema, table.name, column),
        comment=sql.Literal(comment) if comment is not None else sql.SQL("NULL"),
    )
