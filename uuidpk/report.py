"""What `inspect` shows: a stable JSON document, and a text tree for people."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .graph import Closure, Graph, Key
from .leftout import Reason
from .model import FK_ACTIONS
from .problems import Problem, Severity
from .progress import ASSUMED_RATE, estimate_seconds, seconds, size
from .safe_text import for_terminal

Node = tuple[int, int]

# Fatal first: refused, blocker, warning, handled, note.
SEVERITY_ORDER = {severity: rank for rank, severity in enumerate(reversed(Severity))}


def _column_facts(graph: Graph, node: Node) -> dict[str, Any]:
    catalog = graph.catalog
    table = catalog.table(node[0])
    column = catalog.column(*node)
    indexes = sorted(
        i.name
        for i in catalog.indexes_of(node[0])
        if node[1] in i.used_columns and i.constraint_oid is None
    )
    constraints = sorted(
        c.name
        for c in catalog.constraints_of(node[0])
        if c.kind in ("p", "u") and node[1] in c.columns
    )
    return {
        "schema": table.schema,
        "table": table.name,
        "column": column.name,
        "type": column.type,
        "nullable": not column.not_null,
        "indexes": indexes,
        "unique_constraints": constraints,
        "partitioned": table.is_partitioned,
        "partition": table.is_partition,
    }


def key_document(
    graph: Graph, key: Key, closure: Closure, problems: list[Problem]
) -> dict[str, Any]:
    catalog = graph.catalog
    sequence = catalog.sequence_of(key.table.oid, key.column.attnum)
    relations = []
    for edge in closure.edges:
        fk = edge.constraint
        parent = catalog.table(edge.parent[0])
        child_column = catalog.column(*edge.child).name
        declared_on = catalog.column_named(fk.table_oid, child_column)
        child = (fk.table_oid, declared_on.attnum) if declared_on else edge.child
        relations.append(
            {
                **_column_facts(graph, child),
                "kind": edge.kind,
                "constraint": fk.name,
                "references": {
                    "schema": parent.schema,
                    "table": parent.name,
                    "column": catalog.column(*edge.parent).name,
                },
                "on_delete": FK_ACTIONS[fk.on_delete],
                "on_update": FK_ACTIONS[fk.on_update],
                "deferrable": fk.deferrable,
                "initially_deferred": fk.deferred,
                "validated": fk.validated,
            }
        )
    for soft in closure.soft_edges:
        parent = catalog.table(soft.parent[0])
        relations.append(
            {
                **_column_facts(graph, soft.child),
                "kind": "soft",
                "constraint": None,
                "references": {
                    "schema": parent.schema,
                    "table": parent.name,
                    "column": catalog.column(*soft.parent).name,
                },
                "on_delete": None,
                "on_update": None,
                "deferrable": False,
                "initially_deferred": False,
                "validated": False,
            }
        )
    identity = {"a": "always", "d": "by default"}.get(key.column.identity)
    return {
        "schema": key.table.schema,
        "table": key.table.name,
        "column": key.column.name,
        "type": key.column.type,
        "default": key.column.default_expr,
        "sequence": str(sequence.qname) if sequence else None,
        "identity": identity,
        "estimated_rows": key.table.est_rows,
        "size_bytes": key.table.size_bytes,
        "closure": {
            "root": graph.describe(closure.root),
            "roots": [graph.describe(r) for r in closure.roots],
            "columns": [graph.describe(n) for n in closure.nodes],
            "tables": sorted({str(catalog.table(t).qname) for t in closure.tables}),
            "size_bytes": sum(catalog.table(t).size_bytes for t in closure.tables),
            "relations": relations,
        },
        "problems": [
            {"severity": p.severity, "what": p.what, "name": p.name, "reason": p.reason}
            for p in sorted(problems, key=lambda p: (SEVERITY_ORDER[p.severity], p.what, p.name))
        ],
    }


def inspect_document(
    graph: Graph, keys: list[Key], problems_of: Callable[[Key, Closure], list[Problem]]
) -> dict[str, Any]:
    """The JSON document of `uuidpk inspect` (version 1; fields are only ever added).
    problems_of(key, closure): what the analysis found for that key (pipeline.analyse)."""
    documents = []
    closures: dict[Node, Closure] = {}
    for key in keys:
        node = graph.canon((key.table.oid, key.column.attnum))
        if node not in closures:
            closure = graph.closure(node)
            closures.update(dict.fromkeys(closure.nodes, closure))
        closure = closures[node]
        documents.append(key_document(graph, key, closure, problems_of(key, closure)))
    tables = {t for closure in closures.values() for t in closure.tables}
    locked = sum(graph.catalog.table(t).size_bytes for t in tables)
    return {
        "version": 1,
        "database": graph.catalog.server.database,
        "keys": documents,
        "estimate": {
            # The offline conversion holds ACCESS EXCLUSIVE on every closure table from the
            # lock to the commit; its length follows the bytes those tables hold.
            "locked_tables": len(tables),
            "size_bytes": locked,
            "assumed_bytes_per_second": ASSUMED_RATE,
            "offline_downtime_seconds": round(estimate_seconds(locked), 1),
        },
    }


def inspect_text(document: dict[str, Any]) -> str:
    """A tree per key, aligned, readable at a glance; a note that several keys share said once
    at the end; a summary last."""
    out: list[str] = []
    repeated = _repeated_notes(document)
    for key in document["keys"]:
        generator = (
            (key["identity"] and f"identity {key['identity']}") or key["default"] or "no default"
        )
        rows = key["estimated_rows"]
        counted = "rows unknown (never analyzed)" if rows is None else f"~{rows:,} rows"
        out.append(
            f"{key['schema']}.{key['table']}.{key['column']}  {key['type']}  ({generator}; "
            f"{counted}, {size(key['size_bytes'])})"
        )
        closure = key["closure"]
        relations = closure["relations"]
        out.append(
            f"  closure: {len(closure['columns'])} columns in {len(closure['tables'])} tables, "
            f"root {closure['root']}"
        )
        rows = []
        for rel in relations:
            flags = []
            if not rel["nullable"]:
                flags.append("not null")
            if rel["deferrable"]:
                flags.append("deferred" if rel["initially_deferred"] else "deferrable")
            if rel["partitioned"]:
                flags.append("partitioned")
            if rel["partition"]:
                flags.append("partition")
            ref = rel["references"]
            rows.append(
                (
                    f"{rel['schema']}.{rel['table']}.{rel['column']}",
                    rel["kind"],
                    f"-> {ref['schema']}.{ref['table']}.{ref['column']}",
                    f"on delete {rel['on_delete'].lower()}"
                    if rel["on_delete"]
                    else "no foreign key",
                    ", ".join(flags),
                    rel["constraint"] or "(declared with --soft-ref)",
                )
            )
        widths = [max((len(r[i]) for r in rows), default=0) for i in range(5)]
        for n, row in enumerate(rows):
            branch = "└─" if n == len(rows) - 1 else "├─"
            cells = [row[i].ljust(widths[i]) for i in range(5)]
            out.append(f"  {branch} {'  '.join(cells)}  {row[5]}".rstrip())
        if not rows:
            out.append("  (no references)")
        for problem in key["problems"]:
            if _pattern(problem) in repeated:
                continue  # said once, at the end
            label = f"{problem['what']} {problem['name']}"
            out.append(f"  {problem['severity']:<8} {label}: {problem['reason']}")
        out.append("")
    if document.get("problems"):
        out.append("database-wide")
        wide = _repeated_notes({"keys": [{"problems": document["problems"]}]})
        for problem in document["problems"]:
            if _pattern(problem) in wide:
                continue
            label = f"{problem['what']} {problem['name']}"
            out.append(f"  {problem['severity']:<8} {label}: {problem['reason']}")
        for pattern, names in wide.items():
            out.append(f"  note     {pattern[0]} ({_some(names)}): {pattern[1]}")
        out.append("")
    for pattern, names in repeated.items():
        out.append(f"note     {pattern[0]} ({len(names)} keys: {_some(names)}): {pattern[1]}")
    if repeated:
        out.append("")
    left = left_out_lines(document.get("left_out", []))
    out += [*left, ""] if left else []
    out += _summary(document)
    # Names and reasons come from the catalog: one escaped line each (safe_text).
    return "\n".join(for_terminal(line) for line in out)


def left_out_lines(entries: list[dict[str, Any]], *, brief: bool = False) -> list[str]:
    """What a selection leaves out (inspect's `left_out`), by reason. In full: one line per
    blocker of each blocked key and one per other table, with why. Brief (generate, apply):
    one line per blocked key, its first blocker; one line per other reason, naming its tables."""
    if not entries:
        return []
    entries = sorted(entries, key=lambda e: (_REASONS.index(e["reason"]), e["schema"], e["table"]))
    out = [] if brief else [f"left out ({len(entries)} table(s))"]
    width = max(len(e["reason"]) for e in entries)
    grouped: dict[str, list[str]] = {}
    for entry in entries:
        name = f"{entry['schema']}.{entry['table']}"
        if entry["column"] is not None:
            name += f".{entry['column']} {entry['type']}"
        if brief and entry["reason"] != "blocked":
            grouped.setdefault(entry["reason"], []).append(name)
            continue
        problems = entry["problems"]
        if brief:
            first = problems[0] if problems else None
            said = f": {first['what']} {first['name']}: {first['reason']}" if first else ""
            more = (
                f" (and {len(problems) - 1} more: see uuidpk inspect)" if len(problems) > 1 else ""
            )
            out.append(f"left out {name} (blocked){said}{more}")
            continue
        reason = entry["reason"].ljust(width)
        if not problems:
            out.append(f"  {reason}  {name}: {entry['detail']}")
        for problem in problems:
            out.append(
                f"  {reason}  {name}: {problem['what']} {problem['name']}: {problem['reason']}"
            )
    for reason, names in grouped.items():
        out.append(f"left out ({reason}, {len(names)}): {', '.join(names)}")
    return out


_REASONS = [str(reason) for reason in Reason]


def _some(names: list[str]) -> str:
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def _pattern(problem: dict[str, Any]) -> tuple[str, str]:
    """A note's reason with its own object's name taken out: the same advice for every key."""
    name = problem["name"]
    return problem["what"], problem["reason"].replace(name, "<table>") if name else problem[
        "reason"
    ]


def _repeated_notes(document: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    """Notes whose advice is the same for several keys, with the names they concern."""
    seen: dict[tuple[str, str], list[str]] = {}
    for key in document["keys"]:
        for problem in key["problems"]:
            if problem["severity"] == "note":
                names = seen.setdefault(_pattern(problem), [])
                if problem["name"] not in names:
                    names.append(problem["name"])
    return {pattern: names for pattern, names in seen.items() if len(names) > 1}


def _summary(document: dict[str, Any]) -> list[str]:
    keys = document["keys"]
    problems = [p for key in keys for p in key["problems"]] + list(document.get("problems", []))
    unique = {(p["severity"], p["what"], p["name"], p["reason"]) for p in problems}
    count = {
        severity: sum(1 for p in unique if p[0] == severity)
        for severity in ("refused", "blocker", "warning", "note")
    }
    columns = sum(len(k["closure"]["columns"]) for k in keys)
    tables = len({t for k in keys for t in k["closure"]["tables"]})
    left: dict[str, int] = {}
    for entry in document.get("left_out", []):
        left[entry["reason"]] = left.get(entry["reason"], 0) + 1
    left_out = ", ".join(f"{left[reason]} {reason}" for reason in _REASONS if reason in left)
    lines = [
        f"summary: {len(keys)} key(s), {columns} column(s) in {tables} table(s); "
        f"{count['refused']} refused, {count['blocker']} blocker(s), "
        f"{count['warning']} warning(s), {count['note']} note(s)"
        + (f"; left out: {left_out}" if left_out else "")
    ]
    estimate = document.get("estimate")
    if estimate and keys:
        rate = estimate["assumed_bytes_per_second"]
        lines.append(
            f"offline downtime, estimated: ~{seconds(estimate['offline_downtime_seconds'])} "
            f"with {estimate['locked_tables']} table(s) locked ({size(estimate['size_bytes'])} "
            f"at an assumed {size(rate)}/s; measure yours with apply --dry-run on a copy)"
        )
    return lines
