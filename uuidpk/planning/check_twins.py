"""The CHECK constraints on closure columns, online: offline's ALTER ... TYPE keeps them (the
offline plan has refused what PostgreSQL would not take for uuid, and drops the sign checks that
mean nothing for one). Online, a twin over the shadows is added NOT VALID and validated before
the cutover, which drops the original (after it, new rows leave the old column NULL, which the
original may not accept) and gives the twin its name and comment. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from psycopg import sql

from ..model import Constraint, QualifiedName
from .shadows import Layout, fit_name, ident, migrate_template, rename_columns, template, text


@dataclass(frozen=True)
class CheckTwin:
    constraint: Constraint
    table: QualifiedName
    name: str
    statement: str


def check_twins(layout: Layout, dropped: Sequence[Constraint]) -> list[CheckTwin]:
    """A twin of every CHECK on a closure column but those offline drops (sign checks)."""
    catalog = layout.graph.catalog
    gone = {c.oid for c in dropped}
    twins = []
    for table_oid in layout.tables:
        plans = layout.columns[table_oid]
        converted = {p.column.attnum for p in plans}
        renames = {p.column.name: p.shadow for p in plans}
        constraints = catalog.constraints_of(table_oid)
        taken = {c.name for c in constraints} | {
            p.not_null_check for p in plans if p.not_null_check
        }
        taken |= {fk.name for fk in layout.foreign_keys if fk.constraint.table_oid == table_oid}
        qname = layout.qname(table_oid)
        for con in sorted(constraints, key=lambda c: c.name):
            if con.kind != "c" or con.oid in gone or not set(con.columns) & converted:
                continue
            name = fit_name(f"{con.name}_uuidpk", taken, f"{qname}.{con.name}")
            definition = rename_columns(con.definition.removesuffix(" NOT VALID"), renames)
            statement = template("check_add").format(
                table=ident(qname), name=sql.Identifier(name), definition=sql.SQL(definition)
            )
            twins.append(CheckTwin(con, qname, name, text(statement)))
    return twins


def swap_statements(twins: Iterable[CheckTwin]) -> list[sql.Composable]:
    """In the cutover: the original out, the twin under its name and comment."""
    out: list[sql.Composable] = []
    for twin in twins:
        table = ident(twin.table)
        original = sql.Identifier(twin.constraint.name)
        out.append(template("constraint_drop").format(table=table, name=original))
        out.append(
            template("constraint_rename").format(
                table=table, name=sql.Identifier(twin.name), new_name=original
            )
        )
        if twin.constraint.comment is not None:
            out.append(
                migrate_template("comment_on_constraint").format(
                    name=original, table=table, comment=sql.Literal(twin.constraint.comment)
                )
            )
    return out
