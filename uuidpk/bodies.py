"""Function bodies: which closure tables and columns a body uses, and where it casts or
compares one of those columns with an integer. LANGUAGE sql bodies are parsed with sqlglot;
PL/pgSQL, other languages and SQL sqlglot cannot read get an identifier scan. Pure: the bodies
come from the catalog read (uuidpk.model.Function).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp

from .model import INTEGER_NAMES as _INT_NAMES
from .model import Function

TableName = tuple[str, str]  # (schema, table)


def dotted(parts: Sequence[str]) -> str:
    return ".".join(p for p in parts if p)


class ClosureNames:
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
        """Does any closure table's name appear in the text at all (case-insensitively)? A
        name with a double quote in it is written with the quote doubled."""
        lowered = code.lower()
        return any(
            name.lower() in lowered or name.lower().replace('"', '""') in lowered
            for name in self.by_name
        )

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


def analyse_body(function: Function, index: ClosureNames) -> BodyFacts:
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


def _tables_of(
    node: exp.Expression, index: ClosureNames
) -> list[tuple[exp.Table, list[TableName]]]:
    return _resolved_tables(node.find_all(exp.Table), index)


def _resolved_tables(
    tables: Iterable[exp.Table], index: ClosureNames
) -> list[tuple[exp.Table, list[TableName]]]:
    found = []
    for table in tables:
        names = index.resolve(_ident(table.args.get("db")), _ident(table.this) or "")
        if names:
            found.append((table, names))
    return found


# A body is analysed once per closure that it may concern (inspect --all: a trigger function
# of a table in many closures, thousands of times), but parsed or tokenized once: the syntax
# trees and token lists below are only read. Bounded, for a long-lived process of the API.
@dataclass(frozen=True)
class _Statement:
    """One parsed statement and its nodes of the kinds the analysis looks at, found once."""

    tables: tuple[exp.Table, ...]
    columns: tuple[exp.Column, ...]
    casts: tuple[exp.Cast, ...]
    comparisons: tuple[exp.Expression, ...]

    @classmethod
    def of(cls, statement: exp.Expression) -> _Statement:
        return cls(
            tuple(statement.find_all(exp.Table)),
            tuple(statement.find_all(exp.Column)),
            tuple(statement.find_all(exp.Cast)),
            tuple(statement.find_all(*_COMPARISONS, exp.In, exp.Between)),
        )


@functools.lru_cache(maxsize=8192)
def _statements(code: str) -> tuple[_Statement, ...] | None:
    """sqlglot's statements of a LANGUAGE sql body, None when it cannot read all of them."""
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
    return tuple(_Statement.of(s) for s in statements if isinstance(s, exp.Expression))


def _parse_sql(
    code: str, index: ClosureNames, params: Mapping[str, list[TableName]]
) -> BodyFacts | None:
    statements = _statements(code)
    if statements is None:
        return None
    facts = BodyFacts(parsed=True)
    for statement in statements:
        aliases: dict[str, list[TableName]] = {k: list(v) for k, v in params.items()}
        for table, names in _resolved_tables(statement.tables, index):
            facts.tables.update(names)
            alias = table.args.get("alias")
            alias_name = _ident(alias.this) if isinstance(alias, exp.TableAlias) else None
            aliases.setdefault(alias_name or _ident(table.this) or "", []).extend(names)
        resolved: dict[int, tuple[str, str, str]] = {}
        for column in statement.columns:
            hit = _resolve_column(column, aliases, index)
            if hit is not None:
                facts.columns.add(hit)
                resolved[id(column)] = hit
        for cast in statement.casts:
            if cast.to.this in _INT_TYPES:
                for column in cast.this.find_all(exp.Column):
                    if id(column) in resolved:
                        facts.integer_uses.add(
                            f"casts {dotted(resolved[id(column)])} to "
                            f"{cast.to.sql('postgres').lower()}"
                        )
        for cmp in statement.comparisons:
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
                facts.integer_uses.add(f"compares {dotted(columns[0])} with an integer")
    return facts


def _resolve_column(
    column: exp.Column, aliases: Mapping[str, list[TableName]], index: ClosureNames
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
    code: str, index: ClosureNames, params: Mapping[str, list[TableName]], *, sql_like: bool
) -> BodyFacts:
    """Find closure tables and columns by their identifiers, statement by statement.

    A table counts when it is schema-qualified, follows FROM/JOIN/UPDATE/INTO/TABLE/ONLY, or is
    typed with %ROWTYPE; a column counts as table.column (table, alias, or a variable or
    argument of the table's row type), schema.table.column, or bare inside a statement that
    names its table. Dynamic SQL in string literals is scanned as code.
    """
    facts = BodyFacts()
    items, statements = _scanned(code, sql_like)
    aliases: dict[str, list[TableName]] = {k: list(v) for k, v in params.items()}
    if sql_like:
        facts.integer_variables = _declared(items, index, aliases)
    for statement in statements:
        _scan_statement(statement, index, aliases, facts)
    return facts


@functools.lru_cache(maxsize=8192)
def _scanned(code: str, sql_like: bool) -> tuple[tuple[_Item, ...], tuple[tuple[_Item, ...], ...]]:
    """The body's items, and the same split into statements at each semicolon."""
    if sql_like:
        text = _strip_sql_comments(code)
    else:  # PL/Python, PL/Perl, PL/v8...: their strings hold the SQL
        text = re.sub(r"[\"'`]", " ", code)
    items = tuple(_items(text))
    statements: list[tuple[_Item, ...]] = []
    statement: list[_Item] = []
    for item in (*items, ("punct", ";")):
        if item == ("punct", ";"):
            statements.append(tuple(statement))
            statement = []
        else:
            statement.append(item)
    return items, tuple(statements)


def _scan_statement(
    items: Sequence[_Item],
    index: ClosureNames,
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
            facts.integer_uses.add(f"casts {dotted(ref)} to {typ[1][0]}")
        if nxt[0] == "op" and nxt[1] != ":=" and _integer_operand(items, i + 2):
            facts.integer_uses.add(f"compares {dotted(ref)} with an integer")
        prev, before = _at(items, i - 1), _at(items, i - 2)
        if prev[0] == "op" and prev[1] != ":=" and before[0] == "number" and before[1].isdigit():
            facts.integer_uses.add(f"compares {dotted(ref)} with an integer")
        # CAST(t.id AS int)
        if (
            _is_word(before, {"cast"})
            and prev == ("punct", "(")
            and _is_word(nxt, {"as"})
            and _is_word(typ, _INT_NAMES)
        ):
            facts.integer_uses.add(f"casts {dotted(ref)} to {typ[1][0]}")


def _integer_operand(items: Sequence[_Item], start: int) -> bool:
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


def _declared(
    items: Sequence[_Item], index: ClosureNames, aliases: dict[str, list[TableName]]
) -> list[str]:
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
