"""What uuidpk knows about Django databases: models, framework tables, migrations, generic
relations.

A database is a Django database when it has a django_content_type table. Then:
- every table of a model is named by a content type (app label, model); Django's default
  db_table is `<app_label>_<model>`, and the few framework models that differ are listed in
  django.KNOWN_DB_TABLES; tables no content type names (a custom db_table, auto-created
  many-to-many tables) are said to be unmatched;
- the tables of Django's own apps (django.contrib.*, and django_migrations) hold models whose
  field types the user cannot change: they stay out of --all, and naming one is refused;
- generic relations (a content type column beside an object id column) are found by
  themselves and converted with the keys their rows point at.

read_django() and find_generic_relations() query the database; the rest is pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

from . import templates
from .django import (
    ContentType,
    content_type_table,
    generic_rows,
    map_content_types,
    read_content_types,
)
from .errors import Refused
from .graph import Closure, Graph, Key
from .leftout import LeftOut, Reason
from .model import Catalog, Column, Table
from .ops import GenericReference
from .softrefs import GENERIC, soft_reference_suspects

Node = tuple[int, int]

# The app labels of the apps Django ships (django.contrib.*): their models are Django's.
FRAMEWORK_APPS = frozenset(
    {
        "admin",
        "admindocs",
        "auth",
        "contenttypes",
        "flatpages",
        "gis",
        "humanize",
        "messages",
        "postgres",
        "redirects",
        "sessions",
        "sitemaps",
        "sites",
        "staticfiles",
        "syndication",
    }
)
MIGRATIONS_TABLE = "django_migrations"


@dataclass(frozen=True)
class Model:
    """A Django model by its content type, and the table it lives in."""

    app_label: str
    model: str  # lower case, as in content types and in migrations' model_name

    def __str__(self) -> str:
        return f"{self.app_label}.{self.model}"


@dataclass(frozen=True)
class ManyToManyTable:
    """A table Django creates for a ManyToManyField without `through`: `<model table>_<field>`,
    an id and one foreign key to each side. Its model is the owner's field, not the user's."""

    owner: Model
    field: str


@dataclass(frozen=True)
class DjangoDatabase:
    content_types: tuple[ContentType, ...]
    models: dict[int, Model]  # table oid -> its model
    many_to_many: dict[int, ManyToManyTable]  # table oid -> auto-created m2m table
    framework: dict[int, str]  # table oid -> why it is Django's
    latest_migrations: dict[str, str]  # app label -> name of its latest applied migration
    content_type_table: int  # oid of django_content_type

    def model_of(self, table_oid: int) -> Model | None:
        return self.models.get(table_oid)

    def refusal(self, table: Table) -> str | None:
        """Why a table is Django's and not the user's to convert, or None."""
        return self.framework.get(table.oid)


def read_django(conn: psycopg.Connection, catalog: Catalog) -> DjangoDatabase | None:
    """Django's models, framework tables and migration history; None without django_content_type."""
    ct_table = content_type_table(catalog)
    if ct_table is None:
        return None
    content_types = read_content_types(conn, catalog)
    by_id = {ct.id: ct for ct in content_types}
    models: dict[int, Model] = {}
    for ct_id, oid in sorted(map_content_types(content_types, catalog).items()):
        if oid is not None and oid not in models:
            ct = by_id[ct_id]
            models[oid] = Model(ct.app_label, ct.model)
    many_to_many = _many_to_many_tables(catalog, models)
    framework: dict[int, str] = {}
    for oid, model in models.items():
        if model.app_label in FRAMEWORK_APPS:
            framework[oid] = _framework_reason(catalog.table(oid), model)
    for oid, m2m in many_to_many.items():
        if m2m.owner.app_label in FRAMEWORK_APPS:
            framework[oid] = (
                f"{catalog.table(oid).qname} is the many-to-many table of Django's "
                f"{m2m.owner}.{m2m.field}: its models are Django's, not yours to change"
            )
    migrations_table = _same_schema(catalog, ct_table, MIGRATIONS_TABLE)
    latest: dict[str, str] = {}
    if migrations_table is not None:
        framework[migrations_table.oid] = (
            f"{migrations_table.qname} is Django's migration history: never convert it"
        )
        query = templates.statement("catalog/django_migrations.sql").format(
            table=sql.Identifier(migrations_table.schema, migrations_table.name)
        )
        with conn.cursor() as cur:
            cur.execute(query)
            latest = {str(app): str(name) for app, name in cur.fetchall()}
    return DjangoDatabase(content_types, models, many_to_many, framework, latest, ct_table.oid)


def _framework_reason(table: Table, model: Model) -> str:
    if (model.app_label, model.model) == ("auth", "user"):
        return (
            f"{table.qname} is Django's own auth.User: its key type cannot change; a uuid key "
            "for users needs a custom user model (AUTH_USER_MODEL) in your app"
        )
    return (
        f"{table.qname} is the table of {model}, a model of Django's own "
        f"django.contrib.{model.app_label}: its field types are not yours to change"
    )


def _same_schema(catalog: Catalog, beside: Table, name: str) -> Table | None:
    found = [t for t in catalog.find_tables(beside.schema, name) if t.is_table]
    return found[0] if found else None


def _many_to_many_tables(catalog: Catalog, models: dict[int, Model]) -> dict[int, ManyToManyTable]:
    """Tables named `<model table>_<field>` with an id and two foreign keys, one of them to that
    model's table: Django's auto-created many-to-many tables (no content type names them). The
    longest model table name that fits wins (app_thing_part_tags: app_thing_part, field tags)."""
    owners = sorted(models, key=lambda oid: -len(catalog.table(oid).name))
    result: dict[int, ManyToManyTable] = {}
    for table in catalog.tables:
        if table.oid in models or not table.is_table or table.is_partition:
            continue
        fks = [c for c in catalog.constraints_of(table.oid) if c.kind == "f"]
        columns = catalog.columns_of(table.oid)
        if len(fks) != 2 or len(columns) != 3 or not any(c.name == "id" for c in columns):
            continue
        referenced = {fk.ref_table_oid for fk in fks}
        for oid in owners:
            owner = catalog.table(oid)
            prefix = owner.name + "_"
            if owner.schema == table.schema and table.name.startswith(prefix) and oid in referenced:
                result[table.oid] = ManyToManyTable(models[oid], table.name[len(prefix) :])
                break
    return result


# -- selection --------------------------------------------------------------------------------
def refuse_named(django: DjangoDatabase, graph: Graph, specs: Iterable[str]) -> None:
    """Refused, with the reason, when a --table names a table that is Django's."""
    for spec in specs:
        table = graph.find_table(spec)
        reason = django.refusal(table) or _auto_m2m_reason(django, table)
        if reason is not None:
            raise Refused(reason)


def _auto_m2m_reason(django: DjangoDatabase, table: Table) -> str | None:
    m2m = django.many_to_many.get(table.oid)
    if m2m is None:
        return None
    return (
        f"{table.qname} is the auto-created many-to-many table of {m2m.owner}.{m2m.field}: "
        "Django declares its id itself; convert the tables on either side instead"
    )


def users_keys(
    django: DjangoDatabase, graph: Graph, keys: Sequence[Key], named: Iterable[str]
) -> tuple[list[Key], list[LeftOut]]:
    """The keys that are the user's: --all leaves out Django's tables, auto-created
    many-to-many tables, and keys whose closure reaches a framework table's key (a model whose
    primary key is a one-to-one to auth.User). Named tables were checked by refuse_named; a
    named key whose closure reaches a framework key is refused here. Returns the keys, and the
    keys left out with the reason."""
    named_oids = {graph.find_table(spec).oid for spec in named}
    kept: list[Key] = []
    left: list[LeftOut] = []
    framework_keys = _framework_key_nodes(django, graph)
    for key in keys:
        oid = key.table.oid
        why = None
        if oid not in named_oids:
            why = django.refusal(key.table) or _auto_m2m_reason(django, key.table)
        if why is None:
            closure = graph.closure((key.table.oid, key.column.attnum))
            reached = [n for n in closure.nodes if n in framework_keys]
            if reached:
                framework_table = graph.catalog.table(reached[0][0])
                why = (
                    f"its key is tied by foreign keys to the key of {framework_table.qname}, "
                    "which is Django's"
                )
                if oid in named_oids:
                    raise Refused(f"{key.table.qname}: {why}")
        if why is None:
            kept.append(key)
        else:
            column = key.column
            left.append(LeftOut(key.table.qname, column.name, column.type, Reason.FRAMEWORK, why))
    return kept, left


def _framework_key_nodes(django: DjangoDatabase, graph: Graph) -> set[Node]:
    nodes: set[Node] = set()
    for oid in django.framework:
        pk = graph.primary_key(oid)
        if pk is not None and len(pk.columns) == 1:
            nodes.add(graph.canon((oid, pk.columns[0])))
    return nodes


# -- generic relations ------------------------------------------------------------------------
def find_generic_relations(
    conn: psycopg.Connection,
    django: DjangoDatabase,
    graph: Graph,
    closures: Sequence[Closure],
    every_key: bool,
    declared: Iterable[Node],
) -> tuple[list[GenericReference], list[str]]:
    """Every generic relation (content type + object id) whose rows point at a converted key,
    or, when every key of the user's is converted (--all), every generic relation on the
    user's tables. Text object ids keep the rows that point at tables left as they are (their
    values stay valid); integer ones cannot, and the planner says which table to add. Returns
    the relations and one line per relation for the user."""
    catalog = graph.catalog
    declared_nodes = set(declared)
    converted = _converted_tables(graph, closures)
    ct_names = {ct.id: f"{ct.app_label}.{ct.model}" for ct in django.content_types}
    mapping = map_content_types(django.content_types, catalog)
    everything = [graph.closure((k.table.oid, k.column.attnum)) for k in graph.all_keys()]
    found: list[GenericReference] = []
    notes: list[str] = []
    for suspect in soft_reference_suspects(catalog, graph, everything):
        node = (suspect.table_oid, suspect.attnum)
        if suspect.kind != GENERIC or node in declared_nodes:
            continue
        table = catalog.table(suspect.table_oid)
        column = catalog.column(*node)
        name = f"{table.qname}.{column.name}"
        if suspect.content_type_attnum is None:
            notes.append(f"generic relation {name}: its content type column is unclear: left")
            continue
        ct_column = catalog.column(table.oid, suspect.content_type_attnum).name
        rows = generic_rows(conn, table.qname, ct_column, column.name, mapping)
        hits = [r for r in rows if r[1] in converted]
        kept = [r for r in rows if r[1] not in converted]
        users_table = table.oid not in django.framework
        if not hits and not (every_key and users_table and column.is_integer):
            continue
        # Every content type of a converted table gets its case, with or without rows today:
        # rows written between generate and apply are converted too.
        used = {ct for ct, _, _ in rows}
        rows += [
            (ct, oid, 0)
            for ct, oid in sorted(mapping.items())
            if oid in converted and ct not in used
        ]
        rows.sort()
        if column.is_text:
            rows = [r for r in rows if r[1] in converted]
            if kept:
                left = ", ".join(ct_names.get(ct, str(ct)) for ct, _, _ in kept)
                notes.append(
                    f"generic relation {name} ({ct_column}): converted; "
                    f"{sum(n for _, _, n in kept)} row(s) pointing at {left} kept as they are"
                )
            else:
                notes.append(f"generic relation {name} ({ct_column}): converted, stays text")
        else:
            notes.append(f"generic relation {name} ({ct_column}): converted to uuid")
        found.append(GenericReference(node, ct_column, tuple(rows)))
    return found, notes


def _converted_tables(graph: Graph, closures: Sequence[Closure]) -> set[int]:
    """Tables whose own primary key is in one of the closures."""
    nodes = {n for c in closures for n in c.nodes}
    result = set()
    for table in graph.catalog.tables:
        pk = graph.primary_key(table.oid)
        if (
            pk is not None
            and len(pk.columns) == 1
            and graph.canon((table.oid, pk.columns[0])) in nodes
        ):
            result.add(table.oid)
    return result


def is_foreign_key_column(catalog: Catalog, column: Column) -> bool:
    return any(
        c.kind == "f" and column.attnum in c.columns
        for c in catalog.constraints_of(column.table_oid)
    )


# -- after the conversion ---------------------------------------------------------------------
def converted_keys(django: DjangoDatabase, graph: Graph) -> list[Key]:
    """The user's model keys that are uuid with a database default: converted ones. Django
    gives a UUIDField no database default (its default runs in Python), so a uuid key with
    gen_random_uuid() or uuidv7() behind it was converted (by uuidpk, or by hand)."""
    keys = []
    for oid in sorted(django.models):
        if oid in django.framework:
            continue
        pk = graph.primary_key(oid)
        if pk is None or len(pk.columns) != 1:
            continue
        column = graph.catalog.column(oid, pk.columns[0])
        if column.is_uuid and column.default_expr:
            keys.append(Key(graph.catalog.table(oid), column, pk))
    return keys


def uuid_object_ids(django: DjangoDatabase, graph: Graph) -> list[Node]:
    """uuid object id columns beside a content type column (object_id with content_type_id,
    <x>_id with <x>_type_id or <x>_content_type_id) on the user's tables: generic relations
    converted already."""
    catalog = graph.catalog
    found: list[Node] = []
    for table in sorted(catalog.tables, key=lambda t: (t.schema, t.name)):
        if table.oid in django.framework or not table.is_table or table.is_partition:
            continue
        ct_names = {
            catalog.column(table.oid, c.columns[0]).name
            for c in catalog.constraints_of(table.oid)
            if c.kind == "f"
            and c.ref_table_oid == django.content_type_table
            and len(c.columns) == 1
        }
        if not ct_names:
            continue
        for column in catalog.columns_of(table.oid):
            if not column.is_uuid or not column.name.endswith("_id"):
                continue
            stem = column.name[:-3]
            partners = {f"{stem}_type_id", f"{stem}_content_type_id"}
            if stem == "object":
                partners.add("content_type_id")
            if partners & ct_names:
                found.append((table.oid, column.attnum))
    return found
