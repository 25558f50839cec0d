"""uuidpk verify and uuidpk sequences: fingerprints before the change, comparison after it.

Every test that expects a failure breaks one thing on purpose, after a conversion that verified
clean, and checks that verify names exactly what was broken (and not what was not). The
expectations use the sample shop's names as written in uuidpk/sample/shop.sql.
"""

from __future__ import annotations

import psycopg
import pytest
import sqlglot
from checks import Outcome, assert_ok, uuidpk
from psycopg import sql
from psycopg.conninfo import make_conninfo

from uuidpk.catalog import read_catalog
from uuidpk.errors import VerificationFailed
from uuidpk.executor import apply_offline
from uuidpk.fingerprint import (
    FK,
    FK_NULLS,
    FK_ORPHANS,
    TABLE,
    FingerprintSpec,
    ForeignKeySpec,
    Measure,
    TableSpec,
    _relations,
    derived_columns,
    fingerprint_spec,
    fingerprint_sql,
    measure_sql,
    pin_sql,
    record_fingerprint,
    record_sql,
    unpin_sql,
)
from uuidpk.graph import Graph
from uuidpk.model import QualifiedName
from uuidpk.ops import Options
from uuidpk.planning import plan_conversion
from uuidpk.sample import load_shop, natural_snapshot
from uuidpk.sequences import SequencePosition
from uuidpk.verify import compare, require_verified, verify

INVOICE_FK = "invoice_invoice_order_id_c5fc9ae9_fk_order_order_id"
LINES_FK = "order_orderline_order_id_eb04ec2d_fk_order_order_id"
GIFT_ORDER_FK = "order_order_gift_cards_order_id_ce5608c4_fk_order_order_id"
GIFT_CARD_FK = "order_order_gift_car_giftcard_id_f6844926_fk_giftcard_"
PAYMENT_FK = "payment_payment_order_id_22b45881_fk_order_order_id"
ORIGINAL_FK = "order_order_original_id_1dd680dd_fk_order_order_id"
SHOP_FKS = (INVOICE_FK, LINES_FK, GIFT_ORDER_FK, GIFT_CARD_FK, PAYMENT_FK, ORIGINAL_FK)


def failed(outcome: Outcome) -> list[str]:
    """The difference lines of a verify that must have failed cleanly (exit 1, no traceback)."""
    assert outcome.exception is None, outcome.exception
    assert outcome.code == 1, outcome.describe()
    assert "Traceback" not in outcome.err
    assert outcome.err_lines[-1].startswith("uuidpk: fingerprint run"), outcome.describe()
    return outcome.err_lines


def named(lines: list[str], name: str) -> list[str]:
    return [line for line in lines if name in line]


def run_status(conn: psycopg.Connection) -> str:
    row = conn.execute("SELECT status FROM uuidpk.fingerprint_run ORDER BY id DESC LIMIT 1")
    return str(row.fetchone()[0])  # type: ignore[index]


@pytest.fixture
def shop(dsn: str, conn: psycopg.Connection) -> str:
    """The sample shop, every key converted by `apply --all`; relations checked independently."""
    load_shop(conn, orders=200)
    before = natural_snapshot(conn)
    assert_ok(uuidpk("apply", "--dsn", dsn, "--all", "--yes"))
    assert natural_snapshot(conn) == before
    return dsn


# -- the happy path --------------------------------------------------------------------------
def test_verify_passes_after_apply(shop: str, conn: psycopg.Connection) -> None:
    outcome = assert_ok(uuidpk("verify", "--dsn", shop))
    (summary,) = outcome.out.splitlines()
    assert "6 table(s), 6 foreign key(s)" in summary, outcome.describe()
    assert summary.endswith("; no difference") and outcome.err == ""
    assert run_status(conn) == "verified"
    kinds = dict(
        conn.execute("SELECT kind, count(*) FROM uuidpk.fingerprint GROUP BY kind").fetchall()
    )
    assert kinds == {TABLE: 6, FK: 6, FK_NULLS: 6, FK_ORPHANS: 6}
    # The fingerprint counted what is there: 200 orders, and every payment pairs with an order.
    counts = dict(
        conn.execute("SELECT object, row_count FROM uuidpk.fingerprint WHERE kind = 'table'")
    )
    assert counts["public.order_order"] == 200
    (payments,) = conn.execute("SELECT count(*) FROM payment_payment").fetchone()  # type: ignore[misc]
    pairs = conn.execute(
        "SELECT row_count FROM uuidpk.fingerprint WHERE kind = 'fk' AND object LIKE %s",
        (PAYMENT_FK + "%",),
    ).fetchone()
    assert pairs == (payments,)


def test_verify_json(shop: str) -> None:
    import json

    outcome = assert_ok(uuidpk("verify", "--dsn", shop, "--format", "json"))
    document = json.loads(outcome.out)
    assert document["ok"] is True and document["differences"] == []
    assert document["tables"] == 6 and document["foreign_keys"] == 6
    # Offline, every table and foreign key is compared with its rows before the conversion.
    assert len(document["compared"]) == 12, document
    assert {c["compared_with"] for c in document["compared"]} == {"before"}, document


def test_apply_with_verify_checks_before_commit(dsn: str, conn: psycopg.Connection) -> None:
    load_shop(conn, orders=50)
    outcome = assert_ok(uuidpk("apply", "--dsn", dsn, "--all", "--yes", "--verify"))
    assert "verified fingerprint run" in outcome.err, outcome.describe()
    assert run_status(conn) == "verified"


def test_without_a_fingerprint_verify_says_so(conn: psycopg.Connection, dsn: str) -> None:
    load_shop(conn, orders=5)
    outcome = uuidpk("verify", "--dsn", dsn)
    assert outcome.code == 1 and outcome.exception is None, outcome.describe()
    assert "no fingerprint" in outcome.err


def test_an_older_run_can_be_named(shop: str, conn: psycopg.Connection) -> None:
    assert_ok(uuidpk("verify", "--dsn", shop, "--run", "1"))
    outcome = uuidpk("verify", "--dsn", shop, "--run", "99")
    assert outcome.code == 1 and "run 99" in outcome.err, outcome.describe()


# -- breaking one relation on purpose: every kind is in damage.py -----------------------------


# -- multisets -------------------------------------------------------------------------------
# A quoted name with a space, a double quote and a keyword column, on purpose.
ODD = '"Odd Schema"."Order ""x"""'
ODD_SCHEMA = rf"""
CREATE SCHEMA "Odd Schema";
CREATE TABLE {ODD} (
    "select" serial PRIMARY KEY,
    "Name" text NOT NULL
);
-- No primary key: duplicate rows are legal and must count twice.
CREATE TABLE public.log (
    "order" int REFERENCES {ODD},
    note text,
    at timestamptz,
    ratio float8,
    took interval,
    price money,
    blob bytea
);
INSERT INTO {ODD} ("Name") VALUES ('a'), ('b');
INSERT INTO public.log VALUES
    (1, 'same', '2024-02-29 23:30+00', 0.1, '1 day 2 hours', 1.5, '\x00ff'),
    (1, 'same', '2024-02-29 23:30+00', 0.1, '1 day 2 hours', 1.5, '\x00ff'),
    (2, 'same', '2024-02-29 23:30+00', 0.1, '1 day 2 hours', 1.5, '\x00ff'),
    (NULL, 'none', NULL, NULL, NULL, NULL, NULL);
"""


@pytest.fixture
def odd(dsn: str, conn: psycopg.Connection) -> str:
    conn.execute(ODD_SCHEMA)
    assert_ok(uuidpk("apply", "--dsn", dsn, "--all", "--yes"))
    return dsn


def test_odd_names_and_duplicate_rows_verify(odd: str) -> None:
    outcome = assert_ok(uuidpk("verify", "--dsn", odd))
    assert "2 table(s), 1 foreign key(s), 6 row(s)" in outcome.out, outcome.describe()


def test_duplicates_are_a_multiset_not_a_set(odd: str, conn: psycopg.Connection) -> None:
    # {A, A, B} -> {A, B, B}: the same set of rows, the same count; only a multiset sees it.
    a = f"""(SELECT "select" FROM {ODD} WHERE "Name" = 'a')"""
    b = f"""(SELECT "select" FROM {ODD} WHERE "Name" = 'b')"""
    conn.execute(
        f"""UPDATE public.log SET "order" = {b}
             WHERE ctid = (SELECT min(ctid) FROM public.log
                            WHERE note = 'same' AND "order" = {a})"""
    )
    lines = failed(uuidpk("verify", "--dsn", odd))
    fk = [line for line in lines if "on public.log:" in line]
    assert fk and "different pairs" in fk[0], lines
    assert named(lines, "table public.log: 4 rows before and after"), lines


def test_a_duplicate_removed_is_counted(odd: str, conn: psycopg.Connection) -> None:
    conn.execute(
        "DELETE FROM public.log WHERE ctid = (SELECT max(ctid) FROM public.log WHERE note = 'same')"
    )
    lines = failed(uuidpk("verify", "--dsn", odd))
    assert named(lines, "table public.log: 4 rows before, 3 after"), lines


def test_a_null_reference_set_is_counted(odd: str, conn: psycopg.Connection) -> None:
    conn.execute("""UPDATE public.log SET "order" = NULL WHERE ctid = (SELECT min(ctid)
                    FROM public.log WHERE "order" IS NOT NULL)""")
    lines = failed(uuidpk("verify", "--dsn", odd))
    assert any("1 row with a NULL reference before, 2 after" in line for line in lines), lines


def test_session_settings_do_not_change_the_fingerprint(dsn: str, conn: psycopg.Connection) -> None:
    # apply runs under settings that change how timestamps, floats, intervals and bytea print;
    # verify runs under the defaults. Pinned settings make the two measures comparable.
    conn.execute(ODD_SCHEMA)
    odd_session = make_conninfo(
        dsn,
        options="-c TimeZone=Asia/Kathmandu -c DateStyle=German -c extra_float_digits=-3"
        " -c IntervalStyle=sql_standard -c bytea_output=escape",
    )
    assert_ok(uuidpk("apply", "--dsn", odd_session, "--all", "--yes"))
    assert_ok(uuidpk("verify", "--dsn", dsn))
    # And the session's own settings came back after the fingerprint, for the migration.
    with psycopg.connect(odd_session) as other:
        assert other.execute("SHOW TimeZone").fetchone() == ("Asia/Kathmandu",)


# -- sequences -------------------------------------------------------------------------------
def test_a_lagging_sequence_is_listed_fixed_and_verified(
    dsn: str, conn: psycopg.Connection
) -> None:
    load_shop(conn, orders=50)
    # Only order_order's key: the other tables keep their serial ids and sequences.
    assert_ok(uuidpk("apply", "--dsn", dsn, "--table", "order_order", "--yes"))
    assert_ok(uuidpk("verify", "--dsn", dsn))
    (largest,) = conn.execute("SELECT max(id) FROM invoice_invoice").fetchone()  # type: ignore[misc]
    conn.execute("SELECT setval('public.invoice_invoice_id_seq', 3)")

    listed = uuidpk("sequences", "--dsn", dsn)
    assert listed.code == 1, listed.describe()  # lagging: a CI job can gate on it
    assert listed.out.splitlines() == [
        "public.invoice_invoice_id_seq\tpublic.invoice_invoice.id\t"
        f"next value 4 is not past max(public.invoice_invoice.id) = {largest}"
    ], listed.describe()
    lines = failed(uuidpk("verify", "--dsn", dsn))
    assert named(lines, "sequence public.invoice_invoice_id_seq:"), lines

    fixed = assert_ok(uuidpk("sequences", "--dsn", dsn, "--fix"))
    assert f"setval public.invoice_invoice_id_seq to {largest}" in fixed.err, fixed.describe()
    assert assert_ok(uuidpk("sequences", "--dsn", dsn)).out == ""
    assert_ok(uuidpk("verify", "--dsn", dsn))
    # The next row gets a fresh id instead of a duplicate key error.
    conn.execute(
        "INSERT INTO invoice_invoice (number, order_id, created_at)"
        " SELECT 'INV-NEW', id, now() FROM order_order LIMIT 1"
    )


def test_sequences_fix_never_moves_a_sequence_back(dsn: str, conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE t (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY)")
    conn.execute("INSERT INTO t VALUES (10), (20)")
    conn.execute("SELECT setval(pg_get_serial_sequence('t', 'id'), 5)")
    positions = uuidpk("sequences", "--dsn", dsn)
    assert positions.code == 1 and "max(public.t.id) = 20" in positions.out
    conn.execute("SELECT setval(pg_get_serial_sequence('t', 'id'), 100)")  # moved meanwhile
    from uuidpk.sequences import fix_sequences, read_sequence_positions

    stale = [
        SequencePosition(p.sequence_oid, p.sequence, p.increment, p.table, p.column, 5, True, 20)
        for p in read_sequence_positions(conn)
    ]
    (fix,) = fix_sequences(conn, stale)
    assert fix.value == 100


@pytest.mark.parametrize(
    ("increment", "last_value", "is_called", "extreme", "lagging"),
    [
        (1, 10, True, 10, False),  # 10 handed out already: next is 11
        (1, 9, True, 10, True),  # next is 10, which the column holds
        (1, 10, False, 10, True),  # never called: next is 10 itself
        (1, 11, False, 10, False),
        (1, 1, True, None, False),  # an empty column
        (-1, -10, True, -10, False),  # counting down: next is -11
        (-1, -10, True, -11, True),
        (5, 10, True, 14, False),
        (5, 10, True, 15, True),
        (5, 10, True, 16, True),
    ],
)
def test_lagging_is_about_the_next_value(
    increment: int, last_value: int, is_called: bool, extreme: int | None, lagging: bool
) -> None:
    position = SequencePosition(
        1,
        QualifiedName("s", "q"),
        increment,
        QualifiedName("s", "t"),
        "id",
        last_value,
        is_called,
        extreme,
    )
    assert position.lagging is lagging


# -- inside apply's transaction ---------------------------------------------------------------
def test_a_difference_before_commit_rolls_the_migration_back(conn: psycopg.Connection) -> None:
    load_shop(conn, orders=30)
    before = natural_snapshot(conn)
    graph = Graph(read_catalog(conn))
    plan = plan_conversion(graph, graph.all_keys(), Options())
    spec = fingerprint_spec(graph, plan.closures)
    derived = derived_columns(graph, plan, spec)
    runs: list[int] = []

    def record(c: psycopg.Connection) -> None:
        runs.append(record_fingerprint(c, spec, derived).id)

    def tamper_then_check(c: psycopg.Connection) -> None:
        c.execute(
            "UPDATE invoice_invoice SET order_id = (SELECT id FROM order_order"
            " WHERE number = (SELECT max(number) FROM order_order))"
            " WHERE number = (SELECT min(number) FROM invoice_invoice)"
        )
        require_verified(verify(c, runs[-1], check_sequences=False))

    with pytest.raises(VerificationFailed, match=INVOICE_FK):
        apply_offline(conn, plan, before=record, after=tamper_then_check)
    assert runs  # the fingerprint was taken ...
    # ... and rolled back with everything else.
    assert conn.execute("SELECT to_regclass('uuidpk.fingerprint_run')").fetchone() == (None,)
    assert natural_snapshot(conn) == before
    assert conn.execute(
        "SELECT data_type FROM information_schema.columns"
        " WHERE table_name = 'order_order' AND column_name = 'id'"
    ).fetchone() == ("integer",)


def test_verify_inside_the_migration_passes_when_nothing_is_lost(conn: psycopg.Connection) -> None:
    load_shop(conn, orders=30)
    graph = Graph(read_catalog(conn))
    plan = plan_conversion(graph, graph.all_keys(), Options())
    spec = fingerprint_spec(graph, plan.closures)
    derived = derived_columns(graph, plan, spec)
    runs: list[int] = []
    outcomes = []
    apply_offline(
        conn,
        plan,
        before=lambda c: runs.append(record_fingerprint(c, spec, derived).id),
        after=lambda c: outcomes.append(verify(c, runs[-1], check_sequences=False)),
    )
    (outcome,) = outcomes
    assert outcome.ok, outcome.differences
    assert outcome.sequences_checked is None


# -- pure parts --------------------------------------------------------------------------------
def test_the_spec_names_unconverted_columns_and_every_closure_key(
    conn: psycopg.Connection,
) -> None:
    load_shop(conn, orders=1)
    graph = Graph(read_catalog(conn))
    plan = plan_conversion(graph, [graph.key_of(graph.find_table("order_order"))], Options())
    spec = fingerprint_spec(graph, plan.closures)
    tables = {t.table.name: t for t in spec.tables}
    assert set(tables) == {
        "order_order",
        "invoice_invoice",
        "order_orderline",
        "order_order_gift_cards",
        "payment_payment",
    }
    assert tables["order_order"].values == ("number", "created_at", "status", "total")
    assert set(tables["order_order"].converted) == {"id", "original_id"}
    # The join table keeps its own id and giftcard_id: only order_id is in this closure.
    assert tables["order_order_gift_cards"].values == ("id", "giftcard_id")
    assert {f.name for f in spec.foreign_keys} == set(SHOP_FKS) - {GIFT_CARD_FK}
    assert FingerprintSpec.from_json(spec.to_json()) == spec


def test_integers_and_uuids_are_hashed_by_their_type(conn: psycopg.Connection) -> None:
    # Writing the text of every integer and uuid was most of a measurement's cost; their own
    # hashes prove the same (one value, one text). A converted column is hashed as the uuid it
    # becomes, before (f(old)) and after.
    load_shop(conn, orders=1)
    graph = Graph(read_catalog(conn))
    plan = plan_conversion(graph, [graph.key_of(graph.find_table("order_order"))], Options())
    spec = fingerprint_spec(graph, plan.closures)
    tables = {t.table.name: t for t in spec.tables}
    order = tables["order_order"]
    assert dict(zip(order.columns, order.column_hashes, strict=True)) == {
        "number": "text",
        "created_at": "text",
        "status": "text",
        "total": "text",
        "id": "uuid",
        "original_id": "uuid",
    }
    gift = tables["order_order_gift_cards"]
    assert gift.column_hashes == ("int", "int", "uuid")
    assert FingerprintSpec.from_json(spec.to_json()) == spec
    text = measure_sql(next(r for r in _relations(spec) if r.object == gift.object)).as_string(None)
    assert 'hashint8extended("c"."uuidpk_v1"::int8, 1)' in text
    assert 'uuid_hash_extended("c"."uuidpk_v3", 3)' in text
    assert "hashtextextended" not in text


def test_a_version_2_spec_is_read_with_every_column_by_its_text() -> None:
    table = QualifiedName("public", "t")
    data = FingerprintSpec((TableSpec(table, True, ("v",), ("p",)),), ()).to_json()
    data["version"] = 2
    for t in data["tables"]:
        del t["hashes"]
    spec = FingerprintSpec.from_json(data)
    assert spec.tables[0].column_hashes == ("text", "text")
    assert "hashtextextended" in measure_sql(_relations(spec)[0]).as_string(None)


def test_the_parent_derives_each_key_once(conn: psycopg.Connection) -> None:
    # f() is a sha256: the parent's keys are derived once into the kept keys, and the parent's
    # own measurement joins them as its children do.
    load_shop(conn, orders=1)
    graph = Graph(read_catalog(conn))
    plan = plan_conversion(graph, [graph.key_of(graph.find_table("order_order"))], Options())
    spec = fingerprint_spec(graph, plan.closures)
    derived = derived_columns(graph, plan, spec)
    statements = [
        s.as_string(conn) for what, s in fingerprint_sql(spec, derived) if what != "fingerprint run"
    ]
    deriving = [s for s in statements if "uuidpk_uuid(" in s]
    assert len(deriving) == 1 and deriving[0].startswith("CREATE UNLOGGED TABLE")


def test_the_measures_inside_the_migration_may_run_in_parallel(conn: psycopg.Connection) -> None:
    # A temporary table, a subquery fenced with OFFSET, or INSERT ... SELECT each keep a query
    # in one process: the kept keys are an unlogged table and each measure a CREATE TABLE AS.
    load_shop(conn, orders=30)
    graph = Graph(read_catalog(conn))
    plan = plan_conversion(graph, [graph.key_of(graph.find_table("order_order"))], Options())
    spec = fingerprint_spec(graph, plan.closures)
    derived = derived_columns(graph, plan, spec)
    plans: dict[str, str] = {}

    def explain_then_record(c: psycopg.Connection) -> None:
        for what, statement in fingerprint_sql(spec, derived):
            if what.startswith("fingerprint public."):
                with c.transaction():
                    # Parallel plans wherever they are allowed, however small the tables.
                    c.execute(
                        "SELECT set_config(CASE WHEN current_setting('server_version_num')::int"
                        " >= 160000 THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END,"
                        " 'on', true), set_config('parallel_setup_cost', '0', true),"
                        " set_config('parallel_tuple_cost', '0', true),"
                        " set_config('min_parallel_table_scan_size', '0', true)"
                    )
                    rows = c.execute(sql.SQL("EXPLAIN ") + statement).fetchall()
                    plans[what] = "\n".join(r[0] for r in rows)
                    raise psycopg.Rollback()  # the settings go with the savepoint
            c.execute(statement)

    apply_offline(conn, plan, before=explain_then_record, dry_run=True)
    assert set(plans) == {f"fingerprint {t.object}" for t in spec.tables}
    for what, text in plans.items():
        assert "Gather" in text, f"{what}:\n{text}"
        assert "Parallel Seq Scan" in text, f"{what}:\n{text}"


def test_measuring_has_the_memory_of_a_foreign_key_validation(conn: psycopg.Connection) -> None:
    # PostgreSQL validates a foreign key with work_mem = maintenance_work_mem; the measuring
    # joins get the same, and the session's own settings come back afterwards.
    with conn.transaction():
        conn.execute("SET LOCAL maintenance_work_mem = '96MB'")
        conn.execute("SET LOCAL work_mem = '4MB'")
        conn.execute(pin_sql())
        assert conn.execute("SELECT current_setting('work_mem')").fetchone() == ("96MB",)
        assert conn.execute("SELECT current_setting('hash_mem_multiplier')").fetchone() == ("1",)
        conn.execute(unpin_sql())
        assert conn.execute("SELECT current_setting('work_mem')").fetchone() == ("4MB",)


def test_every_measure_query_parses() -> None:
    table = QualifiedName("Odd Schema", 'Order "x"')
    fk = ForeignKeySpec(
        name="select",
        table=table,
        only=True,
        columns=("a", "b"),
        identity=("c",),
        ref_table=QualifiedName("public", "p"),
        ref_only=False,
        ref_columns=("x", "y"),
        validated=True,
        row=("c", "a", "b"),
    )
    spec = FingerprintSpec((TableSpec(table, True, ("c",), ("a", "b"), (), ("c",)),), (fk,))
    derived = {"a": sql.SQL("pg_temp.uuidpk_uuid('s.t', {}::bigint)").format(sql.Identifier("a"))}
    for relation in _relations(spec):
        measure_into, record, forget = (s.as_string(None) for s in record_sql(relation, derived))
        for text in (measure_sql(relation).as_string(None), measure_into, record, forget):
            sqlglot.parse_one(text, read="postgres")
        assert all(ODD in text for text in (measure_sql(relation).as_string(None), measure_into))


def test_compare_reports_only_what_changed() -> None:
    table = QualifiedName("public", "t")
    fk = ForeignKeySpec(
        "t_fk",
        table,
        True,
        ("p",),
        (),
        QualifiedName("public", "p"),
        True,
        ("id",),
        False,
    )
    spec = FingerprintSpec((TableSpec(table, True, ("v",), ("p",)),), (fk,))
    before = {
        (TABLE, "public.t"): Measure(3, 42),
        (FK, fk.object): Measure(2, 7),
        (FK_NULLS, fk.object): Measure(0, None),
        (FK_ORPHANS, fk.object): Measure(1, None),
    }
    assert compare(spec, before, dict(before)) == (
        [],
        [
            f"foreign key {fk.object}: 1 orphaned row, as many as before the change"
            " (the key is NOT VALID)"
        ],
    )
    after = {**before, (FK, fk.object): Measure(2, 8), (FK_ORPHANS, fk.object): Measure(2, None)}
    differences, _ = compare(spec, before, after)
    assert [str(d) for d in differences] == [
        "foreign key t_fk on public.t: 2 (child, parent) pairs before and after, but different"
        " pairs",
        "foreign key t_fk on public.t: 2 orphaned rows (a reference with no parent row), 1 before",
    ]


# -- row-level security ----------------------------------------------------------------------
def test_rows_a_policy_hides_are_never_fingerprinted_silently(
    pg: object, dsn: str, conn: psycopg.Connection
) -> None:
    # The owner runs apply, and FORCE ROW LEVEL SECURITY hides half the rows from the owner: a
    # fingerprint of the visible half would prove nothing about the other. Measuring runs with
    # row_security off, so PostgreSQL refuses the query instead, and nothing changes.
    role = "uuidpk_verify_rls_owner"
    pg.ensure_role(role, sql.SQL("LOGIN"))  # type: ignore[attr-defined]
    (database,) = conn.execute("SELECT current_database()").fetchone()  # type: ignore[misc]
    conn.execute(
        sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
            sql.Identifier(database), sql.Identifier(role)
        )
    )
    conn.execute("CREATE TABLE secret (id serial PRIMARY KEY, v text)")
    conn.execute("CREATE TABLE note (id serial PRIMARY KEY, secret_id int REFERENCES secret)")
    conn.execute("INSERT INTO secret (v) SELECT 'v' || g FROM generate_series(1, 4) AS g")
    conn.execute("INSERT INTO note (secret_id) SELECT id FROM secret")
    for table in ("secret", "note"):
        conn.execute(
            sql.SQL("ALTER TABLE {} OWNER TO {}").format(
                sql.Identifier(table), sql.Identifier(role)
            )
        )
    conn.execute("ALTER TABLE secret ENABLE ROW LEVEL SECURITY")
    conn.execute("ALTER TABLE secret FORCE ROW LEVEL SECURITY")
    conn.execute("CREATE POLICY even ON secret USING (v IN ('v2', 'v4'))")

    outcome = uuidpk("apply", "--dsn", make_conninfo(dsn, user=role), "--all", "--yes")
    assert outcome.code == 1 and outcome.exception is None, outcome.describe()
    assert "row-level security" in outcome.err, outcome.describe()
    assert conn.execute(
        "SELECT data_type FROM information_schema.columns"
        " WHERE table_name = 'secret' AND column_name = 'id'"
    ).fetchone() == ("integer",)


# -- soft references ---------------------------------------------------------------------------
def test_a_soft_reference_is_checked_like_a_foreign_key(dsn: str, conn: psycopg.Connection) -> None:
    load_shop(conn, orders=20)
    conn.execute("CREATE TABLE note (id serial PRIMARY KEY, order_ref int, body text)")
    conn.execute("INSERT INTO note (order_ref, body) SELECT id, 'n-' || number FROM order_order")
    conn.execute("INSERT INTO note (order_ref, body) VALUES (999999, 'dangling')")
    assert_ok(
        uuidpk(
            "apply",
            "--dsn",
            dsn,
            "--table",
            "order_order",
            "--soft-ref",
            "public.note.order_ref=public.order_order",
            "--yes",
        )
    )
    soft = "soft reference public.note.order_ref -> public.order_order.id"
    outcome = assert_ok(uuidpk("verify", "--dsn", dsn))
    # The dangling reference was there before; nothing enforces a soft reference: a note.
    assert f"uuidpk: note: {soft}: 1 orphaned row, as many as before" in outcome.err, (
        outcome.describe()
    )
    conn.execute(
        "UPDATE note SET order_ref = (SELECT id FROM order_order ORDER BY number DESC LIMIT 1)"
        " WHERE body = (SELECT min(body) FROM note WHERE body LIKE 'n-%')"
    )
    lines = failed(uuidpk("verify", "--dsn", dsn))
    pairs = [line for line in lines if line.startswith(f"uuidpk: {soft}: ")]
    assert pairs and "different pairs" in pairs[0], lines
    assert named(lines, "table public.note:"), lines
