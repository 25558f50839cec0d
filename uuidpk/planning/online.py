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

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from psycopg import sql

from .. import templates
from ..dependents import affected_objects
from ..errors import Refused
from ..graph import Closure, Graph
from ..model import QualifiedName
from ..ops import Check, IndexValid, LockLevel, Options, Phase, Plan
from ..render import check_sql
from .check_twins import CheckTwin, check_twins, swap_statements
from .common import key_roots, mapping_names, require_runnable
from .cutover import cutover_statements
from .partitions import (
    Partitions,
    attach_sql,
    drop_partitioned_index_sql,
    leaf_column_renames,
    on_only_sql,
    partitions_for,
)
from .refusals import unsupported
from .shadows import (
    Extra,
    ForeignKeyTwin,
    IndexTwin,
    Layout,
    derive_function_statements,
    function_names,
    ident,
    layout_for,
    migrate_template,
    template,
    text,
)
from .values import mismatch_extra, new_value, trigger_columns


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
    lock: LockLevel | None = None  # the strongest lock its statements take
    labels: tuple[str, ...] = ()  # PROOF: the table of each statement
    done: str | None = None  # a SELECT of one boolean: the catalog shows the step happened
    bound: str | None = None  # BACKFILL: the statement reading where the backfill ends
    by_pages: bool = False  # BACKFILL: ctid page ranges (no single-column key)
    rows: int = 0  # BACKFILL: the table's estimated rows
    replica: bool = False  # BACKFILL: batches with session_replication_role = replica
    record: tuple[str, ...] = ()  # PROOF: run after a proof that holds, in its snapshot

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OnlineStep:
        values = dict(data)
        values["phase"] = Phase(values["phase"])
        values["kind"] = Kind(values["kind"])
        values["lock"] = LockLevel(values["lock"]) if values.get("lock") else None
        for name in ("statements", "undo", "labels", "record"):
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


def done_query(*checks: Check) -> sql.Composable:
    """The done-check of a step that cannot be journaled in its own transaction (a concurrent
    index build), as ops' checks render it."""
    condition = sql.SQL(" AND ").join(check_sql(c) for c in checks)
    return templates.statement("checks/done.sql").format(condition=condition)


def plan_online(
    graph: Graph,
    offline: Plan,
    options: Options,
    extra: Extra,
) -> OnlinePlan:
    """The online plan for the keys of an offline plan (its closures and problems, found once),
    or Refused naming the first thing online mode cannot do (offline mode may still). extra: what
    the executor read beyond the catalog (index shapes, tables whose UPDATE triggers the backfill
    must not fire, column privileges)."""
    require_runnable(offline)
    keys = offline.keys
    if offline.is_empty:
        return OnlinePlan(())
    _refuse_unsupported(graph, offline.closures, extra)
    layout = layout_for(graph, list(offline.closures), options, extra)
    parts = partitions_for(layout)
    checks = check_twins(layout, affected_objects(graph, list(offline.closures)).dropped_checks)
    steps = [
        *_expand(layout),
        *_backfill(layout, parts),
        *_prepare(layout, parts),
        *_prepare_checks(checks),
        *_cutover(layout, list(offline.closures), checks, parts),
        *_mapping(layout, list(offline.closures)),
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


def _refuse_unsupported(graph: Graph, closures: Sequence[Closure], extra: Extra) -> None:
    found = unsupported(graph, closures, extra.shapes)
    if found:
        raise Refused(f"{found[0].what} {found[0].name}: {found[0].reason}")


# -- phases ----------------------------------------------------------------------
def _expand(layout: Layout) -> Iterable[OnlineStep]:
    options = layout.options
    names = function_names(options)
    key_statements = [
        text(migrate_template("create_schema")),
        text(template("key_table_create")),
        text(template("key_table_revoke")),
        *(
            [text(migrate_template("hide_parameters")), text(template("key_insert"))]
            if options.key is not None
            else [text(template("key_insert_random"))]
        ),
        *derive_function_statements(options),
        *(text(template("function_revoke").format(function=sql.SQL(n))) for n in names),
    ]
    key_undo = [
        *(text(template("function_drop").format(function=sql.SQL(n))) for n in names),
        text(template("key_table_drop")),
    ]
    yield OnlineStep(
        "expand:key",
        Phase.EXPAND,
        Kind.KEY,
        tuple(key_statements),
        tuple(key_undo),
        LockLevel.SHARE,
    )
    for table_oid in layout.tables:
        table = ident(layout.qname(table_oid))
        plans = layout.columns[table_oid]
        function = ident(layout.functions[table_oid])
        trigger = sql.Identifier(layout.trigger)
        assignments = sql.SQL("\n").join(
            template("fill_assignment").format(
                shadow=sql.Identifier(p.shadow),
                expression=new_value(layout, p, sql.SQL("NEW")),
            )
            for p in plans
        )
        statements = [
            *(
                text(
                    template("shadow_add_text" if p.derivation.as_text else "shadow_add").format(
                        table=table, column=sql.Identifier(p.shadow)
                    )
                )
                for p in plans
            ),
            text(template("fill_function").format(function=function, assignments=assignments)),
            text(template("function_revoke").format(function=function + sql.SQL("()"))),
            text(
                template("fill_trigger").format(
                    name=trigger,
                    table=table,
                    columns=sql.SQL(", ").join(
                        sql.Identifier(c) for c in trigger_columns(layout, table_oid)
                    ),
                    function=function,
                )
            ),
            text(template("fill_trigger_always").format(table=table, name=trigger)),
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
            LockLevel.ACCESS_EXCLUSIVE,
        )


def _backfill(layout: Layout, parts: Partitions) -> Iterable[OnlineStep]:
    # A partitioned table has no rows of its own: each partition is backfilled by itself, by
    # its own key (or pages), so a resumed run continues partition by partition.
    for table_oid in layout.tables:
        for target in parts.leaves.get(table_oid) or [table_oid]:
            yield _backfill_step(layout, table_oid, target)


def _backfill_step(layout: Layout, table_oid: int, target: int) -> OnlineStep:
    catalog = layout.graph.catalog
    qname = layout.qname(target)
    table = ident(qname)
    assignments = sql.SQL(", ").join(
        template("assignment").format(
            column=sql.Identifier(p.shadow),
            expression=new_value(layout, p, sql.SQL("t"), keyed=True),
        )
        for p in layout.columns[table_oid]
    )
    pk = layout.graph.primary_key(target)
    if pk is not None and len(pk.columns) == 1:
        key = catalog.column(target, pk.columns[0])
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
    return OnlineStep(
        f"backfill:{qname}",
        Phase.BACKFILL,
        Kind.BACKFILL,
        (text(batch),),
        lock=LockLevel.ROW_EXCLUSIVE,
        bound=text(bound),
        by_pages=by_pages,
        rows=max(catalog.table(target).est_rows or 0, 0),
        replica=bool({table_oid, target} & layout.extra.quiet_tables),
    )


def _prepare(layout: Layout, parts: Partitions) -> Iterable[OnlineStep]:
    yield OnlineStep(
        "vacuum",
        Phase.PREPARE,
        Kind.AUTOCOMMIT,
        tuple(text(template("vacuum").format(table=ident(layout.qname(t)))) for t in layout.tables),
        lock=LockLevel.SHARE_UPDATE_EXCLUSIVE,
    )
    local = [(leaf, twin) for leaf, twins in sorted(parts.local.items()) for twin in twins]
    for table_oid, twin in [(t, w) for t in layout.tables for w in layout.twins[t]] + local:
        qname = layout.qname(table_oid)
        index = sql.Identifier(qname.schema, twin.name)
        if parts.is_partitioned(table_oid):
            yield from _partitioned_index(layout, parts, twin)
            continue
        yield OnlineStep(
            f"index:{qname.schema}.{twin.name}",
            Phase.PREPARE,
            Kind.INDEX,
            (twin.statement,),
            (text(template("index_drop_concurrently").format(index=index)),),
            LockLevel.SHARE_UPDATE_EXCLUSIVE,
            done=text(done_query(IndexValid(QualifiedName(qname.schema, twin.name)))),
        )
    for table_oid in layout.tables:
        qname = layout.qname(table_oid)
        table = ident(qname)
        for p in layout.columns[table_oid]:
            if p.not_null_check is None:
                continue
            check = template("not_null_check").format(
                table=table,
                name=sql.Identifier(p.not_null_check),
                column=sql.Identifier(p.shadow),
            )
            yield from _constraint_twin(
                "check", qname, p.not_null_check, text(check), LockLevel.ACCESS_EXCLUSIVE
            )
    for fk_twin in layout.foreign_keys:
        if fk_twin.constraint.oid in parts.referenced:
            continue  # made in the cutover (planning/partitions.py says why)
        if fk_twin.constraint.oid in parts.foreign_keys:
            yield from _partitioned_foreign_key(parts, fk_twin)
            continue
        yield from _constraint_twin(
            "foreign-key",
            fk_twin.table,
            fk_twin.name,
            fk_twin.statement,
            LockLevel.SHARE_ROW_EXCLUSIVE,
            validate=fk_twin.constraint.validated,
        )


def _partitioned_index(layout: Layout, parts: Partitions, twin: IndexTwin) -> Iterable[OnlineStep]:
    """The twin of an index of a partitioned table: built CONCURRENTLY partition by partition;
    a plain index's twin also ON ONLY the partitioned table, the partitions' ATTACHed to it. A
    key's twin stays in pieces until the cutover makes the constraints (partitions.py)."""
    schema = layout.qname(twin.index.table_oid).schema
    leaves = parts.indexes[twin.index.oid]
    plain = twin.constraint is None
    drop = (drop_partitioned_index_sql(schema, twin.name),)
    if plain:
        yield OnlineStep(
            f"index:{schema}.{twin.name}",
            Phase.PREPARE,
            Kind.TRANSACTION,
            (on_only_sql(layout, twin),),
            drop,
            LockLevel.SHARE,
        )
    for leaf in leaves:
        index = sql.Identifier(leaf.table.schema, leaf.name)
        yield OnlineStep(
            f"index:{leaf.table.schema}.{leaf.name}",
            Phase.PREPARE,
            Kind.INDEX,
            (leaf.statement,),
            (text(template("index_drop_concurrently").format(index=index)),),
            LockLevel.SHARE_UPDATE_EXCLUSIVE,
            done=text(done_query(IndexValid(QualifiedName(leaf.table.schema, leaf.name)))),
        )
        renames = leaf_column_renames(layout, twin, leaf)
        if not plain and renames:
            yield OnlineStep(
                f"index-columns:{leaf.table.schema}.{leaf.name}",
                Phase.PREPARE,
                Kind.TRANSACTION,
                tuple(renames),
                lock=LockLevel.ACCESS_EXCLUSIVE,  # on the new index only
            )
    if plain:
        # Undone by dropping the partitioned index: an attached index cannot go by itself.
        for leaf in leaves:
            yield OnlineStep(
                f"attach:{leaf.table.schema}.{leaf.name}",
                Phase.PREPARE,
                Kind.TRANSACTION,
                (attach_sql(schema, twin, leaf),),
                drop,
                LockLevel.SHARE_UPDATE_EXCLUSIVE,
            )


def _partitioned_foreign_key(parts: Partitions, fk_twin: ForeignKeyTwin) -> Iterable[OnlineStep]:
    """The twin of a partitioned table's foreign key, on each partition (a partitioned table
    refuses NOT VALID): NOT VALID, then VALIDATE with writes going on."""
    for leaf in parts.foreign_keys[fk_twin.constraint.oid]:
        yield from _constraint_twin(
            "foreign-key", leaf.table, leaf.name, leaf.statement, LockLevel.SHARE_ROW_EXCLUSIVE
        )


def _prepare_checks(twins: Sequence[CheckTwin]) -> Iterable[OnlineStep]:
    for twin in twins:
        yield from _constraint_twin(
            "check",
            twin.table,
            twin.name,
            twin.statement,
            LockLevel.ACCESS_EXCLUSIVE,
            validate=twin.constraint.validated,
        )


def _constraint_twin(
    kind: str,
    table: QualifiedName,
    name: str,
    statement: str,
    lock: LockLevel,
    validate: bool = True,
) -> Iterable[OnlineStep]:
    """A constraint twin added NOT VALID (statement; undone by dropping it), then, when the
    original was valid, VALIDATEd in its own step: the scan runs under SHARE UPDATE EXCLUSIVE,
    with writes going on."""
    target = ident(table)
    constraint = sql.Identifier(name)
    yield OnlineStep(
        f"{kind}:{table}.{name}",
        Phase.PREPARE,
        Kind.TRANSACTION,
        (statement,),
        (text(template("constraint_drop").format(table=target, name=constraint)),),
        lock,
    )
    if validate:
        yield OnlineStep(
            f"validate:{table}.{name}",
            Phase.PREPARE,
            Kind.AUTOCOMMIT,
            (text(template("constraint_validate").format(table=target, name=constraint)),),
            lock=LockLevel.SHARE_UPDATE_EXCLUSIVE,
        )


def _cutover(
    layout: Layout, closures: list[Closure], checks: Sequence[CheckTwin], parts: Partitions
) -> Iterable[OnlineStep]:
    proofs = []
    for table_oid in layout.tables:
        conditions: list[sql.Composable] = []
        for p in layout.columns[table_oid]:
            conditions.append(
                template("mismatch").format(
                    shadow=sql.Identifier(p.shadow),
                    expression=new_value(layout, p, sql.SQL("t"), keyed=True),
                )
            )
            lost = mismatch_extra(p)
            if lost is not None:
                conditions.append(lost)
        mismatch = sql.SQL(" OR ").join(conditions)
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
        lock=LockLevel.ACCESS_SHARE,
        labels=tuple(str(layout.qname(t)) for t in layout.tables),
    )

    out = cutover_statements(layout, closures, parts) + swap_statements(checks)
    yield OnlineStep(
        "cutover",
        Phase.CUTOVER,
        Kind.TRANSACTION,
        tuple(text(s) for s in out),
        (),
        LockLevel.ACCESS_EXCLUSIVE,
    )
    # Keys referencing a partitioned table came back NOT VALID in the cutover (enforced from
    # then on); their rows are checked now, with writes going on.
    for fk_twin in layout.foreign_keys:
        fk = fk_twin.constraint
        if fk.oid not in parts.referenced or not fk.validated:
            continue
        yield OnlineStep(
            f"validate:{fk_twin.table}.{fk.name}",
            Phase.CUTOVER,
            Kind.AUTOCOMMIT,
            (
                text(
                    template("constraint_validate").format(
                        table=ident(fk_twin.table), name=sql.Identifier(fk.name)
                    )
                ),
            ),
            lock=LockLevel.SHARE_UPDATE_EXCLUSIVE,
        )


def _mapping(layout: Layout, closures: list[Closure]) -> Iterable[OnlineStep]:
    """--mapping-table: offline's (old value, new uuid) tables, written between the cutover and
    the contract phase, while the old columns still exist."""
    if not layout.options.mapping_table:
        return
    catalog = layout.graph.catalog
    roots = key_roots(layout.graph, closures)
    names = mapping_names([catalog.table(r[0]).qname for r in roots], catalog.uuidpk_tables)
    for root in roots:
        table = catalog.table(root[0])
        plan = next(p for p in layout.columns[root[0]] if p.node == root)
        mapping = QualifiedName("uuidpk", names[table.qname])
        create = migrate_template("mapping_table_create").format(
            mapping=ident(mapping), type=sql.SQL(plan.column.type)
        )
        fill = template("mapping_fill").format(
            mapping=ident(mapping),
            table=ident(table.qname),
            old=sql.Identifier(plan.old_name),
            new=sql.Identifier(plan.column.name),
        )
        yield OnlineStep(
            f"mapping:{table.qname}",
            Phase.CONTRACT,
            Kind.TRANSACTION,
            (text(migrate_template("create_schema")), text(create), text(fill)),
            lock=LockLevel.ACCESS_SHARE,
        )


def _contract(layout: Layout) -> Iterable[OnlineStep]:
    graph = layout.graph
    catalog = graph.catalog
    nodes = layout.nodes
    kept = set(key_roots(graph, list({id(c): c for c in nodes.values()}.values())))
    if not layout.options.keep_old_id:
        kept = set()
    # A sequence another column still draws from must not go with the old column it belongs
    # to; one that served only converted columns goes with its column, or, when the column is
    # kept (--keep-old-id), on its own, as offline.
    before: dict[int, list[str]] = {}
    for seq in catalog.sequences:
        if seq.owner is None or seq.is_identity or graph.canon(seq.owner) not in nodes:
            continue
        if any(graph.canon(u) not in nodes for u in seq.used_by):
            shape = migrate_template("sequence_owned_by_none")
        elif graph.canon(seq.owner) in kept:
            shape = migrate_template("drop_sequence")
        else:
            continue
        before.setdefault(seq.owner[0], []).append(text(shape.format(sequence=ident(seq.qname))))
    for table_oid in layout.tables:
        table = ident(layout.qname(table_oid))
        statements = list(before.get(table_oid, []))
        for p in layout.columns[table_oid]:
            old = sql.Identifier(p.old_name)
            if p.node in kept:
                assert layout.options.keep_old_id is not None
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
            lock=LockLevel.ACCESS_EXCLUSIVE,
        )
    forget = [
        text(template("function_drop").format(function=ident(layout.functions[t]) + sql.SQL("()")))
        for t in layout.tables
    ]
    forget += [
        text(template("function_drop").format(function=sql.SQL(n)))
        for n in function_names(layout.options)
    ]
    forget.append(text(template("key_table_drop")))
    yield OnlineStep(
        "forget-key",
        Phase.CONTRACT,
        Kind.TRANSACTION,
        tuple(forget),
        lock=LockLevel.ACCESS_EXCLUSIVE,
    )
