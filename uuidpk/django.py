"""What uuidpk knows of Django's tables: where content types live. Pure (reads a Catalog)."""

from __future__ import annotations

from .model import Catalog, Table


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
