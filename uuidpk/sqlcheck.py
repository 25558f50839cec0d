"""Reading SQL the catalog hands back (view, policy, check and index expressions) to find the
places where a converted key is still treated as an integer.

Two findings:
- a key compared with a number, used in arithmetic, or cast to an integer type: the expression
  cannot survive the conversion and the user must change it first;
- a key compared with something *else* cast to an integer (``id = current_setting(...)::integer``,
  PostGraphile's RLS idiom): the cast is retargeted to uuid, because after the conversion the
  value on the other side carries the new uuid.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from .model import INTEGER_NAMES

# sqlglot's types for PostgreSQL's integer names (TINYINT: what other dialects call int1).
INTEGER_TYPES = {exp.DataType.build(name, dialect="postgres").this for name in INTEGER_NAMES} | {
    exp.DataType.Type.TINYINT
}
COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)

# (schema, table, column) of every converted column.
KeyColumns = Collection[tuple[str, str, str]]


@dataclass(frozen=True)
class Finding:
    fatal: bool
    text: str


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
    return aliases


def _key_columns(
    tree: exp.Expr, keys: KeyColumns, default: tuple[str, str] | None
) -> list[exp.Column]:
    aliases = _aliases(tree, default)
    tables = {t for t in aliases.values()}
    found = []
    for column in tree.find_all(exp.Column):
        if column.table:
            owner = aliases.get(column.table)
            candidates = [owner] if owner else []
        else:
            candidates = list(tables) if len(tables) == 1 else ([default] if default else [])
        if any(c is not None and (c[0], c[1], column.name) in keys for c in candidates):
            found.append(column)
    return found


def _parse(text: str) -> exp.Expr | None:
    try:
        return sqlglot.parse_one(text, read="postgres")
    except SqlglotError:
        return None


def examine(
    sql_text: str, keys: KeyColumns, table: tuple[str, str] | None = None
) -> tuple[list[Finding], str | None]:
    """Findings in a query, or in a bare expression when `table` names the table it is on.

    Returns the findings and, when only retargetable casts were found, the rewritten text
    (a query, or the bare expression); None when nothing needs rewriting or it cannot be read.
    """
    wrapped = table is not None
    text = f"SELECT 1 FROM {table[0]}.{table[1]} WHERE {sql_text}" if table else sql_text
    tree = _parse(text)
    if tree is None:
        return [], None
    findings: list[Finding] = []
    rewritten = False
    for column in _key_columns(tree, keys, table):
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
            if isinstance(other, exp.Literal) and not other.is_string:
                findings.append(Finding(True, f"compares {name} with the number {other.sql()}"))
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
    if not rewritten or any(f.fatal for f in findings):
        return findings, None
    if wrapped:
        where = tree.args.get("where")
        assert where is not None
        return findings, where.this.sql(dialect="postgres")
    return findings, tree.sql(dialect="postgres")


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
