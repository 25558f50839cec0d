"""What may break silently (functions.py, softrefs.py) as problems of a plan: functions that
will fail when called and soft references are warnings a user must accept (apply
--accept-risks); ordering is a note."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from .dependents import affected_objects
from .functions import Function, FunctionIndex, closure_scope
from .graph import Closure, Graph
from .problems import Problem, Severity
from .softrefs import ARRAY, COLUMN, JSON, SoftRef, ordering_hints, soft_reference_suspects

Node = tuple[int, int]

# Problem.what of the warnings that need --accept-risks.
RISKS = ("function", "soft reference")

# Beyond this many soft references guessed from names alone (no generic relation, no join
# seen), they are notes under one warning: on a schema of a thousand tables they are
# thousands, and the findings that are certain drown in them.
NAME_GUESSES_SHOWN = 20


def problems_by_closure(
    graph: Graph,
    closures: Sequence[Closure],
    functions: Sequence[Function],
    declared: frozenset[Node] = frozenset(),
    is_empty: Callable[[int], bool] | None = None,
) -> tuple[dict[Node, list[Problem]], list[Problem]]:
    """Per closure (by root): functions over its columns, soft references to its key not
    declared with --soft-ref, ordering notes. Apart: generic relations, which hold ids of any
    table and so belong to no one closure. Soft references are looked for once, over all
    closures together. A generic relation on a table that `is_empty` (by oid) is a note: it
    holds no value to convert today."""
    catalog = graph.catalog
    per_closure: dict[Node, list[Problem]] = {c.root: [] for c in closures}
    owner = {node: c.root for c in closures for node in c.nodes}
    index = FunctionIndex(functions)  # once: --all judges every closure against them all
    for closure in closures:
        problems = per_closure[closure.root]
        scope = closure_scope(graph, [closure])
        dropped = {
            r.view.oid: (r.view.schema, r.view.name)
            for r in affected_objects(graph, [closure]).views
        }
        for suspect in index.broken_functions(scope.tables, scope.columns, dropped):
            problems.append(
                Problem(suspect.severity, "function", suspect.signature, suspect.reason)
            )
        for root in closure.roots:
            table = catalog.table(root[0])
            problems += [
                Problem(Severity.NOTE, "ordering", str(table.qname), h)
                for h in ordering_hints(catalog, table)
            ]
    generic: list[Problem] = []
    suspects = [
        r
        for r in soft_reference_suspects(catalog, graph, closures)
        if (r.table_oid, r.attnum) not in declared
    ]
    guesses = [r for r in suspects if r.kind in (COLUMN, JSON, ARRAY)]
    quiet = len(guesses) > NAME_GUESSES_SHOWN
    for ref in suspects:
        problem = _soft_problem(graph, ref)
        if quiet and ref.kind in (COLUMN, JSON, ARRAY):
            problem = replace(problem, severity=Severity.NOTE)
        target = _key_node(graph, ref.target_oid)
        if ref.content_type_attnum is not None and is_empty and is_empty(ref.table_oid):
            generic.append(_empty_generic(problem))
        elif ref.content_type_attnum is not None or target not in owner:
            generic.append(problem)
        else:
            per_closure[owner[target]].append(problem)
    if quiet:
        generic.append(
            Problem(
                Severity.WARNING,
                "soft reference",
                f"{len(guesses)} columns",
                f"{len(guesses)} columns are named like references to converted keys but have "
                "no FK (guesses from names alone, listed as notes); declare those that hold key "
                "values with --soft-ref",
            )
        )
    return per_closure, generic


def _key_node(graph: Graph, table_oid: int | None) -> Node | None:
    if table_oid is None:
        return None
    pk = graph.primary_key(table_oid)
    if pk is None or len(pk.columns) != 1:
        return None
    return graph.canon((table_oid, pk.columns[0]))


def _soft_problem(graph: Graph, ref: SoftRef) -> Problem:
    table = graph.catalog.table(ref.table_oid)
    name = f"{table.qname}.{graph.catalog.column(ref.table_oid, ref.attnum).name}"
    return Problem(
        Severity.WARNING, "soft reference", name, f"{ref.reason}; convert it with --soft-ref {name}"
    )


def _empty_generic(problem: Problem) -> Problem:
    return Problem(
        Severity.NOTE,
        "soft reference",
        problem.name,
        "a generic relation on an empty table: nothing to convert now; rows that will point "
        "at a converted table need a uuid (or text) column there",
    )
