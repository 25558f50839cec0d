"""Objects standing on closure columns that must be dropped before the change and recreated
after it (views and the views over them, policies, triggers, rules, generated columns, sign
checks), each with what PostgreSQL would say about it. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from .graph import Closure, Graph, Node
from .model import (
    Catalog,
    Constraint,
    Dependent,
    DependentKind,
    Function,
    Policy,
    QualifiedName,
    Sequence,
    View,
)
from .problems import Problem, Severity
from .sqlcheck import Context, Finding, condition_of, examine, is_sign_check, record_columns

# An integer column without a foreign key joined with a key: (schema, table, column), the
# (schema, table) of the key, and the view, policy or rule that joins them.
Join = tuple[tuple[str, str, str], tuple[str, str], str]


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
    # Integer columns without a foreign key that a view, policy or rule joins with a key:
    # (schema, table, column), (schema, table) of the key, the object that joins them.
    joins: tuple[Join, ...] = ()


def reading_context(graph: Graph, closures: list[Closure]) -> Context:
    """What SQL text is read against: every converted column (partitions included) with the
    table of its closure's key, and the integer columns of the database that stay integers."""
    catalog = graph.catalog
    keys: dict[tuple[str, str, str], tuple[str, str]] = {}
    for closure in closures:
        root = catalog.table(closure.root[0])
        for node in graph.members(closure.nodes):
            table = catalog.table(node[0])
            keys[(table.schema, table.name, catalog.column(*node).name)] = (root.schema, root.name)
    return Context(keys, _integer_columns(graph))


def _integer_columns(graph: Graph) -> frozenset[tuple[str, str, str]]:
    if graph not in _integers:
        catalog = graph.catalog
        _integers[graph] = frozenset(
            (t.schema, t.name, c.name)
            for t in catalog.tables
            if t.relkind in ("r", "p", "f")
            for c in catalog.columns_of(t.oid)
            if c.is_integer
        )
    return _integers[graph]


_integers: WeakKeyDictionary[Graph, frozenset[tuple[str, str, str]]] = WeakKeyDictionary()


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
    keys = reading_context(graph, closures)
    problems: list[Problem] = []
    joins: list[Join] = []
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
        _report(problems, findings, kind, str(view.qname), _recreated(catalog, view), joins)
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
            joins,
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
            found: list[Finding] = []
            condition = dep.definition
            if kind != DependentKind.GENERATED and dep.definition:
                condition = condition_of(kind, dep.definition)
            if condition:
                found, _ = examine(condition, keys, (table.schema, table.name))
            _report(
                problems,
                [f for f in found if f.fatal],
                "generated column" if kind == DependentKind.GENERATED else str(kind),
                f"{dep.name} on {table.qname}",
                reason,
                joins,
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
        if con.kind == "x":
            problems += _exclusion_problems(catalog, con, members)
        elif con.kind == "c" and any((con.table_oid, a) in members for a in con.columns):
            table = catalog.table(con.table_oid)
            name = f"{con.name} on {table.qname}"
            expr = con.definition.removeprefix("CHECK ").removesuffix(" NOT VALID")
            if is_sign_check(expr, keys.keys, (table.schema, table.name)):
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
        tuple(joins),
    )


def _exclusion_problems(catalog: Catalog, con: Constraint, members: set[Node]) -> list[Problem]:
    """An exclusion constraint whose elements name converted columns: PostgreSQL rebuilds it
    with the column (as an index), over uuid, when the access method's default operator class
    for uuid has each element's operator (gist: btree_gist's gist_uuid_ops) and the element
    names no operator class of its own. Expressions and the WHERE are read with the indexes."""
    direct = [
        (attnum, rebuilt)
        for attnum, rebuilt in zip(con.exclusion_columns, con.exclusion_uuid, strict=True)
        if (con.table_oid, attnum) in members
    ]
    if not direct:
        return []
    name = f"{con.name} on {catalog.table(con.table_oid).qname}"
    failing = [catalog.column(con.table_oid, a).name for a, rebuilt in direct if not rebuilt]
    if failing:
        return [
            Problem(
                Severity.BLOCKER,
                "exclusion constraint",
                name,
                f"{con.definition}: no operator class for uuid in its access method has the "
                f"operator used with {', '.join(failing)} (or the element names an operator "
                "class for integers); for gist, btree_gist's gist_uuid_ops has =, <>, <, <=, "
                ">= and >",
            )
        ]
    return [
        Problem(
            Severity.HANDLED,
            "exclusion constraint",
            name,
            f"{con.definition}: PostgreSQL rebuilds it over uuid with the same operators",
        )
    ]


def _recreated(catalog: Catalog, view: View) -> str:
    if not view.is_materialized:
        return "dropped and recreated exactly (definition, options, owner, grants, comments)"
    # CREATE MATERIALIZED VIEW runs the query again: the rows are today's, not the stored ones.
    text = (
        "dropped and recreated (definition, options, owner, grants, comments, indexes); its "
        "rows are recomputed, not copied: a stale one comes back refreshed"
    )
    unique = sorted(i.name for i in catalog.indexes_of(view.oid) if i.is_unique)
    if unique:
        text += (
            f", and if the fresh rows collide on its unique index {', '.join(unique)} the apply "
            "fails at the end (rolled back)"
        )
    return text


def _report(
    problems: list[Problem],
    findings: list[Finding],
    what: str,
    name: str,
    handled: str,
    joins: list[Join] | None = None,
) -> None:
    if joins is not None:
        joins += [(*f.joined, f"{what} {name}") for f in findings if f.joined is not None]
    fatal = [f for f in findings if f.fatal]
    if fatal:
        problems.append(
            Problem(
                Severity.BLOCKER,
                what,
                name,
                "cannot be restored over uuid: " + "; ".join(f.text for f in fatal),
                unless_ordered=all(f.ordered for f in fatal),
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


def record_view_problems(graph: Graph, closures: list[Closure]) -> list[Problem]:
    """Views whose column definition list says integer for a column that a query given as text
    (crosstab) takes from a converted column: no dependency tells PostgreSQL, the view stays and
    fails when read."""
    keys = reading_context(graph, closures).keys
    problems = []
    for view, columns in _record_views(graph):
        wrong = [f"{name} {type_}" for name, type_, source in columns if source in keys]
        if wrong:
            problems.append(
                Problem(
                    Severity.BLOCKER,
                    "view",
                    str(view.qname),
                    f"its column definition list says {', '.join(wrong)} over a query given as "
                    "text that reads a converted column: PostgreSQL keeps no dependency on it, "
                    "so the view would fail when read; change the list to uuid first",
                )
            )
    return problems


def _record_views(graph: Graph) -> list[tuple[View, list[tuple[str, str, tuple[str, str, str]]]]]:
    if graph not in _records:
        found = [(v, record_columns(v.definition)) for v in graph.catalog.views]
        _records[graph] = [(v, c) for v, c in found if c]
    return _records[graph]


_records: WeakKeyDictionary[
    Graph, list[tuple[View, list[tuple[str, str, tuple[str, str, str]]]]]
] = WeakKeyDictionary()


# nextval('machine_id_seq'), nextval('public.machine_id_seq'::regclass), setval(...), ...
_SEQUENCE_CALL = re.compile(r"\b(?:nextval|currval|setval)\s*\(\s*'([^']+)'", re.I)


def sequence_callers(graph: Graph) -> list[tuple[Sequence, list[Function]]]:
    """Sequences that function bodies name in nextval/currval/setval, with those functions (a
    trigger that assigns NEW.id := nextval('machines_id_seq'), as large Rails schemas do for
    partitioned tables). Names are matched unqualified, as written."""
    if graph not in _callers:
        callers: dict[str, list[Function]] = {}
        for function in graph.catalog.functions:
            for name in set(_SEQUENCE_CALL.findall(function.body or "")):
                bare = name.rsplit(".", 1)[-1].strip('"')
                callers.setdefault(bare, []).append(function)
        _callers[graph] = [
            (seq, callers[seq.name]) for seq in graph.catalog.sequences if seq.name in callers
        ]
    return _callers[graph]


_callers: WeakKeyDictionary[Graph, list[tuple[Sequence, list[Function]]]] = WeakKeyDictionary()
