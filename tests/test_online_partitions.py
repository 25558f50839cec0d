"""Issue 10 on partitioned tables: `apply --online` converts a partitioned table's key, a
partitioned table referencing a plain one, and a plain table referencing a partitioned one,
ending as offline with the same key; the application keeps writing; a client killed in the
per-partition index builds or in the cutover resumes to the same end; abort undoes it all."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pgutil
import psycopg
import pytest
from checks import (
    REPO,
    assert_clean_failure,
    assert_ok,
    connect,
    schema_facts,
    schema_record,
    uuidpk,
)
from test_online import KEY, facts_by_name, leftovers, rows_by_value, wait_for_child_sessions

import uuidpk as uuidpk_api
from uuidpk import Options, Selection
from uuidpk.online import Settings, abort, status
from uuidpk.ops import Phase

CASES = Path(__file__).resolve().parent / "cases"

# customer <- orders (range partitioned by date; its key is (id, placed)) <- shipment (plain,
# a composite foreign key to a partitioned table); customer <- ticket (hash partitioned by
# tenant, key (id, tenant) and a unique (tenant, id)).
SCHEMA = """
CREATE TABLE customer (id serial PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE orders (
    id bigserial, placed date NOT NULL,
    customer_id integer NOT NULL REFERENCES customer ON DELETE CASCADE,
    note text NOT NULL, PRIMARY KEY (id, placed)
) PARTITION BY RANGE (placed);
CREATE TABLE orders_2023 PARTITION OF orders FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE orders_2024 PARTITION OF orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE orders_other PARTITION OF orders DEFAULT;
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE INDEX orders_placed_id_idx ON orders (placed DESC, id);
COMMENT ON CONSTRAINT orders_pkey ON orders IS 'the key';
-- Index comments, of a primary key's, a partitioned index and one partition's (online twins
-- are new indexes; offline, PostgreSQL gives partitions' rebuilt indexes their parent's).
COMMENT ON INDEX customer_pkey IS 'customers by id';
COMMENT ON INDEX orders_customer_idx IS 'orders by customer';
COMMENT ON INDEX orders_2024_customer_id_idx IS 'this year''s orders by customer';
-- A trigger on a partitioned table is one row per partition; one partition's is disabled.
CREATE FUNCTION order_written() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';
CREATE TRIGGER order_written AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION order_written();
ALTER TABLE orders_other DISABLE TRIGGER order_written;
-- A partition's own column comment and privileges (not inherited from the partitioned table).
COMMENT ON COLUMN orders_2023.customer_id IS 'who ordered';
GRANT SELECT (id, customer_id) ON orders_2024 TO PUBLIC;
CREATE TABLE shipment (
    id serial PRIMARY KEY, order_id bigint, order_placed date, label text NOT NULL,
    FOREIGN KEY (order_id, order_placed) REFERENCES orders ON DELETE SET NULL
);
CREATE INDEX shipment_order_idx ON shipment (order_id, order_placed);
CREATE TABLE ticket (
    id integer GENERATED ALWAYS AS IDENTITY, tenant integer NOT NULL,
    customer_id integer REFERENCES customer, title text NOT NULL,
    PRIMARY KEY (id, tenant), UNIQUE (tenant, id)
) PARTITION BY HASH (tenant);
CREATE TABLE ticket_0 PARTITION OF ticket FOR VALUES WITH (MODULUS 3, REMAINDER 0);
CREATE TABLE ticket_1 PARTITION OF ticket FOR VALUES WITH (MODULUS 3, REMAINDER 1);
CREATE TABLE ticket_2 PARTITION OF ticket FOR VALUES WITH (MODULUS 3, REMAINDER 2);
INSERT INTO customer (name) SELECT 'c' || i FROM generate_series(1, 60) i;
INSERT INTO orders (placed, customer_id, note)
SELECT date '2023-03-01' + (i * 3) % 900, 1 + i % 60, 'n' || i FROM generate_series(1, 600) i;
INSERT INTO shipment (order_id, order_placed, label)
SELECT id, placed, 's' || id FROM orders WHERE id % 3 = 0;
INSERT INTO shipment (order_id, order_placed, label) VALUES (NULL, NULL, 'none');
INSERT INTO ticket (tenant, customer_id, title)
SELECT i % 7, CASE WHEN i % 5 = 0 THEN NULL ELSE 1 + i % 60 END, 't' || i
  FROM generate_series(1, 300) i;
ANALYZE;
"""

SELECTIONS = {
    "partitioned-children": ["customer"],  # orders, ticket reference a plain table
    "partitioned-key": ["orders"],  # range; shipment references it
    "hash-partitioned-key": ["ticket"],
}


def partitioned_db(pg: pgutil.PgCluster, request: pytest.FixtureRequest) -> str:
    name, dsn = pg.create_database(pgutil.unique_name("online_part"))
    request.addfinalizer(lambda: pg.drop_database(name))
    with connect(dsn) as conn:
        conn.execute(SCHEMA)
    return dsn


def run_online(dsn: str, tables: list[str], **settings: Any) -> Any:
    with connect(dsn) as conn:
        return uuidpk_api.apply_online(
            conn, Selection(tuple(tables)), Options(key=KEY), Settings(**settings)
        )


def comparable_facts(conn: psycopg.Connection) -> dict[Any, Any]:
    """facts_by_name, where a foreign key referencing a partitioned table is taken as valid on
    the rows PostgreSQL keeps for each referenced partition: VALIDATE CONSTRAINT (after the
    cutover added the key NOT VALID) does not reach them in PostgreSQL 15, and nothing reads
    them (planning/partitions.py). The key's own row must be valid all the same."""
    partitions = {
        r[0]
        for r in conn.execute(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relispartition"
        ).fetchall()
    }
    facts = facts_by_name(conn)
    for (what, _schema, _table, _name), props in facts.items():
        clone = what == "constraint" and props.get("type") == "f" and not props.get("local")
        if clone and props.get("references") in partitions:
            props["validated"] = True
            props["definition"] = props["definition"].removesuffix(" NOT VALID")
    return facts


def comparable_record(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """The schema record of the latest fingerprint run, where the rows PostgreSQL keeps for
    each partition a foreign key references count as valid (as comparable_facts)."""
    partitions = [
        r[0]
        for r in conn.execute(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relispartition"
        ).fetchall()
    ]
    objects = schema_record(conn)
    for item in objects:
        definition = item["definition"]
        if item["what"] == "constraint" and any(
            f"REFERENCES {p}(" in definition for p in partitions
        ):
            item["definition"] = definition.removesuffix(" NOT VALID")
    return objects


INDEX_COLUMNS = """SELECT c.relname, array_agg(a.attname ORDER BY a.attnum)
  FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
  JOIN pg_attribute a ON a.attrelid = x.indexrelid
 WHERE c.relnamespace = 'public'::regnamespace GROUP BY 1 ORDER BY 1"""


def assert_same_end(online: str, offline: str) -> None:
    with connect(online) as a, connect(offline) as b:
        assert leftovers(a) == []
        assert comparable_facts(a) == comparable_facts(b)
        # verify's record of the schema left is the same after both (columns named, not
        # numbered; partitions' own indexes, constraints, triggers and comments included).
        assert comparable_record(a) == comparable_record(b)
        assert rows_by_value(a) == rows_by_value(b)
        # What \d shows of each index, partitions' included.
        assert a.execute(INDEX_COLUMNS).fetchall() == b.execute(INDEX_COLUMNS).fetchall()
        invalid = a.execute("SELECT count(*) FROM pg_constraint WHERE NOT convalidated "
                            "AND conparentid = 0").fetchone()  # fmt: skip
        assert invalid == (0,)


# -- the end state ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "which",
    [["--table", t] for ts in SELECTIONS.values() for t in ts] + [["--all"]],
    ids=[*SELECTIONS, "all"],
)
def test_online_ends_exactly_as_offline_on_partitioned_tables(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path, which: list[str]
) -> None:
    online, offline = partitioned_db(pg, request), partitioned_db(pg, request)
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY.hex())
    common = [*which, "--yes", "--key-file", str(key_file)]
    assert_ok(uuidpk("apply", "--dsn", offline, *common))
    done = assert_ok(uuidpk("apply", "--dsn", online, "--online", *common))
    assert "the cutover held its locks" in done.err
    assert_same_end(online, offline)
    with connect(online) as conn:
        comments = conn.execute(
            "SELECT relname, obj_description(oid, 'pg_class') FROM pg_class"
            " WHERE relname IN ('customer_pkey', 'orders_customer_idx',"
            " 'orders_2023_customer_id_idx', 'orders_2024_customer_id_idx') ORDER BY 1"
        ).fetchall()
    assert comments == [
        ("customer_pkey", "customers by id"),
        ("orders_2023_customer_id_idx", None),
        ("orders_2024_customer_id_idx", "this year's orders by customer"),
        ("orders_customer_idx", "orders by customer"),
    ]
    for dsn in (online, offline):
        checked = assert_ok(uuidpk("verify", "--dsn", dsn))
        assert checked.out.rstrip().endswith("; no difference"), checked.describe()


def test_online_converts_the_partitioned_golden_case_as_offline(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """tests/cases/partitioned_fk: a foreign key declared on a partitioned table with a
    DEFAULT partition, an identity key; --all converts both keys."""
    databases = []
    for _ in range(2):
        name, dsn = pg.create_database(pgutil.unique_name("online_part_case"))
        request.addfinalizer(lambda name=name: pg.drop_database(name))
        pgutil.run_psql(dsn, CASES / "partitioned_fk" / "schema.sql")
        databases.append(dsn)
    online, offline = databases
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY.hex())
    common = ["--all", "--yes", "--key-file", str(key_file)]
    assert_ok(uuidpk("apply", "--dsn", offline, *common))
    assert_ok(uuidpk("apply", "--dsn", online, "--online", *common))
    assert_same_end(online, offline)


def test_generate_online_script_on_partitioned_tables_ends_as_offline(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The same steps as a psql script: the partitions' builds CONCURRENTLY outside a
    transaction, the ATTACHes and the cutover's attached constraints in order."""
    scripted, offline = partitioned_db(pg, request), partitioned_db(pg, request)
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY.hex())
    common = ["--all", "--key-file", str(key_file)]
    assert_ok(uuidpk("apply", "--dsn", offline, "--yes", *common))
    script = tmp_path / "online.sql"
    script.write_text(assert_ok(uuidpk("generate", "--dsn", scripted, "--online", *common)).out)
    pgutil.run_psql(scripted, script)
    assert_same_end(scripted, offline)


# PostgreSQL 10's way (no index or foreign key on a partitioned table): keys, indexes, a unique
# constraint and foreign keys declared on each partition alone.
LEGACY = """
CREATE TABLE account (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE entry (id bigserial, at date NOT NULL, account_id integer NOT NULL,
                    amount integer NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE entry_2023 PARTITION OF entry FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE entry_2024 PARTITION OF entry FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
ALTER TABLE entry_2023 ADD PRIMARY KEY (id);
ALTER TABLE entry_2024 ADD PRIMARY KEY (id);
ALTER TABLE entry_2023 ADD FOREIGN KEY (account_id) REFERENCES account ON DELETE CASCADE;
ALTER TABLE entry_2024 ADD CONSTRAINT entry_2024_account FOREIGN KEY (account_id)
    REFERENCES account DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE entry_2023 ADD CONSTRAINT entry_2023_once UNIQUE (account_id, id);
CREATE INDEX entry_2024_account_idx ON entry_2024 (account_id DESC) WHERE amount > 0;
INSERT INTO account (name) SELECT 'a' || i FROM generate_series(1, 40) i;
INSERT INTO entry (at, account_id, amount)
SELECT date '2023-02-01' + i % 600, 1 + i % 40, i % 7 - 3 FROM generate_series(1, 500) i;
"""


def test_what_partitions_have_on_their_own_ends_as_offline(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    databases = []
    for _ in range(2):
        name, dsn = pg.create_database(pgutil.unique_name("online_part_legacy"))
        request.addfinalizer(lambda name=name: pg.drop_database(name))
        with connect(dsn) as conn:
            conn.execute(LEGACY)
        databases.append(dsn)
    online, offline = databases
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY.hex())
    common = ["--table", "account", "--yes", "--key-file", str(key_file)]
    assert_ok(uuidpk("apply", "--dsn", offline, *common))
    assert_ok(uuidpk("apply", "--dsn", online, "--online", *common))
    assert_same_end(online, offline)
    with connect(online) as conn:
        kinds = conn.execute(
            "SELECT DISTINCT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attname = 'account_id' AND attrelid::regclass::text LIKE 'entry%%'"
        ).fetchall()
        assert kinds == [("uuid",)]
    # The partitions' own foreign keys were measured from their shadows at the proof (not from
    # the old integer columns): verify compares them with their rows before, and they agree.
    checked = assert_ok(uuidpk("verify", "--dsn", online))
    assert "2 foreign key(s)" in checked.out and "no difference" in checked.out, checked.out


def test_each_partition_is_backfilled_and_built_on_its_own(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    dsn = partitioned_db(pg, request)
    run_online(dsn, ["customer"], until=Phase.PREPARE)
    with connect(dsn) as conn:
        state = status(conn)
        assert state is not None
        backfilled = {b.step.removeprefix("backfill:public.") for b in state.backfills}
        assert backfilled == {"customer", "orders_2023", "orders_2024", "orders_other"} | {
            "ticket_0",
            "ticket_1",
            "ticket_2",
        }
        assert all(b.done and b.rows_done == b.rows_total for b in state.backfills)
        # The plain index's twin is one partitioned index, valid, over the partitions' twins.
        rows = conn.execute(
            "SELECT c.relname, x.indisvalid, (SELECT count(*) FROM pg_inherits h "
            "WHERE h.inhparent = x.indexrelid) FROM pg_index x "
            "JOIN pg_class c ON c.oid = x.indexrelid WHERE c.relname = 'orders_customer_idx_uuidpk'"
        ).fetchall()
        assert rows == [("orders_customer_idx_uuidpk", True, 3)]
        nulls = conn.execute(
            "SELECT count(*) FROM orders WHERE customer_id_uuidpk IS NULL"
        ).fetchone()
        assert nulls == (0,)


# -- the application keeps writing ----------------------------------------------------------------


class Writer(threading.Thread):
    """An application: each transaction inserts an order (into a partition) for a new customer
    with the ids INSERT ... RETURNING gave, a shipment referencing the order and a ticket, and
    every third one moves the previous shipment to the new order and the previous order to the
    new customer (UPDATEs of foreign key columns on both sides of a partitioned table)."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.dsn = dsn
        self.stop = threading.Event()
        self.shipments: dict[str, str] = {}  # label -> order note
        self.orders: dict[str, str] = {}  # order note -> customer name
        self.failures: list[str] = []

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True, prepare_threshold=None) as conn:
            n = 0
            while not self.stop.is_set():
                n += 1
                name, note, label = f"W-{n}", f"WN-{n}", f"WS-{n}"
                before = (f"WS-{n - 1}", f"WN-{n - 1}")
                moved = n % 3 == 0 and before[0] in self.shipments
                try:
                    with conn.transaction():
                        row = conn.execute(
                            "INSERT INTO customer (name) VALUES (%s) RETURNING id", [name]
                        ).fetchone()
                        assert row is not None
                        order = conn.execute(
                            "INSERT INTO orders (placed, customer_id, note) "
                            "VALUES (date '2023-06-01' + %s %% 700, %s, %s) RETURNING id, placed",
                            [n, row[0], note],
                        ).fetchone()
                        assert order is not None
                        conn.execute(
                            "INSERT INTO shipment (order_id, order_placed, label) "
                            "VALUES (%s, %s, %s)",
                            [order[0], order[1], label],
                        )
                        conn.execute(
                            "INSERT INTO ticket (tenant, customer_id, title) VALUES (%s, %s, %s)",
                            [n % 7, row[0], f"WT-{n}"],
                        )
                        if moved:
                            conn.execute(
                                "UPDATE shipment SET order_id = %s, order_placed = %s "
                                "WHERE label = %s",
                                [order[0], order[1], before[0]],
                            )
                            conn.execute(
                                "UPDATE orders SET customer_id = %s WHERE note = %s",
                                [row[0], before[1]],
                            )
                    self.shipments[label] = note
                    self.orders[note] = name
                    if moved:
                        self.shipments[before[0]] = note
                        self.orders[before[1]] = name
                except psycopg.Error as exc:
                    self.failures.append(f"{n}: {exc}")
                time.sleep(0.002)


def test_concurrent_writer_loses_nothing_on_partitioned_tables(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    dsn = partitioned_db(pg, request)
    writer = Writer(dsn)
    writer.start()
    try:
        time.sleep(0.3)
        outcome = run_online(dsn, ["customer", "orders"], batch_size=50)
        time.sleep(0.3)
    finally:
        writer.stop.set()
        writer.join(10)
    assert outcome.finished
    assert writer.failures == []
    assert len(writer.shipments) > 20
    with connect(dsn) as conn:
        shipments = dict(
            conn.execute(
                "SELECT s.label, o.note FROM shipment s JOIN orders o "
                "ON (o.id, o.placed) = (s.order_id, s.order_placed) WHERE s.label LIKE 'WS-%%'"
            ).fetchall()
        )
        assert shipments == writer.shipments
        orders = dict(
            conn.execute(
                "SELECT o.note, c.name FROM orders o JOIN customer c ON c.id = o.customer_id "
                "WHERE o.note LIKE 'WN-%%'"
            ).fetchall()
        )
        assert orders == writer.orders
        assert leftovers(conn) == []
        types = conn.execute(
            "SELECT DISTINCT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attname IN ('customer_id', 'order_id') AND attrelid IN "
            "(SELECT oid FROM pg_class WHERE relname ~ '^(orders|ticket|shipment)')"
        ).fetchall()
        assert types == [("uuid",)]


# -- kill -9, resume, abort -----------------------------------------------------------------------

CHILD = """
import json, os, signal, sys
import psycopg
from uuidpk import Options, OnlineSettings, Selection, apply_online
args = json.loads(sys.argv[1])
def progress(event):
    if event.kind == args["kind"] and event.step == args["step"]:
        os.kill(os.getpid(), signal.SIGKILL)
with psycopg.connect(args["dsn"], autocommit=True, application_name="uuidpk-child") as conn:
    apply_online(conn, Selection(tuple(args["tables"])), Options(key=bytes.fromhex(args["key"])),
                 OnlineSettings(progress=progress))
"""


def child(dsn: str, tables: list[str], kind: str = "never", step: str = "") -> Any:
    args = {"dsn": dsn, "key": KEY.hex(), "tables": tables, "kind": kind, "step": step}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(args)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def reference(pg: pgutil.PgCluster) -> Iterator[tuple[dict[Any, Any], dict[str, list[str]]]]:
    """The partitioned shop after an uninterrupted online run of orders' key."""
    name, dsn = pg.create_database(pgutil.unique_name("online_part_ref"))
    try:
        with connect(dsn) as conn:
            conn.execute(SCHEMA)
        assert run_online(dsn, ["orders"]).finished
        with connect(dsn) as conn:
            yield schema_facts(conn), rows_by_value(conn)
    finally:
        pg.drop_database(name)


def assert_as_reference(dsn: str, reference: tuple[dict[Any, Any], dict[str, list[str]]]) -> None:
    with connect(dsn) as conn:
        assert leftovers(conn) == []
        assert schema_facts(conn) == reference[0]
        assert rows_by_value(conn) == reference[1]


def wait_for(dsn: str, query: str) -> Any:
    with connect(dsn) as watch:
        for _ in range(600):
            row = watch.execute(query).fetchone()
            if row:
                return row
            time.sleep(0.05)
    raise AssertionError(f"never happened: {query}")


def test_kill_9_in_a_partitions_concurrent_build(
    pg: pgutil.PgCluster,
    request: pytest.FixtureRequest,
    reference: tuple[dict[Any, Any], dict[str, list[str]]],
) -> None:
    """The build on one partition waits for a writer of that partition; the client is killed
    and its session ended: an INVALID index of a partition is left, and the same command drops
    it, builds it again and ends as an uninterrupted run."""
    dsn = partitioned_db(pg, request)
    run_online(dsn, ["orders"], until=Phase.BACKFILL)
    with connect(dsn) as blocker:
        blocker.execute("BEGIN")
        blocker.execute("UPDATE orders_2024 SET note = note WHERE note = 'n200'")
        proc = child(dsn, ["orders"])
        row = wait_for(
            dsn,
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'uuidpk-child' "
            "AND query LIKE 'CREATE %%INDEX CONCURRENTLY \"orders_2024%%' "
            "AND wait_event_type = 'Lock'",
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        with connect(dsn) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [row[0]])
        blocker.execute("COMMIT")
    wait_for_child_sessions(dsn)
    with connect(dsn) as conn:
        invalid = conn.execute(
            "SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid"
        ).fetchall()
        assert invalid == [("orders_2024_pkey_uuidpk",)]
    assert run_online(dsn, ["orders"]).finished
    assert_as_reference(dsn, reference)


def test_kill_9_while_the_cutover_waits_for_a_partition(
    pg: pgutil.PgCluster,
    request: pytest.FixtureRequest,
    reference: tuple[dict[Any, Any], dict[str, list[str]]],
) -> None:
    """A reader of one partition holds the cutover's LOCK TABLE (which reaches every
    partition): killed there, nothing of the cutover happened; the same command does it."""
    dsn = partitioned_db(pg, request)
    run_online(dsn, ["orders"], until=Phase.PREPARE)
    with connect(dsn) as reader:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM orders_other")
        proc = child(dsn, ["orders"])
        wait_for(
            dsn,
            "SELECT 1 FROM pg_stat_activity WHERE application_name = 'uuidpk-child' "
            "AND state = 'active' AND query LIKE 'LOCK TABLE%%'",
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        reader.execute("COMMIT")
    wait_for_child_sessions(dsn)
    with connect(dsn) as conn:
        state = status(conn)
        assert state is not None and state.next_step == "cutover"
    assert run_online(dsn, ["orders"]).finished
    assert_as_reference(dsn, reference)


@pytest.mark.parametrize(
    ("kind", "step"),
    [
        ("done", "backfill:public.orders_2023"),
        ("done", "index:public.orders_2023_pkey_uuidpk"),
        ("done", "index:public.orders_placed_id_idx_uuidpk"),  # ON ONLY the partitioned table
        ("done", "attach:public.orders_2024_placed_id_idx_uuidpk"),
        ("done", "cutover"),  # before the key referencing the partitioned table is validated
    ],
)
def test_kill_9_then_the_same_command_ends_as_an_uninterrupted_run(
    pg: pgutil.PgCluster,
    request: pytest.FixtureRequest,
    reference: tuple[dict[Any, Any], dict[str, list[str]]],
    kind: str,
    step: str,
) -> None:
    dsn = partitioned_db(pg, request)
    proc = child(dsn, ["orders"], kind, step)
    proc.wait(120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    wait_for_child_sessions(dsn)
    assert run_online(dsn, ["orders"]).finished
    assert_as_reference(dsn, reference)


@pytest.mark.parametrize("until", [Phase.BACKFILL, Phase.PREPARE])
def test_abort_before_the_cutover_leaves_the_catalog_as_it_was(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, until: Phase
) -> None:
    dsn = partitioned_db(pg, request)
    with connect(dsn) as conn:
        before = schema_facts(conn)
        rows = rows_by_value(conn)
    run_online(dsn, ["customer", "orders"], until=until)
    with connect(dsn) as conn:
        abort(conn)
        assert leftovers(conn) == []
        assert schema_facts(conn) == before
        assert rows_by_value(conn) == rows


# -- what stays refused ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "table", "message"),
    [
        (
            "CREATE TABLE parent (id integer PRIMARY KEY);"
            "CREATE TABLE event (id integer, at date, parent_id integer REFERENCES parent,"
            " PRIMARY KEY (id, at)) PARTITION BY RANGE (at);"
            "CREATE TABLE event_2024 PARTITION OF event"
            " FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY RANGE (at);"
            "CREATE TABLE event_2024_h1 PARTITION OF event_2024"
            " FOR VALUES FROM ('2024-01-01') TO ('2024-07-01')",
            "parent",
            "online mode does not convert sub-partitioned tables yet (public.event_2024 is "
            "partitioned itself); use offline",
        ),
        (
            "CREATE TABLE node (id integer, at date, up_id integer, up_at date,"
            " PRIMARY KEY (id, at), FOREIGN KEY (up_id, up_at) REFERENCES node)"
            " PARTITION BY RANGE (at);"
            "CREATE TABLE node_2024 PARTITION OF node"
            " FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
            "node",
            "online mode cannot convert public.node.node_up_id_up_at_fkey without a long lock: "
            "a partitioned table referencing a partitioned table",
        ),
    ],
    ids=["sub-partitioned", "partitioned-to-partitioned"],
)
def test_online_refuses_what_needs_a_long_lock_in_one_line(
    conn: psycopg.Connection, dsn: str, schema: str, table: str, message: str
) -> None:
    conn.execute(schema)
    with connect(dsn) as other:
        before = schema_facts(other)
    outcome = uuidpk("apply", "--dsn", dsn, "--table", table, "--online", "--yes")
    assert message in assert_clean_failure(outcome)
    assert conn.execute("SELECT to_regclass('uuidpk.online_key')").fetchone() == (None,)
    assert schema_facts(conn) == before
    # Known before anything changes: `inspect --online` names it as a blocker.
    shown = uuidpk("inspect", "--dsn", dsn, "--table", table, "--online", "--format", "json")
    assert shown.code == 1, shown.describe()
    blockers = [p for p in json.loads(shown.out)["problems"] if p["severity"] == "blocker"]
    assert [message in p["reason"] for p in blockers] == [True], blockers


def test_a_partitions_own_update_trigger_does_not_fire_in_the_backfill(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    """A trigger of one partition alone (not of the partitioned table) would stamp every row
    the backfill touches; the backfill of that partition runs with session_replication_role =
    replica, as for a plain table's."""
    dsn = partitioned_db(pg, request)
    with connect(dsn) as conn:
        conn.execute(
            "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS "
            "$$BEGIN NEW.note := NEW.note || '!'; RETURN NEW; END$$;"
            "CREATE TRIGGER touch BEFORE UPDATE ON orders_2024"
            " FOR EACH ROW EXECUTE FUNCTION touch()"
        )
    assert run_online(dsn, ["orders"]).finished
    with connect(dsn) as conn:
        touched = conn.execute("SELECT count(*) FROM orders WHERE note LIKE '%%!'").fetchone()
        assert touched == (0,)
