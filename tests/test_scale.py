"""inspect readable at scale: a summary at the end, a note shared by many keys said once, no
false alarms (partial indexes that only test IS NULL, generic relations on empty tables), rows
of never-analyzed tables unknown rather than ~0, and the offline downtime estimated."""

from __future__ import annotations

import json
from collections.abc import Callable

import psycopg
import pytest
from checks import assert_ok, uuidpk

SCHEMA = """
CREATE TABLE node (id serial PRIMARY KEY, parent_id int REFERENCES node, name text NOT NULL);
CREATE UNIQUE INDEX node_root_name ON node (name) WHERE parent_id IS NULL;
CREATE TABLE item (id serial PRIMARY KEY, node_id int REFERENCES node, n int);
CREATE INDEX item_node_text ON item ((node_id::text));
INSERT INTO node (name) SELECT 'n' || i FROM generate_series(1, 50) i;
"""


def test_false_alarms_dropped_and_real_ones_kept(dsn: str, conn: psycopg.Connection) -> None:
    conn.execute(SCHEMA)
    text = assert_ok(uuidpk("inspect", "--dsn", dsn, "--all")).out
    assert "node_root_name" not in text  # WHERE parent_id IS NULL: the same over uuid
    # Over uuid the text differs: a warning. (WHERE node_id > 0 is a blocker: test_shapes.py.)
    assert "warning  index item_node_text" in text


def test_never_analyzed_rows_are_unknown(dsn: str, conn: psycopg.Connection) -> None:
    conn.execute(SCHEMA)
    document = json.loads(
        assert_ok(uuidpk("inspect", "--dsn", dsn, "--all", "--format", "json")).out
    )
    assert {k["table"]: k["estimated_rows"] for k in document["keys"]} == {
        "item": None,
        "node": None,
    }
    text = assert_ok(uuidpk("inspect", "--dsn", dsn, "--all")).out
    assert "rows unknown (never analyzed)" in text and "~0 rows" not in text
    conn.execute("ANALYZE node")
    text = assert_ok(uuidpk("inspect", "--dsn", dsn, "--table", "node")).out
    assert "~50 rows" in text


def test_summary_and_notes_said_once(dsn: str, conn: psycopg.Connection) -> None:
    conn.execute(SCHEMA)
    lines = assert_ok(uuidpk("inspect", "--dsn", dsn, "--all")).out.splitlines()
    assert lines[-2].startswith("summary: 2 key(s), 4 column(s) in 2 table(s); 0 refused")
    assert lines[-1].startswith("offline downtime, estimated: ~")
    assert "assumed" in lines[-1]
    ordering = [line for line in lines if "ORDER BY id on" in line]
    assert ordering == [ordering[0]] and "(2 keys: public.item, public.node)" in ordering[0]
    assert "<table>" in ordering[0]


@pytest.mark.corpus
def test_netbox_generic_relations_on_empty_tables_are_notes(
    corpus_dsn_factory: Callable[[str], str],
) -> None:
    dsn = corpus_dsn_factory("netbox")
    with psycopg.connect(dsn, autocommit=True) as conn:
        empty = conn.execute("SELECT NOT EXISTS (SELECT FROM extras_bookmark)").fetchone()
        assert empty == (True,)
    document = json.loads(
        # --no-generic: left as they are, generic relations are problems to read about (by
        # default a Django database's generic relations are converted and reported as notes).
        assert_ok(uuidpk("inspect", "--dsn", dsn, "--all", "--no-generic", "--format", "json")).out
    )
    severity = {p["name"]: p["severity"] for p in document["problems"]}
    assert severity["public.extras_bookmark.object_id"] == "note"
    assert severity["public.extras_taggeditem.object_id"] == "warning"  # it has rows
    assert document["estimate"]["locked_tables"] > 100
