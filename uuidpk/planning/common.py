"""What every order of steps needs (offline.py now, online.py next): the closures to convert,
their foreign keys and sequences, tables parents first, each column's derivation, the ops that
drop and restore dependents, and generic relations as closures of their own. Pure."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from ..blockers import closure_problems, key_problems, option_problems
from ..dependents import Affected
from ..errors import Refused
from ..graph import Closure, Graph, Key, Node
from ..model import FK_ACTIONS, MATCH_TYPES, Catalog, Constraint, QualifiedName
from ..model import Sequence as DbSequence
from ..ops import (
    AddForeignKey,
    BuildOrderMap,
    CatalogStatement,
    CreatePolicy,
    CreateView,
    DefaultKind,
    Derivation,
    DropPolicy,
    DropRule,
    DropTrigger,
    DropView,
    GenericReference,
    Op,
    Options,
    Plan,
)
from ..problems import Problem, Severity


def mapping_names(
    tables: Sequence[QualifiedName], existing: frozenset[str] = frozenset()
) -> dict[QualifiedName, str]:
    """uuidpk.map_<schema>_<table> per root table. PostgreSQL cuts names at 63 bytes, a_b.c and
    a.b_c read alike, and an earlier run may hold the name: then a short hash of the real name
    takes the place of the end."""
    plain = {t: f"map_{t.schema}_{t.name}" for t in tables}
    taken = Counter(plain.values())
    result = {}
    for table, name in plain.items():
        if taken[name] > 1 or len(name.encode()) > 63 or name in existing:
            digest = hashlib.sha256(f"{table.schema}\0{table.name}".encode()).hexdigest()[:8]
            name = name.encode()[:54].decode(errors="ignore") + "_" + digest
        result[table] = name
    return result


def closures_for(graph: Graph, keys: Sequence[Key]) -> list[Closure]:
    """One closure per distinct component, in a stable order (by root name)."""
    seen: dict[tuple[Node, ...], Closure] = {}
    for key in keys:
        closure = graph.closure((key.table.oid, key.column.attnum))
        seen.setdefault(closure.nodes, closure)
    return sorted(seen.values(), key=lambda c: graph.sort_key(c.root))


def require_runnable(plan: Plan) -> None:
    """Refused naming the first blocking problems, when the plan cannot run."""
    if plan.blocking:
        first = plan.blocking[0]
        more = len(plan.blocking) - 1
        extra = f" (and {more} more: see uuidpk inspect)" if more else ""
        raise Refused(f"{first.what} {first.name}: {first.reason}{extra}")


def key_roots(graph: Graph, closures: Sequence[Closure]) -> list[Node]:
    """The closures' roots that are primary keys: where old values start (a generic
    relation's column is a closure of its own, but no key)."""
    return [
        root
        for closure in closures
        for root in closure.roots
        if (pk := graph.primary_key(root[0])) is not None and root[1] in pk.columns
    ]


def foreign_keys(graph: Graph, closures: Sequence[Closure]) -> list[Constraint]:
    found = {e.constraint.oid: e.constraint for c in closures for e in c.edges}
    return sorted(found.values(), key=lambda fk: (graph.catalog.table(fk.table_oid).qname, fk.name))


def sequences(catalog: Catalog, nodes: dict[Node, Closure]) -> dict[Node, DbSequence]:
    """Closure columns whose default draws from a sequence (serial) or that own one."""
    result: dict[Node, DbSequence] = {}
    for seq in catalog.sequences:
        for user in seq.used_by:
            if user in nodes:
                result[user] = seq
        if seq.owner in nodes and not seq.is_identity:
            result.setdefault(seq.owner, seq)
    return result


def add_foreign_key(catalog: Catalog, fk: Constraint) -> AddForeignKey:
    assert fk.ref_table_oid is not None

    def names(table_oid: int, attnums: tuple[int, ...]) -> tuple[str, ...]:
        return tuple(catalog.column(table_oid, a).name for a in attnums)

    return AddForeignKey(
        table=catalog.table(fk.table_oid).qname,
        name=fk.name,
        columns=names(fk.table_oid, fk.columns),
        ref_table=catalog.table(fk.ref_table_oid).qname,
        ref_columns=names(fk.ref_table_oid, fk.ref_columns),
        match=MATCH_TYPES[fk.match_type],
        on_update=FK_ACTIONS[fk.on_update],
        on_delete=FK_ACTIONS[fk.on_delete],
        deferrable=fk.deferrable,
        deferred=fk.deferred,
        validated=fk.validated,
        comment=fk.comment,
    )


def parents_first(graph: Graph, tables: Sequence[int]) -> list[int]:
    """Tables ordered so a referenced table comes before the tables referencing it; cycles
    (and self references) are broken by name, each ready batch sorted for determinism."""
    wanted = set(tables)
    parents: dict[int, set[int]] = {t: set() for t in tables}
    for fk in graph.foreign_keys:
        child = graph.canon((fk.table_oid, fk.columns[0]))[0]
        assert fk.ref_table_oid is not None
        parent = graph.canon((fk.ref_table_oid, fk.ref_columns[0]))[0]
        if child in wanted and parent in wanted and child != parent:
            parents.setdefault(child, set()).add(parent)
    # Batches as Kahn's algorithm makes them: a table is ready in the round after its last
    # parent is placed. Names are read once (a thousand-table --all plan breaks hundreds of
    # cycles, and each break looked for the smallest remaining name).
    key = {t: graph.catalog.table(t).qname for t in parents}
    waiting = {t: len(ps) for t, ps in parents.items()}
    children: dict[int, list[int]] = {}
    for child, ps in parents.items():
        for parent in ps:
            children.setdefault(parent, []).append(child)
    by_name = sorted(parents, key=key.__getitem__)
    next_by_name = 0
    order: list[int] = []
    done: set[int] = set()
    ready = [t for t in parents if not waiting[t]]
    while len(order) < len(parents):
        if not ready:  # a cycle: take the first remaining table by name
            while by_name[next_by_name] in done:
                next_by_name += 1
            ready = [by_name[next_by_name]]
        ready.sort(key=key.__getitem__)
        order.extend(ready)
        done.update(ready)
        freed = []
        for table in ready:
            for child in children.get(table, ()):
                waiting[child] -= 1
                if not waiting[child] and child not in done:
                    freed.append(child)
        ready = freed
    return order


def drop_dependents(graph: Graph, affected: Affected) -> tuple[Op, ...]:
    name = graph.catalog.table
    ops: list[Op] = [
        DropView(r.view.qname, r.view.is_materialized) for r in reversed(affected.views)
    ]
    ops += [DropPolicy(p.table, p.policy.name) for p in affected.policies]
    ops += [
        DropTrigger(name(t.relation_oid).qname, t.name)  # type: ignore[arg-type]
        for t in affected.triggers
    ]
    ops += [
        DropRule(name(r.relation_oid).qname, r.name)  # type: ignore[arg-type]
        for r in affected.rules
    ]
    return tuple(ops)


def restore_dependents(graph: Graph, affected: Affected) -> tuple[Op, ...]:
    ops: list[Op] = []
    for restored in affected.views:
        view = restored.view
        indexes = sorted(graph.catalog.indexes_of(view.oid), key=lambda i: i.name)
        ops.append(
            CreateView(
                view.qname,
                view.is_materialized,
                restored.definition.strip().rstrip(";"),
                view.options,
                view.populated,
                view.owner,
                view.grants,
                view.comment,
                view.column_comments,
                tuple(i.definition for i in indexes) + view.triggers + view.rules,
            )
        )
    for restored_policy in affected.policies:
        policy = restored_policy.policy
        ops.append(
            CreatePolicy(
                restored_policy.table,
                policy.name,
                policy.permissive,
                policy.command,
                policy.roles,
                restored_policy.using_expr,
                restored_policy.check_expr,
            )
        )
    ops += [CatalogStatement(r.definition or "") for r in affected.rules]
    ops += [CatalogStatement(t.definition or "") for t in affected.triggers]
    return tuple(ops)


def derivations(
    graph: Graph, closures: Sequence[Closure], options: Options
) -> tuple[tuple[BuildOrderMap, ...], dict[Node, Derivation]]:
    """Per closure column, how its new values are computed; plus the order maps v7 needs."""
    catalog = graph.catalog
    maps: list[BuildOrderMap] = []
    result: dict[Node, Derivation] = {}
    generic = {g.column: g for g in options.generic}
    for closure in closures:
        root = str(closure.root_name)
        if closure.root in generic:
            result[closure.root] = generic_derivation(
                graph, closures, generic[closure.root], options
            )
            continue
        if options.uuid_version != 7:
            result.update((n, Derivation(root)) for n in closure.nodes)
            continue
        order = (
            catalog.column_named(closure.root[0], options.order_by) if options.order_by else None
        )
        if order is None:
            result.update((n, Derivation(root, 7)) for n in closure.nodes)
            continue
        n = len(maps) + 1
        maps.append(
            BuildOrderMap(
                catalog.table(closure.root[0]).qname,
                catalog.column(*closure.root).name,
                order.name,
                f"uuidpk_ms_{n}",
                f"uuidpk_ms_{n}",
                not order.not_null,
            )
        )
        for node in closure.nodes:
            if node == closure.root:
                result[node] = Derivation(root, 7, "column", order.name, not order.not_null)
            else:
                result[node] = Derivation(root, 7, "lookup", f"uuidpk_ms_{n}")
    for node, derivation in result.items():
        if graph.catalog.column(*node).is_integer:
            result[node] = replace(derivation, integer=True)
    if options.order_by and not maps:
        raise Refused(f"--order-by {options.order_by}: no root table has a column of that name")
    return tuple(maps), result


def new_default(options: Options) -> DefaultKind:
    """New rows' key: random, unless the values keep creation order (v7) or the server has
    uuidv7() anyway."""
    if options.native_uuidv7:
        return DefaultKind.UUIDV7
    return DefaultKind.UUIDV7_EMULATED if options.uuid_version == 7 else DefaultKind.RANDOM


def target_closure(graph: Graph, closures: Sequence[Closure], table_oid: int) -> Closure | None:
    pk = graph.primary_key(table_oid)
    if pk is None or len(pk.columns) != 1:
        return None
    node = graph.canon((table_oid, pk.columns[0]))
    return next((c for c in closures if node in c.nodes), None)


def generic_closure(graph: Graph, generic: GenericReference) -> Closure:
    """A generic relation's column as a closure of its own."""
    node = generic.column
    return Closure(node, (node,), (node,), (), graph.catalog.table(node[0]).qname)


def generic_problems(
    graph: Graph, closures: Sequence[Closure], generic: GenericReference, options: Options
) -> list[Problem]:
    """What stands in a generic relation's way: what stands on its column, rows whose content
    type names no table, or a table whose key is not being converted."""
    catalog = graph.catalog
    node = generic.column
    table = catalog.table(node[0])
    name = f"{table.qname}.{catalog.column(*node).name}"
    problems = list(closure_problems(graph, generic_closure(graph, generic)))
    for content_type, target, rows in generic.usage:
        if target is None:
            problems.append(
                Problem(
                    Severity.BLOCKER,
                    "soft reference",
                    name,
                    f"{rows} row(s) of content type {content_type} name no table",
                )
            )
        elif target_closure(graph, closures, target) is None:
            problems.append(
                Problem(
                    Severity.BLOCKER,
                    "soft reference",
                    name,
                    f"{rows} row(s) point at {catalog.table(target).qname}, whose key is not "
                    "converted: add it with --table",
                )
            )
    if options.order_by:
        problems.append(
            Problem(
                Severity.BLOCKER,
                "soft reference",
                name,
                "generic relations cannot follow --order-by yet",
            )
        )
    return problems


def judge(
    graph: Graph, keys: Sequence[Key], closures: Sequence[Closure], options: Options
) -> dict[Node, list[Problem]]:
    """What stands in the way of each closure (by root) with these options: its keys' own
    problems, what PostgreSQL would refuse or the plan handles, options its root tables cannot
    take; and of each generic relation (a closure of its own). One judgement for inspect, the
    plan and the script: a blocker that keys keeping their old order handle (--uuid v7 from the
    old ids) is handled whoever asks."""
    found: dict[Node, list[Problem]] = {}
    for closure in closures:
        members = set(closure.nodes)
        problems = [
            p
            for key in keys
            if graph.canon((key.table.oid, key.column.attnum)) in members
            for p in key_problems(key)
        ]
        problems += closure_problems(graph, closure)
        problems += option_problems(graph, key_roots(graph, [closure]), options)
        found[closure.root] = problems
    for generic in options.generic:
        found[generic.column] = generic_problems(graph, closures, generic, options)
    if options.uuid_version == 7 and options.order_by is None:
        # v7 values made from the old ids keep their order: a CHECK (a < b) between two
        # columns of one key holds afterwards.
        found = {
            root: [replace(p, severity=Severity.HANDLED) if p.unless_ordered else p for p in ps]
            for root, ps in found.items()
        }
    return found


def generic_derivation(
    graph: Graph, closures: Sequence[Closure], generic: GenericReference, options: Options
) -> Derivation:
    cases = []
    for content_type, target, _ in generic.usage:
        closure = target_closure(graph, closures, target) if target is not None else None
        if closure is not None:
            cases.append((content_type, str(closure.root_name)))
    column = graph.catalog.column(*generic.column)
    return Derivation(
        "",
        options.uuid_version,
        cases=tuple(cases),
        case_column=generic.content_type_column,
        as_text=column.is_text,
    )
