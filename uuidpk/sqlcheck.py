"""Reading SQL the catalog hands back (views, policies, check constraints, trigger WHEN and
rule WHERE conditions, index expressions and predicates) to find the places where a converted
key is still treated as an integer.

What is found:
- a key compared with a number (or a list of them), used in arithmetic, or cast to an integer
  type: the expression cannot survive the conversion and the user must change it first;
- a key joined with an integer column that stays integer (no foreign key made it part of the
  closure): the join fails once the key is a uuid; the column probably holds the key's values
  (--soft-ref);
- two keys ordered against each other (CHECK (tag1 < tag2)): random UUIDs break the order;
- a key compared with something *else* cast to an integer (``id = current_setting(...)::integer``,
  PostGraphile's RLS idiom): the cast is retargeted to uuid, because after the conversion the
  value on the other side carries the new uuid; likewise the NULL::integer PostgreSQL stored for
  a bare NULL beside a key in a UNION becomes NULL::uuid;
- a column definition list (crosstab(...) AS ct(person_id integer)) over query text that reads
  a key: PostgreSQL keeps no dependency on query text.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from .model import INTEGER_NAMES

# sqlglot's types for PostgreSQL's integer names (TINYINT: what other dialects call int1).
INTEGER_TYPES = {exp.DataType.build(name, dialect="postgres").this for name in INTEGER_NAMES} | {
    exp.DataType.Type.TINYINT
}
ORDERINGS = (exp.GT, exp.GTE, exp.LT, exp.LTE)
COMPARISONS = (exp.EQ, exp.NEQ, *ORDERINGS)
ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)

# (schema, table, column) of every converted column.
ColumnName = tuple[str, str, str]
KeyColumns = Collection[ColumnName]


@dataclass(frozen=True)
class Finding:
    fatal: bool
    text: str
    # Fatal only while the new keys do not keep the old order: two converted columns compared
    # with < or > hold the same order afterwards when both derive from one key with --uuid v7
    # from the old ids.
    ordered: bool = False
    # A join with an integer column that has no foreign key: (that column, the table of the
    # key it is joined with). Evidence that the column holds the key's values.
    joined: tuple[ColumnName, tuple[str, str]] | None = None


@dataclass(frozen=True)
class Context:
    """What an expression is read against: the converted columns with the table of their
    closure's key (for the --soft-ref a join suggests), and the integer columns that stay
    integers (a join with one of those fails once the key is a uuid)."""

    keys: Mapping[ColumnName, tuple[str, str]]
    integers: Collection[ColumnName] = frozenset()


def _unwrap_up(node: exp.Expr) -> exp.Expr | None:
    parent = node.parent
    while isinstance(parent, exp.Paren):
        node, parent = parent, parent.parent
    return parent


def _unwrap(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _is_integer_cast(node: exp.Expr | None) -> bool:
    return isinstance(node, exp.Cast) and node.to.this in INTEGER_TYPES


def _aliases(tree: exp.Expr, default: tuple[str, str] | None) -> dict[str, tuple[str, str]]:
    aliases: dict[str, tuple[str, str]] = {}
    for table in tree.find_all(exp.Table):
        target = (table.db or "public", table.name)
        aliases[table.alias_or_name] = target
        aliases.setdefault(table.name, target)
    if default:
        aliases.setdefault(default[1], default)
        # A trigger's WHEN and a rule's WHERE name the rows of their table OLD and NEW.
        aliases.setdefault("old", default)
        aliases.setdefault("new", default)
    return aliases


class _Resolver:
    """Which table column a column reference in one statement names, when that is clear."""

    def __init__(self, tree: exp.Expr, default: tuple[str, str] | None) -> None:
        self.aliases = _aliases(tree, default)
        tables = set(self.aliases.values())
        self.only = next(iter(tables)) if len(tables) == 1 else default

    def resolve(self, column: exp.Column) -> ColumnName | None:
        owner = self.aliases.get(column.table) if column.table else self.only
        return None if owner is None else (owner[0], owner[1], column.name)


def _key_columns(
    tree: exp.Expr, keys: KeyColumns, default: tuple[str, str] | None
) -> list[exp.Column]:
    resolver = _Resolver(tree, default)
    return [c for c in tree.find_all(exp.Column) if resolver.resolve(c) in keys]


def _parse(text: str) -> exp.Expr | None:
    try:
        return sqlglot.parse_one(text, read="postgres")
    except SqlglotError:
        return None


def examine(
    sql_text: str,
    keys: KeyColumns | Context,
    table: tuple[str, str] | None = None,
) -> tuple[list[Finding], str | None]:
    """Findings in a query, or in a bare expression when `table` names the table it is on.

    Returns the findings and, when only retargetable casts were found, the rewritten text
    (a query, or the bare expression); None when nothing needs rewriting or it cannot be read.
    """
    context = keys if isinstance(keys, Context) else Context(dict.fromkeys(keys, ("", "")))
    wrapped = table is not None
    text = f"SELECT 1 FROM {table[0]}.{table[1]} WHERE {sql_text}" if table else sql_text
    tree = _parse(text)
    if tree is None:
        return [], None
    findings, rewritten = _check(tree, context, table)
    if not rewritten or any(f.fatal for f in findings):
        return findings, None
    if wrapped:
        where = tree.args.get("where")
        assert where is not None
        return findings, where.this.sql(dialect="postgres")
    return findings, tree.sql(dialect="postgres")


def examine_index(definition: str, context: Context, table: tuple[str, str]) -> list[Finding]:
    """Findings in an index's expressions and predicate (pg_get_indexdef): PostgreSQL rebuilds
    the index over the new type, and `WHERE type_id = 2` or `(build_id % 100)` stop it."""
    tree = _parse(definition)
    if tree is None:
        return []
    findings, _ = _check(tree, context, table)
    return findings


_TRIGGER_WHEN = re.compile(r" WHEN \((.*)\) EXECUTE (?:FUNCTION|PROCEDURE) ", re.S)
_RULE_WHERE = re.compile(r" WHERE (.*?) DO (?:INSTEAD |ALSO )?", re.S)


def condition_of(kind: str, definition: str) -> str | None:
    """A trigger's WHEN condition (pg_get_triggerdef) or a rule's WHERE (pg_get_ruledef)."""
    found = (_TRIGGER_WHEN if kind == "trigger" else _RULE_WHERE).search(definition)
    return found.group(1) if found else None


def _check(
    tree: exp.Expr, context: Context, default: tuple[str, str] | None
) -> tuple[list[Finding], bool]:
    keys = context.keys
    resolver = _Resolver(tree, default)
    columns = [c for c in tree.find_all(exp.Column) if resolver.resolve(c) in keys]
    findings: list[Finding] = []
    rewritten = False
    for column in columns:
        parent = _unwrap_up(column)
        name = column.sql(dialect="postgres")
        if _is_integer_cast(parent):
            findings.append(Finding(True, f"casts {name} to an integer type"))
        elif isinstance(parent, ARITHMETIC):
            findings.append(Finding(True, f"does arithmetic on {name}: {parent.sql('postgres')}"))
        elif isinstance(parent, COMPARISONS):
            other = _unwrap(
                parent.expression
                if parent.this is column or _unwrap(parent.this) is column
                else parent.this
            )
            found = _compared(column, other, parent, resolver, context)
            if found is not None:
                findings.append(found)
            elif _is_integer_cast(other):
                findings.append(
                    Finding(
                        False,
                        f"compares {name} with {other.sql('postgres')}: the cast becomes ::uuid",
                    )
                )
                other.set("to", exp.DataType.build("uuid"))
                rewritten = True
        elif isinstance(parent, exp.In) and any(
            isinstance(_unwrap(e), exp.Literal) for e in parent.expressions
        ):
            findings.append(Finding(True, f"compares {name} with a list of numbers"))
    for note in _retarget_set_nulls(tree, set(map(id, columns))):
        findings.append(Finding(False, note))
        rewritten = True
    return list(dict.fromkeys(findings)), rewritten


def _compared(
    column: exp.Column,
    other: exp.Expr,
    parent: exp.Expr,
    resolver: _Resolver,
    context: Context,
) -> Finding | None:
    """What comparing a converted column with `other` means after the conversion."""
    name = column.sql(dialect="postgres")
    if isinstance(other, exp.Literal) and not other.is_string:
        return Finding(True, f"compares {name} with the number {other.sql()}")
    if isinstance(other, exp.Any) and any(
        isinstance(_unwrap(e), exp.Literal) and not _unwrap(e).is_string
        for e in other.find_all(exp.Literal)
    ):
        return Finding(True, f"compares {name} with a list of numbers")
    if not isinstance(other, exp.Column):
        return None
    this = resolver.resolve(column)
    that = resolver.resolve(other)
    if that is None or this is None:
        return None
    if that in context.keys:
        if not isinstance(parent, ORDERINGS):
            return None  # both sides become uuid
        pair = sorted([name, other.sql(dialect="postgres")])
        same_key = context.keys[this] == context.keys[that]
        return Finding(
            True,
            f"orders {pair[0]} against {pair[1]}: random UUIDs do not keep the integer order"
            + (" (--uuid v7 from the old ids keeps it)" if same_key else ""),
            ordered=same_key,
        )
    if that in context.integers:
        target = ".".join(context.keys[this])
        return Finding(
            True,
            f"joins {name} with {'.'.join(that)}, an integer column with no foreign key, which "
            f"stays integer: if it holds these keys declare it (--soft-ref "
            f"{'.'.join(that)}={target})",
            joined=(that, context.keys[this]),
        )
    return None


def _retarget_set_nulls(tree: exp.Expr, key_columns: set[int]) -> list[str]:
    """In a UNION (INTERSECT, EXCEPT), PostgreSQL stores a bare NULL beside a key column as
    NULL::integer, and that branch no longer matches once the key is a uuid: the NULL is cast
    to uuid instead. Returns a note per NULL retargeted."""
    notes = []
    for union in tree.find_all(exp.SetOperation):
        if isinstance(union.parent, exp.SetOperation):
            continue  # the outermost one reads every branch
        branches = list(_branches(union))
        if any(not isinstance(b, exp.Select) for b in branches):
            continue
        width = min(len(b.expressions) for b in branches)
        for position in range(width):
            items = [_projected(b.expressions[position]) for b in branches]
            if not any(isinstance(i, exp.Column) and id(i) in key_columns for i in items):
                continue
            for item in items:
                if _is_integer_cast(item) and isinstance(item.this, exp.Null):
                    item.set("to", exp.DataType.build("uuid"))
                    notes.append(f"the NULL beside a key in {union.key.upper()} becomes NULL::uuid")
    return notes


def _branches(node: exp.Expr) -> list[exp.Expr]:
    if isinstance(node, exp.SetOperation):
        return _branches(node.this) + _branches(node.expression)
    return [_unwrap(node)]


def _projected(item: exp.Expr) -> exp.Expr:
    return _unwrap(item.this if isinstance(item, exp.Alias) else item)


def is_sign_check(expression: str, keys: KeyColumns, table: tuple[str, str]) -> bool:
    """A CHECK that only says a key is not negative (`col >= 0`, as Django writes for its
    PositiveIntegerField): it has no meaning for a uuid."""
    tree = _parse(f"SELECT 1 FROM {table[0]}.{table[1]} WHERE {expression}")
    if tree is None:
        return False
    where = tree.args.get("where")
    condition = _unwrap(where.this) if where is not None else None
    if not isinstance(condition, exp.GTE):
        return False
    left, right = _unwrap(condition.this), _unwrap(condition.expression)
    return (
        isinstance(left, exp.Column)
        and left in _key_columns(tree, keys, table)
        and isinstance(right, exp.Literal)
        and right.this == "0"
    )


_SPELLED = {"int": "integer"}  # as PostgreSQL spells the type sqlglot writes INT
# A column definition list with an integer column: `AS ct(person_id integer, ...)`.
_INTEGER_COLUMN_LIST = re.compile(r"\w\s*\(\s*\"?\w+\"?\s+(?:integer|bigint|smallint)\b")


def record_columns(definition: str) -> list[tuple[str, str, ColumnName]]:
    """Integer columns of a column definition list over a function that runs a query given as
    text (crosstab('SELECT person_id, ...') AS ct(person_id integer, ...)): PostgreSQL keeps
    no dependency on what that text reads, so the list still says integer after the
    conversion and the view fails when read. (alias column, its type, the column the query
    returns in that position) for each such column the query's text names plainly."""
    if _INTEGER_COLUMN_LIST.search(definition) is None:
        return []  # most views: no need to parse
    tree = _parse(definition)
    if tree is None:
        return []
    found = []
    for alias in tree.find_all(exp.TableAlias):
        defs = [c for c in alias.columns if isinstance(c, exp.ColumnDef)]
        table = alias.parent
        function = table.this if isinstance(table, exp.Table) else None
        if not defs or not isinstance(function, exp.Func):
            continue
        for text in function.find_all(exp.Literal):
            inner = _parse(text.this) if text.is_string else None
            if not isinstance(inner, exp.Select):
                continue
            resolver = _Resolver(inner, None)
            for position, item in enumerate(inner.expressions[: len(defs)]):
                column_def = defs[position]
                kind = column_def.args.get("kind")
                projected = _projected(item)
                if (
                    isinstance(kind, exp.DataType)
                    and kind.this in INTEGER_TYPES
                    and isinstance(projected, exp.Column)
                ):
                    source = resolver.resolve(projected)
                    if source is not None:
                        type_name = kind.sql("postgres").lower()
                        found.append((column_def.name, _SPELLED.get(type_name, type_name), source))
    return found
