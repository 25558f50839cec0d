"""What stands in the way of converting a key: reasons PostgreSQL will refuse, what the plan
handles, and what may break later; and options the schema cannot take. Pure.

What needs the live server (privileges, the lock table's size) is in preflight.py."""

from __future__ import annotations

from collections.abc import Sequence

import sqlglot

from .dependents import (
    affected_objects,
    reading_context,
    record_view_problems,
    sequence_callers,
)
from .graph import Closure, Graph, Key, Node
from .model import Catalog, Index
from .ops import Options
from .problems import Problem, Severity
from .sqlcheck import examine_index

# PostgreSQL cuts longer identifiers to NAMEDATALEN - 1 bytes (with a NOTICE only).
NAME_BYTES = 63
# What --order-by can take milliseconds from (extract(epoch FROM ...)).
TIME_TYPES = frozenset({"timestamp", "timestamptz", "date"})


def key_problems(key: Key) -> list[Problem]:
    """Reasons a key cannot be converted at all."""
    column = key.column
    name = f"{key.table.qname}.{column.name}"
    if column.is_uuid:
        return [Problem(Severity.REFUSED, "key", name, "the key is already uuid")]
    if not (column.is_integer or column.is_text):
        return [
            Problem(Severity.REFUSED, "key", name, f"keys of type {column.type} are not supported")
        ]
    return []


def closure_problems(graph: Graph, closure: Closure) -> list[Problem]:
    """What PostgreSQL will refuse, what the plan handles, and what may break, for a closure."""
    catalog = graph.catalog
    problems: list[Problem] = []
    members = graph.members(closure.nodes)
    for node in members:
        column = catalog.column(*node)
        table = catalog.table(node[0])
        name = f"{table.qname}.{column.name}"
        if table.relkind == "f":
            problems.append(
                Problem(
                    Severity.BLOCKER,
                    "foreign table",
                    str(table.qname),
                    "a foreign table's column type cannot be changed remotely",
                )
            )
        if table.extension is not None:  # catalog: pg_depend 'e'; DROP EXTENSION owns it
            problems.append(
                Problem(
                    Severity.REFUSED,
                    "extension table",
                    name,
                    f"belongs to extension {table.extension}: uuidpk does not convert an "
                    "extension's tables",
                )
            )
        if column.identity:
            kind = "ALWAYS" if column.identity == "a" else "BY DEFAULT"
            problems.append(
                Problem(
                    Severity.HANDLED,
                    "identity",
                    name,
                    f"GENERATED {kind} AS IDENTITY is dropped; new rows get UUIDs",
                )
            )
        elif column.default_expr is not None and not table.is_partition:
            seq = catalog.sequence_of(*node)
            seq = seq if seq is not None and node in seq.used_by else None
            if seq is not None and seq.owner is None:
                problems.append(
                    Problem(
                        Severity.WARNING,
                        "sequence",
                        str(seq.qname),
                        "is not OWNED BY any column, so it is left in place after its default "
                        "is replaced (the application may call it)",
                    )
                )
            if seq is not None and "nextval(" in column.default_expr:
                problems.append(
                    Problem(
                        Severity.HANDLED,
                        "default",
                        name,
                        f"{column.default_expr} is replaced by a UUID default",
                    )
                )
            else:
                problems.append(
                    Problem(
                        Severity.BLOCKER,
                        "default",
                        name,
                        f"default {column.default_expr} cannot become a uuid",
                    )
                )
        if column.attnum in table.partition_key:
            problems.append(
                Problem(
                    Severity.REFUSED,
                    "partition key",
                    name,
                    "PostgreSQL cannot change the type of a partition key column",
                )
            )
        if column.generated:
            problems.append(
                Problem(
                    Severity.REFUSED,
                    "generated column",
                    name,
                    "a generated column cannot be converted",
                )
            )
        if column.is_uuid:
            problems.append(Problem(Severity.REFUSED, "column", name, "already uuid"))
        elif not (column.is_integer or column.is_text):
            problems.append(
                Problem(
                    Severity.REFUSED,
                    "column",
                    name,
                    f"columns of type {column.type} are not supported",
                )
            )
    affected = affected_objects(graph, [closure])
    problems.extend(affected.problems)
    problems.extend(_sequence_call_problems(graph, set(members)))
    problems.extend(record_view_problems(graph, [closure]))
    problems.extend(_index_problems(graph, closure, members))
    for table_oid in sorted({t for t, _ in members}):
        table = catalog.table(table_oid)
        if table.is_partitioned:
            problems.append(
                Problem(
                    Severity.HANDLED,
                    "partitioned table",
                    str(table.qname),
                    "converted through the parent; partitions follow",
                )
            )
    return problems


def _index_problems(
    graph: Graph, closure: Closure, members: list[tuple[int, int]]
) -> list[Problem]:
    """Partial and expression indexes over closure columns: PostgreSQL rebuilds them over the
    new type, and refuses (rolling back every rewritten table) when the expression compares a
    key with a number or does arithmetic on it."""
    catalog = graph.catalog
    member_set = set(members)
    context = None
    problems = []
    for index in (i for t in sorted({t for t, _ in members}) for i in catalog.indexes_of(t)):
        if not (index.is_partial or index.has_expressions) or not any(
            (index.table_oid, a) in member_set for a in index.used_columns
        ):
            continue
        context = context or reading_context(graph, [closure])
        table = catalog.table(index.table_oid)
        fatal = [
            f.text
            for f in examine_index(index.definition, context, (table.schema, table.name))
            if f.fatal
        ]
        if fatal:
            problems.append(
                Problem(
                    Severity.BLOCKER,
                    "index",
                    index.name,
                    "cannot be rebuilt over uuid: " + "; ".join(fatal) + ": " + index.definition,
                )
            )
            continue
        if _null_tests_only(catalog, index, member_set):
            continue
        problems.append(
            Problem(
                Severity.WARNING,
                "index",
                index.name,
                "its expression or predicate is rebuilt over uuid and must "
                "still make sense: " + index.definition,
            )
        )
    return problems


def _sequence_call_problems(graph: Graph, members: set[tuple[int, int]]) -> list[Problem]:
    """Functions that draw from a sequence the plan drops (one a converted column owns, identity
    included): PostgreSQL resolves the name when the function runs, so every call (every
    INSERT, for a trigger that assigns the key) fails afterwards."""
    problems = []
    for seq, functions in sequence_callers(graph):
        # The plan drops an owned sequence only when every column drawing from it converts;
        # otherwise it is disowned and the function keeps working.
        if seq.owner in members and all(
            u in members or graph.canon(u) in members for u in seq.used_by
        ):
            problems += [
                Problem(
                    Severity.WARNING,
                    "function",
                    function.signature,
                    f"calls nextval/currval/setval on {seq.qname}, which is dropped with the "
                    "integer key: every call fails afterwards (for a trigger that assigns the "
                    "key, every INSERT); rewrite it to leave the key to its new uuid default",
                )
                for function in functions
            ]
    return problems


def _null_tests_only(catalog: Catalog, index: Index, members: set[tuple[int, int]]) -> bool:
    """An index whose expressions do not read the converted columns, and whose predicate reads
    them only in IS [NOT] NULL tests (Django's `WHERE parent_id IS NULL` for the root rows of
    a tree): it means the same over uuid, so it is no reason to warn. Anything sqlglot cannot
    read still warns."""
    converted = {catalog.column(t, a).name for t, a in members if t == index.table_oid}
    try:
        expressions = (
            sqlglot.parse_one(f"SELECT {index.expressions}", read="postgres")
            if index.expressions
            else None
        )
        predicate = sqlglot.parse_one(index.predicate, read="postgres") if index.predicate else None
    except sqlglot.errors.ParseError:
        return False
    if index.has_expressions and expressions is None:
        return False
    if expressions is not None and any(
        c.name in converted for c in expressions.find_all(sqlglot.exp.Column)
    ):
        return False
    for column in predicate.find_all(sqlglot.exp.Column) if predicate is not None else ():
        parent = column.parent
        if column.name in converted and not (
            isinstance(parent, sqlglot.exp.Is) and isinstance(parent.expression, sqlglot.exp.Null)
        ):
            return False
    return True


def text_key_problem(key: Key) -> Problem | None:
    """A text or char key is usually a natural key (a country code, a SKU) whose values mean
    something: replacing them with uuids loses them. Converted only when asked (and then its
    old values are kept, see Options.kept_column)."""
    if not key.column.is_text:
        return None
    return Problem(
        Severity.REFUSED,
        "text key",
        f"{key.table.qname}.{key.column.name}",
        f"a {key.column.type} key is likely a natural key whose values would be replaced by "
        "uuids: convert it only with --allow-text-keys (its old values are then kept in a "
        "column, old_id unless --keep-old-id names another)",
    )


# -- options the schema cannot take ---------------------------------------------------------------
def option_problems(graph: Graph, roots: Sequence[Node], options: Options) -> list[Problem]:
    """Options that would make the plan fail half-way (or silently mean something else), found
    against the root tables they apply to: one problem per option and table."""
    catalog = graph.catalog
    problems: list[Problem] = []
    for root in roots:
        table = catalog.table(root[0])
        key = catalog.column(*root)
        kept = options.kept_column(key.is_text)
        if kept is not None and catalog.column_named(table.oid, kept) is not None:
            problems.append(
                Problem(
                    Severity.BLOCKER,
                    "option",
                    f"{table.qname}.{kept}",
                    f"--keep-old-id {kept}: {table.qname} already has a column {kept}; "
                    "name another (--keep-old-id COLUMN)",
                )
            )
        if options.order_by is None:
            continue
        order = catalog.column_named(table.oid, options.order_by)
        if order is None:
            # Not a blocker: with --all some roots have no creation time. Said, never silent;
            # planning refuses the option when no root at all has the column (a typo).
            problems.append(
                Problem(
                    Severity.WARNING,
                    "option",
                    f"{table.qname}.{options.order_by}",
                    f"--order-by {options.order_by}: root table {table.qname} has no such "
                    "column: its new values keep the old id order instead",
                )
            )
        elif order.type_schema != "pg_catalog" or order.type_name not in TIME_TYPES:
            problems.append(
                Problem(
                    Severity.BLOCKER,
                    "option",
                    f"{table.qname}.{options.order_by}",
                    f"--order-by {options.order_by}: is {order.type}, not a timestamp or date",
                )
            )
    return problems


def option_name_problems(options: Options) -> list[Problem]:
    """Names given as options that PostgreSQL would not keep as given."""
    if options.keep_old_id is None:
        return []
    return _name_problems("--keep-old-id", options.keep_old_id)


def _name_problems(option: str, name: str) -> list[Problem]:
    size = len(name.encode())
    if size <= NAME_BYTES:
        return []
    return [
        Problem(
            Severity.BLOCKER,
            "option",
            option,
            f"{option} {name}: {size} bytes; PostgreSQL cuts names to {NAME_BYTES} bytes, so "
            "the column would not be the one named",
        )
    ]
