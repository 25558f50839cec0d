"""Issue 10: what online mode used to refuse, now done as offline does it: generic relations,
expression and partial indexes over a converted key, --mapping-table and --order-by. Each
online run ends exactly as an offline run with the same key (rows written while the migration
runs included)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pgutil
import psycopg
import pytest
from checks import assert_clean_failure, assert_ok, connect, uuidpk
from test_online import KEY, facts_by_name, leftovers, rows_by_value

Write = Callable[[psycopg.Connection], None]


def _pair(pg: pgutil.PgCluster, request: pytest.FixtureRequest, schema: str) -> tuple[str, str]:
    dsns = []
    for _ in range(2):
        name, dsn = pg.create_database(pgutil.unique_name("online_options"))
        request.addfinalizer(lambda name=name: pg.drop_database(name))
        with connect(dsn) as conn:
            conn.execute(schema)
        dsns.append(dsn)
    return dsns[0], dsns[1]


def _key_args(tmp_path: Path) -> list[str]:
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY.hex())
    return ["--yes", "--key-file", str(key_file)]


def assert_online_as_offline(
    pg: pgutil.PgCluster,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    schema: str,
    args: list[str],
    during: Write | None = None,
) -> tuple[str, str]:
    """Offline and online with the same key on two copies of schema end alike. during: writes
    made on the online copy after its expand phase (its triggers fill them) and on the offline
    copy before its apply."""
    online, offline = _pair(pg, request, schema)
    common = [*args, *_key_args(tmp_path)]
    if during is not None:
        with connect(offline) as conn:
            during(conn)
        assert_ok(uuidpk("apply", "--dsn", online, "--online", "--until", "expand", *common))
        with connect(online) as conn:
            during(conn)
    assert_ok(uuidpk("apply", "--dsn", offline, *common))
    assert_ok(uuidpk("apply", "--dsn", online, "--online", *common))
    with connect(online) as a, connect(offline) as b:
        assert leftovers(a) == []
        assert facts_by_name(a) == facts_by_name(b)
        assert rows_by_value(a) == rows_by_value(b)
    return online, offline


# -- generic relations ---------------------------------------------------------------------------
DJANGO = """
CREATE TABLE django_content_type (
    id serial PRIMARY KEY, app_label text NOT NULL, model text NOT NULL);
CREATE TABLE django_migrations (
    id bigserial PRIMARY KEY, app text NOT NULL, name text NOT NULL, applied timestamptz);
INSERT INTO django_content_type (app_label, model) VALUES
    ('shop', 'item'), ('shop', 'shelf'), ('shop', 'note'), ('shop', 'comment'),
    ('contenttypes', 'contenttype');
INSERT INTO django_migrations (app, name, applied) VALUES ('shop', '0001_initial', '2024-01-01');
CREATE TABLE shop_shelf (id serial PRIMARY KEY, label text);
CREATE TABLE shop_item (id serial PRIMARY KEY, shelf_id integer REFERENCES shop_shelf, name text);
CREATE TABLE shop_note (
    id serial PRIMARY KEY,
    content_type_id integer NOT NULL REFERENCES django_content_type (id),
    object_id integer CHECK (object_id >= 0),
    body text);
CREATE INDEX shop_note_object ON shop_note (content_type_id, object_id);
CREATE TABLE shop_comment (
    id serial PRIMARY KEY,
    content_type_id integer REFERENCES django_content_type (id),
    object_id text,
    body text);
INSERT INTO shop_shelf (label) SELECT 'shelf ' || g FROM generate_series(1, 5) g;
INSERT INTO shop_item (shelf_id, name) SELECT 1 + g % 5, 'item ' || g FROM generate_series(1, 40) g;
INSERT INTO shop_note (content_type_id, object_id, body)
    SELECT 1 + g % 2, 1 + g % 5, 'note ' || g FROM generate_series(1, 30) g;
INSERT INTO shop_note (content_type_id, object_id, body) VALUES (1, NULL, 'no object');
INSERT INTO shop_comment (content_type_id, object_id, body) VALUES
    (1, '3', 'on an item'), (2, '2', 'on a shelf'), (5, 'abc', 'on a content type'),
    (NULL, '7', 'no content type');
"""


def _django_writes(conn: psycopg.Connection) -> None:
    conn.execute(
        "INSERT INTO shop_item (shelf_id, name) VALUES (2, 'written during');"
        "INSERT INTO shop_note (content_type_id, object_id, body) VALUES (1, 41, 'new item');"
        "UPDATE shop_note SET content_type_id = 2, object_id = 4 WHERE body = 'note 1';"
        "UPDATE shop_note SET content_type_id = 1 WHERE body = 'note 2';"
        "INSERT INTO shop_comment (content_type_id, object_id, body) VALUES"
        " (1, '41', 'new'), (5, 'xyz', 'gone too');"
        "UPDATE shop_comment SET content_type_id = 5 WHERE body = 'on a shelf'"
    )


def test_online_converts_generic_relations_as_offline(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Integer object ids become uuids of the table their content type names; text ones hold
    the uuid's text and keep what names no converted table; rows written and content types
    changed while the migration runs are filled by the trigger."""
    online, _ = assert_online_as_offline(pg, request, tmp_path, DJANGO, ["--all"], _django_writes)
    with connect(online) as conn:
        types = dict(
            conn.execute(
                "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns"
                " WHERE column_name = 'object_id'"
            ).fetchall()
        )
        assert types == {"shop_note.object_id": "uuid", "shop_comment.object_id": "text"}
        kept = conn.execute("SELECT object_id FROM shop_comment WHERE body = 'gone too'").fetchone()
        assert kept == ("xyz",)


def test_online_proof_finds_a_generic_row_whose_content_type_is_not_converted(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Offline refuses integer object ids that name no converted table at plan time; online,
    such a row written after the plan has no new value: the proof stops the cutover."""
    online, _ = _pair(pg, request, DJANGO)
    common = ["--all", *_key_args(tmp_path)]
    assert_ok(uuidpk("apply", "--dsn", online, "--online", "--until", "backfill", *common))
    with connect(online) as conn:
        conn.execute("INSERT INTO shop_note (content_type_id, object_id) VALUES (5, 9)")
    outcome = uuidpk("apply", "--dsn", online, "--online", *common)
    assert outcome.code == 1 and "Traceback" not in outcome.err, outcome.describe()
    assert "do not match the old ones in public.shop_note (1 rows)" in outcome.err_lines[-1]
    with connect(online) as conn:
        assert conn.execute(
            "SELECT data_type FROM information_schema.columns"
            " WHERE table_name = 'shop_note' AND column_name = 'object_id'"
        ).fetchone() == ("integer",)


# -- expression and partial indexes, generated columns -------------------------------------------
INDEXED = """
CREATE TABLE shelf (id serial PRIMARY KEY, label text);
CREATE TABLE item (
    id serial PRIMARY KEY,
    shelf_id integer REFERENCES shelf,
    name text NOT NULL,
    gone boolean NOT NULL DEFAULT false);
CREATE INDEX item_shelf_text ON item (((shelf_id)::text), lower(name));
CREATE UNIQUE INDEX item_name_per_shelf ON item (shelf_id, name) WHERE NOT gone;
CREATE INDEX item_shelved ON item (name) WHERE shelf_id IS NOT NULL;
CREATE UNIQUE INDEX shelf_id_text ON shelf (md5(id::text)) WHERE label IS NOT NULL;
INSERT INTO shelf (label) SELECT 'shelf ' || g FROM generate_series(1, 6) g;
INSERT INTO item (shelf_id, name, gone)
    SELECT CASE WHEN g % 7 = 0 THEN NULL ELSE 1 + g % 6 END, 'item ' || g, g % 5 = 0
    FROM generate_series(1, 60) g;
"""


def test_online_rebuilds_expression_and_partial_indexes_over_a_converted_key(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    online, _ = assert_online_as_offline(pg, request, tmp_path, INDEXED, ["--all"])
    with connect(online) as conn:
        definition = conn.execute("SELECT pg_get_indexdef('item_shelf_text'::regclass)").fetchone()
        assert definition is not None and "((shelf_id)::text)" in definition[0]


CHECKED = """
CREATE TABLE shelf (id serial PRIMARY KEY, label text);
CREATE TABLE item (
    id serial PRIMARY KEY,
    shelf_id integer REFERENCES shelf,
    spare_id integer REFERENCES shelf,
    name text,
    CONSTRAINT placed CHECK (shelf_id IS NOT NULL OR name IS NOT NULL),
    CONSTRAINT "two places" CHECK (spare_id IS DISTINCT FROM shelf_id),
    CONSTRAINT item_shelf_id_check CHECK (shelf_id >= 0));
COMMENT ON CONSTRAINT placed ON item IS 'a shelf or a name';
INSERT INTO shelf (label) SELECT 'shelf ' || g FROM generate_series(1, 4) g;
INSERT INTO item (shelf_id, spare_id, name) VALUES (1, 2, NULL), (NULL, 1, 'loose'), (2, NULL, 'x');
ALTER TABLE item ADD CONSTRAINT later
    CHECK (shelf_id IS NOT NULL OR spare_id IS NOT NULL) NOT VALID;
"""


def test_online_keeps_check_constraints_on_converted_columns(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Offline's ALTER ... TYPE keeps them (a sign check goes: it means nothing for a uuid);
    online, twins over the shadows take their names, comments and validity at the cutover."""

    def writes(conn: psycopg.Connection) -> None:
        conn.execute("INSERT INTO item (shelf_id, name) VALUES (3, NULL)")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO item (shelf_id, spare_id, name) VALUES (4, 4, 'twice')")

    online, _ = assert_online_as_offline(pg, request, tmp_path, CHECKED, ["--all"], writes)
    with connect(online) as conn:
        names = conn.execute(
            "SELECT conname, convalidated FROM pg_constraint"
            " WHERE conrelid = 'item'::regclass AND contype = 'c' ORDER BY 1"
        ).fetchall()
        assert names == [("later", False), ("placed", True), ("two places", True)]


def test_online_refuses_a_key_a_generated_column_uses_in_one_line(
    conn: psycopg.Connection, dsn: str
) -> None:
    conn.execute(
        "CREATE TABLE shelf (id serial PRIMARY KEY,"
        " code text GENERATED ALWAYS AS ('S-' || id::text) STORED)"
    )
    outcome = uuidpk("apply", "--dsn", dsn, "--table", "shelf", "--online", "--yes")
    line = assert_clean_failure(outcome)
    assert "online mode cannot convert keys that generated columns use (public.shelf.code)" in line
    assert conn.execute("SELECT to_regclass('uuidpk.online_key')").fetchone() == (None,)


# -- --mapping-table ------------------------------------------------------------------------------
def test_online_writes_the_mapping_tables_offline_writes(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    def writes(conn: psycopg.Connection) -> None:
        conn.execute("INSERT INTO item (shelf_id, name) VALUES (3, 'written during')")

    online, offline = assert_online_as_offline(
        pg, request, tmp_path, INDEXED, ["--all", "--mapping-table", "--keep-old-id"], writes
    )
    query = "SELECT old_value, new_value FROM uuidpk.{} ORDER BY old_value"
    with connect(online) as a, connect(offline) as b:
        for table in ("map_public_item", "map_public_shelf"):
            found = a.execute(query.format(table)).fetchall()  # type: ignore[arg-type]
            assert found == b.execute(query.format(table)).fetchall()  # type: ignore[arg-type]
            assert len(found) == (61 if table == "map_public_item" else 6)


# -- --order-by ----------------------------------------------------------------------------------
ORDERED = """
CREATE TABLE customer (id serial PRIMARY KEY, name text, created_at timestamptz);
CREATE TABLE "order" (
    id bigserial PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customer,
    created_at timestamptz NOT NULL);
CREATE TABLE line (
    id serial PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES "order" ON DELETE CASCADE,
    sku text);
CREATE TABLE tag (id serial PRIMARY KEY, label text);
CREATE TABLE line_tag (line_id integer REFERENCES line, tag_id integer REFERENCES tag,
    PRIMARY KEY (line_id, tag_id));
INSERT INTO customer (name, created_at)
    SELECT 'c' || g, CASE WHEN g % 4 = 0 THEN NULL
                          ELSE timestamptz '2020-01-01' + g * interval '3 days 1 hour' END
    FROM generate_series(1, 12) g;
INSERT INTO "order" (customer_id, created_at)
    SELECT 1 + g % 12, timestamptz '2024-06-01' - g * interval '7 hours 13 minutes'
    FROM generate_series(1, 50) g;
INSERT INTO line (order_id, sku) SELECT 1 + g % 50, 'sku' || g FROM generate_series(1, 120) g;
INSERT INTO tag (label) VALUES ('a'), ('b');
INSERT INTO line_tag SELECT g, 1 + g % 2 FROM generate_series(1, 40) g;
"""


def _ordered_writes(conn: psycopg.Connection) -> None:
    conn.execute(
        "INSERT INTO customer (name, created_at) VALUES ('late', '2025-03-04 05:06:07.891+00');"
        'INSERT INTO "order" (customer_id, created_at)'
        " SELECT id, '2025-05-06 07:08:09.123+00' FROM customer WHERE name = 'late';"
        "INSERT INTO line (order_id, sku) SELECT max(id), 'late' FROM \"order\";"
        "UPDATE line SET order_id = 7 WHERE sku = 'sku3'"
    )


def test_online_follows_order_by_as_offline(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """v7 values whose time is the root row's --order-by column: roots from their own row,
    children (rows written during the migration too) from their root row, looked up by the
    old key in the trigger and the backfill."""
    online, _ = assert_online_as_offline(
        pg,
        request,
        tmp_path,
        ORDERED,
        ["--all", "--uuid", "v7", "--order-by", "created_at", "--accept-risks"],
        _ordered_writes,
    )
    with connect(online) as conn:
        late = conn.execute(
            'SELECT l.order_id, o.id FROM line l JOIN "order" o ON o.id = l.order_id'
            " WHERE l.sku = 'late'"
        ).fetchone()
        assert late is not None and late[0] == late[1]
        # The line's order id carries its order's time: 2025-05-06 07:08:09.123.
        assert str(late[0]).replace("-", "")[:12] == format(1746515289123, "012x")


# -- the same as a psql script ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("schema", "args"),
    [
        (DJANGO, ["--all"]),
        (INDEXED, ["--all", "--mapping-table"]),
        (ORDERED, ["--all", "--uuid", "v7", "--order-by", "created_at", "--accept-risks"]),
    ],
    ids=["generic", "expression-mapping", "order-by"],
)
def test_generate_online_script_ends_as_offline(
    pg: pgutil.PgCluster,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    schema: str,
    args: list[str],
) -> None:
    scripted, offline = _pair(pg, request, schema)
    common = [*args, *_key_args(tmp_path)]
    script = tmp_path / "online.sql"
    generate = [a for a in common if a not in ("--yes", "--accept-risks")]
    script.write_text(assert_ok(uuidpk("generate", "--dsn", scripted, "--online", *generate)).out)
    pgutil.run_psql(scripted, script)
    assert_ok(uuidpk("apply", "--dsn", offline, *common))
    with connect(scripted) as a, connect(offline) as b:
        assert leftovers(a) == []
        assert facts_by_name(a) == facts_by_name(b)
        assert rows_by_value(a) == rows_by_value(b)
        if "--mapping-table" in args:
            query = "SELECT * FROM uuidpk.map_public_item ORDER BY 1"
            assert a.execute(query).fetchall() == b.execute(query).fetchall()
