"""The conversion as a Django migration module.

Django keeps two pictures of a schema: the database, and the "state" its migrations build.
The conversion's SQL changes the database (RunSQL); the state must then say what the models
will say once the user has changed them, or `makemigrations` writes a migration of its own that
alters the columns a second time. SeparateDatabaseAndState carries both halves.

What the state needs (Django's source, db/models/fields/related.py): a ForeignKey or
OneToOneField has no column type of its own: `rel_db_type()` is the target field's, so when
the target's key becomes a UUIDField every foreign key, one-to-one, self reference and
auto-created many-to-many table column follows without any AlterField. What does need one:
- each converted primary key: UUIDField(primary_key=True, default=uuid.uuid4, editable=False);
- each generic relation's integer object id (PositiveIntegerField or the like): it now holds
  uuids, so it becomes a UUIDField; a text object id (CharField/TextField) stays as it is;
- each column declared with --soft-ref that has no foreign key: a UUIDField.

An operation acts on the models of the app whose migration holds it (AlterField has no app
label), so one module carries the RunSQL and the state of one app; every other app whose models
change gets a state-only module (--state-only --app) that depends on it.

Every catalog text (table, column, app and model names) reaches the module through repr() in
code and through safe_text.for_comment in comments: names may hold quotes and newlines.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from ..djangodb import DjangoDatabase, Model
from ..errors import Refused
from ..model import Catalog, Column
from ..safe_text import for_comment

Node = tuple[int, int]

PK_LINE = "models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)"
# What makemigrations writes for that line: Options.setup_pk() sets serialize=False on a
# primary key, and deconstruct() lists keyword arguments sorted.
PK_STATE = "models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)"
DEFAULT_NAME = "uuid_keys"


@dataclass(frozen=True)
class FieldChange:
    """One model field the user changes, and the AlterField that records it."""

    model: Model
    table: str  # schema.table, for people
    field: str
    line: str  # what the user writes in models.py, after `field = `
    state: str  # the field as the AlterField gives it
    why: str


@dataclass(frozen=True)
class DjangoChanges:
    changes: tuple[FieldChange, ...]
    apps: tuple[str, ...]  # apps whose tables the conversion touches, with migrations
    unmatched: tuple[str, ...]  # what no content type names: the user's to change by hand
    notes: tuple[str, ...]  # text object ids and other things that need no change


def field_changes(
    django: DjangoDatabase,
    catalog: Catalog,
    closures_nodes: Sequence[Node],
    generic_columns: Sequence[Node],
) -> DjangoChanges:
    """The field changes the converted columns call for, model by model."""
    fk_columns = {(c.table_oid, a) for c in catalog.constraints if c.kind == "f" for a in c.columns}
    changes: list[FieldChange] = []
    unmatched: list[str] = []
    notes: list[str] = []
    touched: set[str] = set()
    for node in list(closures_nodes) + list(generic_columns):
        table = catalog.table(node[0])
        column = catalog.column(*node)
        model = django.model_of(table.oid)
        m2m = django.many_to_many.get(table.oid)
        owner = model or (m2m.owner if m2m else None)
        if owner is not None:
            touched.add(owner.app_label)
        if node in fk_columns:
            continue  # a ForeignKey/OneToOneField: its type is its target's
        where = f"{table.qname}.{column.name}"
        if node in generic_columns and column.is_text:
            notes.append(f"{where}: a text object id, holds the uuids as text: no change")
            continue
        if model is None:
            unmatched.append(
                f"{where}: no content type names {table.qname} (a custom db_table, or no "
                "model): change its field to a UUIDField yourself"
            )
            continue
        changes.append(_change(catalog, model, str(table.qname), column, node, generic_columns))
    apps = tuple(sorted(a for a in touched if a in django.latest_migrations))
    return DjangoChanges(tuple(changes), apps, tuple(unmatched), tuple(notes))


def _change(
    catalog: Catalog, model: Model, table: str, column: Column, node: Node, generic: Sequence[Node]
) -> FieldChange:
    pk = next(
        (c for c in catalog.constraints_of(node[0]) if c.kind == "p" and c.columns == (node[1],)),
        None,
    )
    if pk is not None:
        return FieldChange(model, table, column.name, PK_LINE, PK_STATE, "primary key")
    arguments = "null=True" if not column.not_null else ""
    line = f"models.UUIDField({arguments})"
    why = "generic relation object id" if node in generic else "declared with --soft-ref"
    return FieldChange(model, table, column.name, line, line, why)


def migration_module(
    changes: DjangoChanges,
    statements: Sequence[str],
    django: DjangoDatabase,
    *,
    app: str | None,
    name: str | None,
    state_only: bool,
    header: Sequence[str],
) -> str:
    """The migration module for one app: its state changes, and (unless state_only) the
    conversion's SQL. The app is `app`, else the first app whose models change."""
    state_apps = sorted({c.model.app_label for c in changes.changes})
    main = app or (state_apps[0] if state_apps else (changes.apps[0] if changes.apps else None))
    if main is None:
        raise Refused("no Django app owns the converted tables: name one with --app")
    if main not in django.latest_migrations and main not in state_apps:
        known = ", ".join(sorted(django.latest_migrations))
        raise Refused(f"app {main!r} has no applied migration (apps with migrations: {known})")
    name = name or DEFAULT_NAME
    file_name = f"{_next_number(django.latest_migrations.get(main))}_{name}.py"
    others = [a for a in state_apps if a != main]
    mine = [c for c in changes.changes if c.model.app_label == main]
    lines = [f"# {for_comment(h)}" for h in header]
    lines += _instructions(changes, main, name, others, state_only)
    lines += [f"# save as: {for_comment(main)}/migrations/{for_comment(file_name)}", ""]
    lines += ["import uuid", "", "from django.db import migrations, models", "", ""]
    lines += ["class Migration(migrations.Migration):", "    dependencies = ["]
    dependencies = {(a, django.latest_migrations[a]) for a in changes.apps}
    if main in django.latest_migrations:
        dependencies.add((main, django.latest_migrations[main]))
    lines += [f"        ({a!r}, {n!r})," for a, n in sorted(dependencies)]
    lines += ["    ]", "", "    operations = ["]
    state = [
        f"            migrations.AlterField(model_name={c.model.model!r}, name={c.field!r}, "
        f"field={c.state}),"
        for c in mine
    ]
    if state_only:
        lines += ["        migrations.SeparateDatabaseAndState(", "            state_operations=["]
        lines += ["    " + s for s in state]
        lines += ["            ],", "        ),"]
    else:
        lines += [
            "        migrations.SeparateDatabaseAndState(",
            "            database_operations=[",
            "                # No reverse_sql: the new keys come from a keyed hash whose key was",
            "                # made at random inside the server and thrown away (unless a key",
            "                # file was given); nothing can compute the old ids back from them.",
            "                migrations.RunSQL(",
            "                    sql=[",
        ]
        lines += [f"                        {s!r}," for s in statements]
        lines += ["                    ],", "                ),", "            ],"]
        lines += ["            state_operations=["]
        lines += ["    " + s for s in state]
        lines += ["            ],", "        ),"]
    lines += ["    ]", ""]
    return "\n".join(lines)


def _next_number(latest: str | None) -> str:
    """Django numbers an app's migrations 0001, 0002, ...: one past the latest applied."""
    digits = "".join(c for c in (latest or "")[:4] if c.isdigit())
    return f"{int(digits) + 1:04d}" if len(digits) == 4 else "0001"


def _instructions(
    changes: DjangoChanges, main: str, name: str, others: list[str], state_only: bool
) -> list[str]:
    out = ["#"]
    if not changes.changes:
        out.append("# No model field changes: every converted column is a foreign key.")
    else:
        out.append("# Change these model fields before running `manage.py migrate` (import uuid):")
    by_model: dict[Model, list[FieldChange]] = {}
    for change in changes.changes:
        by_model.setdefault(change.model, []).append(change)
    for model, fields in sorted(by_model.items(), key=lambda kv: str(kv[0])):
        out.append(f"#   {for_comment(model)} (table {for_comment(fields[0].table)}):")
        for f in fields:
            out.append(f"#       {for_comment(f.field)} = {f.line}  # {f.why}")
    out += [
        "# ForeignKey, OneToOneField, ManyToManyField and self references follow their target's",
        "# key by themselves: leave them as they are. Models ordered by their id",
        '# (ordering = ["-id"], .latest("id"), order_by("pk")) lose their creation order with',
        "# random uuids: order by a timestamp instead.",
    ]
    for line in changes.unmatched:
        out.append(f"# BY HAND: {for_comment(line)}")
    for line in changes.notes:
        out.append(f"# no change: {for_comment(line)}")
    if others and not state_only:
        out.append("# Models of other apps change too; their state migrations, each in its app:")
        for other in others:
            out.append(
                f"#   uuidpk generate --format django --state-only --app "
                f"{for_comment(shlex.quote(other))} --name {for_comment(shlex.quote(name))} "
                "(same --table/--all)"
            )
    out += ["#"]
    return out
