"""Soft references declared with --soft-ref: a plain column with no FK, and Django generic
relations converted row by row through django_content_type. Relations are compared through
natural columns, never through ids."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from checks import assert_ok, connect, uuidpk

SCHEMA = """
CREATE TABLE django_content_type (
    id integer PRIMARY KEY, app_label text NOT NULL, model text NOT NULL);
CREATE TABLE shop_product (id serial PRIMARY KEY, name text UNIQUE NOT NULL);
CREATE TABLE shop_brand (id bigserial PRIMARY KEY, name text UNIQUE NOT NULL);
CREATE TABLE audit_note (id serial PRIMARY KEY, name text UNIQUE NOT NULL);
-- Django's GenericForeignKey: object_id is whatever table content_type_id names.
CREATE TABLE tag_taggeditem (
    id serial PRIMARY KEY,
    label text NOT NULL,
    content_type_id integer NOT NULL REFERENCES django_content_type (id),
    object_id integer NOT NULL CHECK (object_id >= 0));
-- django.contrib.admin keeps object ids as text.
CREATE TABLE django_admin_log (
    id serial PRIMARY KEY,
    message text NOT NULL,
    content_type_id integer REFERENCES django_content_type (id),
    object_id text);
-- A reference nobody constrained.
CREATE TABLE shop_review (id serial PRIMARY KEY, body text NOT NULL, product_id integer);
INSERT INTO django_content_type VALUES
    (1, 'shop', 'product'), (2, 'shop', 'brand'), (3, 'audit', 'note'), (4, 'gone', 'model');
INSERT INTO shop_product (name) SELECT 'product ' || g FROM generate_series(1, 30) g;
INSERT INTO shop_brand (name) SELECT 'brand ' || g FROM generate_series(1, 10) g;
INSERT INTO audit_note (name) SELECT 'note ' || g FROM generate_series(1, 5) g;
INSERT INTO tag_taggeditem (label, content_type_id, object_id)
    SELECT 'tag ' || g, 1 + g % 2, 1 + g % 10 FROM generate_series(1, 40) g;
INSERT INTO django_admin_log (message, content_type_id, object_id)
    SELECT 'changed ' || g, 1, (1 + g % 30)::text FROM generate_series(1, 12) g;
INSERT INTO django_admin_log (message, content_type_id, object_id) VALUES ('no object', NULL, NULL);
INSERT INTO shop_review (body, product_id) SELECT 'review ' || g, 1 + g % 30
    FROM generate_series(1, 25) g;
"""

NATURAL = {
    "tags": """
        SELECT t.label, coalesce(p.name, b.name)
          FROM tag_taggeditem t
          JOIN django_content_type ct ON ct.id = t.content_type_id
          LEFT JOIN shop_product p ON ct.model = 'product' AND p.id = t.object_id
          LEFT JOIN shop_brand b ON ct.model = 'brand' AND b.id = t.object_id
         ORDER BY 1""",
    "admin": """
        SELECT l.message, p.name
          FROM django_admin_log l
          LEFT JOIN django_content_type ct ON ct.id = l.content_type_id
          LEFT JOIN shop_product p ON ct.model = 'product' AND p.id::text = l.object_id
         ORDER BY 1""",
    "reviews": """
        SELECT r.body, p.name FROM shop_review r JOIN shop_product p ON p.id = r.product_id
         ORDER BY 1""",
}


def natural(conn: psycopg.Connection) -> dict[str, list[tuple[object, ...]]]:
    return {name: conn.execute(query).fetchall() for name, query in NATURAL.items()}


@pytest.fixture
def shop(dsn: str) -> str:
    with connect(dsn) as conn:
        conn.execute(SCHEMA)
    return dsn


def test_inspect_names_the_soft_references(shop: str) -> None:
    # --no-generic: in a Django database generic relations are otherwise found and converted.
    outcome = assert_ok(
        uuidpk("inspect", "--dsn", shop, "--all", "--format", "json", "--no-generic")
    )
    import json

    document = json.loads(outcome.out)
    database_wide = {p["name"] for p in document["problems"]}
    assert {"public.tag_taggeditem.object_id", "public.django_admin_log.object_id"} <= (
        database_wide
    )
    product = next(k for k in document["keys"] if k["table"] == "shop_product")
    names = {p["name"] for p in product["problems"] if p["what"] == "soft reference"}
    assert names == {"public.shop_review.product_id"}


def test_apply_refuses_undeclared_soft_references_without_accepting_them(shop: str) -> None:
    with connect(shop) as conn:
        before = natural(conn)
    outcome = uuidpk("apply", "--dsn", shop, "--all", "--yes")
    assert outcome.code == 1
    assert "--accept-risks" in outcome.err_lines[-1]
    with connect(shop) as conn:
        assert natural(conn) == before
        assert conn.execute(
            "SELECT data_type FROM information_schema.columns"
            " WHERE table_name = 'shop_product' AND column_name = 'id'"
        ).fetchone() == ("integer",)


def test_declared_soft_references_convert_with_their_targets(shop: str) -> None:
    with connect(shop) as conn:
        before = natural(conn)
    assert_ok(
        uuidpk(
            "apply", "--dsn", shop, "--all", "--yes",
            "--soft-ref", "shop_review.product_id",
            "--soft-ref", "tag_taggeditem.object_id",
            "--soft-ref", "django_admin_log.object_id",
        )
    )  # fmt: skip
    with connect(shop) as conn:
        after = natural(conn)
        types = dict(
            conn.execute(
                "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns"
                " WHERE column_name IN ('object_id', 'product_id')"
            ).fetchall()
        )
    assert after == before
    assert all(target is not None for _, target in after["tags"])
    assert types == {
        "tag_taggeditem.object_id": "uuid",
        "django_admin_log.object_id": "text",  # Django keeps text object ids: now uuid text
        "shop_review.product_id": "uuid",
    }
    assert_ok(uuidpk("verify", "--dsn", shop))


def test_a_generic_relation_to_a_table_left_integer_is_refused(shop: str) -> None:
    with connect(shop) as conn:
        conn.execute("UPDATE tag_taggeditem SET content_type_id = 3 WHERE id = 1")  # audit.note
        before = natural(conn)
    outcome = uuidpk(
        "apply", "--dsn", shop, "--table", "shop_product", "--table", "shop_brand", "--yes",
        "--accept-risks", "--soft-ref", "tag_taggeditem.object_id",
    )  # fmt: skip
    assert outcome.code == 1
    assert "public.audit_note" in outcome.err_lines[-1]
    assert "--table" in outcome.err_lines[-1]
    with connect(shop) as conn:
        assert natural(conn) == before


@pytest.mark.corpus
def test_netbox_tagged_items_follow_their_sites(
    corpus_dsn_factory: Callable[[str], str],
) -> None:
    dsn = corpus_dsn_factory("netbox")
    query = """
        SELECT t.name, s.name FROM extras_taggeditem i
          JOIN extras_tag t ON t.id = i.tag_id
          JOIN django_content_type ct ON ct.id = i.content_type_id
          JOIN dcim_site s ON ct.app_label = 'dcim' AND ct.model = 'site' AND s.id = i.object_id
         ORDER BY 1, 2"""
    with connect(dsn) as conn:
        before = conn.execute(query).fetchall()
    assert len(before) > 0
    outcome = assert_ok(
        uuidpk(
            "apply", "--dsn", dsn, "--all", "--yes", "--accept-risks",
            "--soft-ref", "extras_taggeditem.object_id",
        )
    )  # fmt: skip
    assert "extras_taggeditem.object_id" not in outcome.err
    with connect(dsn) as conn:
        assert conn.execute(query).fetchall() == before
    assert_ok(uuidpk("verify", "--dsn", dsn))


def test_django_generic_relations_are_found_without_soft_ref(shop: str) -> None:
    """In a Django database (django_content_type exists) generic relations convert with the keys
    their rows point at; a text object id keeps the rows that point at a table left integer."""
    with connect(shop) as conn:
        conn.execute(
            "INSERT INTO django_admin_log (message, content_type_id, object_id)"
            " VALUES ('note 2 changed', 3, '2')"
        )
        before = natural(conn)
    outcome = assert_ok(
        uuidpk(
            "apply", "--dsn", shop, "--table", "shop_product", "--table", "shop_brand", "--yes",
            "--soft-ref", "shop_review.product_id",
        )
    )  # fmt: skip
    assert "public.tag_taggeditem.object_id (content_type_id): converted to uuid" in outcome.err
    assert "1 row(s) pointing at audit.note kept as they are" in outcome.err
    with connect(shop) as conn:
        assert natural(conn) == before
        assert conn.execute(
            "SELECT object_id FROM django_admin_log WHERE message = 'note 2 changed'"
        ).fetchone() == ("2",)
    assert_ok(uuidpk("verify", "--dsn", shop))
