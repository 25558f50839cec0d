"""`uuidpk verify` after an online migration (issue 10; design in uuidpk/online_fingerprint.py).

The proof records the fingerprint in its snapshot; the migration's end closes it. verify passes
on an undamaged database, names the tables the application wrote during the migration instead
of failing on them, refuses a migration that has not finished, and catches every kind of damage
test_verify_damage.py does after an offline run (damage.py), once no one else writes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pgutil
import psycopg
import pytest
from checks import assert_clean_failure, assert_ok, connect, shop_copy, uuidpk
from damage import DAMAGES, TRACK_FK, TWINS, Damage, assert_caught, twin_ids
from test_online import Writer
from test_verify import LINES_FK, ORIGINAL_FK, failed, named, run_status

import uuidpk as uuidpk_api
from uuidpk import Options, Selection
from uuidpk.online import Settings
from uuidpk.ops import Phase


def apply_online(dsn: str, *args: str) -> None:
    done = assert_ok(uuidpk("apply", "--dsn", dsn, "--online", "--yes", *args))
    assert "done" in done.err, done.describe()


@pytest.fixture
def online_shop(pg: pgutil.PgCluster, request: pytest.FixtureRequest) -> str:
    """The sample shop (200 orders), every key converted online; nobody else writes."""
    dsn = shop_copy(pg, request)
    apply_online(dsn, "--all")
    return dsn


def test_verify_passes_after_an_online_run_and_says_what_it_compared(online_shop: str) -> None:
    outcome = assert_ok(uuidpk("verify", "--dsn", online_shop))
    assert outcome.out.rstrip().endswith("; no difference"), outcome.describe()
    assert "table(s)" in outcome.out and "foreign key(s)" in outcome.out, outcome.describe()
    assert (
        "no table or foreign key was written between the proof and the end; every one is "
        "compared with its rows before the conversion" in outcome.err
    ), outcome.describe()
    assert "the schema after the migration was not recorded" not in outcome.err
    document = json.loads(assert_ok(uuidpk("verify", "--dsn", online_shop, "--format", "json")).out)
    assert document["ok"] and document["online"]["state"] == "finished", document
    with connect(online_shop) as conn:
        assert run_status(conn) == "verified"


def test_status_mentions_the_recorded_fingerprint(online_shop: str) -> None:
    shown = assert_ok(uuidpk("status", "--dsn", online_shop)).out
    assert "fingerprint run 1, taken at the proof" in shown, shown
    assert "closed at the end (0 of" in shown and "not verified yet" in shown, shown
    assert_ok(uuidpk("verify", "--dsn", online_shop))
    assert "compares with it: verified" in assert_ok(uuidpk("status", "--dsn", online_shop)).out
    document = json.loads(assert_ok(uuidpk("status", "--dsn", online_shop, "--format", "json")).out)
    assert document["fingerprint"]["run"] == 1, document
    assert document["fingerprint"]["state"] == "finished", document


def test_writes_during_the_migration_are_named_not_failed(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    dsn = shop_copy(pg, request)
    with connect(dsn) as conn:
        (lines,) = conn.execute("SELECT count(*) FROM order_orderline").fetchone()  # type: ignore[misc]
        (pairs,) = conn.execute(  # type: ignore[misc]
            "SELECT count(original_id) FROM order_order"
        ).fetchone()
    selection, options = Selection(("order_order",)), Options()
    with connect(dsn) as conn:
        stopped = uuidpk_api.apply_online(conn, selection, options, Settings(until=Phase.CUTOVER))
    assert stopped is not None and not stopped.finished
    # Between the cutover and the end the proof's fingerprint cannot be compared yet.
    outcome = uuidpk("verify", "--dsn", dsn)
    message = assert_clean_failure(outcome)
    assert "of an online migration that has not finished" in message, message
    shown = assert_ok(uuidpk("status", "--dsn", dsn)).out
    assert "closed when the migration ends" in shown, shown
    with connect(dsn) as conn:
        # The application writes after the proof: a new order with a line, a line moved.
        with conn.transaction():
            row = conn.execute(
                "INSERT INTO order_order (number, created_at, status, total) "
                "VALUES ('NEW-1', now(), 'new', 1) RETURNING id"
            ).fetchone()
            assert row is not None
            conn.execute(
                "INSERT INTO order_orderline (order_id, sku, quantity, unit_price) "
                "VALUES (%s, 'X', 1, 1)",
                [row[0]],
            )
            conn.execute(
                "UPDATE order_orderline SET order_id = %s"
                " WHERE id = (SELECT min(id) FROM order_orderline)",
                [row[0]],
            )
        finished = uuidpk_api.apply_online(conn, selection, options, Settings())
    assert finished is not None and finished.finished
    outcome = assert_ok(uuidpk("verify", "--dsn", dsn))
    notes = [line for line in outcome.err_lines if "online migration:" in line]
    # What was compared with what, table by table and key by key (issue 26): what was written
    # between the proof and the end is compared only with what the migration left.
    assert notes[0].startswith(
        "uuidpk: note: online migration: 2 of 5 table(s) and 2 of 5 foreign key(s) were written"
        " between the proof and the end"
    ), notes
    assert "a wrong value written between the proof and the cutover cannot be seen" in notes[0]
    assert notes[1:-1] == [
        "uuidpk: note: online migration: table public.order_order: written between the proof"
        " and the end (200 rows at the proof, 201 at the end); compared only with what the"
        " migration left",
        "uuidpk: note: online migration: table public.order_orderline: written between the"
        f" proof and the end ({lines:,} rows at the proof, {lines + 1:,} at the end); compared"
        " only with what the migration left",
        # The new order's NULL original_id: its pairs did not move, its NULL references did.
        f"uuidpk: note: online migration: foreign key {ORIGINAL_FK} on public.order_order:"
        f" written between the proof and the end ({pairs:,} (child, parent) pairs at the proof,"
        f" {pairs:,} at the end); compared only with what the migration left",
        f"uuidpk: note: online migration: foreign key {LINES_FK} on public.order_orderline:"
        f" written between the proof and the end ({lines:,} (child, parent) pairs at the proof,"
        f" {lines + 1:,} at the end); compared only with what the migration left",
    ], notes
    assert notes[-1] == (
        "uuidpk: note: online migration: the other 3 table(s) and 3 foreign key(s) are"
        " compared with their rows before the conversion"
    ), notes
    assert outcome.out.rstrip().endswith(
        "(2 table(s) and 2 foreign key(s) of them only against what the online migration"
        " left); no difference"
    ), outcome.describe()
    document = json.loads(assert_ok(uuidpk("verify", "--dsn", dsn, "--format", "json")).out)
    against = {c["name"]: c for c in document["compared"]}
    assert len(against) == 10, against
    assert against["public.order_orderline"] == {
        "what": "table",
        "name": "public.order_orderline",
        "compared_with": "end",
        "at_proof": lines,
        "at_end": lines + 1,
    }
    assert against["public.payment_payment"] == {
        "what": "table",
        "name": "public.payment_payment",
        "compared_with": "before",
    }
    ends = sorted(name for name, c in against.items() if c["compared_with"] == "end")
    assert ends == [
        f"{ORIGINAL_FK} on public.order_order",
        f"{LINES_FK} on public.order_orderline",
        "public.order_order",
        "public.order_orderline",
    ], ends
    # A run closed by an earlier uuidpk kept no counts at the proof: the same, without them.
    with connect(dsn) as conn:
        conn.execute("UPDATE uuidpk.fingerprint_run SET online = online - 'at_proof'")
    outcome = assert_ok(uuidpk("verify", "--dsn", dsn))
    assert (
        "uuidpk: note: online migration: table public.order_orderline: written between the"
        " proof and the end; compared only with what the migration left"
    ) in outcome.err_lines, outcome.describe()
    # What the migration left is what a later verify holds the database to.
    with connect(dsn) as conn:
        conn.execute("UPDATE order_orderline SET quantity = quantity + 1 WHERE sku = 'X'")
    lines = failed(uuidpk("verify", "--dsn", dsn))
    assert named(lines, "table public.order_orderline:"), lines


def test_an_application_writing_through_the_proof_and_the_cutover_is_no_difference(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    # The proof measures in its own snapshot while the application writes: what it records
    # is consistent, and the tables written after it are named, not failed.
    dsn = shop_copy(pg, request)
    writer = Writer(dsn)
    writer.start()
    try:
        with connect(dsn) as conn:
            settings = Settings(until=Phase.CUTOVER)
            stopped = uuidpk_api.apply_online(
                conn, Selection(("order_order",)), Options(), settings
            )
        assert stopped is not None and not stopped.finished
        time.sleep(0.3)  # and on after the cutover, on the uuid keys
    finally:
        writer.stop.set()
        writer.join()
    assert writer.failures == [] and writer.lines, writer.failures
    with connect(dsn) as conn:
        finished = uuidpk_api.apply_online(conn, Selection(("order_order",)), Options())
    assert finished is not None and finished.finished
    outcome = assert_ok(uuidpk("verify", "--dsn", dsn))
    assert outcome.out.rstrip().endswith("; no difference"), outcome.describe()
    for table in ("public.order_order", "public.order_orderline"):
        assert f"online migration: table {table}: written between the proof and the end (" in (
            outcome.err
        ), outcome.describe()


@pytest.mark.parametrize("corpus", pgutil.CORPUS_NAMES)
def test_verify_passes_after_online_all_on_every_corpus(
    corpus_dsn_factory: Any, corpus: str
) -> None:
    dsn = corpus_dsn_factory(corpus)
    apply_online(dsn, "--all", "--accept-risks")
    outcome = assert_ok(uuidpk("verify", "--dsn", dsn))
    assert outcome.out.rstrip().endswith("; no difference"), outcome.describe()
    assert "no table or foreign key was written" in outcome.err, outcome.describe()


# -- every kind of damage (damage.py) --------------------------------------------------------------
@pytest.mark.parametrize("damage", DAMAGES, ids=[d.id for d in DAMAGES])
def test_every_kind_of_damage_is_named(pg: pgutil.PgCluster, damage: Damage) -> None:
    assert_caught(pg, damage, "online")


# -- generate --online --------------------------------------------------------------------------
def test_a_generated_online_script_records_the_same_fingerprint(
    dsn: str, conn: psycopg.Connection, tmp_path: Path
) -> None:
    conn.execute(TWINS)
    text = assert_ok(uuidpk("generate", "--dsn", dsn, "--all", "--online")).out
    head, body = text.split("\\set ON_ERROR_STOP on\n", 1)
    before, after = body.split("-- ======== phase contract", 1)
    assert "INSERT INTO uuidpk.fingerprint_run" in before, before
    assert "uuidpk_after" in after, after
    first, second = tmp_path / "first.sql", tmp_path / "second.sql"
    first.write_text(head + "\\set ON_ERROR_STOP on\n" + before)
    second.write_text(head + "\\set ON_ERROR_STOP on\n-- phase contract" + after)
    pgutil.run_psql(dsn, first)
    message = assert_clean_failure(uuidpk("verify", "--dsn", dsn))
    assert "of an online migration that has not finished" in message, message
    pgutil.run_psql(dsn, second)
    outcome = assert_ok(uuidpk("verify", "--dsn", dsn))
    assert "3 table(s), 2 foreign key(s)" in outcome.out, outcome.describe()
    assert "no table or foreign key was written" in outcome.err, outcome.describe()
    first_id, second_id = twin_ids(conn)
    conn.execute(
        "UPDATE track SET playlist_id = %s WHERE playlist_id = %s AND title = 'b'",
        (second_id, first_id),
    )
    conn.execute("ALTER TABLE track ALTER COLUMN id DROP DEFAULT")
    lines = failed(uuidpk("verify", "--dsn", dsn))
    assert named(lines, TRACK_FK) and named(lines, "column public.track.id: default"), lines


def test_a_repeated_close_changes_nothing(online_shop: str) -> None:
    # A run killed after the close committed but before the journal said so closes again when
    # it resumes: that must not take in what changed since (here, damage).
    with connect(online_shop) as conn:
        (record,) = conn.execute(  # type: ignore[misc]
            "SELECT spec -> 'record' FROM uuidpk.online_step WHERE id = 'fingerprint'"
        ).fetchone()
        conn.execute(
            "UPDATE order_orderline SET quantity = quantity + 1"
            " WHERE ctid = (SELECT min(ctid) FROM order_orderline)"
        )
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            for statement in record:
                conn.execute(statement)
    lines = failed(uuidpk("verify", "--dsn", online_shop))
    assert named(lines, "table public.order_orderline:"), lines
