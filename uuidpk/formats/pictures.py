"""Pictures of the closures, from inspect's JSON document: Mermaid (renders in GitHub and
GitLab Markdown) and Graphviz dot. One box per table with its closure columns (the key
marked), one arrow per relation from the referencing column to the key it references, labelled
with the relation's kind; what blocks a key (blockers, refused keys) as red boxes beside it.

Names come from the catalog and may hold any character: each syntax gets its own escaping
(Mermaid: every character that is not plainly safe as an entity code #NNN;, Graphviz: a
backslash before `"` and `\\`), after control characters became visible escapes (safe_text)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..safe_text import for_terminal

STOPPING = ("blocker", "refused")


@dataclass
class _Table:
    id: str
    name: str
    columns: dict[str, tuple[str, bool]] = field(default_factory=dict)  # column: (type, key)


@dataclass(frozen=True)
class _Arrow:
    child: str
    parent: str
    kind: str
    column: str


@dataclass(frozen=True)
class _Stop:
    id: str
    table: str
    text: str


@dataclass
class _Picture:
    tables: dict[str, _Table] = field(default_factory=dict)  # by "schema.table"
    arrows: list[_Arrow] = field(default_factory=list)
    stops: list[_Stop] = field(default_factory=list)

    def table(self, schema: str, name: str) -> _Table:
        qname = f"{schema}.{name}"
        if qname not in self.tables:
            self.tables[qname] = _Table(f"t{len(self.tables)}", qname)
        return self.tables[qname]


def _picture(document: dict[str, Any]) -> _Picture:
    picture = _Picture()
    seen_stops: set[tuple[str, str, str, str]] = set()
    for key in document["keys"]:
        root = picture.table(key["schema"], key["table"])
        root.columns[key["column"]] = (key["type"], True)
        for rel in key["closure"]["relations"]:
            child = picture.table(rel["schema"], rel["table"])
            child.columns.setdefault(rel["column"], (rel["type"], False))
            ref = rel["references"]
            parent = picture.table(ref["schema"], ref["table"])
            parent.columns.setdefault(ref["column"], (key["type"], False))
            arrow = _Arrow(child.id, parent.id, rel["kind"], rel["column"])
            if arrow not in picture.arrows:
                picture.arrows.append(arrow)
        for problem in key["problems"]:
            if problem["severity"] not in STOPPING:
                continue
            mark = (root.id, problem["severity"], problem["what"], problem["name"])
            if mark in seen_stops:
                continue
            seen_stops.add(mark)
            text = f"{problem['severity']}: {problem['what']} {problem['name']}"
            picture.stops.append(_Stop(f"b{len(picture.stops)}", root.id, text))
    return picture


def _lines(table: _Table) -> list[str]:
    lines = [table.name]
    for column, (type_, is_key) in sorted(table.columns.items(), key=lambda c: (not c[1][1], c[0])):
        lines.append(f"{'PK ' if is_key else ''}{column} {type_}")
    return lines


# -- Mermaid ------------------------------------------------------------------------------------
_MERMAID_SAFE = re.compile(r"[A-Za-z0-9 _.,:()\-]")


def mermaid_text(text: str) -> str:
    """Text for inside a quoted Mermaid label: every character that could end the label,
    open markup or an entity (`"`, `<`, `#`, `;`, `|`, brackets, backslash...) as #NNN;."""
    visible = for_terminal(text)
    return "".join(c if _MERMAID_SAFE.match(c) else f"#{ord(c)};" for c in visible)


def _mermaid_label(lines: list[str]) -> str:
    return '"' + "<br/>".join(mermaid_text(line) for line in lines) + '"'


def mermaid(document: dict[str, Any]) -> str:
    """A Mermaid flowchart of the document's closures."""
    picture = _picture(document)
    out = ["flowchart LR"]
    for table in picture.tables.values():
        out.append(f"    {table.id}[{_mermaid_label(_lines(table))}]")
    for arrow in picture.arrows:
        label = _mermaid_label([arrow.kind, arrow.column])
        line = "-.->" if arrow.kind == "soft" else "-->"
        out.append(f"    {arrow.child} {line}|{label}| {arrow.parent}")
    for stop in picture.stops:
        out.append(f"    {stop.id}{{{{{_mermaid_label([stop.text])}}}}}:::stop")
        out.append(f"    {stop.id} -.- {stop.table}")
    if picture.stops:
        out.append("    classDef stop fill:#fdd,stroke:#c00,color:#600")
    return "\n".join(out) + "\n"


# -- Graphviz dot -------------------------------------------------------------------------------
def dot_text(text: str) -> str:
    """Text for inside a double-quoted dot string: backslash and double quote escaped (a
    backslash would otherwise start \\n, \\l, \\N...), control characters made visible."""
    return for_terminal(text).replace("\\", "\\\\").replace('"', '\\"')


def _dot_label(lines: list[str]) -> str:
    return '"' + "\\n".join(dot_text(line) for line in lines) + '"'


def dot(document: dict[str, Any]) -> str:
    """A Graphviz digraph of the document's closures (render with dot -Tsvg)."""
    picture = _picture(document)
    out = [
        "digraph uuidpk {",
        "    rankdir=LR;",
        '    node [shape=box, fontname="Helvetica", fontsize=10];',
        '    edge [fontname="Helvetica", fontsize=9];',
    ]
    for table in picture.tables.values():
        out.append(f"    {table.id} [label={_dot_label(_lines(table))}];")
    for arrow in picture.arrows:
        style = ", style=dashed" if arrow.kind == "soft" else ""
        label = _dot_label([arrow.kind, arrow.column])
        out.append(f"    {arrow.child} -> {arrow.parent} [label={label}{style}];")
    for stop in picture.stops:
        out.append(
            f"    {stop.id} [shape=octagon, color=red, fontcolor=red, "
            f"label={_dot_label([stop.text])}];"
        )
        out.append(f"    {stop.id} -> {stop.table} [style=dotted, color=red, arrowhead=none];")
    out.append("}")
    return "\n".join(out) + "\n"
