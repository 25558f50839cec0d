"""Functions and procedures that break at call time: PostgreSQL does not look at function
signatures or bodies when a column changes type (only SQL-standard bodies are tracked in
pg_depend). A function taking a converted table's row, taking or returning integer ids, or
casting a converted column to integer keeps existing and fails the first time it is called; one
whose signature uses a view's row type even stops the plan (PostgreSQL refuses DROP VIEW while
it exists).

read_functions() queries the database; everything else is pure.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
import sqlglot
from psycopg.rows import dict_row
from sqlglot import exp

from . import templates
from .model import INTEGER_NAMES as _INT_NAMES
from .model import INTEGER_TYPES, DependentKind
from .problems import Severity

if TYPE_CHECKING:  # graph.py may come to import this module: no import cycle at run time
    from .graph import Closure, Graph

Node = tuple[int, int]
TableName = tuple[str, str]  # (schema, table)


# -- functions: what the catalog says ----------------------------------------------------------
@dataclass(frozen=True)
class FunctionType:
    """A type in a function signature, seen through arrays and domains."""

    type: str  # format_type(), e.g. "integer[]", "forum_example.person"
    base_schema: str  # the element type of an array, the base type of a domain
    base_name: str
    is_array: bool
    relation_oid: int | None  # set when the base type is a row type (table, view, composite)
    relation_kind: str | None  # r, p, v, m, f, c (composite type)
    relation_schema: str | None
    relation_name: str | None
    integer_fields: tuple[str, ...]  # smallint/integer/bigint fields of that row type

    @property
    def is_integer(self) -> bool:
        return self.base_schema == "pg_catalog" and self.base_name in INTEGER_TYPES

    @property
    def relation(self) -> TableName | None:
        if self.relation_schema is None or self.relation_name is None:
            return None
        return (self.relation_schema, self.relation_name)


@dataclass(frozen=True)
class FunctionArgument:
    position: int
    name: str | None
    mode: str  # i in, o out, b inout, v variadic, t RETURNS TABLE column
    type: FunctionType

    @property
    def is_input(self) -> bool:
        return self.mode in ("i", "b", "v")

    @property
    def is_output(self) -> bool:
        return self.mode in ("o", "b", "t")


@dataclass(frozen=True)
class Function:
    oid: int
    schema: str
    name: str
    kind: str  # f function, p procedure, a aggregate, w window
    identity_arguments: str
    result: str | None  # pg_get_function_result(); None for procedures
    language: str
    returns_set: bool
    arguments: tuple[FunctionArgument, ...]
    return_type: FunctionType | None
    body: str | None  # prosrc, or the whole definition for SQL-standard bodies
    sql_standard_body: bool
    trigger_tables: tuple[int, ...] = ()  # tables whose triggers call it (NEW/OLD rows)

    @property
    def signature(self) -> str:
        return f"{self.schema}.{self.name}({self.identity_arguments})"

    @property
    def code(self) -> str | None:
        """The body as code: for SQL-standard bodies the part after BEGIN ATOMIC / RETURN."""
        if self.body is None or not self.sql_standard_body:
            return self.body
        return _standard_body(self.body)


@dataclass(frozen=True)
class FunctionSuspect:
    oid: int
    signature: str
    severity: Severity  # WARNING: fails when called; BLOCKER: the plan cannot run past it
    rules: tuple[str, ...]  # row-type, integer, cast, view-row-type
    reason: str  # one line: what will break


def read_functions(conn: psycopg.Connection) -> tuple[Function, ...]:
    """Every user function and procedure (extension members left out), one query."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(templates.load("catalog/functions.sql").encode())
        rows = cur.fetchall()
    return tuple(function_from_row(r) for r in rows)


def function_from_row(row: Mapping[str, Any]) -> Function:
    """A Function from one row of catalog/functions.sql (json columns already decoded)."""
    return Function(
        oid=int(row["oid"]),
        schema=row["schema"],
        name=row["name"],
        kind=row["kind"],
        identity_arguments=row["identity_arguments"],
        result=row["result"],
        language=row["language"],
        returns_set=bool(row["returns_set"]),
        arguments=tuple(
            FunctionArgument(
                position=int(a["position"]),
                name=a["name"],
                mode=a["mode"],
                type=_function_type(a["type"]),
            )
            for a in row["arguments"] or ()
        ),
        return_type=_function_type(row["return_type"]) if row["return_type"] else None,
        body=row["body"],
        sql_standard_body=bool(row["sql_standard_body"]),
        trigger_tables=tuple(int(t) for t in row.get("trigger_tables") or ()),
    )


def _function_type(d: Mapping[str, Any]) -> FunctionType:
    return FunctionType(
        type=d["type"],
        base_schema=d["base_schema"],
        base_name=d["base_name"],
        is_array=bool(d["is_array"]),
        relation_oid=int(d["relation_oid"]) if d["relation_oid"] is not None else None,
        relation_kind=d["relation_kind"],
        relation_schema=d["relation_schema"],
        relation_name=d["relation_name"],
        integer_fields=tuple(d["integer_fields"] or ()),
    )


_ATOMIC = re.compile(r"^\s*BEGIN\s+ATOMIC\b(.*)\bEND\s*;?\s*$", re.S | re.M | re.I)
_RETURN = re.compile(r"^\s*RETURN\b(.*)$", re.S | re.M | re.I)


def _standard_body(definition: str) -> str:
    """The statements of a SQL-standard body, from pg_get_functiondef() text."""
    m = _ATOMIC.search(definition)
    if m:
        return m.group(1)
    m = _RETURN.search(definition)
    if m:
        return "SELECT " + m.group(1).strip().rstrip(";")
    return definition


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


# -- functions: which ones break -------------------------------------------------------------
def broken_functions(
    functions: Iterable[Function],
    closure_tables: Mapping[int, TableName],
    closure_columns: Mapping[TableName, Set[str]],
    dropped_views: Mapping[int, TableName] | None = None,
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
    """
    views = dropped_views or {}
    index = _Names(closure_tables, closure_columns)
    suspects = []
    for function in functions:
        suspect = _judge(function, closure_tables, closure_columns, views, index)
        if suspect is not None:
            suspects.append(suspect)
    return sorted(suspects, key=lambda s: (s.severity != Severity.BLOCKER, s.signature))


def _judge(
    function: Function,
    closure_tables: Mapping[int, TableName],
    closure_columns: Mapping[TableName, Set[str]],
    views: Mapping[int, TableName],
    index: _Names,
) -> FunctionSuspect | None:
    rules: list[str] = []
    reasons: list[str] = []
    severity = Severity.WARNING
    facts = _analyse_body(function, index)

    # (d) and (a): the signature itself.
    for role, typ, many in _signature_types(function):
        oid = typ.relation_oid
        if oid is not None and oid in views:
            rules.append("view-row-type")
            reasons.append(
                f"{role} {_rows_of(typ, many)} of view {_dotted(views[oid])}, which the plan "
                "drops: PostgreSQL refuses DROP VIEW while this function exists"
            )
            severity = Severity.BLOCKER
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
                f"{role} {_rows_of(typ, many)} of {_dotted(name)} whose {', '.join(fields)} {verb} "
                f"uuid: {tail}"
            )

    # (b): integer-family signature (or PL/pgSQL variables) and a body that uses closure columns.
    integers = _integer_parts(function) + [f"variable {v}" for v in facts.integer_variables]
    if integers and facts.columns:
        columns = ", ".join(_dotted(c) for c in sorted(facts.columns)[:3])
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


def _dotted(parts: Sequence[str]) -> str:
    return ".".join(p for p in parts if p)


# -- bodies ---------------------------------------------------------------------------------
class _Names:
    """Closure tables and columns indexed for matching identifiers found in bodies."""

    def __init__(
        self,
        closure_tables: Mapping[int, TableName],
        closure_columns: Mapping[TableName, Set[str]],
    ) -> None:
        self.tables = set(closure_tables.values()) | set(closure_columns)
        self.by_name: dict[str, list[TableName]] = {}
        for schema, name in sorted(self.tables):
            self.by_name.setdefault(name, []).append((schema, name))
        self.columns = {k: frozenset(v) for k, v in closure_columns.items()}
        self.by_oid = dict(closure_tables)

    def resolve(self, schema: str | None, name: str) -> list[TableName]:
        if schema:
            return [(schema, name)] if (schema, name) in self.tables else []
        return list(self.by_name.get(name, ()))

    def mentioned(self, code: str) -> bool:
        """Does any closure table's name appear in the text at all (case-insensitively)?"""
        lowered = code.lower()
        return any(name.lower() in lowered for name in self.by_name)

    def column(self, table: TableName, column: str) -> bool:
        return column in self.columns.get(table, frozenset())


@dataclass
class BodyFacts:
    """What a body does with closure tables and columns."""

    tables: set[TableName] = field(default_factory=set)
    columns: set[tuple[str, str, str]] = field(default_factory=set)  # (schema, table, column)
    integer_uses: set[str] = field(default_factory=set)  # "casts t.id to integer", ...
    integer_variables: list[str] = field(default_factory=list)
    parsed: bool = False  # True when sqlglot read the whole body


def _analyse_body(function: Function, index: _Names) -> BodyFacts:
    """Closure tables and columns a body uses, and integer casts/comparisons of those columns.

    LANGUAGE sql bodies are parsed with sqlglot (postgres dialect); anything else, and SQL that
    sqlglot cannot read, gets an identifier scan (see _scan). Arguments of a closure table's row
    type count as aliases of that table (person.id where person is an argument), and so do
    NEW and OLD in a trigger function of a closure table.
    """
    code = function.code
    if not code or function.language in ("c", "internal"):
        return BodyFacts()
    params: dict[str, list[TableName]] = {}
    for arg in function.arguments:
        relation = arg.type.relation
        if arg.name and relation is not None and relation in index.tables:
            params.setdefault(arg.name, []).append(relation)
    for oid in function.trigger_tables:  # a trigger function's NEW and OLD
        if oid in index.by_oid:
            params.setdefault("new", []).append(index.by_oid[oid])
            params.setdefault("old", []).append(index.by_oid[oid])
    if not params and not index.mentioned(code):
        return BodyFacts()  # no closure table's name appears anywhere: nothing to find
    if function.language == "sql":
        facts = _parse_sql(code, index, params)
        if facts is not None:
            return facts
    return _scan(code, index, params, sql_like=function.language in ("plpgsql", "sql"))


_INT_TYPES = {exp.DataType.Type.SMALLINT, exp.DataType.Type.INT, exp.DataType.Type.BIGINT}
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


def _ident(node: exp.Expression | None) -> str | None:
    """An identifier as PostgreSQL sees it: unquoted names fold to lower case."""
    if node is None:
        return None
    if isinstance(node, exp.Identifier):
        return node.name if node.args.get("quoted") else node.name.lower()
    name = node.name
    return name.lower() if name else None


def _tables_of(node: exp.Expression, index: _Names) -> list[tuple[exp.Table, list[TableName]]]:
    found = []
    for table in node.find_all(exp.Table):
        names = index.resolve(_ident(table.args.get("db")), _ident(table.this) or "")
        if names:
            found.append((table, names))
    return found


def _parse_sql(code: str, index: _Names, params: Mapping[str, list[TableName]]) -> BodyFacts | None:
    # sqlglot logs a warning when it keeps a statement as an opaque Command: we fall back to
    # the scan for those, so the warning would only be noise on the user's terminal.
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        statements = sqlglot.parse(code, read="postgres")
    except sqlglot.errors.SqlglotError:
        return None
    finally:
        logger.setLevel(level)
    if any(isinstance(s, exp.Command) for s in statements):
        return None
    facts = BodyFacts(parsed=True)
    for statement in statements:
        if not isinstance(statement, exp.Expression):
            continue
        aliases: dict[str, list[TableName]] = {k: list(v) for k, v in params.items()}
        for table, names in _tables_of(statement, index):
            facts.tables.update(names)
            alias = table.args.get("alias")
            alias_name = _ident(alias.this) if isinstance(alias, exp.TableAlias) else None
            aliases.setdefault(alias_name or _ident(table.this) or "", []).extend(names)
        resolved: dict[int, tuple[str, str, str]] = {}
        for column in statement.find_all(exp.Column):
            hit = _resolve_column(column, aliases, index)
            if hit is not None:
                facts.columns.add(hit)
                resolved[id(column)] = hit
        for cast in statement.find_all(exp.Cast):
            if cast.to.this in _INT_TYPES:
                for column in cast.this.find_all(exp.Column):
                    if id(column) in resolved:
                        facts.integer_uses.add(
                            f"casts {_dotted(resolved[id(column)])} to "
                            f"{cast.to.sql('postgres').lower()}"
                        )
        for cmp in statement.find_all(*_COMPARISONS, exp.In, exp.Between):
            sides: list[exp.Expression] = [cmp.this]
            if isinstance(cmp, exp.In):
                sides += list(cmp.expressions)
            elif isinstance(cmp, exp.Between):
                sides += [cmp.args["low"], cmp.args["high"]]
            else:
                sides.append(cmp.expression)
            columns = [resolved[id(s)] for s in sides if id(s) in resolved]
            others = [s for s in sides if id(s) not in resolved]
            if columns and any(_is_integer_expression(o) for o in others):
                facts.integer_uses.add(f"compares {_dotted(columns[0])} with an integer")
    return facts


def _resolve_column(
    column: exp.Column, aliases: Mapping[str, list[TableName]], index: _Names
) -> tuple[str, str, str] | None:
    name = _ident(column.this)
    if not name:
        return None
    qualifier = _ident(column.args.get("table"))
    schema = _ident(column.args.get("db"))
    candidates: list[TableName] = []
    if qualifier and schema:
        candidates = index.resolve(schema, qualifier)
    elif qualifier:
        candidates = aliases.get(qualifier) or index.resolve(None, qualifier)
    else:
        # Unqualified: a closure table read by the same statement that has this column.
        scope = column.find_ancestor(exp.Select, exp.Update, exp.Delete, exp.Insert)
        if scope is not None:
            for _, names in _tables_of(scope, index):
                candidates += names
    for table in candidates:
        if index.column(table, name):
            return (table[0], table[1], name)
    return None


def _is_integer_expression(node: exp.Expression) -> bool:
    if isinstance(node, (exp.Paren, exp.Neg)):
        return _is_integer_expression(node.this)
    if isinstance(node, exp.Literal):
        return node.is_number and re.fullmatch(r"\d+", node.name) is not None
    if isinstance(node, exp.Cast):
        return node.to.this in _INT_TYPES
    return False


# The identifier scan: for PL/pgSQL and other languages, and SQL sqlglot cannot read.
_TOKEN = re.compile(
    r"""
      (?P<qident>"(?:[^"]|"")*")
    | (?P<ident>[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*)
    | (?P<number>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    | (?P<cast>::)
    | (?P<op><>|!=|<=|>=|:=|[=<>])
    | (?P<punct>[.;,()%\[\]-])
    """,
    re.X,
)
_TABLE_KEYWORDS = frozenset({"from", "join", "update", "into", "table", "only"})
_NOT_ALIAS = frozenset({
    "where", "join", "inner", "left", "right", "full", "cross", "natural", "on", "using",
    "group", "order", "limit", "offset", "set", "values", "returning", "as", "select", "union",
    "except", "intersect", "for", "having", "window", "lateral", "loop", "then", "into", "and",
    "or", "when", "default", "from", "fetch", "strict",
})  # fmt: skip
_STOP = frozenset({
    "and", "or", "then", "loop", "order", "group", "limit", "returning", "when", "else", "end",
    "is", "into", "from", "where", "union",
})  # fmt: skip

# One scanned item: ("name", (part, ...)) for an identifier chain a.b.c, else (kind, text).
_Item = tuple[str, Any]
_NONE: _Item = ("", "")


def _strip_sql_comments(code: str) -> str:
    """Drop -- and /* */ comments; keep string contents (dynamic SQL lives in strings) but
    drop the quotes and dollar-quote tags around them."""
    out: list[str] = []
    i, n = 0, len(code)
    while i < n:
        c = code[i]
        if code.startswith("--", i):
            j = code.find("\n", i)
            i = n if j < 0 else j
        elif code.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if code.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif code.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c in "'\"":
            # Backslash escapes only in E'...' strings (standard_conforming_strings is on).
            e_string = c == "'" and code[i - 1 : i] in ("e", "E")
            e_string = e_string and not re.match(r"\w", code[i - 2 : i - 1] or " ")
            j = i + 1
            while j < n:
                doubled = code[j] == c and j + 1 < n and code[j + 1] == c
                escaped = e_string and code[j] == "\\" and j + 1 < n
                if doubled or escaped:
                    j += 2
                elif code[j] == c:
                    break
                else:
                    j += 1
            if c == '"':
                out.append(code[i : j + 1])  # a quoted identifier, kept as it is
            else:
                out.append(" " + code[i + 1 : j].replace("''", "'") + " ")
            i = j + 1
        elif c == "$" and (m := re.match(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$", code[i:])):
            out.append(" ")
            i += m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _items(code: str) -> list[_Item]:
    """Tokens, with identifier chains a.b.c joined into one ("name", parts) item."""
    tokens: list[_Item] = []
    for m in _TOKEN.finditer(code):
        kind, text = m.lastgroup or "", m.group()
        if kind == "qident":
            tokens.append(("ident", text[1:-1].replace('""', '"')))
        elif kind == "ident":
            tokens.append(("ident", text.lower()))
        else:
            tokens.append((kind, text.lower()))
    items: list[_Item] = []
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        if kind == "ident":
            parts = [text]
            while (
                i + 2 < len(tokens)
                and tokens[i + 1] == ("punct", ".")
                and tokens[i + 2][0] == "ident"
            ):
                parts.append(tokens[i + 2][1])
                i += 2
            items.append(("name", tuple(parts)))
        else:
            items.append((kind, text))
        i += 1
    return items


def _at(items: Sequence[_Item], i: int) -> _Item:
    return items[i] if 0 <= i < len(items) else _NONE


def _is_word(item: _Item, words: Set[str]) -> bool:
    return item[0] == "name" and len(item[1]) == 1 and item[1][0] in words


def _scan(
    code: str, index: _Names, params: Mapping[str, list[TableName]], *, sql_like: bool
) -> BodyFacts:
    """Find closure tables and columns by their identifiers, statement by statement.

    A table counts when it is schema-qualified, follows FROM/JOIN/UPDATE/INTO/TABLE/ONLY, or is
    typed with %ROWTYPE; a column counts as table.column (table, alias, or a variable or
    argument of the table's row type), schema.table.column, or bare inside a statement that
    names its table. Dynamic SQL in string literals is scanned as code.
    """
    facts = BodyFacts()
    if sql_like:
        text = _strip_sql_comments(code)
    else:  # PL/Python, PL/Perl, PL/v8...: their strings hold the SQL
        text = re.sub(r"[\"'`]", " ", code)
    items = _items(text)
    aliases: dict[str, list[TableName]] = {k: list(v) for k, v in params.items()}
    if sql_like:
        facts.integer_variables = _declared(items, index, aliases)
    statement: list[_Item] = []
    for item in [*items, ("punct", ";")]:
        if item == ("punct", ";"):
            _scan_statement(statement, index, aliases, facts)
            statement = []
        else:
            statement.append(item)
    return facts


def _scan_statement(
    items: list[_Item],
    index: _Names,
    variables: Mapping[str, list[TableName]],
    facts: BodyFacts,
) -> None:
    tables: list[TableName] = []
    aliases: dict[str, list[TableName]] = {k: list(v) for k, v in variables.items()}
    for i, (kind, parts) in enumerate(items):
        if kind != "name" or _at(items, i + 1) == ("punct", "("):
            continue  # not a name, or a function call
        nxt, after = _at(items, i + 1), _at(items, i + 2)
        rowtype = nxt == ("punct", "%") and after == ("name", ("rowtype",))
        table_position = _is_word(_at(items, i - 1), _TABLE_KEYWORDS)
        found: list[TableName] = []
        if len(parts) == 1 and (table_position or rowtype):
            found = index.resolve(None, parts[0])
        elif len(parts) in (2, 3):
            found = index.resolve(parts[0], parts[1])  # schema.table or schema.table.column
        if not found:
            continue
        tables += found
        if len(parts) <= 2 and table_position:
            alias = after if nxt == ("name", ("as",)) else nxt
            if alias[0] == "name" and len(alias[1]) == 1 and alias[1][0] not in _NOT_ALIAS:
                aliases.setdefault(alias[1][0], []).extend(found)
            aliases.setdefault(parts[-1], []).extend(found)
    facts.tables.update(tables)

    refs: dict[int, tuple[str, str, str]] = {}
    for i, (kind, parts) in enumerate(items):
        if kind != "name" or _at(items, i + 1) == ("punct", "("):
            continue
        candidates: list[TableName] = []
        if len(parts) == 3:
            candidates = index.resolve(parts[0], parts[1])
        elif len(parts) == 2:
            candidates = aliases.get(parts[0]) or index.resolve(None, parts[0])
        elif len(parts) == 1 and not _is_word(_at(items, i - 1), _TABLE_KEYWORDS):
            candidates = tables
        for table in candidates:
            if index.column(table, parts[-1]):
                refs[i] = (table[0], table[1], parts[-1])
                facts.columns.add(refs[i])
                break

    for i, ref in refs.items():
        nxt, typ = _at(items, i + 1), _at(items, i + 2)
        if nxt[0] == "cast" and _is_word(typ, _INT_NAMES):
            facts.integer_uses.add(f"casts {_dotted(ref)} to {typ[1][0]}")
        if nxt[0] == "op" and nxt[1] != ":=" and _integer_operand(items, i + 2):
            facts.integer_uses.add(f"compares {_dotted(ref)} with an integer")
        prev, before = _at(items, i - 1), _at(items, i - 2)
        if prev[0] == "op" and prev[1] != ":=" and before[0] == "number" and before[1].isdigit():
            facts.integer_uses.add(f"compares {_dotted(ref)} with an integer")
        # CAST(t.id AS int)
        if (
            _is_word(before, {"cast"})
            and prev == ("punct", "(")
            and _is_word(nxt, {"as"})
            and _is_word(typ, _INT_NAMES)
        ):
            facts.integer_uses.add(f"casts {_dotted(ref)} to {typ[1][0]}")


def _integer_operand(items: list[_Item], start: int) -> bool:
    """Is the operand starting at items[start] an integer literal or something ::integer?"""
    depth = 0
    operand: list[_Item] = []
    for item in items[start:]:
        if item == ("punct", "("):
            depth += 1
        elif item == ("punct", ")"):
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and (item[0] == "op" or item == ("punct", ",") or _is_word(item, _STOP)):
            break
        operand.append(item)
    if operand[:1] == [("punct", "-")]:
        operand = operand[1:]
    if len(operand) == 1 and operand[0][0] == "number":
        return bool(operand[0][1].isdigit())
    return len(operand) >= 2 and operand[-2][0] == "cast" and _is_word(operand[-1], _INT_NAMES)


def _declared(items: list[_Item], index: _Names, aliases: dict[str, list[TableName]]) -> list[str]:
    """Read PL/pgSQL DECLARE sections: return the smallint/integer/bigint variables, and record
    variables of a closure table's row type (v t; v t%ROWTYPE; v schema.t) in aliases."""
    integers: list[str] = []
    in_declare = expect_name = False
    for i, (kind, parts) in enumerate(items):
        if _is_word((kind, parts), {"declare"}):
            in_declare = expect_name = True
            continue
        if _is_word((kind, parts), {"begin"}):
            in_declare = expect_name = False
            continue
        if not in_declare:
            continue
        if (kind, parts) == ("punct", ";"):
            expect_name = True
            continue
        if not expect_name or kind != "name" or len(parts) != 1:
            continue
        expect_name = False
        j = i + 2 if _is_word(_at(items, i + 1), {"constant"}) else i + 1
        typ = _at(items, j)
        if typ[0] != "name":
            continue
        if _is_word(typ, _INT_NAMES):
            if _at(items, j + 1) != ("punct", "%"):
                integers.append(parts[0])
            continue
        # v schema.t, v t, v t%ROWTYPE, v schema.t%ROWTYPE: a row of that table
        found: list[TableName] = []
        if len(typ[1]) == 2:
            found = index.resolve(typ[1][0], typ[1][1])
        elif len(typ[1]) == 1:
            found = index.resolve(None, typ[1][0])
        if found:
            aliases.setdefault(parts[0], []).extend(found)
    return list(dict.fromkeys(integers))
