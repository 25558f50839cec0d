"""Plan -> SQL. Every statement comes from a template in sql_templates/migrate/; names go in
only through psycopg.sql.Identifier and values through sql.Literal."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import singledispatch

import psycopg
from psycopg import sql

from . import templates
from .formats import lint
from .model import QualifiedName
from .ops import (
    AddForeignKey,
    AllOf,
    AlterColumns,
    Analyze,
    AnyOf,
    BuildOrderMap,
    CatalogStatement,
    Check,
    ColumnExists,
    ColumnHasType,
    ColumnIsIdentity,
    ConstraintExists,
    CreateKeyFunction,
    CreatePolicy,
    CreateSchema,
    CreateView,
    Derivation,
    DisownSequence,
    DropConstraint,
    DropIdentity,
    DropKeyFunction,
    DropPolicy,
    DropRule,
    DropSequence,
    DropTrigger,
    DropView,
    IndexValid,
    KeepOldId,
    LockTables,
    Op,
    Plan,
    RelationExists,
    SequenceOwned,
    SetLocal,
    Step,
    TableObjectExists,
    WriteMapping,
)
from .safe_text import for_comment


def template(name: str) -> sql.SQL:
    """A migrate/ template without its comment header."""
    return templates.statement(f"migrate/{name}.sql")


def ident(name: QualifiedName) -> sql.Identifier:
    return sql.Identifier(name.schema, name.name)


def names(columns: tuple[str, ...]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(c) for c in columns)


def _milliseconds(column: sql.Composable, nullable: bool) -> sql.Composable:
    ms = sql.SQL("floor(extract(epoch FROM {}) * 1000)::bigint").format(column)
    return sql.SQL("coalesce({}, 0)").format(ms) if nullable else ms


def derive(derivation: Derivation, column: str) -> sql.Composed:
    """The expression giving a column's new value (same text in every statement that needs it)."""
    root, name = sql.Literal(derivation.root), sql.Identifier(column)
    value = sql.SQL("{}::bigint" if derivation.integer else "{}::text").format(name)
    if derivation.cases:
        assert derivation.case_column is not None
        # A text object id keeps the rows whose content type names a table left as it is:
        # their values still point at the same rows. An integer one cannot (it becomes uuid):
        # the planner refuses those rows.
        cast = sql.SQL("::text") if derivation.as_text else sql.SQL("")
        whens = [
            sql.SQL("WHEN {} THEN ({}){}").format(
                sql.Literal(content_type),
                derive(replace(derivation, root=case_root, cases=()), column),
                cast,
            )
            for content_type, case_root in derivation.cases
        ]
        otherwise = sql.SQL(" ELSE {}").format(name) if derivation.as_text else sql.SQL("")
        return sql.SQL("CASE {} {}{} END").format(
            sql.Identifier(derivation.case_column), sql.SQL(" ").join(whens), otherwise
        )
    if derivation.version != 7:
        return template("derive_expression").format(root=root, value=value)
    if derivation.ms_from == "column":
        assert derivation.ms_name is not None
        ms = _milliseconds(sql.Identifier(derivation.ms_name), derivation.ms_nullable)
    elif derivation.ms_from == "lookup":
        assert derivation.ms_name is not None
        ms = sql.SQL("coalesce({}({}::bigint), 0)").format(
            sql.Identifier("pg_temp", derivation.ms_name), name
        )
    else:
        ms = sql.SQL("{}::bigint").format(name)
    return template("derive_expression_v7").format(root=root, value=value, ms=ms)


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
    text_bytes = template("text_bytes_utf8" if op.utf8 else "text_bytes_convert")
    volatility = sql.SQL("IMMUTABLE" if op.utf8 else "STABLE")
    variants = [
        {"value_type": sql.SQL("text"), "value_bytes": text_bytes.format(text=sql.SQL("v"))},
        {
            "value_type": sql.SQL("bigint"),
            "value_bytes": template("integer_bytes").format(value=sql.SQL("v")),
        },
    ]
    shapes = [template("derive_function")]
    if op.time_ordered:
        shapes.append(template("derive_function_v7"))
    # The key is put into each CREATE FUNCTION inside the server, by format() (key_random.sql).
    functions = [
        shape.format(
            key=sql.SQL("%L"),
            volatility=volatility,
            root_bytes=text_bytes.format(text=sql.SQL("root")),
            **variant,
        )
        for shape in shapes
        for variant in variants
    ]
    executes = [
        template("key_random_execute").format(statement=sql.SQL("$f$") + f + sql.SQL("$f$"))
        for f in functions
    ]
    if op.key is not None:
        yield template("hide_parameters")
        yield template("key_set").format(key=KeyParameter(op.key))
    yield template("key_random").format(
        key=template("key_random_value" if op.key is None else "key_kept_value"),
        statements=sql.SQL("\n").join(executes),
    )


class KeyParameter(sql.Composable):
    """The kept key's hex digits: a literal wherever the statement is printed or run as it
    stands (scripts, tests), a bound parameter when apply runs it (executable())."""

    def __init__(self, key: bytes):
        super().__init__(key.hex())

    def as_bytes(self, context: psycopg.abc.AdaptContext | None = None) -> bytes:
        return sql.Literal(self._obj).as_bytes(context)


def executable(statement: sql.Composable) -> tuple[sql.Composable, list[str] | None]:
    """A statement and its parameters for conn.execute(): the key goes as a parameter, so it
    is in no statement text the server logs or shows in pg_stat_activity."""
    if not isinstance(statement, sql.Composed):
        return statement, None
    params = [part._obj for part in statement if isinstance(part, KeyParameter)]
    if not params:
        return statement, None
    parts = [sql.Placeholder() if isinstance(p, KeyParameter) else p for p in statement]
    return sql.Composed(parts), params


@render_op.register
def _(op: DropKeyFunction) -> Iterator[sql.Composable]:
    names = ["uuidpk_uuid(text, text)", "uuidpk_uuid(text, bigint)"]
    if op.time_ordered:
        names += ["uuidpk_uuid7(text, text, bigint)", "uuidpk_uuid7(text, bigint, bigint)"]
    names += [f"{sql.Identifier(f).as_string(None)}(bigint)" for f in op.lookups]
    for name in names:
        yield template("key_function_drop").format(function=sql.SQL("pg_temp.") + sql.SQL(name))


@render_op.register
def _(op: BuildOrderMap) -> Iterator[sql.Composable]:
    name = sql.Identifier(op.map_name)
    ms = _milliseconds(sql.Identifier(op.order_by), op.nullable)
    yield template("order_map_create").format(
        map=name, key=sql.Identifier(op.key), ms=ms, table=ident(op.table)
    )
    yield template("order_map_index").format(map=sql.Identifier("pg_temp", op.map_name))
    yield template("order_lookup_function").format(
        function=sql.Identifier("pg_temp", op.function), map=name
    )


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
        using=derive(op.derivation, op.column),
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
    yield template("keep_old_id_fill").format(
        table=table, column=column, key=sql.Identifier(op.key)
    )


@render_op.register
def _(op: AlterColumns) -> Iterator[sql.Composable]:
    actions: list[sql.Composable] = [
        template("action_drop_column").format(column=sql.Identifier(g.column)) for g in op.generated
    ]
    for change in op.changes:
        column = sql.Identifier(change.column)
        if change.drop_default:
            actions.append(template("action_drop_default").format(column=column))
        actions.append(
            template("action_set_type").format(
                column=column,
                type=sql.SQL(change.type),
                using=derive(change.derivation, change.column),
            )
        )
        if change.new_default:
            actions.append(
                template("action_set_default").format(
                    column=column, default=template(f"default_{change.new_default}")
                )
            )
    actions += [
        template("action_add_generated").format(
            column=sql.Identifier(g.column), type=sql.SQL(g.type), expression=sql.SQL(g.expression)
        )
        for g in op.generated
    ]
    yield template("alter_table").format(
        table=ident(op.table), actions=sql.SQL(",\n    ").join(actions)
    )
    for index, comment in op.index_comments:
        yield template("comment_on").format(
            kind=sql.SQL("INDEX"),
            object=ident(index),
            comment=sql.SQL("NULL") if comment is None else sql.Literal(comment),
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
def _(op: Analyze) -> Iterator[sql.Composable]:
    yield template("analyze").format(tables=sql.SQL(", ").join(ident(t) for t in op.tables))


@render_op.register
def _(op: DropSequence) -> Iterator[sql.Composable]:
    yield template("drop_sequence").format(sequence=ident(op.sequence))


@render_op.register
def _(op: DisownSequence) -> Iterator[sql.Composable]:
    yield template("sequence_owned_by_none").format(sequence=ident(op.sequence))


_OPTION = re.compile(r"\A([a-z_]+)=(.*)\Z", re.DOTALL)


def _options(options: tuple[str, ...]) -> sql.Composable:
    if not options:
        return sql.SQL("")
    parts = []
    for option in options:
        match = _OPTION.match(option)
        if not match:
            raise ValueError(f"unexpected reloption {option!r}")
        parts.append(
            sql.SQL("{} = {}").format(sql.SQL(match.group(1)), sql.Literal(match.group(2)))
        )
    return sql.SQL(" WITH ({})").format(sql.SQL(", ").join(parts))


def _role(name: str) -> sql.Composable:
    return sql.SQL("PUBLIC") if name in ("public", "PUBLIC") else sql.Identifier(name)


@render_op.register
def _(op: DropView) -> Iterator[sql.Composable]:
    kind = sql.SQL("MATERIALIZED VIEW" if op.materialized else "VIEW")
    yield template("drop_view").format(kind=kind, view=ident(op.view))


@render_op.register
def _(op: CreateView) -> Iterator[sql.Composable]:
    view = ident(op.view)
    kind = sql.SQL("MATERIALIZED VIEW" if op.materialized else "VIEW")
    if op.materialized:
        yield template("create_materialized_view").format(
            view=view,
            options=_options(op.options),
            definition=sql.SQL(op.definition),
            data=sql.SQL("DATA" if op.populated else "NO DATA"),
        )
    else:
        yield template("create_view").format(
            view=view, options=_options(op.options), definition=sql.SQL(op.definition)
        )
    yield template("alter_owner").format(kind=kind, object=view, owner=sql.Identifier(op.owner))
    for grant in op.grants:
        yield template("grant").format(
            privilege=sql.SQL(grant.privilege),
            object=view,
            grantee=_role(grant.grantee),
            option=sql.SQL(" WITH GRANT OPTION" if grant.grantable else ""),
        )
    if op.comment is not None:
        yield template("comment_on").format(kind=kind, object=view, comment=sql.Literal(op.comment))
    for column, comment in op.column_comments:
        yield template("comment_on").format(
            kind=sql.SQL("COLUMN"),
            object=sql.Identifier(op.view.schema, op.view.name, column),
            comment=sql.Literal(comment),
        )
    for statement in op.statements:
        yield template("catalog_statement").format(statement=sql.SQL(statement.rstrip(";")))


@render_op.register
def _(op: DropPolicy) -> Iterator[sql.Composable]:
    yield template("drop_policy").format(name=sql.Identifier(op.name), table=ident(op.table))


@render_op.register
def _(op: CreatePolicy) -> Iterator[sql.Composable]:
    using = (
        sql.SQL("")
        if op.using_expr is None
        else sql.SQL(" USING ({})").format(sql.SQL(op.using_expr))
    )
    check = (
        sql.SQL("")
        if op.check_expr is None
        else sql.SQL(" WITH CHECK ({})").format(sql.SQL(op.check_expr))
    )
    yield template("create_policy").format(
        name=sql.Identifier(op.name),
        table=ident(op.table),
        permissive=sql.SQL("PERMISSIVE" if op.permissive else "RESTRICTIVE"),
        command=sql.SQL(op.command),
        roles=sql.SQL(", ").join(_role(r) for r in op.roles),
        using=using,
        check=check,
    )


@render_op.register
def _(op: DropTrigger) -> Iterator[sql.Composable]:
    yield template("drop_trigger").format(name=sql.Identifier(op.name), table=ident(op.table))


@render_op.register
def _(op: DropRule) -> Iterator[sql.Composable]:
    yield template("drop_rule").format(name=sql.Identifier(op.name), table=ident(op.table))


@render_op.register
def _(op: CatalogStatement) -> Iterator[sql.Composable]:
    yield template("catalog_statement").format(statement=sql.SQL(op.statement.rstrip().rstrip(";")))


# -- done-checks: one boolean expression per check, one SELECT per step ------------------------
def _check(template_name: str, **values: str) -> sql.Composed:
    return templates.statement(f"checks/{template_name}.sql").format(
        **{k: sql.Literal(v) for k, v in values.items()}
    )


@singledispatch
def check_sql(check: Check) -> sql.Composable:
    """A boolean SQL expression that is true when the check holds."""
    raise TypeError(f"no renderer for {type(check).__name__}")


def _negated(expression: sql.Composable, holds: bool) -> sql.Composable:
    return expression if holds else sql.SQL("NOT ") + expression


@check_sql.register
def _(check: ColumnHasType) -> sql.Composable:
    t = check.table
    return _check(
        "column_has_type", schema=t.schema, table=t.name, column=check.column, type=check.type
    )


@check_sql.register
def _(check: ColumnExists) -> sql.Composable:
    t = check.table
    found = _check("column_exists", schema=t.schema, table=t.name, column=check.column)
    return _negated(found, check.exists)


@check_sql.register
def _(check: ColumnIsIdentity) -> sql.Composable:
    t = check.table
    found = _check("column_is_identity", schema=t.schema, table=t.name, column=check.column)
    return _negated(found, check.identity)


@check_sql.register
def _(check: ConstraintExists) -> sql.Composable:
    t = check.table
    found = _check("constraint_exists", schema=t.schema, table=t.name, name=check.name)
    return _negated(found, check.exists)


@check_sql.register
def _(check: RelationExists) -> sql.Composable:
    n = check.name
    found = _check("relation_exists", schema=n.schema, name=n.name, kind=check.kind)
    return _negated(found, check.exists)


@check_sql.register
def _(check: TableObjectExists) -> sql.Composable:
    t = check.table
    found = _check(f"{check.kind}_exists", schema=t.schema, table=t.name, name=check.name)
    return _negated(found, check.exists)


@check_sql.register
def _(check: SequenceOwned) -> sql.Composable:
    s = check.sequence
    return _negated(_check("sequence_owned", schema=s.schema, name=s.name), check.owned)


@check_sql.register
def _(check: IndexValid) -> sql.Composable:
    return _check("index_valid", schema=check.name.schema, name=check.name.name)


@check_sql.register
def _(check: AllOf) -> sql.Composable:
    if not check.checks:
        return sql.SQL("true")
    return sql.SQL("({})").format(sql.SQL(" AND ").join(check_sql(c) for c in check.checks))


@check_sql.register
def _(check: AnyOf) -> sql.Composable:
    if not check.checks:
        return sql.SQL("false")
    return sql.SQL("({})").format(sql.SQL(" OR ").join(check_sql(c) for c in check.checks))


def done_sql(step: Step) -> sql.Composable | None:
    """One read-only SELECT returning one boolean, `done`: true when the catalog shows that the
    step already happened. None when the catalog cannot tell (the step has no checks)."""
    if not step.done:
        return None
    condition = sql.SQL("\n    AND ").join(check_sql(c) for c in step.done)
    return templates.statement("checks/done.sql").format(condition=condition)


def step_sql(step: Step) -> list[sql.Composable]:
    return [statement for op in step.ops for statement in render_op(op)]


def plan_sql(plan: Plan) -> list[tuple[Step, list[sql.Composable]]]:
    """Each step with its statements: what apply executes and generate prints."""
    return [(step, step_sql(step)) for step in plan.steps]


def as_text(statement: sql.Composable, conn: psycopg.Connection | None) -> str:
    return statement.as_string(conn)


def script(
    plan: Plan,
    conn: psycopg.Connection | None,
    header: list[str],
    *,
    after_locks: Sequence[sql.Composable] = (),
    before_commit: Sequence[sql.Composable] = (),
) -> str:
    """A psql script: stops at the first error and runs all in one transaction. after_locks
    runs once the step that takes the locks is done (a fingerprint), before_commit last."""
    body: list[str] = []
    pending = list(after_locks)
    for step, statements in plan_sql(plan):
        body.append(f"-- {for_comment(step.name)}")
        body += [as_text(s, conn) + ";" for s in statements]
        body.append("")
        if pending and step.takes_locks:
            body.append("-- record a fingerprint (uuidpk verify compares the database with it)")
            body += [as_text(s, conn) + ";" for s in pending]
            body.append("")
            pending = []
    if before_commit:
        body.append("-- record the schema left behind (uuidpk verify compares with it)")
        body += [as_text(s, conn) + ";" for s in before_commit]
        body.append("")
    # squawk's rules that an all-or-nothing transaction does not follow, each with its reason.
    notes = lint.ignore_comments("\n".join(body))
    out = [f"-- {for_comment(line)}" for line in [*header, *notes]]
    if any(isinstance(op, CreateKeyFunction) and op.key for s in plan.steps for op in s.ops):
        out.append("-- this script contains the kept derivation key (--key-file): keep it secret")
    # The script is UTF-8 text; without this psql sends it in the database's encoding (LATIN1:
    # every non-ASCII name misread, or refused).
    out += ["\\set ON_ERROR_STOP on", "SET client_encoding = 'UTF8';", "BEGIN;", "", *body]
    out.append("COMMIT;")
    return "\n".join(out) + "\n"
