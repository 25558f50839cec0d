"""Graph + options -> the online plan: steps in five phases, each rendered to SQL text. Pure.

The order, and why (the lessons of pgroll, GitLab's int->bigint conversion and pg-osc):
1. expand: the key in a table only its owner reads; per table a nullable uuid shadow column
   beside every closure column and a BEFORE trigger filling the shadows of every row written
   from now on. Catalog-only changes, each under a brief lock taken with retries.
2. backfill: the rows written before the trigger, in short keyset batches bounded by the key's
   maximum read after the trigger exists, so the backfill ends under constant inserts.
3. prepare: the twin of every index on closure columns, built CONCURRENTLY; NOT NULL proven by
   a CHECK added NOT VALID, then VALIDATEd (writes go on); the twin of every foreign key the same
   way. Every new constraint exists and is valid before any old one is dropped.
4. cutover: after proving in one snapshot that every shadow is the derivation of its old value,
   one short transaction: locks parents first, old constraints dropped, names swapped, primary
   keys and unique constraints made from the twin indexes, names and comments restored,
   dependent views, policies, triggers and rules recreated on the new columns.
5. contract: the old columns (their sequences go with them), the functions and the key.

Each step carries its undo (IF EXISTS statements, run in reverse order by abort before the
cutover), as pgroll's operations know how to roll themselves back.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from psycopg import sql

from .. import templates
from ..errors import Refused
from ..graph import Closure, Graph, Key, affected_objects
from ..model import FK_ACTIONS, MATCH_TYPES, Column, Constraint, Index, QualifiedName
from ..planner import (
    Derivation,
    Options,
    _derivations,
    _drop_dependents,
    _foreign_keys,
    _parents_first,
    _restore_dependents,
    _sequences,
    plan_conversion,
    require_runnable,
)
from ..render import render_op

Node = tuple[int, int]
MAX_NAME = 63  # NAMEDATALEN - 1: PostgreSQL cuts longer names silently


class Phase(StrEnum):
    EXPAND = "expand"
    BACKFILL = "backfill"
    PREPARE = "prepare"
    CUTOVER = "cutover"
    CONTRACT = "contract"


class Kind(StrEnum):
    """How the executor runs a step."""

    TRANSACTION = "transaction"  # one transaction with lock retries, journaled inside it
    KEY = "key"  # a TRANSACTION whose key INSERT binds the kept key as a parameter
    BACKFILL = "backfill"  # batches of statements[0], up to the bound statement's answer
    INDEX = "index"  # CREATE INDEX CONCURRENTLY: no transaction; INVALID leftovers rebuilt
    AUTOCOMMIT = "autocommit"  # idempotent statements outside a transaction (VALIDATE, ANALYZE)
    PROOF = "proof"  # read-only counts in one REPEATABLE READ snapshot; all must be 0


@dataclass(frozen=True)
class OnlineStep:
    id: str
    phase: Phase
    kind: Kind
    statements: tuple[str, ...]
    undo: tuple[str, ...] = ()
    lock: str | None = None  # the strongest lock its statements take
    labels: tuple[str, ...] = ()  # PROOF: the table of each statement
    target: str | None = None  # INDEX: the index, qualified and quoted, for the validity check
    bound: str | None = None  # BACKFILL: the statement reading where the backfill ends
    by_pages: bool = False  # BACKFILL: ctid page ranges (no single-column key)
    rows: int = 0  # BACKFILL: the table's estimated rows

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OnlineStep:
        values = dict(data)
        values["phase"] = Phase(values["phase"])
        values["kind"] = Kind(values["kind"])
        for name in ("statements", "undo", "labels"):
            values[name] = tuple(values.get(name) or ())
        return cls(**values)


@dataclass(frozen=True)
class OnlinePlan:
    steps: tuple[OnlineStep, ...]
    tables: tuple[str, ...] = ()
    columns: int = 0
    options: Mapping[str, Any] = field(default_factory=dict)  # what was asked, never the key

    def options_json(self) -> str:
        return json.dumps(dict(self.options), sort_keys=True)


@dataclass(frozen=True)
class IndexShape:
    """What rebuilding an index on other columns takes (sql_templates/online/index_shapes.sql)."""

    oid: int
    method: str
    key_count: int
    columns: tuple[int, ...]  # keys, then INCLUDE columns
    opclasses: tuple[str, ...]  # per key column; '' for the default
    collations: tuple[str, ...]  # per key column; '' for the column's own
    options: tuple[int, ...]  # per key column: 1 DESC, 2 NULLS FIRST
    predicate: str | None


def template(name: str) -> sql.SQL:
    return templates.statement(f"online/{name}.sql")


def migrate_template(name: str) -> sql.SQL:
    return templates.statement(f"migrate/{name}.sql")


def ident(name: QualifiedName) -> sql.Identifier:
    return sql.Identifier(name.schema, name.name)


def text(statement: sql.Composable) -> str:
    return statement.as_string(None)


def fit_name(base: str, taken: set[str], seed: str) -> str:
    """base, unless it is over 63 bytes or taken: then its first 54 bytes and a short hash of
    seed (the object it names), so the name stays readable and distinct. Adds it to taken."""
    name = base
    salt = 0
    while len(name.encode()) > MAX_NAME or name in taken:
        digest = hashlib.sha256(f"{seed}\0{salt}".encode()).hexdigest()[:8]
        name = base.encode()[:54].decode(errors="ignore") + "_" + digest
        salt += 1
    taken.add(name)
    return name


# -- the layout: every name the migration adds ---------------------------------------------------
@dataclass(frozen=True)
class ColumnPlan:
    node: Node
    column: Column
    shadow: str
    old_name: str  # what the old column is called between cutover and contract
    derivation: Derivation
    had_generator: bool  # a sequence default or identity: the new column gets a UUID default
    not_null_check: str | None  # the CHECK proving NOT NULL, when the column is NOT NULL


@dataclass(frozen=True)
class IndexTwin:
    index: Index
    name: str  # the twin's name until the cutover gives it the original's
    constraint: Constraint | None  # the primary key or unique constraint it stands for
    statement: str


@dataclass(frozen=True)
class ForeignKeyTwin:
    constraint: Constraint
    table: QualifiedName
    name: str
    statement: str


@dataclass
class _Layout:
    graph: Graph
    options: Options
    nodes: dict[Node, Closure]
    tables: list[int]  # parents first
    columns: dict[int, list[ColumnPlan]] = field(default_factory=dict)
    twins: dict[int, list[IndexTwin]] = field(default_factory=dict)
    foreign_keys: list[ForeignKeyTwin] = field(default_factory=list)
    functions: dict[int, QualifiedName] = field(default_factory=dict)
    trigger: str = "uuidpk_online_fill"

    def qname(self, table_oid: int) -> QualifiedName:
        return self.graph.catalog.table(table_oid).qname

    def shadow_of(self, table_oid: int, attnum: int) -> str | None:
        for plan in self.columns.get(table_oid, ()):
            if plan.column.attnum == attnum:
                return plan.shadow
        return None


def plan_online(
    graph: Graph, keys: Sequence[Key], options: Options, shapes: Mapping[int, IndexShape]
) -> OnlinePlan:
    """The online plan for the given keys, or Refused naming the first thing online mode cannot
    do (offline mode may still). shapes: index_shapes.sql for every index of the closure's
    tables (the executor reads them)."""
    offline = plan_conversion(graph, keys, options)
    require_runnable(offline)
    if offline.is_empty:
        return OnlinePlan(())
    _refuse_unsupported(graph, offline.closures, options)
    layout = _layout(graph, list(offline.closures), options, shapes)
    steps = [
        *_expand(layout),
        *_backfill(layout),
        *_prepare(layout),
        *_cutover(layout, list(offline.closures)),
        *_contract(layout),
    ]
    names = tuple(str(layout.qname(t)) for t in layout.tables)
    asked = {
        "keys": sorted(str(k.table.qname) for k in keys),
        "uuid_version": options.uuid_version,
        "keep_old_id": options.keep_old_id,
        "kept_key": options.key is not None,
    }
    return OnlinePlan(tuple(steps), names, len(layout.nodes), asked)


def _refuse_unsupported(graph: Graph, closures: Sequence[Closure], options: Options) -> None:
    catalog = graph.catalog
    if options.mapping_table:
        raise Refused("online mode does not write mapping tables yet; use offline")
    if options.order_by:
        raise Refused("online mode does not follow --order-by yet; use offline")
    if options.generic:
        raise Refused("online mode does not convert generic relations yet; use offline")
    for closure in closures:
        for node in closure.nodes:
            table = catalog.table(node[0])
            if table.is_partitioned or table.is_partition:
                raise Refused(
                    f"online mode does not convert partitioned tables yet ({table.qname}); "
                    "use offline"
                )
    affected = affected_objects(graph, list(closures))
    if affected.generated:
        dep = affected.generated[0]
        raise Refused(
            f"online mode does not convert keys that generated columns use yet "
            f"({catalog.table(dep.table_oid).qname}.{dep.name}); use offline"
        )


def _layout(
    graph: Graph, closures: list[Closure], options: Options, shapes: Mapping[int, IndexShape]
) -> _Layout:
    catalog = graph.catalog
    nodes = {n: c for c in closures for n in c.nodes}
    tables = _parents_first(graph, sorted({n[0] for n in nodes}))
    _, derivations = _derivations(graph, closures, options)
    sequences = _sequences(catalog, nodes)
    layout = _Layout(graph, options, nodes, tables)
    relations = {t.qname for t in catalog.tables} | {s.qname for s in catalog.sequences}
    relations |= {QualifiedName(catalog.table(i.table_oid).schema, i.name) for i in catalog.indexes}
    taken_relations: dict[str, set[str]] = {}
    for rel in relations:
        taken_relations.setdefault(rel.schema, set()).add(rel.name)
    functions: set[str] = set()
    for table_oid in tables:
        table = catalog.table(table_oid)
        taken_columns = {c.name for c in catalog.columns_of(table_oid)}
        taken_constraints = {c.name for c in catalog.constraints_of(table_oid)}
        plans = []
        for column in catalog.columns_of(table_oid):
            node = (table_oid, column.attnum)
            if node not in nodes:
                continue
            seed = f"{table.qname}.{column.name}"
            shadow = fit_name(f"{column.name}_uuidpk", taken_columns, seed)
            old = fit_name(f"{column.name}_uuidpk_old", taken_columns, seed)
            check = None
            if column.not_null:
                check = fit_name(f"{table.name}_{column.name}_uuidpk_nn", taken_constraints, seed)
            plans.append(
                ColumnPlan(
                    node,
                    column,
                    shadow,
                    old,
                    derivations[node],
                    bool(column.identity) or node in sequences,
                    check,
                )
            )
        layout.columns[table_oid] = plans
        fn = fit_name(f"fill_{table.schema}_{table.name}", functions, str(table.qname))
        layout.functions[table_oid] = QualifiedName("uuidpk", fn)
        layout.twins[table_oid] = [
            _index_twin(layout, index, shapes, taken_relations.setdefault(table.schema, set()))
            for index in sorted(catalog.indexes_of(table_oid), key=lambda i: i.name)
            if (set(index.used_columns) | set(index.key_columns)) & {p.column.attnum for p in plans}
        ]
    taken_fk: dict[int, set[str]] = {}
    for fk in _foreign_keys(graph, closures):
        taken = taken_fk.setdefault(
            fk.table_oid, {c.name for c in catalog.constraints_of(fk.table_oid)}
        )
        taken |= {
            p.not_null_check for p in layout.columns.get(fk.table_oid, ()) if p.not_null_check
        }
        layout.foreign_keys.append(_foreign_key_twin(layout, fk, taken))
    return layout


_WORD = re.compile(r'"((?:[^"]|"")*)"|([A-Za-z_][A-Za-z0-9_$]*)')


def _mentions(expression: str, names: Iterable[str]) -> bool:
    """Whether an expression PostgreSQL deparsed names any of these columns (conservative: any
    identifier-like word with that name counts)."""
    wanted = set(names)
    for quoted, bare in _WORD.findall(expression):
        word = quoted.replace('""', '"') if quoted else bare.lower()
        if word in wanted:
            return True
    return False


def _index_twin(
    layout: _Layout, index: Index, shapes: Mapping[int, IndexShape], taken: set[str]
) -> IndexTwin:
    catalog = layout.graph.catalog
    table = catalog.table(index.table_oid)
    where = f"index {table.schema}.{index.name}"
    closure_names = [p.column.name for p in layout.columns[index.table_oid]]
    shape = shapes.get(index.oid)
    if index.has_expressions or shape is None:
        raise Refused(
            f"online mode cannot rebuild {where} (an expression over a converted column); "
            "use offline"
        )
    if shape.predicate and _mentions(shape.predicate, closure_names):
        raise Refused(
            f"online mode cannot rebuild {where} (its WHERE names a converted column); use offline"
        )
    if shape.method not in ("btree", "hash"):
        raise Refused(f"online mode cannot rebuild {where} (a {shape.method} index); use offline")
    constraint = next(
        (c for c in catalog.constraints_of(index.table_oid) if c.oid == index.constraint_oid),
        None,
    )
    if constraint is not None and constraint.kind not in ("p", "u"):
        raise Refused(f"online mode cannot rebuild {where} (an exclusion constraint); use offline")
    keys: list[sql.Composable] = []
    for position, attnum in enumerate(shape.columns[: shape.key_count]):
        shadow = layout.shadow_of(index.table_oid, attnum)
        name = shadow or catalog.column(index.table_oid, attnum).name
        part: list[sql.Composable] = [sql.Identifier(name)]
        if shadow is None and shape.collations[position]:
            part.append(sql.SQL("COLLATE " + shape.collations[position]))
        if shadow is None and shape.opclasses[position]:
            part.append(sql.SQL(shape.opclasses[position]))
        option = shape.options[position] if position < len(shape.options) else 0
        if option & 1:
            part.append(sql.SQL("DESC" if option & 2 else "DESC NULLS LAST"))
        elif option & 2:
            part.append(sql.SQL("NULLS FIRST"))
        keys.append(sql.SQL(" ").join(part))
    included = [
        sql.Identifier(
            layout.shadow_of(index.table_oid, a) or catalog.column(index.table_oid, a).name
        )
        for a in shape.columns[shape.key_count :]
    ]
    name = fit_name(f"{index.name}_uuidpk", taken, f"{table.qname}.{index.name}")
    statement = template("index_create").format(
        unique=sql.SQL("UNIQUE " if index.is_unique else ""),
        name=sql.Identifier(name),
        table=ident(table.qname),
        method=sql.SQL(shape.method),
        columns=sql.SQL(", ").join(keys),
        include=sql.SQL(" INCLUDE ({})").format(sql.SQL(", ").join(included))
        if included
        else sql.SQL(""),
        where=sql.SQL(f" WHERE {shape.predicate}") if shape.predicate else sql.SQL(""),
    )
    return IndexTwin(index, name, constraint, text(statement))


def _foreign_key_twin(layout: _Layout, fk: Constraint, taken: set[str]) -> ForeignKeyTwin:
    catalog = layout.graph.catalog
    assert fk.ref_table_oid is not None
    table = catalog.table(fk.table_oid).qname

    def columns(table_oid: int, attnums: tuple[int, ...]) -> sql.Composable:
        return sql.SQL(", ").join(
            sql.Identifier(layout.shadow_of(table_oid, a) or catalog.column(table_oid, a).name)
            for a in attnums
        )

    name = fit_name(f"{fk.name}_uuidpk", taken, f"{table}.{fk.name}")
    deferrable = ""
    if fk.deferrable:
        deferrable = " DEFERRABLE INITIALLY " + ("DEFERRED" if fk.deferred else "IMMEDIATE")
    statement = migrate_template("add_foreign_key").format(
        table=ident(table),
        name=sql.Identifier(name),
        columns=columns(fk.table_oid, fk.columns),
        ref_table=ident(catalog.table(fk.ref_table_oid).qname),
        ref_columns=columns(fk.ref_table_oid, fk.ref_columns),
        match=sql.SQL(MATCH_TYPES[fk.match_type]),
        on_update=sql.SQL(FK_ACTIONS[fk.on_update]),
        on_delete=sql.SQL(FK_ACTIONS[fk.on_delete]),
        deferrable=sql.SQL(deferrable),
        not_valid=sql.SQL(" NOT VALID"),
    )
    return ForeignKeyTwin(fk, table, name, text(statement))


# -- the derivation ----------------------------------------------------------------------
DERIVE_FUNCTIONS = ("uuidpk.online_uuid(text, text)", "uuidpk.online_uuid(text, bigint)")
DERIVE_FUNCTIONS_V7 = (
    "uuidpk.online_uuid7(text, text, bigint)",
    "uuidpk.online_uuid7(text, bigint, bigint)",
)


def derive(derivation: Derivation, value: sql.Composable) -> sql.Composable:
    """A column's new value from its old value (NEW.col in triggers, t.col in batches)."""
    cast = sql.SQL("{}::bigint" if derivation.integer else "{}::text").format(value)
    root = sql.Literal(derivation.root)
    if derivation.version == 7:
        ms = sql.SQL("{}::bigint").format(value)
        return template("derive_call_v7").format(root=root, value=cast, ms=ms)
    return template("derive_call").format(root=root, value=cast)


def _derive_functions(options: Options) -> list[str]:
    text_bytes = migrate_template("text_bytes_utf8" if options.utf8 else "text_bytes_convert")
    variants = [
        {"value_type": sql.SQL("text"), "value_bytes": text_bytes.format(text=sql.SQL("v"))},
        {
            "value_type": sql.SQL("bigint"),
            "value_bytes": migrate_template("integer_bytes").format(value=sql.SQL("v")),
        },
    ]
    shapes = ["derive_function"] + (["derive_function_v7"] if options.uuid_version == 7 else [])
    return [
        text(
            template(shape).format(
                volatility=sql.SQL("STABLE"),  # it reads a table
                root_bytes=text_bytes.format(text=sql.SQL("root")),
                **variant,
            )
        )
        for shape in shapes
        for variant in variants
    ]


def _function_names(options: Options) -> tuple[str, ...]:
    return DERIVE_FUNCTIONS + (DERIVE_FUNCTIONS_V7 if options.uuid_version == 7 else ())


# -- phases ----------------------------------------------------------------------
def _expand(layout: _Layout) -> Iterable[OnlineStep]:
    options = layout.options
    names = _function_names(options)
    key_statements = [
        text(migrate_template("create_schema")),
        text(template("key_table_create")),
        text(template("key_table_revoke")),
        text(template("key_insert" if options.key is not None else "key_insert_random")),
        *_derive_functions(options),
        *(text(template("function_revoke").format(function=sql.SQL(n))) for n in names),
    ]
    key_undo = [
        *(text(template("function_drop").format(function=sql.SQL(n))) for n in names),
        text(template("key_table_drop")),
    ]
    yield OnlineStep(
        "expand:key", Phase.EXPAND, Kind.KEY, tuple(key_statements), tuple(key_undo), "SHARE"
    )
    for table_oid in layout.tables:
        table = ident(layout.qname(table_oid))
        plans = layout.columns[table_oid]
        function = ident(layout.functions[table_oid])
        trigger = sql.Identifier(layout.trigger)
        assignments = sql.SQL("\n").join(
            template("fill_assignment").format(
                shadow=sql.Identifier(p.shadow),
                expression=derive(p.derivation, sql.SQL("NEW.") + sql.Identifier(p.column.name)),
            )
            for p in plans
        )
        statements = [
            *(
                text(template("shadow_add").format(table=table, column=sql.Identifier(p.shadow)))
                for p in plans
            ),
            text(template("fill_function").format(function=function, assignments=assignments)),
            text(template("function_revoke").format(function=function + sql.SQL("()"))),
            text(
                template("fill_trigger").format(
                    name=trigger,
                    table=table,
                    columns=sql.SQL(", ").join(sql.Identifier(p.column.name) for p in plans),
                    function=function,
                )
            ),
        ]
        undo = [
            text(template("trigger_drop").format(name=trigger, table=table)),
            text(template("function_drop").format(function=function + sql.SQL("()"))),
            *(
                text(template("column_drop").format(table=table, column=sql.Identifier(p.shadow)))
                for p in plans
            ),
        ]
        yield OnlineStep(
            f"expand:{layout.qname(table_oid)}",
            Phase.EXPAND,
            Kind.TRANSACTION,
            tuple(statements),
            tuple(undo),
            "ACCESS EXCLUSIVE",
        )


def _backfill(layout: _Layout) -> Iterable[OnlineStep]:
    catalog = layout.graph.catalog
    for table_oid in layout.tables:
        qname = layout.qname(table_oid)
        table = ident(qname)
        assignments = sql.SQL(", ").join(
            template("assignment").format(
                column=sql.Identifier(p.shadow),
                expression=derive(p.derivation, sql.SQL("t.") + sql.Identifier(p.column.name)),
            )
            for p in layout.columns[table_oid]
        )
        pk = layout.graph.primary_key(table_oid)
        if pk is not None and len(pk.columns) == 1:
            key = catalog.column(table_oid, pk.columns[0])
            batch = template("backfill_batch_key").format(
                table=table,
                key=sql.Identifier(key.name),
                type=sql.SQL(key.type),
                assignments=assignments,
            )
            bound = template("backfill_bound_key").format(table=table, key=sql.Identifier(key.name))
            by_pages = False
        else:
            batch = template("backfill_batch_pages").format(table=table, assignments=assignments)
            bound = template("backfill_bound_pages").format(table=sql.Literal(text(table)))
            by_pages = True
        yield OnlineStep(
            f"backfill:{qname}",
            Phase.BACKFILL,
            Kind.BACKFILL,
            (text(batch),),
            lock="ROW EXCLUSIVE",
            bound=text(bound),
            by_pages=by_pages,
            rows=max(catalog.table(table_oid).est_rows, 0),
        )


def _prepare(layout: _Layout) -> Iterable[OnlineStep]:
    for table_oid in layout.tables:
        qname = layout.qname(table_oid)
        for twin in layout.twins[table_oid]:
            index = sql.Identifier(qname.schema, twin.name)
            yield OnlineStep(
                f"index:{qname.schema}.{twin.name}",
                Phase.PREPARE,
                Kind.INDEX,
                (twin.statement,),
                (text(template("index_drop_concurrently").format(index=index)),),
                "SHARE UPDATE EXCLUSIVE",
                target=text(index),
            )
    for table_oid in layout.tables:
        qname = layout.qname(table_oid)
        table = ident(qname)
        for p in layout.columns[table_oid]:
            if p.not_null_check is None:
                continue
            name = sql.Identifier(p.not_null_check)
            undo = (text(template("constraint_drop").format(table=table, name=name)),)
            yield OnlineStep(
                f"check:{qname}.{p.not_null_check}",
                Phase.PREPARE,
                Kind.TRANSACTION,
                (
                    text(
                        template("not_null_check").format(
                            table=table, name=name, column=sql.Identifier(p.shadow)
                        )
                    ),
                ),
                undo,
                "ACCESS EXCLUSIVE",
            )
            yield OnlineStep(
                f"validate:{qname}.{p.not_null_check}",
                Phase.PREPARE,
                Kind.AUTOCOMMIT,
                (text(template("constraint_validate").format(table=table, name=name)),),
                lock="SHARE UPDATE EXCLUSIVE",
            )
    for fk_twin in layout.foreign_keys:
        table = ident(fk_twin.table)
        name = sql.Identifier(fk_twin.name)
        yield OnlineStep(
            f"foreign-key:{fk_twin.table}.{fk_twin.name}",
            Phase.PREPARE,
            Kind.TRANSACTION,
            (fk_twin.statement,),
            (text(template("constraint_drop").format(table=table, name=name)),),
            "SHARE ROW EXCLUSIVE",
        )
        if fk_twin.constraint.validated:
            yield OnlineStep(
                f"validate:{fk_twin.table}.{fk_twin.name}",
                Phase.PREPARE,
                Kind.AUTOCOMMIT,
                (text(template("constraint_validate").format(table=table, name=name)),),
                lock="SHARE UPDATE EXCLUSIVE",
            )
    yield OnlineStep(
        "analyze",
        Phase.PREPARE,
        Kind.AUTOCOMMIT,
        tuple(
            text(template("analyze").format(table=ident(layout.qname(t)))) for t in layout.tables
        ),
        lock="SHARE UPDATE EXCLUSIVE",
    )


def _cutover(layout: _Layout, closures: list[Closure]) -> Iterable[OnlineStep]:
    graph = layout.graph
    catalog = graph.catalog
    proofs = []
    for table_oid in layout.tables:
        mismatch = sql.SQL(" OR ").join(
            template("mismatch").format(
                shadow=sql.Identifier(p.shadow),
                expression=derive(p.derivation, sql.SQL("t.") + sql.Identifier(p.column.name)),
            )
            for p in layout.columns[table_oid]
        )
        proofs.append(
            text(
                template("prove_table").format(
                    table=ident(layout.qname(table_oid)), mismatch=mismatch
                )
            )
        )
    yield OnlineStep(
        "prove",
        Phase.CUTOVER,
        Kind.PROOF,
        tuple(proofs),
        lock="ACCESS SHARE",
        labels=tuple(str(layout.qname(t)) for t in layout.tables),
    )

    affected = affected_objects(graph, closures)
    out: list[sql.Composable] = [
        migrate_template("lock_tables").format(
            tables=sql.SQL(", ").join(ident(layout.qname(t)) for t in layout.tables)
        )
    ]
    # Views, policies, triggers and rules name columns by number: dropped before the names
    # swap, recreated after it from their text, they stand on the new columns.
    out += [s for op in _drop_dependents(graph, affected) for s in render_op(op)]
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
            for p in layout.columns[table_oid]:
                if p.column.attnum in index_twin.index.key_columns or p.column.attnum in set(
                    index_twin.index.used_columns
                ):
                    out.append(
                        template("index_column_rename").format(
                            index=sql.Identifier(qname.schema, index_twin.name),
                            column=sql.Identifier(p.shadow),
                            name=sql.Identifier(p.column.name),
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
                continue
            deferrable = ""
            if con.deferrable:
                deferrable = " DEFERRABLE INITIALLY " + (
                    "DEFERRED" if con.deferred else "IMMEDIATE"
                )
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
    for twin in layout.foreign_keys:
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
    out += [s for op in _restore_dependents(graph, affected) for s in render_op(op)]
    del catalog
    yield OnlineStep(
        "cutover",
        Phase.CUTOVER,
        Kind.TRANSACTION,
        tuple(text(s) for s in out),
        (),
        "ACCESS EXCLUSIVE",
    )


def _constraint_comment(table: QualifiedName, name: str, comment: str) -> sql.Composable:
    return migrate_template("comment_on_constraint").format(
        name=sql.Identifier(name), table=ident(table), comment=sql.Literal(comment)
    )


def _swap_columns(layout: _Layout, table_oid: int) -> list[sql.Composable]:
    qname = layout.qname(table_oid)
    table = ident(qname)
    out: list[sql.Composable] = []
    actions: list[sql.Composable] = []
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
            # Proven by the validated CHECK: no scan under the lock (PostgreSQL 12+).
            actions.append(template("action_set_not_null").format(column=new))
            assert p.not_null_check is not None
            actions.append(
                template("action_drop_constraint").format(name=sql.Identifier(p.not_null_check))
            )
        if p.had_generator:
            default = (
                "uuidv7"
                if layout.options.native_uuidv7
                else ("uuidv7_emulated" if layout.options.uuid_version == 7 else "random")
            )
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
    for p in layout.columns[table_oid]:
        if p.column.comment is not None:
            out.append(_column_comment(qname, p.column.name, p.column.comment))
    return out


def _column_comment(table: QualifiedName, column: str, comment: str | None) -> sql.Composable:
    return migrate_template("comment_on").format(
        kind=sql.SQL("COLUMN"),
        object=sql.Identifier(table.schema, table.name, column),
        comment=sql.Literal(comment) if comment is not None else sql.SQL("NULL"),
    )


def _contract(layout: _Layout) -> Iterable[OnlineStep]:
    graph = layout.graph
    catalog = graph.catalog
    nodes = layout.nodes
    roots = {c.root for c in nodes.values()}
    # A sequence another column still draws from must not go with the old column it belongs to.
    disown: dict[int, list[str]] = {}
    for seq in catalog.sequences:
        if seq.owner is None or seq.is_identity or graph.canon(seq.owner) not in nodes:
            continue
        if any(graph.canon(u) not in nodes for u in seq.used_by):
            disown.setdefault(seq.owner[0], []).append(
                text(migrate_template("sequence_owned_by_none").format(sequence=ident(seq.qname)))
            )
    for table_oid in layout.tables:
        table = ident(layout.qname(table_oid))
        statements = list(disown.get(table_oid, []))
        for p in layout.columns[table_oid]:
            old = sql.Identifier(p.old_name)
            if layout.options.keep_old_id and p.node in roots and graph.primary_key(table_oid):
                statements.append(
                    text(
                        template("column_rename").format(
                            table=table, column=old, name=sql.Identifier(layout.options.keep_old_id)
                        )
                    )
                )
            else:
                statements.append(text(template("column_drop").format(table=table, column=old)))
        yield OnlineStep(
            f"contract:{layout.qname(table_oid)}",
            Phase.CONTRACT,
            Kind.TRANSACTION,
            tuple(statements),
            lock="ACCESS EXCLUSIVE",
        )
    forget = [
        text(template("function_drop").format(function=ident(layout.functions[t]) + sql.SQL("()")))
        for t in layout.tables
    ]
    forget += [
        text(template("function_drop").format(function=sql.SQL(n)))
        for n in _function_names(layout.options)
    ]
    forget.append(text(template("key_table_drop")))
    yield OnlineStep(
        "forget-key", Phase.CONTRACT, Kind.TRANSACTION, tuple(forget), lock="ACCESS EXCLUSIVE"
    )
