"""Each closure column's new value as an expression over one row (the fill trigger's NEW, the
backfill's and the proof's t), equal to what offline's ALTER ... USING computes with the same
key: a generic relation's object id seeded by the root its content type names, and --order-by's
milliseconds from the root's own timestamp column or, for a child, from its root row. Pure."""

from __future__ import annotations

from dataclasses import replace

from psycopg import sql

from ..ops import Derivation
from .shadows import ColumnPlan, Layout, derive, ident, template


def new_value(
    layout: Layout, plan: ColumnPlan, row: sql.Composable, *, keyed: bool = False
) -> sql.Composable:
    """plan's column's new value in `row` (NEW, or the alias t): keyed, through the inlined
    derivation (the migrating session); else through the SECURITY DEFINER one (triggers)."""
    derivation = plan.derivation
    old = row + sql.SQL(".") + sql.Identifier(plan.column.name)
    if derivation.cases:
        assert derivation.case_column is not None
        cast = sql.SQL("::text" if derivation.as_text else "")
        whens = [
            template("derive_generic_when").format(
                content_type=sql.Literal(content_type),
                expression=derive(replace(derivation, root=root, cases=()), old, keyed=keyed),
                cast=cast,
            )
            for content_type, root in derivation.cases
        ]
        otherwise = sql.SQL(" ELSE {}").format(old) if derivation.as_text else sql.SQL("")
        return template("derive_generic").format(
            content_type=row + sql.SQL(".") + sql.Identifier(derivation.case_column),
            whens=sql.SQL(" ").join(whens),
            otherwise=otherwise,
        )
    if derivation.version == 7 and derivation.ms_from != "id":
        return derive(derivation, old, keyed=keyed, ms=_milliseconds(layout, plan, row))
    return derive(derivation, old, keyed=keyed)


def mismatch_extra(plan: ColumnPlan) -> sql.Composable | None:
    """What `shadow IS DISTINCT FROM new value` cannot see: an integer object id whose content
    type names no converted table has no new value at all, and its shadow is NULL too."""
    if not plan.derivation.cases or plan.derivation.as_text:
        return None
    return template("generic_lost").format(
        column=sql.Identifier(plan.column.name), shadow=sql.Identifier(plan.shadow)
    )


def trigger_columns(layout: Layout, table_oid: int) -> list[str]:
    """The columns whose UPDATE must refill the shadows: the old columns, a generic relation's
    content type, a root's --order-by column."""
    names: list[str] = []
    for p in layout.columns[table_oid]:
        names.append(p.column.name)
        if p.derivation.cases and p.derivation.case_column is not None:
            names.append(p.derivation.case_column)
        if p.derivation.version == 7 and p.derivation.ms_from == "column":
            assert p.derivation.ms_name is not None
            names.append(p.derivation.ms_name)
    return list(dict.fromkeys(names))


def _milliseconds(layout: Layout, plan: ColumnPlan, row: sql.Composable) -> sql.Composable:
    derivation: Derivation = plan.derivation
    catalog = layout.graph.catalog
    options = layout.options
    if derivation.ms_from == "column":
        assert derivation.ms_name is not None
        return _ms(row + sql.SQL(".") + sql.Identifier(derivation.ms_name), derivation.ms_nullable)
    # "lookup": the root row with this old value; its timestamp column is --order-by.
    assert options.order_by is not None
    root = layout.nodes[plan.node].root
    order = catalog.column_named(root[0], options.order_by)
    assert order is not None
    parent = sql.Identifier("uuidpk_root")
    return template("order_lookup").format(
        ms=_ms(parent + sql.SQL(".") + sql.Identifier(order.name), not order.not_null),
        table=ident(catalog.table(root[0]).qname),
        key=sql.Identifier(catalog.column(*root).name),
        value=row + sql.SQL(".") + sql.Identifier(plan.column.name),
    )


def _ms(column: sql.Composable, nullable: bool) -> sql.Composable:
    ms = template("milliseconds").format(column=column)
    return sql.SQL("coalesce({}, 0)").format(ms) if nullable else ms
