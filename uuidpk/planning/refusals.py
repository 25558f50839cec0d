"""What online mode cannot do for a set of closures (offline mode may still), as blockers.

Read from the catalog and the index shapes alone, before any change: `inspect --online` lists
every one of them and `apply --online` refuses on the first, so a user learns all of them at
once instead of one per attempt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..dependents import affected_objects
from ..graph import Closure, Graph
from ..problems import Problem, Severity
from .common import foreign_keys
from .shadows import IndexShape, index_refusal


def unsupported(
    graph: Graph, closures: Sequence[Closure], shapes: Mapping[int, IndexShape]
) -> list[Problem]:
    """Everything online mode cannot do for these closures (offline may still), all of them, each
    a blocker: what `inspect --online` shows and `apply --online` refuses before any change."""
    catalog = graph.catalog
    nodes = {n for closure in closures for n in closure.nodes}
    tables = sorted({n[0] for n in nodes}, key=lambda t: str(catalog.table(t).qname))
    found = []
    for dep in affected_objects(graph, list(closures)).generated:
        name = f"{catalog.table(dep.table_oid).qname}.{dep.name}"
        # Offline drops and re-adds them in its one rewrite; added beside the shadow, a
        # stored generated column would rewrite the table under ACCESS EXCLUSIVE.
        found.append(
            Problem(
                Severity.BLOCKER,
                "generated column",
                name,
                f"online mode cannot convert keys that generated columns use ({name}): adding a "
                "stored generated column rewrites the table under an exclusive lock; use offline",
            )
        )
    for table_oid in tables:
        attnums = {attnum for t, attnum in nodes if t == table_oid}
        for index in sorted(catalog.indexes_of(table_oid), key=lambda i: i.name):
            if not (set(index.used_columns) | set(index.key_columns)) & attnums:
                continue
            reason = index_refusal(graph, index, shapes.get(index.oid))
            if reason is not None:
                name = f"{catalog.table(table_oid).schema}.{index.name}"
                found.append(Problem(Severity.BLOCKER, "index", name, reason))
    found.extend(partition_refusals(graph, closures))
    return found


def partition_refusals(graph: Graph, closures: Sequence[Closure]) -> list[Problem]:
    """The partitioned shapes online mode refuses (planning/partitions.py says why each would
    need a long lock): a partitioned closure table whose partitions are partitioned themselves,
    and a foreign key between two partitioned closure tables."""
    catalog = graph.catalog
    partitioned = {
        n[0] for closure in closures for n in closure.nodes if catalog.table(n[0]).is_partitioned
    }
    found = []
    for table_oid in sorted(partitioned, key=lambda t: str(catalog.table(t).qname)):
        table = catalog.table(table_oid)
        nested = sorted(
            str(t.qname)
            for t in catalog.tables
            if t.is_partition and t.parent_oid == table_oid and t.is_partitioned
        )
        if nested:
            found.append(
                Problem(
                    Severity.BLOCKER,
                    "partitioned table",
                    str(table.qname),
                    f"online mode does not convert sub-partitioned tables yet ({nested[0]} is "
                    "partitioned itself); use offline",
                )
            )
    for fk in foreign_keys(graph, list(closures)):
        if fk.table_oid in partitioned and fk.ref_table_oid in partitioned:
            owner = catalog.table(fk.table_oid)
            found.append(
                Problem(
                    Severity.BLOCKER,
                    "foreign key",
                    f"{owner.qname}.{fk.name}",
                    f"online mode cannot convert {owner.qname}.{fk.name} without a long lock: a "
                    "partitioned table referencing a partitioned table (PostgreSQL before 18 "
                    "cannot add it NOT VALID); use offline",
                )
            )
    return found
