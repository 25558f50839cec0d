"""Functions and procedures that break at call time: PostgreSQL does not look at function
signatures or bodies when a column changes type (only SQL-standard bodies are tracked in
pg_depend). A function taking a converted table's row, taking or returning integer ids, or
casting a converted column to integer keeps existing and fails the first time it is called; one
whose signature uses a view's row type even stops the plan (PostgreSQL refuses DROP VIEW while
it exists).

This module decides what a signature or a row type means for a closure; bodies.py reads the
bodies. The functions themselves come with the catalog (Catalog.functions, read in the same
snapshot as the tables). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Set
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .bodies import BodyFacts, ClosureNames, analyse_body, dotted
from .model import DependentKind, Function, FunctionArgument, FunctionType
from .problems import Severity

__all__ = [
    "BLOCKER",
    "WARNING",
    "Function",
    "FunctionArgument",
    "FunctionIndex",
    "FunctionSuspect",
    "FunctionType",
    "Scope",
    "broken_functions",
    "closure_members",
    "closure_scope",
]

if TYPE_CHECKING:  # graph.py may come to import this module: no import cycle at run time
    from .graph import Closure, Graph

Node = tuple[int, int]
TableName = tuple[str, str]  # (schema, table)

# Severities, spelled as graph.py spells them.
WARNING = Severity.WARNING
BLOCKER = Severity.BLOCKER


@dataclass(frozen=True)
class FunctionSuspect:
    oid: int
    signature: str
    severity: Severity  # WARNING: fails when called; BLOCKER: the plan cannot run past it
    rules: tuple[str, ...]  # row-type, integer, cast, view-row-type
    reason: str  # one line: what will break


# -- closure scope: what the pure function checks need to know ---------------------------------
@dataclass(frozen=True)
class Scope:
    """The tables and columns of some closures, by oid and by name, and the views the plan
    drops and recreates because they stand on those columns."""

    tables: dict[int, TableName]
    columns: dict[TableName, frozenset[str]]
    views: dict[int, TableName] = field(default_factory=dict)


def closure_scope(graph: Graph, closures: Iterable[Closure]) -> Scope:
    """Closure members (partitions included) and the views depending on them, transitively."""
    catalog = graph.catalog
    members = closure_members(graph, closures)
    columns: dict[TableName, set[str]] = {}
    tables: dict[int, TableName] = {}
    for table_oid, attnum in members:
        table = catalog.table(table_oid)
        name = (table.schema, table.name)
        tables[table_oid] = name
        columns.setdefault(name, set()).add(catalog.column(table_oid, attnum).name)
    views: dict[int, TableName] = {}
    changed = set(members)
    grew = True
    while grew:  # views on views: a view over a dropped view is dropped too
        grew = False
        for dep in catalog.dependents:
            if dep.kind not in (DependentKind.VIEW, DependentKind.MATVIEW) or dep.oid in views:
                continue
            if any((dep.table_oid, a) in changed for a in dep.columns) or dep.table_oid in views:
                views[dep.oid] = (dep.schema, dep.name)
                changed.update((dep.oid, c.attnum) for c in catalog.columns_of(dep.oid))
                grew = True
    return Scope(tables, {k: frozenset(v) for k, v in columns.items()}, views)


def closure_members(graph: Graph, closures: Iterable[Closure]) -> set[Node]:
    return {m for closure in closures for m in graph.members(closure.nodes)}


# -- functions: which ones can concern a closure ---------------------------------------------
_WORD = re.compile(r"\w+")


class FunctionIndex:
    """A schema's functions indexed once, for judging them against many closures (inspect
    --all: thousands of closures times thousands of functions).

    broken_functions can only name a function that (1) has a row type in its signature of a
    closure table or of a view the plan drops, (2) is a trigger function of a closure table
    (NEW and OLD), or (3) names a closure table somewhere in its body: analyse_body finds
    nothing else (no parameter, no mention: no facts). candidates() returns exactly those, the
    body test done on the words of each body, split once, instead of a substring search of
    every body for every closure table.

    And a body only yields facts (closure columns used, cast or compared) where it names a
    closure column of a table it reaches: a table it names, or one it gets as a row argument or
    as a trigger's NEW/OLD. broken_functions() reads only those bodies; the others are judged
    by their signature alone, which is all analyse_body would have left of them.

    A name that is not one word (quoted, with a space, a dollar or a quote in it) is searched as
    text, as it is written quoted too; a body with a U&"..." identifier, whose text need not
    spell its names, is read whatever it names.
    """

    def __init__(self, functions: Iterable[Function]) -> None:
        self.functions = list(functions)
        self._by_oid: dict[int, set[int]] = {}
        self._by_relation: dict[TableName, set[int]] = {}
        self._by_word: dict[str, set[int]] = {}
        self._lowered: list[str] = []
        self._escaped: set[int] = set()  # bodies with U&"..." identifiers
        for i, function in enumerate(self.functions):
            for _, typ, _ in _signature_types(function):
                if typ.relation_oid is not None:
                    self._by_oid.setdefault(typ.relation_oid, set()).add(i)
                if typ.relation is not None:
                    self._by_relation.setdefault(typ.relation, set()).add(i)
            for oid in function.trigger_tables:
                self._by_oid.setdefault(oid, set()).add(i)
            lowered = (function.code or "").lower()
            self._lowered.append(lowered)
            if 'u&"' in lowered:
                self._escaped.add(i)
            for word in set(_WORD.findall(lowered)):
                self._by_word.setdefault(word, set()).add(i)

    def _naming(self, name: str) -> set[int]:
        """The bodies in which a name may appear, folded to lower case as words are."""
        word = name.lower()
        if _WORD.fullmatch(word):
            return self._by_word.get(word, set()) | self._escaped
        quoted = word.replace('"', '""')
        return {i for i, code in enumerate(self._lowered) if word in code or quoted in code}

    def _found(
        self,
        closure_tables: Mapping[int, TableName],
        closure_columns: Mapping[TableName, Set[str]],
        dropped_views: Mapping[int, TableName] | None,
    ) -> tuple[set[int], set[int]]:
        """(candidates, those whose bodies may use a closure column), by position."""
        found: set[int] = set()
        for oid in dropped_views or {}:
            found |= self._by_oid.get(oid, set())
        reaching: dict[TableName, set[int]] = {}
        for oid, name in closure_tables.items():
            reaching.setdefault(name, set()).update(self._by_oid.get(oid, set()))
        for name in set(closure_tables.values()) | set(closure_columns):
            reach = reaching.setdefault(name, set())
            reach |= self._by_relation.get(name, set()) | self._naming(name[1])
            found |= reach
        bodies: set[int] = set()
        for name, columns in closure_columns.items():
            reach = reaching[name] - bodies
            if reach:
                for column in columns:
                    bodies |= reach & self._naming(column)
        return found, bodies

    def candidates(
        self,
        closure_tables: Mapping[int, TableName],
        closure_columns: Mapping[TableName, Set[str]],
        dropped_views: Mapping[int, TableName] | None = None,
    ) -> list[Function]:
        """The functions broken_functions may name for this closure, in catalog order."""
        found, _ = self._found(closure_tables, closure_columns, dropped_views)
        return [self.functions[i] for i in sorted(found)]

    def broken_functions(
        self,
        closure_tables: Mapping[int, TableName],
        closure_columns: Mapping[TableName, Set[str]],
        dropped_views: Mapping[int, TableName] | None = None,
    ) -> list[FunctionSuspect]:
        """broken_functions() of all the functions, reading only the bodies that may matter."""
        found, bodies = self._found(closure_tables, closure_columns, dropped_views)
        return broken_functions(
            [self.functions[i] for i in sorted(found)],
            closure_tables,
            closure_columns,
            dropped_views,
            bodies={self.functions[i].oid for i in bodies},
        )


# -- functions: which ones break -------------------------------------------------------------
def broken_functions(
    functions: Iterable[Function],
    closure_tables: Mapping[int, TableName],
    closure_columns: Mapping[TableName, Set[str]],
    dropped_views: Mapping[int, TableName] | None = None,
    *,
    bodies: Set[int] | None = None,
) -> list[FunctionSuspect]:
    """Functions that keep existing after the conversion and fail, or misbehave, when called.

    A function is named when
      (a) an argument or its result is the row type of a closure table (a field changes type);
      (b) an argument, its result or (PL/pgSQL) a declared variable is smallint/integer/bigint,
          or a composite with such a field, and its body uses a closure column;
      (c) its body casts a closure column to an integer type or compares one with an integer;
      (d) its signature uses the row type of a view the plan drops (dropped_views): PostgreSQL
          refuses DROP VIEW while the function exists, so this one is a blocker.
    closure_tables: {table oid: (schema, name)}; closure_columns: {(schema, table): {column}}.
    bodies: the oids of the functions whose bodies are read (FunctionIndex knows the others
    cannot use a closure column); None: every body.
    """
    views = dropped_views or {}
    index = ClosureNames(closure_tables, closure_columns)
    suspects = []
    for function in functions:
        read = bodies is None or function.oid in bodies
        facts = analyse_body(function, index) if read else BodyFacts()
        suspect = _judge(function, facts, closure_tables, closure_columns, views)
        if suspect is not None:
            suspects.append(suspect)
    return sorted(suspects, key=lambda s: (s.severity != BLOCKER, s.signature))


def _judge(
    function: Function,
    facts: BodyFacts,
    closure_tables: Mapping[int, TableName],
    closure_columns: Mapping[TableName, Set[str]],
    views: Mapping[int, TableName],
) -> FunctionSuspect | None:
    rules: list[str] = []
    reasons: list[str] = []
    severity = WARNING

    # (d) and (a): the signature itself.
    for role, typ, many in _signature_types(function):
        oid = typ.relation_oid
        if oid is not None and oid in views:
            rules.append("view-row-type")
            reasons.append(
                f"{role} {_rows_of(typ, many)} of view {dotted(views[oid])}, which the plan "
                "drops: PostgreSQL refuses DROP VIEW while this function exists"
            )
            severity = BLOCKER
        elif oid is not None and oid in closure_tables:
            name = closure_tables[oid]
            fields = sorted(closure_columns.get(name, ()))
            verb = "becomes" if len(fields) == 1 else "become"
            read = sorted(c for s, t, c in facts.columns if (s, t) == name)
            if read:
                tail = f"the body uses {', '.join(read)}"
            else:
                tail = "callers building or reading the row see the new type"
            rules.append("row-type")
            reasons.append(
                f"{role} {_rows_of(typ, many)} of {dotted(name)} whose {', '.join(fields)} {verb} "
                f"uuid: {tail}"
            )

    # (b): integer-family signature (or PL/pgSQL variables) and a body that uses closure columns.
    integers = _integer_parts(function) + [f"variable {v}" for v in facts.integer_variables]
    if integers and facts.columns:
        columns = ", ".join(dotted(c) for c in sorted(facts.columns)[:3])
        more = f" (+{len(facts.columns) - 3} more)" if len(facts.columns) > 3 else ""
        rules.append("integer")
        reasons.append(
            f"{', '.join(integers)} and uses {columns}{more}: ids passed in, kept or handed out "
            "as integers no longer fit"
        )

    # (c): casts and comparisons with integers in the body.
    if facts.integer_uses:
        rules.append("cast")
        what = "; ".join(sorted(facts.integer_uses)[:3])
        reasons.append(f"{what}: uuid has no cast or comparison to integer")

    if not rules:
        return None
    return FunctionSuspect(
        oid=function.oid,
        signature=function.signature,
        severity=severity,
        rules=tuple(dict.fromkeys(rules)),
        reason="; ".join(dict.fromkeys(reasons)),
    )


def _signature_types(function: Function) -> Iterator[tuple[str, FunctionType, bool]]:
    """(takes/returns, type, many rows) for every row-typed part of the signature."""
    for arg in function.arguments:
        role = "takes" if arg.is_input else "returns"
        yield role, arg.type, function.returns_set and arg.is_output
    ret = function.return_type
    if ret is not None and ret.relation_oid is not None:
        yield "returns", ret, function.returns_set


def _rows_of(typ: FunctionType, many: bool = False) -> str:
    if typ.is_array:
        return "arrays of rows" if many else "an array of rows"
    return "rows" if many else "a row"


def _integer_parts(function: Function) -> list[str]:
    """What in the signature carries smallint/integer/bigint values."""
    parts: list[str] = []
    for arg in function.arguments:
        label = f"argument {arg.name}" if arg.name else f"argument ${arg.position}"
        if arg.mode in ("o", "t"):
            label = f"output column {arg.name}" if arg.name else "an output column"
        if arg.type.is_integer:
            parts.append(f"{label} {arg.type.type}")
        elif arg.type.relation_kind == "c" and arg.type.integer_fields:
            fields = ", ".join(arg.type.integer_fields)
            parts.append(f"{label} {arg.type.type} with integer {fields}")
    ret = function.return_type
    if ret is not None and not any(a.is_output for a in function.arguments):
        if ret.is_integer:
            parts.append(f"returns {ret.type}")
        elif ret.relation_kind == "c" and ret.integer_fields:
            parts.append(f"returns {ret.type} with integer {', '.join(ret.integer_fields)}")
    return parts
