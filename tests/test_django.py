"""A real Django project converted with the migration `generate --format django` writes.

The test writes a project into a temporary directory (settings pointing at the test database;
an app `accounts` with a custom user model, an app `shop` with a foreign key, a one-to-one, a
many-to-many, a self reference and a generic relation), migrates it, fills it through the ORM,
writes the generated migrations into the apps, changes the models as their header says, and
migrates again. Then: `makemigrations --check` finds nothing, the ORM reads every relation as
before (compared through natural keys), new rows get uuids, and cascades still cascade.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from checks import assert_clean_failure, assert_ok, uuidpk
from psycopg.conninfo import conninfo_to_dict

pytest.importorskip("django")

SETTINGS = """
import json
SECRET_KEY = "test"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "accounts",
    "shop",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": json.loads(%r)}
"""

ACCOUNTS_MODELS = """
from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    pass
"""

SHOP_MODELS = """
import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey, GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.db import models


class Category(models.Model):
    name = models.CharField(max_length=50, unique=True)
    parent = models.ForeignKey("self", null=True, on_delete=models.CASCADE, related_name="children")


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)


class Product(models.Model):
    sku = models.CharField(max_length=20, unique=True)
    category = models.ForeignKey(Category, on_delete=models.CASCADE)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    tags = models.ManyToManyField(Tag)
    notes = GenericRelation("Note")


class Detail(models.Model):
    product = models.OneToOneField(Product, on_delete=models.CASCADE)
    text = models.CharField(max_length=50)


class Note(models.Model):
    text = models.CharField(max_length=50)
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveIntegerField()
    content_object = GenericForeignKey("content_type", "object_id")
"""

# Everything the ORM reads, by natural keys only (no id appears).
SNAPSHOT = """
import json, django
django.setup()
from accounts.models import User
from shop.models import Category, Detail, Note, Product, Tag
from django.contrib.admin.models import LogEntry


def natural(obj):
    return type(obj).__name__, getattr(obj, "sku", None) or getattr(obj, "name", None) \\
        or getattr(obj, "username", None)


print(json.dumps({
    "users": sorted((u.username, sorted(g.name for g in u.groups.all()))
                    for u in User.objects.all()),
    "categories": sorted((c.name, c.parent.name if c.parent else None,
                          sorted(k.name for k in c.children.all()))
                         for c in Category.objects.all()),
    "products": sorted((p.sku, p.category.name, p.owner.username,
                        sorted(t.name for t in p.tags.all()), p.detail.text,
                        sorted(n.text for n in p.notes.all())) for p in Product.objects.all()),
    "tags": sorted((t.name, sorted(p.sku for p in t.product_set.all())) for t in Tag.objects.all()),
    "notes": sorted((n.text, natural(n.content_object)) for n in Note.objects.all()),
    "details": sorted((d.text, d.product.sku) for d in Detail.objects.all()),
    "log": sorted((e.object_repr, e.user.username, natural(e.get_edited_object()))
                  for e in LogEntry.objects.all()),
}, sort_keys=True))
"""

FILL = """
import django
django.setup()
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Group
from accounts.models import User
from shop.models import Category, Detail, Note, Product, Tag

staff = Group.objects.create(name="staff")
ann = User.objects.create_user("ann")
bob = User.objects.create_user("bob")
ann.groups.add(staff)
root = Category.objects.create(name="root")
tools = Category.objects.create(name="tools", parent=root)
saws = Category.objects.create(name="saws", parent=tools)
red, sharp = Tag.objects.create(name="red"), Tag.objects.create(name="sharp")
for i, (category, owner) in enumerate([(tools, ann), (saws, bob), (saws, ann), (root, bob)]):
    p = Product.objects.create(sku=f"p{i}", category=category, owner=owner)
    p.tags.set([red, sharp][: i % 3])
    Detail.objects.create(product=p, text=f"detail {i}")
    Note.objects.create(text=f"note on p{i}", content_object=p)
Note.objects.create(text="note on saws", content_object=saws)
Note.objects.create(text="note on bob", content_object=bob)
for obj in (saws, ann, staff):
    LogEntry.objects.log_actions(ann.pk, [obj], ADDITION, single_object=True)
"""

AFTER = """
import uuid, django
django.setup()
from accounts.models import User
from shop.models import Category, Detail, Note, Product, Tag

# New rows get uuids, relations to them work.
carl = User.objects.create_user("carl")
assert isinstance(carl.pk, uuid.UUID), carl.pk
saws = Category.objects.get(name="saws")
p = Product.objects.create(sku="new", category=saws, owner=carl)
assert isinstance(p.pk, uuid.UUID) and isinstance(saws.pk, uuid.UUID)
p.tags.add(*Tag.objects.all())
Detail.objects.create(product=p, text="new detail")
Note.objects.create(text="note on new", content_object=p)
assert Note.objects.get(text="note on new").content_object == p
assert [n.text for n in p.notes.all()] == ["note on new"]

# Cascades: deleting tools removes saws, their products, details and m2m rows.
Category.objects.get(name="tools").delete()
assert sorted(Category.objects.values_list("name", flat=True)) == ["root"]
assert sorted(Product.objects.values_list("sku", flat=True)) == ["p3"]
assert Detail.objects.count() == 1
assert Product.tags.through.objects.count() == len(Product.objects.get(sku="p3").tags.all())
User.objects.get(username="bob").delete()
assert Product.objects.count() == 0
print("ok")
"""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())


def _project(root: Path, dsn: str) -> None:
    params = conninfo_to_dict(dsn)
    database = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": params.get("dbname"),
        "USER": params.get("user", ""),
        "PASSWORD": params.get("password", ""),
        "HOST": params.get("host", ""),
        "PORT": str(params.get("port", "")),
    }
    _write(root / "settings.py", SETTINGS % json.dumps(database))
    for app, models in (("accounts", ACCOUNTS_MODELS), ("shop", SHOP_MODELS)):
        _write(root / app / "__init__.py", "")
        _write(root / app / "migrations" / "__init__.py", "")
        _write(root / app / "models.py", models)
    _write(root / "snapshot.py", SNAPSHOT)
    _write(root / "fill.py", FILL)
    _write(root / "after.py", AFTER)


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(DJANGO_SETTINGS_MODULE="settings", PYTHONPATH=str(root))
    return subprocess.run(
        [sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )


def _ok(root: Path, *args: str) -> str:
    done = _run(root, *args)
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _manage(root: Path, *args: str) -> str:
    return _ok(root, "-m", "django", *args)


def apply_header(models: Path, module: str, app: str) -> list[str]:
    """Change app's models as the module's header says: under `#   app.model (table ...):`,
    each `#       field = definition` line replaces that field or goes first in the class."""
    text = models.read_text()
    done = []
    model = None
    for line in module.splitlines():
        if not line.startswith("#"):
            break
        if found := re.match(r"#   (\w+)\.(\w+) \(table ", line):
            model = found.group(2) if found.group(1) == app else None
        elif (found := re.match(r"#       (\w+) = (.+?)  # ", line)) and model:
            field, definition = found.groups()
            head = re.search(rf"^class ({model})\(.*\):\n", text, re.IGNORECASE | re.MULTILINE)
            assert head, f"no class for model {model}"
            body_start = head.end()
            nxt = re.search(r"^class ", text[body_start:], re.MULTILINE)
            body_end = body_start + nxt.start() if nxt else len(text)
            body = text[body_start:body_end]
            new_line = f"    {field} = {definition}\n"
            old = re.search(rf"^    {field} = .*\n", body, re.MULTILINE)
            if old:
                body = body[: old.start()] + new_line + body[old.end() :]
            else:
                body = new_line + body.lstrip("\n").replace("    pass\n", "", 1)
            text = text[:body_start] + body + text[body_end:]
            done.append(f"{head.group(1)}.{field}")
    if "uuid" in text and not text.startswith("import uuid"):
        text = "import uuid\n" + text
    models.write_text(text)
    return done


def _save_as(module: str) -> str:
    found = re.search(r"^# save as: (\S+)$", module, re.MULTILINE)
    assert found, module[:2000]
    return found.group(1)


def _operations(module: str) -> list[str]:
    return [line.strip() for line in module.splitlines() if "migrations.AlterField(" in line]


def test_django_project_converts_with_the_generated_migration(dsn: str, tmp_path: Path) -> None:
    root = tmp_path / "project"
    _project(root, dsn)
    _manage(root, "makemigrations", "accounts", "shop")
    _manage(root, "migrate")
    _ok(root, "fill.py")
    before = json.loads(_ok(root, "snapshot.py"))
    assert len(before["products"]) == 4 and len(before["notes"]) == 6 and len(before["log"]) == 3

    # Django's own tables are refused by name, with the reason.
    for table, reason in (
        ("auth_permission", "django.contrib.auth"),
        ("django_migrations", "migration history"),
        ("django_content_type", "django.contrib.contenttypes"),
        ("shop_product_tags", "auto-created many-to-many"),
    ):
        line = assert_clean_failure(uuidpk("generate", "--dsn", dsn, "--table", table))
        assert reason in line, line

    generated = assert_ok(
        uuidpk("generate", "--dsn", dsn, "--all", "--format", "django", "--app", "shop")
    )
    module = generated.out
    # The generic relation was found without --soft-ref, and reported.
    assert "public.shop_note.object_id (content_type_id): converted to uuid" in generated.err
    assert "public.django_admin_log.object_id" in generated.err
    compile(module, "0002_uuid_keys.py", "exec")
    assert "('accounts', '0001_initial')" in module and "('shop', '0001_initial')" in module
    assert "--state-only --app accounts" in module
    state_args = ("generate", "--dsn", dsn, "--all", "--format", "django", "--state-only")
    state_before = assert_ok(uuidpk(*state_args, "--app", "accounts")).out
    assert "RunSQL" not in state_before and "model_name='user', name='id'" in state_before
    assert _save_as(module) == "shop/migrations/0002_uuid_keys.py"
    (root / _save_as(module)).write_text(module)
    changed = apply_header(root / "shop" / "models.py", module, "shop")
    changed += apply_header(root / "accounts" / "models.py", module, "accounts")
    assert sorted(changed) == [
        "Category.id", "Detail.id", "Note.id", "Note.object_id", "Product.id", "Tag.id", "User.id",
    ]  # fmt: skip

    _manage(root, "migrate", "shop")
    # The state of accounts' model after the conversion (as after an online run): the same
    # operations as before it, found from the uuid keys uuidpk left with a default.
    state = assert_ok(uuidpk(*state_args, "--app", "accounts")).out
    assert _operations(state) == _operations(state_before)
    assert _operations(assert_ok(uuidpk(*state_args, "--app", "shop")).out) == _operations(module)
    (root / _save_as(state)).write_text(state)
    _manage(root, "migrate")
    _manage(root, "makemigrations", "--check", "--dry-run")
    assert json.loads(_ok(root, "snapshot.py")) == before
    with psycopg.connect(dsn) as conn:
        types = dict(
            conn.execute(
                "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = 'public' AND (column_name LIKE '%id')"
            ).fetchall()
        )
    assert types["accounts_user.id"] == "uuid"
    assert types["shop_product_tags.product_id"] == "uuid"
    assert types["shop_product_tags.id"] == "bigint"  # Django's own id for the m2m rows
    assert types["django_admin_log.user_id"] == "uuid"
    assert types["django_admin_log.object_id"] == "text"
    assert types["auth_group.id"] == "integer"
    assert types["django_content_type.id"] == "integer"
    assert _ok(root, "after.py").strip() == "ok"


def test_no_generic_leaves_generic_relations(dsn: str, tmp_path: Path) -> None:
    root = tmp_path / "project"
    _project(root, dsn)
    _manage(root, "makemigrations", "accounts", "shop")
    _manage(root, "migrate")
    _ok(root, "fill.py")
    outcome = assert_ok(uuidpk("generate", "--dsn", dsn, "--all", "--no-generic"))
    assert "converted to uuid" not in outcome.err
    assert "shop_note.object_id (integer) holds ids of whichever table" in outcome.err
    assert '"shop_note" ALTER COLUMN "object_id"' not in outcome.out
    assert '"shop_note" ALTER COLUMN "id"' in outcome.out


@pytest.mark.corpus
def test_netbox_all_converts_every_generic_relation_without_soft_ref(
    corpus_dsn_factory: Callable[[str], str],
) -> None:
    dsn = corpus_dsn_factory("netbox")
    object_ids = """
        SELECT c.table_name || '.' || c.column_name, c.data_type
          FROM information_schema.columns c
         WHERE c.table_schema = 'public'
           AND (c.table_name, c.column_name) IN (
               ('extras_taggeditem', 'object_id'), ('django_admin_log', 'object_id'),
               ('dcim_cabletermination', 'termination_id'), ('core_job', 'object_id'),
               ('auth_group', 'id'), ('auth_permission', 'id'), ('django_content_type', 'id'),
               ('django_migrations', 'id'), ('users_user', 'id'), ('users_user_groups', 'id'))"""
    tagged = """
        SELECT t.name, s.name FROM extras_taggeditem i
          JOIN extras_tag t ON t.id = i.tag_id
          JOIN django_content_type ct ON ct.id = i.content_type_id
          JOIN dcim_site s ON ct.app_label = 'dcim' AND ct.model = 'site' AND s.id = i.object_id
         ORDER BY 1, 2"""
    with psycopg.connect(dsn) as conn:
        before = conn.execute(tagged).fetchall()
    module = assert_ok(uuidpk("generate", "--dsn", dsn, "--all", "--format", "django"))
    compile(module.out, "netbox_uuid.py", "exec")
    found = [
        line for line in module.err_lines if "generic relation" in line and "converted" in line
    ]
    assert len(found) == 29, module.err  # every GenericForeignKey of the NetBox v4.2 demo
    outcome = assert_ok(uuidpk("apply", "--dsn", dsn, "--all", "--yes", "--accept-risks"))
    assert "soft reference" not in outcome.err
    with psycopg.connect(dsn) as conn:
        types = dict(conn.execute(object_ids).fetchall())
        assert conn.execute(tagged).fetchall() == before
    assert types == {
        "extras_taggeditem.object_id": "uuid",
        "dcim_cabletermination.termination_id": "uuid",
        "core_job.object_id": "uuid",
        "django_admin_log.object_id": "text",
        "users_user.id": "uuid",
        "users_user_groups.id": "bigint",  # auto-created many-to-many: Django's id
        "auth_group.id": "integer",
        "auth_permission.id": "integer",
        "django_content_type.id": "integer",
        "django_migrations.id": "bigint",
    }
    assert_ok(uuidpk("verify", "--dsn", dsn))


HOSTILE = """
CREATE TABLE django_content_type (
    id serial PRIMARY KEY, app_label text NOT NULL, model text NOT NULL);
CREATE TABLE django_migrations (
    id bigserial PRIMARY KEY, app text NOT NULL, name text NOT NULL, applied timestamptz);
CREATE TABLE auth_user (id serial PRIMARY KEY, username text);
CREATE TABLE "sh'op_it""em
import os" ("i'd" serial PRIMARY KEY, owner_id integer REFERENCES auth_user (id));
CREATE TABLE sh_note (
    id serial PRIMARY KEY,
    content_type_id integer NOT NULL REFERENCES django_content_type (id),
    object_id integer NOT NULL);
INSERT INTO django_content_type (app_label, model) VALUES
    ('auth', 'user'), ('sh''op', 'it"em
import os'), ('sh', 'note');
INSERT INTO django_migrations (app, name, applied) VALUES
    ('auth', '0012_alter_user_first_name_max_length', now()),
    ('sh''op', '0001_in''itial
x = 1', now()),
    ('sh''op', '0000_older', now() - interval '1 day'),
    ('sh', '0003_notes', now());
INSERT INTO "sh'op_it""em
import os" (owner_id) VALUES (NULL);
INSERT INTO sh_note (content_type_id, object_id) VALUES (2, 1);
"""


def test_migration_module_escapes_every_catalog_name(conn: psycopg.Connection, dsn: str) -> None:
    """Names with quotes and newlines reach the module as Python literals and escaped comments:
    the module compiles, and its literals are the names themselves."""
    import ast

    conn.execute(HOSTILE)
    line = assert_clean_failure(uuidpk("generate", "--dsn", dsn, "--table", "auth_user"))
    assert "custom user model" in line
    outcome = assert_ok(
        uuidpk(
            "generate", "--dsn", dsn, "--table", "sh'op_it\"em\nimport os", "--format", "django",
            "--app", "sh'op",
        )
    )  # fmt: skip
    module = outcome.out
    tree = ast.parse(module)  # a name that closed a string or a comment would break this
    assert not any(isinstance(n, ast.Import) and n.names[0].name == "os" for n in tree.body)
    literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    assert {"sh'op", 'it"em\nimport os', "i'd", "0001_in'itial\nx = 1", "sh"} <= literals
    assert "0000_older" not in literals  # the latest migration by applied time
    assert "0003_notes" in literals  # sh_note's object id changes: its app is a dependency
    assert all(line.startswith("#") for line in module.split("\nimport uuid")[0].splitlines())


def test_inspect_reports_the_generic_relations_it_found(conn: psycopg.Connection, dsn: str) -> None:
    conn.execute(HOSTILE)
    outcome = assert_ok(uuidpk("inspect", "--dsn", dsn, "--all", "--format", "json"))
    found = "generic relation public.sh_note.object_id (content_type_id): converted to uuid"
    assert found in json.loads(outcome.out)["notes"]
    assert found in outcome.err
    keys = {k["table"] for k in json.loads(outcome.out)["keys"]}
    assert "auth_user" not in keys and "django_migrations" not in keys and "sh_note" in keys
