"""What uuidpk knows of Django's content types: where they live, which table each names, and
which a generic relation's rows use. read_content_types() and generic_targets() read the
database; the rest is pure. (djangodb.py builds on this: framework apps, models, migrations
and the generic relations of a Django database.)"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from . import templates
from .model import Catalog, QualifiedName, Table


def content_type_relations(catalog: Catalog) -> list[Table]:
    """Every relation named django_content_type with app_label and model columns, public's
    first (views included: what a generic relation's content type column may point at)."""
    found = [
        t
        for t in catalog.find_tables(None, "django_content_type")
        if {"app_label", "model"} <= {c.name for c in catalog.columns_of(t.oid)}
    ]
    return sorted(found, key=lambda t: (t.schema != "public", t.schema))


def content_type_table(catalog: Catalog) -> Table | None:
    """The django_content_type table (id, app_label, model), public's first; None without Django."""
    for table in content_type_relations(catalog):
        usable = table.is_table and not table.is_partition
        if usable and "id" in {c.name for c in catalog.columns_of(table.oid)}:
            return table
    return None


# -- content types --------------------------------------------------------------------------
@dataclass(frozen=True)
class ContentType:
    id: int
    app_label: str
    model: str


def read_content_types(conn: psycopg.Connection, catalog: Catalog) -> tuple[ContentType, ...]:
    """Django's content types, or () when the catalog shows no django_content_type table."""
    table = content_type_table(catalog)
    if table is None:
        return ()
    query = templates.statement("catalog/content_types.sql").format(
        table=sql.Identifier(table.schema, table.name)
    )
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query)
        return tuple(ContentType(int(r["id"]), r["app_label"], r["model"]) for r in cur)


# Models whose db_table is not Django's default {app_label}_{model}, in Django itself and in
# python-social-auth (which NetBox and many others install).
KNOWN_DB_TABLES = {
    ("admin", "logentry"): "django_admin_log",
    ("contenttypes", "contenttype"): "django_content_type",
    ("sessions", "session"): "django_session",
    ("sites", "site"): "django_site",
    ("redirects", "redirect"): "django_redirect",
    ("flatpages", "flatpage"): "django_flatpage",
    ("social_django", "association"): "social_auth_association",
    ("social_django", "code"): "social_auth_code",
    ("social_django", "nonce"): "social_auth_nonce",
    ("social_django", "usersocialauth"): "social_auth_usersocialauth",
    ("social_django", "partial"): "social_auth_partial",
}


def map_content_types(rows: Iterable[ContentType], catalog: Catalog) -> dict[int, int | None]:
    """Content type id -> oid of the table `{app_label}_{model}` (Django's default db_table,
    or KNOWN_DB_TABLES), matched exactly (Django lowercases both), in public first, else the
    first schema by name. None for other custom db_tables, proxies, and models that are gone."""
    tables: dict[str, list[Table]] = {}
    for table in catalog.tables:
        if table.is_table and not table.is_partition:
            tables.setdefault(table.name, []).append(table)
    result: dict[int, int | None] = {}
    for ct in rows:
        name = KNOWN_DB_TABLES.get((ct.app_label, ct.model), f"{ct.app_label}_{ct.model}")
        found = sorted(
            tables.get(name, []),
            key=lambda t: (t.schema != "public", t.schema),
        )
        result[ct.id] = found[0].oid if found else None
    return result


def generic_targets(
    conn: psycopg.Connection,
    table: QualifiedName,
    content_type_column: str,
    object_column: str,
) -> dict[int, int]:
    """{content type id: rows} actually used by a generic relation: one GROUP BY, read-only."""
    query = templates.statement("catalog/soft_reference_values.sql").format(
        table=sql.Identifier(table.schema, table.name),
        content_type=sql.Identifier(content_type_column),
        object=sql.Identifier(object_column),
    )
    with conn.cursor() as cur:
        cur.execute(query)
        return {int(ct): int(n) for ct, n in cur.fetchall()}


def generic_rows(
    conn: psycopg.Connection,
    table: QualifiedName,
    content_type_column: str,
    object_column: str,
    content_types: Mapping[int, int | None],
) -> list[tuple[int, int | None, int]]:
    """(content type id, target table oid or None, rows) for each content type a generic
    relation's rows use, by content type id: what a GenericReference carries."""
    usage = generic_targets(conn, table, content_type_column, object_column)
    return [(ct, content_types.get(ct), rows) for ct, rows in sorted(usage.items())]


def generic_usage_by_table(
    usage: Mapping[int, int], content_types: Mapping[int, int | None]
) -> dict[int | None, int]:
    """Rows per target table oid (None: content types that map to no table)."""
    result: dict[int | None, int] = {}
    for ct, rows in usage.items():
        target = content_types.get(ct)
        result[target] = result.get(target, 0) + rows
    return result
