"""Soft references and ordering: what the catalog cannot prove.

- Soft references: columns that hold a key's values without a foreign key (Django generic
  relations, `*_id` columns nobody constrained, ids in JSON or arrays). These functions name the
  suspects; `--soft-ref` converts the ones the user declares.
- Ordering: rows ordered by the old integer key lose their creation order with random UUIDs.

table_is_empty() reads the database; everything else is pure. What Django's content types
are and how they map to tables is in django.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from . import templates
from .dependents import affected_objects
from .django import content_type_relations
from .functions import closure_members
from .model import INTEGER_WIDTHS as _WIDTHS
from .model import Catalog, Column, QualifiedName, Table

if TYPE_CHECKING:  # graph.py may come to import this module: no import cycle at run time
    from .graph import Closure, Graph

Node = tuple[int, int]


# -- reading rows ----------------------------------------------------------------------------
def table_is_empty(conn: psycopg.Connection, table: QualifiedName) -> bool:
    """True when the table holds no row (read, not estimated: statistics may be stale)."""
    query = templates.statement("catalog/table_is_empty.sql").format(
        table=sql.Identifier(table.schema, table.name)
    )
    row = conn.execute(query).fetchone()
    return bool(row and row[0])


# -- soft references ------------------------------------------------------------------------
GENERIC = "generic"
JOIN = "join"  # a view, policy or rule joins it with a key: evidence, not a guess
COLUMN = "column"
JSON = "json"
ARRAY = "array"


@dataclass(frozen=True)
class SoftRef:
    """A column that may hold values of a key without a foreign key saying so."""

    table_oid: int
    attnum: int
    target_oid: int | None  # the table whose key it seems to hold; None when unknown or many
    kind: str  # generic, column, json, array
    reason: str
    content_type_attnum: int | None = None  # generic: the column naming the content type


def soft_reference_suspects(
    catalog: Catalog, graph: Graph, closures: Iterable[Closure]
) -> list[SoftRef]:
    """Columns that look like they hold key values but have no FK.

    generic: integer (or paired text) `*_id`/`*_pk` columns of a table with an FK to
    django_content_type (Django's GenericForeignKey: content_type_id + object_id, or NetBox's
    `<x>_type_id` + `<x>_id`); their targets depend on the data (see generic_targets).
    join: integer columns a view, policy or rule joins with a closure's key (the join fails
    once the key is a uuid): evidence, whatever the column is called.
    column: integer `<stem>_id` columns where <stem> names a table whose key is in a closure.
    json / array: json/jsonb and integer-array columns named like `<stem>_ids`: a guess.
    Each column is listed once, with the best evidence. Columns in a closure, with a foreign
    key, or referenced by one are never listed.
    """
    closures = list(closures)
    members = closure_members(graph, closures)
    fk_columns: set[Node] = set()
    referenced: set[Node] = set()
    for con in catalog.constraints:
        if con.kind == "f" and con.ref_table_oid is not None:
            fk_columns.update(graph.canon((con.table_oid, a)) for a in con.columns)
            referenced.update(graph.canon((con.ref_table_oid, a)) for a in con.ref_columns)

    def excluded(column: Column) -> bool:
        node = (column.table_oid, column.attnum)
        canon = graph.canon(node)
        return node in members or canon in members or canon in fk_columns or canon in referenced

    targets = _key_targets(graph, closures)
    joined = _joined_columns(graph, closures)
    ct_tables = _content_type_tables(catalog, graph)
    ct_references: dict[int, list[int]] = {}  # table oid -> its single-column FKs to those
    for con in catalog.constraints:
        if con.kind == "f" and con.ref_table_oid in ct_tables and len(con.columns) == 1:
            ct_references.setdefault(con.table_oid, []).append(con.columns[0])
    found: list[SoftRef] = []
    for table in sorted(catalog.tables, key=lambda t: (t.schema, t.name)):
        if table.relkind not in ("r", "p", "f") or table.is_partition or table.oid in ct_tables:
            continue
        columns = catalog.columns_of(table.oid)
        ct_columns = {
            attnum: catalog.column(table.oid, attnum).name
            for attnum in ct_references.get(table.oid, ())
        }
        generic = _generic_columns(table, columns, ct_columns, excluded)
        found += generic
        taken = {s.attnum for s in generic}
        for column in columns:
            if column.attnum in taken or excluded(column):
                continue
            join = joined.get((table.oid, column.attnum))
            if join is not None:
                target, where = join
                found.append(
                    SoftRef(
                        table.oid,
                        column.attnum,
                        target.oid,
                        JOIN,
                        f"{where} joins {table.qname}.{column.name} ({column.type}) with the key "
                        f"of {target.qname}, but it has no FK: it holds those ids and stays "
                        "integer",
                    )
                )
                continue
            found += _named_reference(table, column, targets)
    return found


def _joined_columns(graph: Graph, closures: Sequence[Closure]) -> dict[Node, tuple[Table, str]]:
    """Integer columns without an FK that views, policies or rules join with a closure's key:
    the key's table and the object that joins them (dependents reads their SQL)."""
    catalog = graph.catalog
    result: dict[Node, tuple[Table, str]] = {}
    for closure in closures:
        for (schema, name, column_name), key_table, where in affected_objects(
            graph, [closure]
        ).joins:
            tables = catalog.find_tables(schema, name)
            targets = catalog.find_tables(*key_table)
            column = catalog.column_named(tables[0].oid, column_name) if tables else None
            if column is not None and targets:
                result.setdefault((column.table_oid, column.attnum), (targets[0], where))
    return result


def _key_targets(graph: Graph, closures: Sequence[Closure]) -> dict[int, tuple[Table, Column]]:
    """Tables whose own single-column primary key is in one of the closures, with that key."""
    result: dict[int, tuple[Table, Column]] = {}
    for closure in closures:
        for table_oid, attnum in closure.nodes:
            pk = graph.primary_key(table_oid)
            if pk is not None and pk.columns == (attnum,):
                catalog = graph.catalog
                result[table_oid] = (catalog.table(table_oid), catalog.column(table_oid, attnum))
    return result


def _content_type_tables(catalog: Catalog, graph: Graph) -> set[int]:
    """django_content_type, and tables whose primary key references it (multi-table
    inheritance children, e.g. a model subclassing ContentType)."""
    result = {t.oid for t in content_type_relations(catalog)}
    grew = True
    while grew:
        grew = False
        for con in catalog.constraints:
            if con.kind != "f" or con.ref_table_oid not in result or con.table_oid in result:
                continue
            pk = graph.primary_key(con.table_oid)
            if pk is not None and pk.columns == con.columns:
                result.add(con.table_oid)
                grew = True
    return result


def _generic_columns(
    table: Table,
    columns: list[Column],
    ct_columns: Mapping[int, str],
    excluded: Callable[[Column], bool],
) -> list[SoftRef]:
    """Object-id columns of a table with foreign keys to content types (ct_columns)."""
    if not ct_columns:
        return []
    names = {c.name for c in columns}
    result = []
    for column in columns:
        name = column.name
        lowered = name.lower()
        if column.attnum in ct_columns or not lowered.endswith(("_id", "_pk")) or excluded(column):
            continue
        if not (column.is_integer or column.is_text):
            continue
        if name == "tree_id" and {"lft", "rght", "level"} <= names:
            continue  # django-mptt's tree number
        stem = lowered[:-3]
        paired = _pair_content_type(stem, ct_columns)
        if paired is None and column.is_text:
            continue  # a text *_id column only counts when its content-type column is clear
        if paired is None and len(ct_columns) == 1:
            ct_attnum: int | None = next(iter(ct_columns))
            how = f"the only content-type column {ct_columns[next(iter(ct_columns))]}"
        elif paired is None:
            ct_attnum = None
            how = "one of the content-type columns " + ", ".join(sorted(ct_columns.values()))
        else:
            ct_attnum = paired
            how = ct_columns[paired]
        result.append(
            SoftRef(
                table_oid=table.oid,
                attnum=column.attnum,
                target_oid=None,
                kind=GENERIC,
                reason=(
                    f"generic relation: {table.qname}.{name} ({column.type}) holds ids of "
                    f"whichever table {how} names, with no FK: converted keys leave these "
                    "pointing at nothing"
                ),
                content_type_attnum=ct_attnum,
            )
        )
    return result


def _pair_content_type(stem: str, ct_columns: Mapping[int, str]) -> int | None:
    """The content-type column that goes with object column <stem>_id by naming convention."""
    wanted = [f"{stem}_type_id", f"{stem}_content_type_id", f"{stem}_ct_id", f"{stem}_type"]
    if stem in ("object", "obj", "content_object", "object_pk", "target", "item"):
        wanted.append("content_type_id")
    by_name = {name.lower(): attnum for attnum, name in ct_columns.items()}
    for name in wanted:
        if name in by_name:
            return by_name[name]
    return None


def _named_reference(
    table: Table, column: Column, targets: Mapping[int, tuple[Table, Column]]
) -> list[SoftRef]:
    name = column.name.lower()
    type_name = column.type_name if column.type_schema == "pg_catalog" else ""
    if column.is_integer and name.endswith("_id"):
        kind, stem = COLUMN, name[:-3]
    elif type_name in ("json", "jsonb") and _names_ids(name):
        kind, stem = JSON, _ids_stem(name)
    elif type_name in ("_int2", "_int4", "_int8") and _names_ids(name):
        kind, stem = ARRAY, _ids_stem(name)
    else:
        return []
    candidates = _match_tables(stem, table, targets) if stem else []
    if kind == COLUMN:
        # A reference nobody constrained is still declared with the key's type, or wider; a
        # narrower integer is more often a number of its own (a VRRP group, a port).
        matches = [t for t, key in candidates if _width(column) >= _width(key)]
    else:
        matches = [t for t, _ in candidates]
    where = f"{table.qname}.{column.name} ({column.type})"
    if len(matches) > 1:
        # One column, said once: `project_id` beside many `*_projects` tables is one guess.
        names = ", ".join(str(t.qname) for t in matches[:3])
        more = f" and {len(matches) - 3} more" if len(matches) > 3 else ""
        what = {COLUMN: "a reference", JSON: "JSON with ids", ARRAY: "an array of ids"}[kind]
        return [
            SoftRef(
                table.oid,
                column.attnum,
                None,
                kind,
                f"{where} is named like {what} to one of {names}{more} (a guess from the "
                "name) but has no FK: if it holds their ids they stay integers",
            )
        ]
    if kind == COLUMN:
        return [
            SoftRef(
                table.oid,
                column.attnum,
                target.oid,
                COLUMN,
                f"{where} is named like a reference to {target.qname} but has no FK: if it "
                "holds its ids they stay integers",
            )
            for target in matches
        ]
    what = "JSON" if kind == JSON else "an integer array"
    if not matches:
        return [
            SoftRef(
                table.oid,
                column.attnum,
                None,
                kind,
                f"{where} is {what} named like a list of ids (a guess from the name): ids inside "
                "it are not converted",
            )
        ]
    return [
        SoftRef(
            table.oid,
            column.attnum,
            target.oid,
            kind,
            f"{where} is {what} named like a list of {target.qname} ids (a guess from the "
            "name): ids inside it stay integers",
        )
        for target in matches
    ]


def _names_ids(name: str) -> bool:
    return name == "ids" or name.endswith("_ids") or "_ids_" in name


def _ids_stem(name: str) -> str:
    if name.endswith("_ids"):
        return name[:-4]
    return ""


def _plurals(stem: str) -> set[str]:
    forms = {stem + "s", stem + "es"}
    if stem.endswith("y"):
        forms.add(stem[:-1] + "ies")
    return forms


def _width(column: Column) -> int:
    return _WIDTHS.get(column.type_name, 8) if column.is_integer else 8


def _match_tables(
    stem: str, table: Table, targets: Mapping[int, tuple[Table, Column]]
) -> list[tuple[Table, Column]]:
    """Closure key tables whose name fits <stem>: exact, plural, or Django's app_model (an app
    prefix, preferring the referencing table's own app). Best rank only; ties all count. The
    table itself never matches: tunnel.tunnel_id or order.order_id is a number of its own (a
    business id), not a self reference, which would be called parent_id or the like."""
    app = table.name.lower().split("_", 1)[0] + "_" if "_" in table.name else None
    ranked: list[tuple[float, str, str, tuple[Table, Column]]] = []
    for target, key in targets.values():
        if target.oid == table.oid:
            continue
        name = target.name.lower()
        rank: float | None = None
        if name == stem:
            rank = 0
        elif name in _plurals(stem):
            rank = 1
        elif name.endswith("_" + stem) and len(name) > len(stem) + 1:
            rank = 1.5 if app is not None and name == app + stem else 2
        elif any(name.endswith("_" + p) for p in _plurals(stem)):
            rank = 3
        if rank is not None:
            ranked.append((rank, target.schema, target.name, (target, key)))
    if not ranked:
        return []
    best = min(r[0] for r in ranked)
    return [r[3] for r in sorted(ranked, key=lambda r: r[:3]) if r[0] == best]


# -- ordering -------------------------------------------------------------------------------
_CREATION_NAMES = (
    "created_at", "created", "date_created", "created_on", "creation_date", "created_date",
    "inserted_at", "insert_date", "date_added", "added_at", "date_joined", "timestamp",
    "create_time", "created_time", "creation_time", "createdat", "ctime",
)  # fmt: skip
_TIME_TYPES = frozenset({"timestamp", "timestamptz", "date"})


def ordering_hints(catalog: Catalog, key_table: Table) -> list[str]:
    """What to order by once the key is a random uuid: creation timestamps on the key table."""
    pk = next((c for c in catalog.constraints_of(key_table.oid) if c.kind == "p"), None)
    key = (
        catalog.column(key_table.oid, pk.columns[0]).name
        if pk is not None and len(pk.columns) == 1
        else "the key"
    )
    hints = [
        f"ORDER BY {key} on {key_table.qname} (latest first, keyset pagination) stops "
        "following insertion order: new keys are random unless --uuid v7 is used"
    ]
    candidates = []
    for column in catalog.columns_of(key_table.oid):
        if column.type_schema != "pg_catalog" or column.type_name not in _TIME_TYPES:
            continue
        name = column.name.lower()
        if name in _CREATION_NAMES:
            rank = _CREATION_NAMES.index(name)
        elif "creat" in name or "insert" in name:
            rank = len(_CREATION_NAMES)
        else:
            continue
        candidates.append((rank, column.attnum, column))
    leading = {
        i.key_columns[0]
        for i in catalog.indexes_of(key_table.oid)
        if i.key_columns and not i.is_partial
    }
    for _, _, column in sorted(candidates, key=lambda c: (c[0], c[1])):
        facts = [column.type]
        if column.not_null:
            facts.append("not null")
        facts.append("indexed" if column.attnum in leading else "not indexed")
        hints.append(
            f"{key_table.qname}.{column.name} ({', '.join(facts)}) can order rows by creation "
            f"instead of {key}, or time the new keys: --uuid v7 --order-by {column.name}"
        )
    if not candidates:
        hints.append(
            f"{key_table.qname} has no creation timestamp column: --uuid v7 keeps the old "
            f"{key} order in the new keys"
        )
    return hints
