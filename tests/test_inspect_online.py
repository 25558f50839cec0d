"""Issue 10: `inspect --online` says before anything changes what online mode will refuse or run
into, and `apply --online` refuses the same blockers, one line each, before its first change.
Each refusal and warning is shown on a real database built to have it."""

from __future__ import annotations

import json
import threading
from typing import Any

import pgutil
import psycopg
import pytest
from checks import assert_ok, connect, schema_facts, uuidpk

from uuidpk import pipeline, pipeline_online

# A parent and a child whose reference is everything online mode refuses: a BRIN index over
# the key, a stored generated column and an ENABLE ALWAYS trigger. (Offline refuses exclusion
# constraints over a key first: inspect shows that without --online.)
REFUSED = """
CREATE TABLE parent (id serial PRIMARY KEY, name text);
CREATE TABLE child (
    id serial PRIMARY KEY,
    parent_id integer NOT NULL REFERENCES parent,
    code text GENERATED ALWAYS AS ('p' || parent_id) STORED
);
CREATE INDEX child_parent_brin ON child USING brin (parent_id);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER child_touch BEFORE UPDATE ON child FOR EACH ROW EXECUTE FUNCTION touch();
ALTER TABLE child ENABLE ALWAYS TRIGGER child_touch;
INSERT INTO parent (name) SELECT 'p' || i FROM generate_series(1, 5) i;
INSERT INTO child (parent_id) SELECT i FROM generate_series(1, 5) i;
"""

# Online mode converts this one, but runs into each warning the tests below add.
PLAIN = """
CREATE TABLE item (id serial PRIMARY KEY, price integer NOT NULL);
CREATE TABLE tag_link (item_id integer REFERENCES item, tag text, PRIMARY KEY (item_id, tag));
INSERT INTO item (price) SELECT i FROM generate_series(1, 200) i;
INSERT INTO tag_link SELECT i, 't' || i FROM generate_series(1, 200) i;
ANALYZE item, tag_link;
"""


def inspect_json(dsn: str, *args: str) -> tuple[int, dict[str, Any]]:
    outcome = uuidpk("inspect", "--dsn", dsn, *args, "--format", "json")
    assert outcome.exception is None, outcome.describe()
    return outcome.code, json.loads(outcome.out)


def found(document: dict[str, Any], severity: str, what: str) -> list[dict[str, str]]:
    return [p for p in document["problems"] if p["severity"] == severity and p["what"] == what]


def catalog_dump(conn: psycopg.Connection) -> Any:
    """The schema, every schema's name, and the rows of the test tables."""
    schemas = conn.execute("SELECT nspname FROM pg_namespace ORDER BY 1").fetchall()
    tables = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1"
    ).fetchall()
    rows = {
        t: conn.execute(
            psycopg.sql.SQL("SELECT * FROM {} ORDER BY 1").format(psycopg.sql.Identifier(t))
        ).fetchall()
        for (t,) in tables
    }
    return schema_facts(conn), schemas, rows


def test_inspect_online_names_every_refusal_in_text_and_json(conn: psycopg.Connection, dsn: str):
    conn.execute(REFUSED)
    # Without --online: offline converts all of it, nothing blocks.
    code, plain = inspect_json(dsn, "--table", "parent")
    assert code == 0, plain["problems"]
    before = catalog_dump(conn)

    code, document = inspect_json(dsn, "--table", "parent", "--online")
    assert code == 1
    names = {(p["what"], p["name"]) for p in document["problems"] if p["severity"] == "blocker"}
    assert names == {
        ("index", "public.child_parent_brin"),
        ("generated column", "public.child.code"),
        ("trigger", "child_touch on public.child"),
    }
    reasons = {p["name"]: p["reason"] for p in document["problems"]}
    assert "(a brin index)" in reasons["public.child_parent_brin"]
    assert "ENABLE ALWAYS" in reasons["child_touch on public.child"]

    text = uuidpk("inspect", "--dsn", dsn, "--table", "parent", "--online")
    assert text.code == 1, text.describe()
    for what, name in names:
        assert f"blocker  {what} {name}: " in text.out, text.out
    assert "3 blocker(s)" in text.err
    # inspect --online wrote nothing: no tool schema, same schema, same rows.
    assert catalog_dump(conn) == before


def test_apply_online_refuses_every_blocker_before_any_change(conn: psycopg.Connection, dsn: str):
    conn.execute(REFUSED)
    before = catalog_dump(conn)
    outcome = uuidpk("apply", "--dsn", dsn, "--table", "parent", "--online", "--yes")
    assert outcome.code == 1 and outcome.exception is None, outcome.describe()
    assert "Traceback" not in outcome.err
    lines = outcome.err_lines
    assert len(lines) == 3, outcome.describe()
    assert all(line.startswith("uuidpk: error: ") for line in lines)
    assert any("index public.child_parent_brin: online mode cannot rebuild" in x for x in lines)
    assert any("generated column public.child.code:" in x for x in lines)
    assert catalog_dump(conn) == before
    assert conn.execute("SELECT to_regnamespace('uuidpk')").fetchone() == (None,)


def test_a_violated_not_valid_check_blocks_with_its_count(conn: psycopg.Connection, dsn: str):
    conn.execute(PLAIN)
    conn.execute("ALTER TABLE item ADD CONSTRAINT cheap CHECK (price > 3) NOT VALID")
    conn.execute("ALTER TABLE item ADD CONSTRAINT fine CHECK (price > 0) NOT VALID")
    before = catalog_dump(conn)
    code, document = inspect_json(dsn, "--table", "item", "--online")
    assert catalog_dump(conn) == before  # the counts ran read-only
    assert code == 1
    [blocker] = found(document, "blocker", "check constraint")
    assert blocker["name"] == "public.item.cheap"
    assert "3 row(s) violate it" in blocker["reason"]
    outcome = uuidpk("apply", "--dsn", dsn, "--table", "item", "--online", "--yes")
    assert outcome.code == 1 and len(outcome.err_lines) == 1, outcome.describe()
    assert "check constraint public.item.cheap: NOT VALID and 3 row(s)" in outcome.err
    assert catalog_dump(conn) == before
    # Valid rows, and the same conversion goes through.
    conn.execute("UPDATE item SET price = 10 WHERE price <= 3")
    code, document = inspect_json(dsn, "--table", "item", "--online")
    assert code == 0 and found(document, "blocker", "check constraint") == []
    assert_ok(uuidpk("apply", "--dsn", dsn, "--table", "item", "--online", "--yes", "--quiet"))


def test_a_long_open_transaction_is_named(conn: psycopg.Connection, dsn: str) -> None:
    conn.execute(PLAIN)
    selection = pipeline.Selection(tables=("item",))
    with psycopg.connect(dsn) as holder:  # not autocommit: its SELECT opens a transaction
        holder.execute("SELECT count(*) FROM tag_link").fetchone()
        pid = holder.info.backend_pid
        with connect(dsn) as reader:
            document = pipeline_online.inspect_online(reader, selection, transaction_age=0.0)
            # The default asks for a minute: a fresh transaction is no news.
            quiet = pipeline_online.inspect_online(reader, selection)
    [session] = [p for p in found(document, "warning", "session") if p["name"] == f"pid {pid}"]
    assert session["reason"].startswith("idle in transaction for ")
    assert "CREATE INDEX CONCURRENTLY waits" in session["reason"]
    assert found(quiet, "warning", "session") == []


def test_a_running_query_is_named_too(conn: psycopg.Connection, dsn: str) -> None:
    conn.execute(PLAIN)
    started = threading.Event()

    def sleep() -> None:
        with psycopg.connect(dsn, autocommit=True) as sleeper:
            started.set()
            sleeper.execute("SELECT pg_sleep(2)")

    thread = threading.Thread(target=sleep)
    thread.start()
    try:
        started.wait(5)
        with connect(dsn) as reader:
            for _ in range(50):
                document = pipeline_online.inspect_online(
                    reader, pipeline.Selection(tables=("item",)), transaction_age=0.0
                )
                if found(document, "warning", "session"):
                    break
    finally:
        thread.join()
    [session] = found(document, "warning", "session")
    assert session["reason"].startswith("active for ")


def test_a_prepared_transaction_holding_a_closure_table_is_named(
    conn: psycopg.Connection, dsn: str
) -> None:
    if conn.execute("SHOW max_prepared_transactions").fetchone() == ("0",):
        pytest.skip("the server allows no prepared transactions")
    conn.execute(PLAIN)
    with psycopg.connect(dsn) as holder:
        holder.execute("UPDATE item SET price = price WHERE id = 1")
        holder.execute("PREPARE TRANSACTION 'held by a test'")
    try:
        code, document = inspect_json(dsn, "--table", "item", "--online")
    finally:
        conn.execute("ROLLBACK PREPARED 'held by a test'")
    assert code == 0
    [prepared] = found(document, "warning", "prepared transaction")
    assert prepared["name"] == "held by a test"
    assert "holding locks on public.item:" in prepared["reason"]


def test_tables_backfilled_by_pages_publications_and_the_estimate(
    conn: psycopg.Connection, dsn: str
) -> None:
    conn.execute(PLAIN)
    conn.execute("CREATE PUBLICATION shop_out FOR TABLE item")
    code, document = inspect_json(dsn, "--table", "item", "--online")
    assert code == 0
    [paged] = found(document, "warning", "table")
    assert paged["name"] == "public.tag_link"
    assert "ctid page ranges" in paged["reason"] and "~200 rows" in paged["reason"]
    [publication] = found(document, "warning", "publication")
    assert publication["name"] == "shop_out"
    assert publication["reason"].startswith("publishes public.item: ")
    estimate = document["online"]["estimate"]
    assert estimate["label"] == "estimate"
    # 400 rows with one closure column each: 16 bytes a shadow.
    assert estimate["shadow_bytes"] == 400 * 16
    assert estimate["twin_bytes"] > 0 and estimate["wal_bytes"] > estimate["twin_bytes"]
    [disk] = found(document, "note", "disk")
    assert disk["reason"].startswith("estimated: ")
    text = uuidpk("inspect", "--dsn", dsn, "--table", "item", "--online")
    assert "warning  publication shop_out: publishes public.item" in text.out
    # Without --online none of this is said.
    _, offline = inspect_json(dsn, "--table", "item")
    assert "online" not in offline
    assert found(offline, "warning", "publication") == found(offline, "warning", "table") == []


def test_apply_online_tells_warnings_and_quiet_silences_progress(
    conn: psycopg.Connection, dsn: str
) -> None:
    conn.execute(PLAIN)
    conn.execute("CREATE PUBLICATION shop_out FOR TABLE item")
    outcome = assert_ok(
        uuidpk("apply", "--dsn", dsn, "--table", "item", "--online", "--quiet", "--yes")
    )
    # The warnings and the final summary stay; the step lines go.
    *warnings, last = outcome.err_lines
    assert [w.split(": ")[2] for w in warnings] == ["table public.tag_link", "publication shop_out"]
    assert last.startswith("uuidpk: online conversion ") and " done" in last
    assert "expand:" not in outcome.err


def test_without_quiet_online_progress_is_shown(conn: psycopg.Connection, dsn: str) -> None:
    conn.execute(PLAIN)
    outcome = assert_ok(uuidpk("apply", "--dsn", dsn, "--table", "item", "--online", "--yes"))
    assert "expand:" in outcome.err


def test_a_role_that_cannot_see_other_sessions_is_told(
    pg: pgutil.PgCluster, conn: psycopg.Connection, dsn: str
) -> None:
    conn.execute(PLAIN)
    pg.ensure_role("oninspect_app", psycopg.sql.SQL("LOGIN"))
    conn.execute(
        "ALTER TABLE item OWNER TO oninspect_app; ALTER TABLE tag_link OWNER TO oninspect_app"
    )
    with connect(dsn) as admin:
        document = pipeline_online.inspect_online(admin, pipeline.Selection(tables=("item",)))
    assert found(document, "warning", "role") == []
    with connect(f"{dsn} user=oninspect_app") as app:
        document = pipeline_online.inspect_online(app, pipeline.Selection(tables=("item",)))
    [role] = found(document, "warning", "role")
    assert role["name"] == "oninspect_app" and "pg_read_all_stats" in role["reason"]
