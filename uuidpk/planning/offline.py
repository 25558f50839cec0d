"""The offline plan: graph + options -> Plan, one transaction. Pure: no I/O, no SQL text.

The steps come in this order, for reasons PostgreSQL imposes:
1. lock every table of every closure, parents first (no deadlock half-way);
2. make the derivation function (the key lives only inside it, in pg_temp);
3. write mapping tables while the old values still exist;
4. drop the closure's foreign keys: while one side is integer and the other uuid, PostgreSQL
   cannot keep them (their operators would not match);
5. drop identity (PostgreSQL will not change an identity column's type), keep old values;
6. one ALTER TABLE per table: drop the sequence default, change every closure column of that
   table with USING f(col), set the UUID default -- one rewrite, indexes rebuilt with their names;
7. restore the foreign keys with their exact names, actions, deferrability and comments;
8. drop the sequences that served only converted keys; forget the derivation function;
9. analyze the rewritten tables: the changed columns lost their statistics.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from ..blockers import option_name_problems
from ..dependents import Affected, affected_objects
from ..graph import Closure, Graph, Key
from ..model import Catalog, Index, QualifiedName
from ..ops import (
    AllOf,
    AlterColumns,
    Analyze,
    AnyOf,
    Check,
    ColumnChange,
    ColumnExists,
    ColumnHasType,
    ColumnIsIdentity,
    ConstraintExists,
    CreateKeyFunction,
    CreateSchema,
    DisownSequence,
    DropConstraint,
    DropIdentity,
    DropKeyFunction,
    DropSequence,
    GeneratedColumn,
    KeepOldId,
    LockTables,
    Op,
    Options,
    Phase,
    Plan,
    RelationExists,
    SequenceOwned,
    SetLocal,
    Step,
    TableObjectExists,
    WriteMapping,
)
from ..problems import Problem
from . import common
from .locks import step_lock


def plan_conversion(
    graph: Graph,
    keys: Sequence[Key],
    options: Options,
    problems: Sequence[Problem] | None = None,
    *,
    force: bool = False,
) -> Plan:
    """The offline plan for the given keys. Problems are in the plan; a plan with blocking
    problems has no steps, unless forced (a rehearsal on a scratch copy, to hear what
    PostgreSQL itself says about them). `problems`: what an analysis already found for these
    keys and their closures with these options (pipeline.analyse, through common.judge), so
    nothing is examined twice; else judged here."""
    closures = common.closures_for(graph, keys)
    if problems is None:
        judged = common.judge(graph, keys, closures, options)
        problems = [p for found in judged.values() for p in found]
        problems += option_name_problems(options)
    problems = list(problems)
    closures += [common.generic_closure(graph, generic) for generic in options.generic]
    texts = frozenset(g.column for g in options.generic if graph.catalog.column(*g.column).is_text)
    plan = Plan(tuple(keys), tuple(closures), tuple(problems), text_columns=texts)
    if (plan.blocking and not force) or not closures:
        return plan
    return replace(plan, steps=tuple(_steps(graph, closures, options)))


def _step(step_id: str, name: str, ops: tuple[Op, ...], done: tuple[Check, ...] = ()) -> Step:
    """An offline step: in the one transaction, under the strongest lock its ops take."""
    return Step(name, ops, step_id, Phase.OFFLINE, step_lock(ops), True, done)


def _steps(graph: Graph, closures: Sequence[Closure], options: Options) -> Iterable[Step]:
    catalog = graph.catalog
    nodes = {n: c for c in closures for n in c.nodes}
    tables = sorted({n[0] for n in nodes}, key=lambda t: catalog.table(t).qname)
    foreign_keys = common.foreign_keys(graph, closures)
    sequences = common.sequences(catalog, nodes)

    order_maps, derivations = common.derivations(graph, closures, options)
    # The catalog's sign that the columns changed; text object ids of a generic relation stay
    # text, so only what becomes uuid can tell.
    converted = tuple(
        ColumnHasType(catalog.table(n[0]).qname, catalog.column(*n).name, "uuid")
        for n in sorted(nodes, key=graph.sort_key)
        if not derivations[n].as_text
    )
    yield _step(
        "prepare",
        "prepare",
        (
            # Each rewrite rebuilds the table's indexes: sorted in memory up to this much (a
            # parallel build splits it between its workers).
            SetLocal("maintenance_work_mem", options.maintenance_work_mem),
            SetLocal("max_parallel_maintenance_workers", str(options.parallel_maintenance_workers)),
            # A queued ACCESS EXCLUSIVE request blocks every later reader of the table: give
            # up (and roll back) rather than stall the application behind a long transaction.
            SetLocal("lock_timeout", options.lock_timeout),
            LockTables(tuple(catalog.table(t).qname for t in common.parents_first(graph, tables))),
            CreateKeyFunction(
                options.key, time_ordered=options.uuid_version == 7, utf8=options.utf8
            ),
            *order_maps,
        ),
        # Locks, settings and pg_temp functions last as long as the session: nothing to see.
    )
    if options.mapping_table:
        mappings: list[Op] = [CreateSchema()]
        roots = common.key_roots(graph, closures)
        names = common.mapping_names(
            [catalog.table(r[0]).qname for r in roots], catalog.uuidpk_tables
        )
        for root in roots:
            table = catalog.table(root[0])
            column = catalog.column(*root)
            mappings.append(
                WriteMapping(
                    QualifiedName("uuidpk", names[table.qname]),
                    table.qname,
                    column.name,
                    column.type,
                    derivations[root],
                )
            )
        yield _step(
            "write-mapping-tables",
            "write mapping tables",
            tuple(mappings),
            tuple(RelationExists(m.mapping, "r") for m in mappings if isinstance(m, WriteMapping)),
        )
    affected = affected_objects(graph, list(closures))
    drops = common.drop_dependents(graph, affected) + tuple(
        DropConstraint(catalog.table(c.table_oid).qname, c.name) for c in affected.dropped_checks
    )
    if drops:
        # Done once they are gone, or once the columns changed (they are back by then).
        gone = _dependents_exist(graph, affected, exists=False) + tuple(
            ConstraintExists(catalog.table(c.table_oid).qname, c.name, exists=False)
            for c in affected.dropped_checks
        )
        yield _step(
            "drop-dependents",
            "drop views, policies, triggers and rules on the keys",
            drops,
            (AnyOf((AllOf(gone), AllOf(converted))),),
        )
    fk_done: list[Check] = []
    for fk in foreign_keys:
        owner = catalog.table(fk.table_oid).qname
        changed = ColumnHasType(owner, catalog.column(fk.table_oid, fk.columns[0]).name, "uuid")
        fk_done.append(AnyOf((ConstraintExists(owner, fk.name, exists=False), changed)))
    yield _step(
        "drop-foreign-keys",
        "drop foreign keys",
        tuple(DropConstraint(catalog.table(fk.table_oid).qname, fk.name) for fk in foreign_keys),
        tuple(fk_done),
    )
    before: list[Op] = []
    for node in sorted(nodes, key=graph.sort_key):
        column = catalog.column(*node)
        if column.identity:
            before.append(DropIdentity(catalog.table(node[0]).qname, column.name))
    for root in common.key_roots(graph, closures):
        column = catalog.column(*root)
        kept = options.kept_column(column.is_text)
        if kept is not None:
            before.append(KeepOldId(catalog.table(root[0]).qname, column.name, kept, column.type))
    if before:
        yield _step(
            "drop-identity",
            "drop identity, keep old values",
            tuple(before),
            tuple(
                ColumnIsIdentity(op.table, op.column, identity=False)
                if isinstance(op, DropIdentity)
                else ColumnExists(op.table, op.column)
                for op in before
                if isinstance(op, DropIdentity | KeepOldId)
            ),
        )
    alters = []
    for table_oid in tables:
        changes = []
        for column in catalog.columns_of(table_oid):
            node = (table_oid, column.attnum)
            if node not in nodes:
                continue
            had_generator = bool(column.identity) or node in sequences
            changes.append(
                ColumnChange(
                    column.name,
                    derivations[node],
                    "text" if derivations[node].as_text else "uuid",
                    drop_default=column.default_expr is not None,
                    new_default=common.new_default(options) if had_generator else None,
                )
            )
        generated = tuple(
            GeneratedColumn(
                dep.name,
                catalog.column_named(table_oid, dep.name).type,  # type: ignore[union-attr]
                dep.definition or "",
            )
            for dep in affected.generated
            if dep.relation_oid == table_oid
        )
        converted_here = {a for t, a in nodes if t == table_oid}
        alters.append(
            AlterColumns(
                catalog.table(table_oid).qname,
                tuple(changes),
                generated,
                _partition_index_comments(catalog, table_oid, converted_here),
            )
        )
    yield _step("convert-columns", "convert columns", tuple(alters), converted)
    restore = tuple(common.add_foreign_key(catalog, fk) for fk in foreign_keys)
    yield _step(
        "restore-foreign-keys",
        "restore foreign keys",
        restore,
        # The names existed before too: only with the new type do they tell.
        tuple(ConstraintExists(fk.table, fk.name) for fk in restore) + converted if restore else (),
    )
    restores = common.restore_dependents(graph, affected)
    if restores:
        yield _step(
            "restore-dependents",
            "restore views, policies, triggers and rules",
            restores,
            _dependents_exist(graph, affected, exists=True) + converted,
        )
    finish: list[Op] = []
    # Every sequence a converted column owns or draws from, not only the one its default
    # calls: a second sequence OWNED BY the key (left from an old default) would otherwise
    # stay owned by a uuid column.
    touching = {s for s in catalog.sequences if s.owner in nodes or set(s.used_by) & set(nodes)}
    for seq in sorted(touching | set(sequences.values()), key=lambda s: s.qname):
        if seq.is_identity or seq.owner is None:
            continue  # DROP IDENTITY took it; a sequence nobody owns may serve the application
        users = set(seq.used_by) | {seq.owner}
        if all(graph.canon(u) in nodes for u in users):
            finish.append(DropSequence(seq.qname))
        elif graph.canon(seq.owner) in nodes:
            finish.append(DisownSequence(seq.qname))
    finish.append(DropKeyFunction(options.uuid_version == 7, tuple(m.function for m in order_maps)))
    yield _step(
        "drop-sequences",
        "drop sequences, forget the key",
        tuple(finish),
        tuple(
            RelationExists(op.sequence, "S", exists=False)
            if isinstance(op, DropSequence)
            else SequenceOwned(op.sequence, owned=False)
            for op in finish
            if isinstance(op, DropSequence | DisownSequence)
        ),
    )
    # Last, so the statistics describe the final tables (uuid values, restored indexes). The
    # catalog cannot tell it happened; running it again only costs a sample.
    yield _step("analyze", "analyze rewritten tables", (Analyze(tuple(a.table for a in alters)),))


def _partition_index_comments(
    catalog: Catalog, table_oid: int, attnums: set[int]
) -> tuple[tuple[QualifiedName, str | None], ...]:
    """Rebuilding a partitioned table's index for a type change, PostgreSQL gives the index of
    every partition the partitioned index's comment: those whose own comment differs get it
    back after the ALTER (a partition's own index keeps its comment)."""
    if not catalog.table(table_oid).is_partitioned:
        return ()
    children: dict[int, list[Index]] = {}
    for index in catalog.indexes:
        if index.parent_oid is not None:
            children.setdefault(index.parent_oid, []).append(index)
    comments = []
    for index in catalog.indexes_of(table_oid):
        if not (set(index.used_columns) | set(index.key_columns)) & attnums:
            continue
        below = list(children.get(index.oid, ()))
        while below:
            child = below.pop()
            below += children.get(child.oid, ())
            if child.comment != index.comment:
                schema = catalog.table(child.table_oid).schema
                comments.append((QualifiedName(schema, child.name), child.comment))
    return tuple(sorted(comments, key=lambda c: c[0]))


def _dependents_exist(graph: Graph, affected: Affected, *, exists: bool) -> tuple[Check, ...]:
    """The views, policies, triggers and rules the plan drops and recreates, as checks."""
    name = graph.catalog.table
    checks: list[Check] = [
        RelationExists(r.view.qname, "m" if r.view.is_materialized else "v", exists)
        for r in affected.views
    ]
    checks += [
        TableObjectExists("policy", p.table, p.policy.name, exists) for p in affected.policies
    ]
    for kind, found in (("trigger", affected.triggers), ("rule", affected.rules)):
        checks += [
            TableObjectExists(kind, name(d.relation_oid).qname, d.name, exists)  # type: ignore[arg-type]
            for d in found
        ]
    return tuple(checks)
