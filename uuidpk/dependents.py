"""Objects standing on closure columns that must be dropped before the change and recreated
after it (views and the views over them, policies, triggers, rules, generated columns, sign
checks), each with what PostgreSQL would say about it. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from weakref import WeakKeyDictionary

from .graph import Closure, Graph, Node
from .model import Catalog, Constraint, Dependent, DependentKind, Policy, QualifiedName, View
from .problems import Problem, Severity
from .sqlcheck import examine, is_sign_check


@dataclass(frozen=True)
class RestoredPolicy:
    policy: Policy
    table: QualifiedName
    using_expr: str | None  # possibly with integer casts retargeted to uuid
    check_expr: str | None


@dataclass(frozen=True)
class RestoredView:
    view: View
    definition: str  # possibly with integer casts retargeted to uuid


@dataclass(frozen=True)
class Affected:
    """Objects on closure columns that must be dropped before the change and recreated after,
    and the problems found while reading them."""

    views: tuple[RestoredView, ...]  # in creation order: a view after the views it reads
    policies: tuple[RestoredPolicy, ...]
    triggers: tuple[Dependent, ...]
    rules: tuple[Dependent, ...]
    generated: tuple[Dependent, ...]
    problems: tuple[Problem, ...]
    dropped_checks: tuple[Constraint, ...] = ()  # sign checks (Django's positive integers)


def _key_columns(graph: Graph, closures: list[Closure]) -> set[tuple[str, str, str]]:
    """(schema, table, column) of every converted column, partitions included."""
    result = set()
    for node in (n for c in closures for n in graph.members(c.nodes)):
        table = graph.catalog.table(node[0])
        result.add((table.schema, table.name, graph.catalog.column(*node).name))
    return result


def affected_objects(graph: Graph, closures: list[Closure]) -> Affected:
    """Views (and the views over them), policies, rules, triggers and generated columns that
    stand on closure columns, each with what PostgreSQL would say about it. Problems, the plan
    and the suspects all ask: computed once per set of closures (a root names its closure)."""
    memo = _memo.setdefault(graph, {})
    key = tuple(sorted(c.root for c in closures))
    if key not in memo:
        memo[key] = _affected_objects(graph, closures)
    return memo[key]


# Per graph (a graph is one catalog, immutable once built), its closures' Affected, forgotten
# with the graph.
_memo: WeakKeyDictionary[Graph, dict[tuple[Node, ...], Affected]] = WeakKeyDictionary()


def _affected_objects(graph: Graph, closures: list[Closure]) -> Affected:
    catalog = graph.catalog
    members = {n for c in closures for n in graph.members(c.nodes)}
    keys = _key_columns(graph, closures)
    problems: list[Problem] = []
    touching = [
        d for d in catalog.dependents if any((d.table_oid, a) in members for a in d.columns)
    ]
    by_kind: dict[str, dict[int, Dependent]] = {}
    for dep in touching:
        by_kind.setdefault(dep.kind, {}).setdefault(dep.oid, dep)

    views = _views_to_recreate(
        catalog,
        set(by_kind.get(DependentKind.VIEW, {})) | set(by_kind.get(DependentKind.MATVIEW, {})),
    )
    restored_views = []
    for view in views:
        findings, rewritten = examine(view.definition, keys)
        kind = "materialized view" if view.is_materialized else "view"
        _report(
            problems,
            findings,
            kind,
            str(view.qname),
            f"dropped and recreated exactly (definition, options, owner, grants, comments"
            f"{', indexes, data' if view.is_materialized else ''})",
        )
        restored_views.append(RestoredView(view, rewritten or view.definition))

    policies_by_oid = {p.oid: p for p in catalog.policies}
    restored_policies = []
    for oid in sorted(by_kind.get(DependentKind.POLICY, {}), key=lambda o: policies_by_oid[o].name):
        policy = policies_by_oid[oid]
        table = catalog.table(policy.table_oid)
        at = (table.schema, table.name)
        exprs: list[str | None] = []
        all_findings = []
        for expr in (policy.using_expr, policy.check_expr):
            if expr is None:
                exprs.append(None)
                continue
            findings, rewritten = examine(expr, keys, at)
            all_findings += findings
            exprs.append(rewritten or expr)
        _report(
            problems,
            all_findings,
            "policy",
            f"{policy.name} on {table.qname}",
            "dropped and recreated with its command, roles and expressions",
        )
        restored_policies.append(RestoredPolicy(policy, table.qname, exprs[0], exprs[1]))

    for kind, reason in (
        (DependentKind.TRIGGER, "dropped and recreated as it was"),
        (DependentKind.RULE, "dropped and recreated as it was"),
        (
            DependentKind.GENERATED,
            "dropped and added back over the new type; it moves to the end of the column list",
        ),
    ):
        for dep in by_kind.get(kind, {}).values():
            assert dep.relation_oid is not None
            table = catalog.table(dep.relation_oid)
            findings = []
            if kind == DependentKind.GENERATED and dep.definition:
                findings, _ = examine(dep.definition, keys, (table.schema, table.name))
            _report(
                problems,
                [f for f in findings if f.fatal],
                "generated column" if kind == DependentKind.GENERATED else str(kind),
                f"{dep.name} on {table.qname}",
                reason,
            )
    for dep in by_kind.get(DependentKind.FUNCTION, {}).values():
        problems.append(
            Problem(
                Severity.BLOCKER,
                "function",
                f"{dep.schema}.{dep.name}",
                "its SQL-standard body uses the column; PostgreSQL refuses the "
                "change: drop it first and recreate it for uuid",
            )
        )
    dropped_checks: list[Constraint] = []
    member_tables = sorted({t for t, _ in members})
    for con in (c for t in member_tables for c in catalog.constraints_of(t)):
        if con.kind in ("c", "x") and any((con.table_oid, a) in members for a in con.columns):
            table = catalog.table(con.table_oid)
            name = f"{con.name} on {table.qname}"
            if con.kind == "x":
                problems.append(
                    Problem(
                        Severity.BLOCKER,
                        "exclusion constraint",
                        name,
                        f"{con.definition} uses the column",
                    )
                )
                continue
            expr = con.definition.removeprefix("CHECK ").removesuffix(" NOT VALID")
            if is_sign_check(expr, keys, (table.schema, table.name)):
                dropped_checks.append(con)
                problems.append(
                    Problem(
                        Severity.HANDLED,
                        "check constraint",
                        name,
                        f"{con.definition} means nothing for a uuid: dropped",
                    )
                )
                continue
            findings, _ = examine(expr, keys, (table.schema, table.name))
            _report(
                problems,
                [f for f in findings if f.fatal],
                "check constraint",
                name,
                "PostgreSQL rebuilds it over the new type",
            )
    return Affected(
        tuple(restored_views),
        tuple(restored_policies),
        tuple(
            sorted(
                by_kind.get(DependentKind.TRIGGER, {}).values(), key=lambda d: (d.table_oid, d.name)
            )
        ),
        tuple(
            sorted(
                by_kind.get(DependentKind.RULE, {}).values(), key=lambda d: (d.table_oid, d.name)
            )
        ),
        tuple(
            sorted(
                by_kind.get(DependentKind.GENERATED, {}).values(),
                key=lambda d: (d.table_oid, d.name),
            )
        ),
        tuple(problems),
        tuple(dropped_checks),
    )


def _report(problems: list[Problem], findings: list, what: str, name: str, handled: str) -> None:
    fatal = [f.text for f in findings if f.fatal]
    if fatal:
        problems.append(
            Problem(
                Severity.BLOCKER, what, name, "cannot be restored over uuid: " + "; ".join(fatal)
            )
        )
        return
    notes = [f.text for f in findings]
    problems.append(Problem(Severity.HANDLED, what, name, "; ".join([handled, *notes])))


def _views_to_recreate(catalog: Catalog, start: set[int]) -> list[View]:
    """The views in start and every view that reads one of them, readers after what they read."""
    views = {v.oid: v for v in catalog.views}
    readers: dict[int, set[int]] = {}
    for view in catalog.views:
        for read in view.reads:
            readers.setdefault(read, set()).add(view.oid)
    wanted = set()
    stack = [o for o in start if o in views]
    while stack:
        oid = stack.pop()
        if oid not in wanted:
            wanted.add(oid)
            stack.extend(readers.get(oid, ()))
    order: list[View] = []
    done: set[int] = set()
    while len(done) < len(wanted):
        ready = sorted(
            (
                views[o]
                for o in wanted - done
                if all(r in done or r not in wanted for r in views[o].reads)
            ),
            key=lambda v: v.qname,
        )
        if not ready:  # views cannot form cycles; guard against a catalog surprise anyway
            ready = sorted((views[o] for o in wanted - done), key=lambda v: v.qname)
        order.extend(ready)
        done.update(v.oid for v in ready)
    return order
