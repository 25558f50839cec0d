"""verify catches every kind of damage (issues 11 and 19): mutation tests after an offline
conversion; test_online_verify.py runs the same after an online one (the damage is in damage.py).

Each damage runs on a private copy of a converted database that verified clean; verify must fail
(exit 1) naming exactly what was broken, in text and JSON. The kinds a content-only fingerprint
could not see: a child repointed to a twin parent, a parent's uuid changed together with all its
children; the schema apply left (actions, DEFERRABLE, keys, indexes, defaults, NOT NULL, column
types, views, triggers and their state, comments, privileges, owners, policies). Then where
verify runs (read-only, LATIN1), what was already wrong before the migration, older records, and
the fingerprint `generate`'s script records.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pgutil
import psycopg
import pytest
from checks import assert_clean_failure, assert_ok, uuidpk
from damage import (
    DAMAGES,
    LINES_INDEX,
    TRACK_FK,
    TWINS,
    VIEW_DEFINITION,
    Damage,
    assert_caught,
    damaged,
    twin_ids,
)
from pgutil import PgCluster, psql_binary, unique_name
from psycopg import sql
from psycopg.conninfo import make_conninfo
from test_verify import (
    LINES_FK,
    failed,
    named,
    run_status,
    shop,  # noqa: F401 (fixture)
)

from uuidpk.sample import load_shop


@pytest.mark.parametrize("damage", DAMAGES, ids=[d.id for d in DAMAGES])
def test_every_kind_of_damage_is_named(pg: PgCluster, damage: Damage) -> None:
    assert_caught(pg, damage, "offline")


def test_json_holds_what_was_recorded_and_what_is_there_now(pg: PgCluster) -> None:
    (view,) = [d for d in DAMAGES if d.id == "a view's definition changed"]
    name, dsn = damaged(pg, view, "offline")
    try:
        document = json.loads(uuidpk("verify", "--dsn", dsn, "--format", "json").out)
    finally:
        pg.drop_database(name)
    (difference,) = document["differences"]
    assert difference["what"] == "view" and difference["name"] == "public.order_summary"
    # The whole definitions, as pg_get_viewdef gives them (the text line shows a window).
    assert " ".join(difference["was"].split()) == VIEW_DEFINITION, difference
    assert "WHERE (o.status <> 'hidden'::text)" in difference["now"], difference


def test_objects_added_after_apply_are_no_difference(
    shop: str,  # noqa: F811 (fixture)
    conn: psycopg.Connection,
) -> None:
    conn.execute("CREATE INDEX extra ON order_order (created_at)")
    conn.execute("ALTER TABLE order_order ALTER COLUMN status SET DEFAULT 'new'")
    conn.execute("COMMENT ON COLUMN order_order.status IS 'new'")
    conn.execute("CREATE VIEW extra_view AS SELECT id FROM order_order")
    conn.execute("GRANT SELECT (status) ON order_order TO PUBLIC")
    assert_ok(uuidpk("verify", "--dsn", shop))


# -- records of other versions -------------------------------------------------------------------
def test_a_record_of_version_1_is_compared_for_what_it_holds(
    shop: str,  # noqa: F811 (fixture)
    conn: psycopg.Connection,
) -> None:
    # As an earlier uuidpk recorded it: a bare array of constraints, indexes, defaults and NOT
    # NULL, each with a text definition.
    conn.execute(
        """UPDATE uuidpk.fingerprint_run
              SET schema_after = (SELECT jsonb_agg(o - 'enabled')
                                    FROM jsonb_array_elements(schema_after -> 'objects') AS o
                                   WHERE o ->> 'what' IN ('constraint', 'index', 'default',
                                                          'not null')
                                     AND NOT o ? 'of')"""
    )
    outcome = assert_ok(uuidpk("verify", "--dsn", shop))
    assert (
        "uuidpk: note: fingerprint run 1 was recorded by an older uuidpk: its schema record has "
        "constraints, indexes, defaults and NOT NULL, not column types, triggers, views"
    ) in outcome.err, outcome.describe()
    conn.execute(f"DROP INDEX {LINES_INDEX}")
    lines = failed(uuidpk("verify", "--dsn", shop))
    assert named(lines, f"uuidpk: index {LINES_INDEX} on public.order_orderline: missing"), lines


def test_a_record_of_a_later_version_is_refused(
    shop: str,  # noqa: F811 (fixture)
    conn: psycopg.Connection,
) -> None:
    conn.execute(
        "UPDATE uuidpk.fingerprint_run SET schema_after = schema_after || '{\"version\": 99}'"
    )
    message = assert_clean_failure(uuidpk("verify", "--dsn", shop))
    assert message == (
        "uuidpk: error: fingerprint run 1 holds a schema record of version 99; this uuidpk reads "
        "versions 1, 2: verify with the uuidpk that made it or a newer one"
    ), message
    assert run_status(conn) == "recorded"


# -- where verify runs -------------------------------------------------------------------------
def test_verify_is_read_only(shop: str, conn: psycopg.Connection) -> None:  # noqa: F811
    # As on a hot standby: every transaction of the session is read-only. No scratch table, no
    # status update: verify proves and writes nothing.
    read_only = make_conninfo(shop, options="-c default_transaction_read_only=on")
    outcome = assert_ok(uuidpk("verify", "--dsn", read_only))
    assert outcome.out.rstrip().endswith("; no difference"), outcome.describe()
    assert "read-only: the run's status was not recorded" in outcome.err, outcome.describe()
    assert run_status(conn) == "recorded"
    conn.execute(f"ALTER TABLE order_orderline DROP CONSTRAINT {LINES_FK}")
    lines = failed(uuidpk("verify", "--dsn", read_only))
    assert named(lines, LINES_FK), lines


def test_a_latin1_database_with_non_ascii_names(pg: PgCluster) -> None:
    name = unique_name("latin1")
    with pg.connect_admin() as admin:
        admin.execute(
            sql.SQL(
                "CREATE DATABASE {} TEMPLATE template0 ENCODING 'LATIN1'"
                " LC_COLLATE 'C' LC_CTYPE 'C'"
            ).format(sql.Identifier(name))
        )
    try:
        dsn = pg.dsn(name)
        schema = """
            CREATE TABLE "Straßenbestellung" ("Nummer_é" serial PRIMARY KEY, "Straße" text);
            CREATE TABLE "Position_ä" (id serial PRIMARY KEY,
                "Bestellung_Nr_ö" int REFERENCES "Straßenbestellung", "Menge_ä" int);
            CREATE INDEX "Index_ü" ON "Position_ä" ("Bestellung_Nr_ö");
            INSERT INTO "Straßenbestellung" ("Straße") VALUES ('Hauptstraße'), ('Grüner Weg');
            INSERT INTO "Position_ä" ("Bestellung_Nr_ö", "Menge_ä") VALUES (1, 2), (2, 3), (2, 4);
        """
        copy_name = unique_name("latin1s")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(schema)  # type: ignore[arg-type]
        assert_ok(uuidpk("apply", "--dsn", dsn, "--all", "--yes"))
        assert_ok(uuidpk("verify", "--dsn", dsn))
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("""UPDATE "Position_ä" SET "Menge_ä" = 5 WHERE "Menge_ä" = 4""")
            conn.execute('DROP INDEX "Index_ü"')
        lines = failed(uuidpk("verify", "--dsn", dsn))
        assert named(lines, 'table public."Position_ä":'), lines
        assert named(lines, 'index "Index_ü" on public."Position_ä": missing'), lines

        # The script generate prints, run by psql as the README says, with no client encoding
        # set anywhere (psql then speaks the database's, LATIN1).
        with pg.connect_admin() as admin:
            admin.execute(
                sql.SQL(
                    "CREATE DATABASE {} TEMPLATE template0 ENCODING 'LATIN1'"
                    " LC_COLLATE 'C' LC_CTYPE 'C'"
                ).format(sql.Identifier(copy_name))
            )
        script_dsn = pg.dsn(copy_name)
        with psycopg.connect(script_dsn, autocommit=True) as conn:
            conn.execute(schema)  # type: ignore[arg-type]
        script = assert_ok(uuidpk("generate", "--dsn", script_dsn, "--all")).out
        run_plain_psql(script_dsn, script)
        assert_ok(uuidpk("verify", "--dsn", script_dsn))
    finally:
        pg.drop_database(name)
        pg.drop_database(copy_name)


def run_plain_psql(dsn: str, script: str) -> None:
    """psql -f - as a user runs it: no PGCLIENTENCODING, no -v ON_ERROR_STOP (the script has
    its own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LANG"] = env["LC_ALL"] = "C.UTF-8"
    proc = subprocess.run(
        [psql_binary(), "-X", "-q", "-d", dsn, "-f", "-"],
        input=script.encode("utf-8"),
        capture_output=True,
        env=env,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0 and b"ERROR" not in proc.stderr, proc.stderr.decode()


# -- problems that were there before ---------------------------------------------------------
def test_a_sequence_behind_already_before_is_told_apart(dsn: str, conn: psycopg.Connection) -> None:
    load_shop(conn, orders=30)
    conn.execute("SELECT setval('public.invoice_invoice_id_seq', 2)")  # broken before
    assert_ok(uuidpk("apply", "--dsn", dsn, "--table", "order_order", "--yes"))
    outcome = assert_ok(uuidpk("verify", "--dsn", dsn))
    assert (
        "uuidpk: note: sequence public.invoice_invoice_id_seq: next value 3 is not past"
        in outcome.err
    ), outcome.describe()
    assert "already before the migration" in outcome.err, outcome.describe()
    # One broken after the migration is a difference.
    conn.execute("SELECT setval('public.order_orderline_id_seq', 1)")
    lines = failed(uuidpk("verify", "--dsn", dsn))
    assert named(lines, "uuidpk: sequence public.order_orderline_id_seq: next value 2"), lines
    assert not named(lines, "uuidpk: sequence public.invoice_invoice_id_seq"), lines


# -- generate's script -------------------------------------------------------------------------
def test_a_generated_script_records_a_fingerprint(dsn: str, conn: psycopg.Connection) -> None:
    conn.execute(TWINS)
    script = assert_ok(uuidpk("generate", "--dsn", dsn, "--all")).out
    assert "-- record a fingerprint" in script
    # After the locks and the derivation functions, before the first change.
    assert script.index("LOCK TABLE") < script.index("INSERT INTO uuidpk.fingerprint_run")
    assert script.index("INSERT INTO uuidpk.fingerprint_run") < script.index("DROP CONSTRAINT")
    run_plain_psql(dsn, script)
    outcome = assert_ok(uuidpk("verify", "--dsn", dsn))
    assert "3 table(s), 2 foreign key(s)" in outcome.out, outcome.describe()
    assert run_status(conn) == "verified"
    first, second = twin_ids(conn)
    conn.execute(
        "UPDATE track SET playlist_id = %s WHERE playlist_id = %s AND title = 'b'", (second, first)
    )
    conn.execute("ALTER TABLE track ALTER COLUMN id DROP DEFAULT")
    lines = failed(uuidpk("verify", "--dsn", dsn))
    assert named(lines, TRACK_FK) and named(lines, "column public.track.id: default"), lines


# -- a real hot standby ------------------------------------------------------------------------
@contextlib.contextmanager
def hot_standby(pg: PgCluster) -> Iterator[PgCluster]:
    """A streaming replica of the test server (pg_basebackup -R), stopped and removed after.
    Opt-in (UUIDPK_TEST_STANDBY=1): the base backup copies every database of the test server,
    corpus templates included, which takes a minute or two on a shared machine."""
    if not os.environ.get("UUIDPK_TEST_STANDBY"):
        pytest.skip("a hot standby only with UUIDPK_TEST_STANDBY=1")
    if not pg.owned or pg._data_dir is None or pg.tmpdir is None:
        pytest.skip("needs the throwaway test server (UUIDPK_TEST_DSN is set)")
    try:
        basebackup = pgutil.find_binary("pg_basebackup")
    except pgutil.HarnessError:
        pytest.skip("pg_basebackup not found")
    prefix, uid, gid = pgutil._as_postgres()
    tmpdir = Path(tempfile.mkdtemp(prefix="uuidpk-standby-"))
    if uid is not None and gid is not None:
        os.chown(tmpdir, uid, gid)
    data = tmpdir / "data"
    subprocess.run(
        [
            *prefix,
            basebackup,
            "-h",
            "127.0.0.1",
            "-p",
            str(pg.port),
            "-U",
            "postgres",
            "-D",
            str(data),
            "-R",
            "-X",
            "stream",
            "--no-sync",
        ],
        cwd=tmpdir,
        capture_output=True,
        check=True,
        timeout=300,
    )
    port = pgutil.free_port()
    pg_ctl = pg._pg_ctl
    subprocess.run(
        [
            *pg_ctl,
            "start",
            "-D",
            str(data),
            "-w",
            "-t",
            "60",
            "-l",
            str(tmpdir / "log"),
            "-o",
            f"-p {port}",
        ],
        cwd=tmpdir,
        capture_output=True,
        check=True,
        timeout=120,
    )
    standby = PgCluster(admin_dsn=make_conninfo(pg.admin_dsn, port=port))
    try:
        yield standby
    finally:
        subprocess.run(
            [*pg_ctl, "stop", "-D", str(data), "-m", "immediate", "-w"],
            cwd=tmpdir,
            capture_output=True,
            check=False,
            timeout=60,
        )
        shutil.rmtree(tmpdir, ignore_errors=True)


def caught_up(primary: psycopg.Connection, standby_dsn: str) -> None:
    (lsn,) = primary.execute("SELECT pg_current_wal_lsn()::text").fetchone()  # type: ignore[misc]
    deadline = time.monotonic() + 60
    with psycopg.connect(standby_dsn, autocommit=True) as standby:
        while True:
            (done,) = standby.execute(  # type: ignore[misc]
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)
            ).fetchone()
            if done:
                return
            assert time.monotonic() < deadline, "the standby did not catch up"
            time.sleep(0.1)


def test_verify_on_a_hot_standby(
    pg: PgCluster,
    shop: str,  # noqa: F811 (fixture)
    conn: psycopg.Connection,
) -> None:
    database = conn.info.dbname
    with hot_standby(pg) as standby:
        replica = standby.dsn(database)
        caught_up(conn, replica)
        with psycopg.connect(replica) as check:
            assert check.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        outcome = assert_ok(uuidpk("verify", "--dsn", replica))
        assert "read-only: the run's status was not recorded" in outcome.err, outcome.describe()
        conn.execute("DROP INDEX order_orderline_order_id_eb04ec2d")
        caught_up(conn, replica)
        lines = failed(uuidpk("verify", "--dsn", replica))
        assert named(lines, "index order_orderline_order_id_eb04ec2d"), lines


@pytest.mark.parametrize(
    "options",
    [
        pytest.param((), id="v8"),
        pytest.param(("--uuid", "v7"), id="v7"),
        pytest.param(("--uuid", "v7", "--order-by", "created_at"), id="v7 by created_at"),
        pytest.param(("--keep-old-id", "old_id", "--mapping-table"), id="old ids kept"),
    ],
)
def test_every_derivation_verifies_and_catches_a_repointed_row(
    dsn: str, conn: psycopg.Connection, options: tuple[str, ...]
) -> None:
    # The fingerprint measures each converted column with the very expression the ALTER uses:
    # time-ordered ones included (a look-up of the parent's timestamp by old value).
    load_shop(conn, orders=40)
    outcome = assert_ok(uuidpk("apply", "--dsn", dsn, "--all", "--yes", "--verify", *options))
    assert "verified fingerprint run" in outcome.err, outcome.describe()
    assert_ok(uuidpk("verify", "--dsn", dsn))
    conn.execute(
        "UPDATE payment_payment SET order_id = (SELECT o.id FROM order_order AS o"
        " WHERE NOT EXISTS (SELECT 1 FROM payment_payment AS p WHERE p.order_id = o.id) LIMIT 1)"
        " WHERE reference = (SELECT min(reference) FROM payment_payment)"
    )
    lines = failed(uuidpk("verify", "--dsn", dsn))
    assert named(lines, "payment_payment_order_id_22b45881_fk_order_order_id"), lines
