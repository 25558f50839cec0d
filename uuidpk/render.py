"""Plan -> SQL. Every statement comes from a template in sql_templates/migrate/; names go in
only through psycopg.sql.Identifier and values through sql.Literal."""

from __future__ import annotations

from collections.abc import Iterator
from functools import singledispatch

import psycopg
from psycopg import sql

from . import templates
from .model import QualifiedName
from .planner import (
    AddForeignKey,
    AlterColumns,
    CreateKeyFunction,
    CreateSchema,
    DisownSequence,
    DropConstraint,
    DropIdentity,
    DropKeyFunction,
    DropSequence,
    KeepOldId,
    LockTables,
    Op,
    Plan,
    SetLocal,
    Step,
    WriteMapping,
)


def template(name: str) -> sql.SQL:
    """A migrate/ template without its comment header."""
    lines = templates.load(f"migrate/{name}.sql").splitlines()
    body = [line for line in lines if not line.startswith("--")]
    return sql.SQL("\n".join(body).strip())


def ident(name: QualifiedName) -> sql.Identifier:
    return sql.Identifier(name.schema, name.name)


def names(columns: tuple[str, ...]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(c) for c in columns)


def derive(root: str, column: str) -> sql.Composed:
    return template("derive_expression").format(root=sql.Literal(root), column=sql.Identifier(column))


@singledispatch
def render_op(op: Op) -> Iterator[sql.Composable]:
    raise TypeError(f"no renderer for {type(op).__name__}")


@render_op.register
def _(op: SetLocal) -> Iterator[sql.Composable]:
    yield template("set_local").format(name=sql.Identifier(op.name), value=sql.Literal(op.value))


@render_op.register
def _(op: LockTables) -> Iterator[sql.Composable]:
    tables = sql.SQL(", ").join(ident(t) for t in op.tables)
    yield template("lock_tables").format(tables=tables)


@render_op.register
def _(op: CreateKeyFunction) -> Iterator[sql.Composable]:
    if op.key is None:
        yield template("key_function_random")
    else:
        yield template("key_function_kept").format(key=sql.Literal(op.key))


@render_op.register
def _(op: DropKeyFunction) -> Iterator[sql.Composable]:
    yield template("key_function_drop")


@render_op.register
def _(op: CreateSchema) -> Iterator[sql.Composable]:
    yield template("create_schema")


@render_op.register
def _(op: WriteMapping) -> Iterator[sql.Composable]:
    yield template("mapping_table_create").format(mapping=ident(op.mapping), type=sql.SQL(op.type))
    yield template("mapping_table_fill").format(
        mapping=ident(op.mapping),
        table=ident(op.table),
        key=sql.Identifier(op.column),
        using=derive(op.root, op.column),
    )


@render_op.register
def _(op: DropConstraint) -> Iterator[sql.Composable]:
    yield template("drop_constraint").format(table=ident(op.table), name=sql.Identifier(op.name))


@render_op.register
def _(op: DropIdentity) -> Iterator[sql.Composable]:
    yield template("drop_identity").format(table=ident(op.table), column=sql.Identifier(op.column))


@render_op.register
def _(op: KeepOldId) -> Iterator[sql.Composable]:
    table, column = ident(op.table), sql.Identifier(op.column)
    yield template("keep_old_id_add").format(table=table, column=column, type=sql.SQL(op.type))
    yield template("keep_old_id_fill").format(table=table, column=column, key=sql.Identifier(op.key))


@render_op.register
def _(op: AlterColumns) -> Iterator[sql.Composable]:
    actions: list[sql.Composable] = []
    for change in op.changes:
        column = sql.Identifier(change.column)
        if change.drop_default:
            actions.append(template("action_drop_default").format(column=column))
        actions.append(
            template("action_set_type").format(column=column, using=derive(change.root, change.column))
        )
        if change.new_default:
            actions.append(
                template("action_set_default").format(column=column, default=sql.SQL(change.new_default))
            )
    yield template("alter_table").format(
        table=ident(op.table), actions=sql.SQL(",\n    ").join(actions)
    )


@render_op.register
def _(op: AddForeignKey) -> Iterator[sql.Composable]:
    deferrable = ""
    if op.deferrable:
        deferrable = " DEFERRABLE INITIALLY " + ("DEFERRED" if op.deferred else "IMMEDIATE")
    yield template("add_foreign_key").format(
        table=ident(op.table),
        name=sql.Identifier(op.name),
        columns=names(op.columns),
        ref_table=ident(op.ref_table),
        ref_columns=names(op.ref_columns),
        match=sql.SQL(op.match),
        on_update=sql.SQL(op.on_update),
        on_delete=sql.SQL(op.on_delete),
        deferrable=sql.SQL(deferrable),
        not_valid=sql.SQL("" if op.validated else " NOT VALID"),
    )
    if op.comment is not None:
        yield template("comment_on_constraint").format(
            name=sql.Identifier(op.name), table=ident(op.table), comment=sql.Literal(op.comment)
        )


@render_op.register
def _(op: DropSequence) -> Iterator[sql.Composable]:
    yield template("drop_sequence").format(sequence=ident(op.sequence))


@render_op.register
def _(op: DisownSequence) -> Iterator[sql.Composable]:
    yield template("sequence_owned_by_none").format(sequence=ident(op.sequence))


def step_sql(step: Step) -> list[sql.Composable]:
    return [statement for op in step.ops for statement in render_op(op)]


def plan_sql(plan: Plan) -> list[tuple[Step, list[sql.Composable]]]:
    """Each step with its statements: what apply executes and generate prints."""
    return [(step, step_sql(step)) for step in plan.steps]


def as_text(statement: sql.Composable, conn: psycopg.Connection | None) -> str:
    return statement.as_string(conn)


def script(plan: Plan, conn: psycopg.Connection | None, header: list[str]) -> str:
    """A psql script: stops at the first error and runs all in one transaction."""
    out = [f"-- {line}" for line in header]
    out += ["\\set ON_ERROR_STOP on", "BEGIN;", ""]
    for step, statements in plan_sql(plan):
        out.append(f"-- {step.name}")
        out += [as_text(s, conn) + ";" for s in statements]
        out.append("")
    out.append("COMMIT;")
    return "\n".join(out) + "\n"
