"""verify catches every kind of damage (issue 11): mutation tests.

Each test converts, checks that verify passes, breaks one thing on purpose and checks that
verify fails (exit 1) naming it. The kinds of damage a content-only fingerprint could not see:
a child repointed to a twin parent, a parent's uuid changed together with all its children, and
the schema apply left (actions, DEFERRABLE, keys, indexes, defaults, NOT NULL). Then where
verify runs (read-only, LATIN1), what was already wrong before the migration, and the
fingerprint `generate`'s script records.
"""

from __future__ import annotations

import contextlib
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
from checks import assert_ok, uuidpk
from pgutil import PgCluster, psql_binary, unique_name
from psycopg import sql
from psycopg.conninfo import make_conninfo
from test_verify import (
    INVOICE_FK,
    LINES_FK,
    failed,
    named,
    run_status,
    shop,  # noqa: F401 (fixture)
)

from uuidpk.sample import load_shop

# Real data has twins: two playlists named "Music" with equal columns everywhere but the key.
TWINS = """
CREATE TABLE playlist (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE track (
    id serial PRIMARY KEY,
    playlist_id int NOT NULL REFERENCES playlist ON UPDATE CASCADE,
    title text NOT NULL
);
-- A table without a key: its rows are their own identity.
CREATE TABLE play (playlist_id int REFERENCES playlist ON UPDATE CASCADE, times int);
INSERT INTO playlist (name) VALUES ('Music'), ('Music'), ('Other');
INSERT INTO track (playlist_id, title) VALUES (1, 'a'), (1, 'b'), (2, 'a'), (3, 'c');
INSERT INTO play VALUES (1, 5), (2, 5), (3, 1);
"""
TRACK_FK = "track_playlist_id_fkey on public.track"
PLAY_FK = "play_playlist_id_fkey on public.play"


@pytest.fixture
def twins(dsn: str, conn: psycopg.Connection) -> str:
    conn.execute(TWINS)
    assert_ok(uuidpk("apply", "--dsn", dsn, "--all", "--yes"))
    assert_ok(uuidpk("verify", "--dsn", dsn))
    return dsn


def twin_ids(conn: psycopg.Connection) -> tuple[object, object]:
    rows = conn.execute(
        "SELECT p.id FROM playlist AS p WHERE p.name = 'Music'"
        " ORDER BY (SELECT count(*) FROM track AS t WHERE t.playlist_id = p.id) DESC"
    ).fetchall()
    (first,), (second,) = rows
    return first, second


def test_a_child_repointed_to_a_twin_parent_is_named(twins: str, conn: psycopg.Connection) -> None:
    first, second = twin_ids(conn)
    # Track 'b' moves from the first "Music" to the second: same title, a parent that reads
    # exactly like its old one.
    conn.execute(
        "UPDATE track SET playlist_id = %s WHERE playlist_id = %s AND title = 'b'", (second, first)
    )
    lines = failed(uuidpk("verify", "--dsn", twins))
    fk = named(lines, TRACK_FK)
    assert fk and "different pairs" in fk[0], lines
    assert named(lines, "table public.track:"), lines
    assert not named(lines, "table public.playlist:"), lines


def test_twins_swapped_in_a_table_without_a_key_are_named(
    twins: str, conn: psycopg.Connection
) -> None:
    first, second = twin_ids(conn)
    conn.execute("UPDATE play SET playlist_id = %s WHERE playlist_id = %s", (second, first))
    lines = failed(uuidpk("verify", "--dsn", twins))
    assert named(lines, PLAY_FK) and named(lines, "table public.play:"), lines


def test_a_parent_uuid_changed_with_all_its_children_is_named(
    twins: str, conn: psycopg.Connection
) -> None:
    # ON UPDATE CASCADE carries the new uuid into every child row: every pair still joins, and
    # every row reads as before but for the key.
    (other,) = conn.execute("SELECT id FROM playlist WHERE name = 'Other'").fetchone()  # type: ignore[misc]
    conn.execute("UPDATE playlist SET id = gen_random_uuid() WHERE id = %s", (other,))
    assert conn.execute(
        "SELECT count(*) FROM track AS t JOIN playlist AS p"
        " ON p.id = t.playlist_id WHERE p.name = 'Other'"
    ).fetchone() == (1,)
    lines = failed(uuidpk("verify", "--dsn", twins))
    assert named(lines, "table public.playlist:"), lines
    assert named(lines, TRACK_FK) and named(lines, PLAY_FK), lines


# -- the schema apply left -------------------------------------------------------------------
FK_SQL = (
    "ALTER TABLE invoice_invoice DROP CONSTRAINT {fk};"
    " ALTER TABLE invoice_invoice ADD CONSTRAINT {fk} FOREIGN KEY (order_id)"
    " REFERENCES order_order (id) {tail}"
)


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        pytest.param(
            FK_SQL.format(fk=INVOICE_FK, tail="ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED"),
            f"constraint {INVOICE_FK} on public.invoice_invoice: now FOREIGN KEY (order_id)"
            " REFERENCES public.order_order(id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED;"
            " it was FOREIGN KEY (order_id) REFERENCES public.order_order(id) ON DELETE CASCADE"
            " DEFERRABLE INITIALLY DEFERRED",
            id="another ON DELETE",
        ),
        pytest.param(
            FK_SQL.format(fk=INVOICE_FK, tail="ON DELETE CASCADE"),
            f"constraint {INVOICE_FK} on public.invoice_invoice: now FOREIGN KEY (order_id)"
            " REFERENCES public.order_order(id) ON DELETE CASCADE; it was",
            id="no longer DEFERRABLE",
        ),
        pytest.param(
            "ALTER TABLE payment_payment DROP CONSTRAINT payment_payment_pkey",
            "constraint payment_payment_pkey on public.payment_payment: missing"
            " (it was PRIMARY KEY (id))",
            id="primary key dropped",
        ),
        pytest.param(
            "ALTER TABLE order_orderline"
            " DROP CONSTRAINT order_orderline_order_id_sku_08ff4735_uniq",
            "constraint order_orderline_order_id_sku_08ff4735_uniq on public.order_orderline:"
            " missing (it was UNIQUE (order_id, sku))",
            id="unique constraint dropped",
        ),
        pytest.param(
            "DROP INDEX order_orderline_order_id_eb04ec2d",
            "index order_orderline_order_id_eb04ec2d on public.order_orderline: missing (it was"
            " CREATE INDEX order_orderline_order_id_eb04ec2d ON public.order_orderline USING btree"
            " (order_id))",
            id="index dropped",
        ),
        pytest.param(
            "ALTER TABLE order_order ALTER COLUMN id DROP DEFAULT",
            "column public.order_order.id: default gen_random_uuid() was dropped",
            id="default dropped",
        ),
        pytest.param(
            "ALTER TABLE invoice_invoice ALTER COLUMN order_id DROP NOT NULL",
            "column public.invoice_invoice.order_id: NOT NULL was dropped",
            id="NOT NULL dropped",
        ),
    ],
)
def test_the_schema_apply_left_is_verified(
    shop: str,  # noqa: F811 (fixture)
    conn: psycopg.Connection,
    damage: str,
    expected: str,
) -> None:
    assert_ok(uuidpk("verify", "--dsn", shop))
    conn.execute(damage)  # type: ignore[arg-type]
    lines = failed(uuidpk("verify", "--dsn", shop))
    assert any(line.startswith(f"uuidpk: {expected}") for line in lines), lines
    # Only the damaged object is named (a dropped primary key takes its index along).
    assert len(lines) <= 3, lines
    assert run_status(conn) == "failed"


def test_objects_added_after_apply_are_no_difference(
    shop: str,  # noqa: F811 (fixture)
    conn: psycopg.Connection,
) -> None:
    conn.execute("CREATE INDEX extra ON order_order (created_at)")
    conn.execute("ALTER TABLE order_order ALTER COLUMN status SET DEFAULT 'new'")
    assert_ok(uuidpk("verify", "--dsn", shop))


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
