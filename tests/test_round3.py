"""Issue 23: shapes from large real schemas that were said wrong, found only after the locks, or
converted and then broken. Each either converts with the object working afterwards, or is refused
before any change, naming the object. Each test builds the smallest schema with the shape."""

from __future__ import annotations

import psycopg
import pytest
from checks import uuidpk as uuidpk_cli
from pgutil import run_psql

import uuidpk
from uuidpk.preflight import estimate_locks, plan_needs
from uuidpk.problems import Problem, Severity

ALL = uuidpk.Selection(all_tables=True)


def _problems(conn: psycopg.Connection, selection: uuidpk.Selection = ALL) -> list[Problem]:
    return uuidpk.analyse(conn, selection).all_problems()


def _named(problems: list[Problem], severity: Severity, words: str) -> list[Problem]:
    return [p for p in problems if p.severity == severity and words in f"{p.name} {p.reason}"]


def _apply(conn: psycopg.Connection, **options: object) -> uuidpk.Applied:
    conversion = uuidpk.plan(conn, ALL, uuidpk.Options(**options))  # type: ignore[arg-type]
    return uuidpk.apply(conn, conversion, accept_risks=True, verify=True)


def _refused_naming(conn: psycopg.Connection, words: str) -> None:
    """plan refuses, naming the object, and nothing changed."""
    before = conn.execute(
        "SELECT count(*) FROM pg_attribute WHERE atttypid = 'uuid'::regtype AND attnum > 0"
    ).fetchone()
    with pytest.raises(uuidpk.Refused, match=words):
        uuidpk.plan(conn, ALL)
    after = conn.execute(
        "SELECT count(*) FROM pg_attribute WHERE atttypid = 'uuid'::regtype AND attnum > 0"
    ).fetchone()
    assert before == after


# -- said wrong ------------------------------------------------------------------------------------
def test_gist_exclusion_over_the_key_converts_with_btree_gist(conn: psycopg.Connection) -> None:
    conn.execute(
        """
        CREATE EXTENSION btree_gist;
        CREATE TABLE room (id serial PRIMARY KEY);
        CREATE TABLE booking (
            id serial PRIMARY KEY, room_id int NOT NULL REFERENCES room, during tstzrange,
            CONSTRAINT no_double_booking EXCLUDE USING gist (room_id WITH =, during WITH &&));
        CREATE TABLE pairing (
            id serial PRIMARY KEY, room_id int REFERENCES room,
            CONSTRAINT one_per_room EXCLUDE USING hash (room_id WITH =));
        INSERT INTO room SELECT FROM generate_series(1, 2);
        INSERT INTO booking (room_id, during) VALUES
            (1, '[2024-01-01, 2024-01-02)'), (2, '[2024-01-01, 2024-01-02)');
        INSERT INTO pairing (room_id) VALUES (1);
        """
    )
    handled = _named(_problems(conn), Severity.HANDLED, "no_double_booking on public.booking")
    assert handled and "rebuilds it over uuid" in handled[0].reason
    _apply(conn)
    (definition,) = conn.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'no_double_booking'"
    ).fetchone()  # type: ignore[misc]
    assert definition == "EXCLUDE USING gist (room_id WITH =, during WITH &&)"
    # It still excludes: the same room twice at once.
    with pytest.raises(psycopg.errors.ExclusionViolation):
        conn.execute(
            "INSERT INTO booking (room_id, during)"
            " SELECT room_id, '[2024-01-01 12:00, 2024-01-03)' FROM booking LIMIT 1"
        )
    with pytest.raises(psycopg.errors.ExclusionViolation):
        conn.execute("INSERT INTO pairing (room_id) SELECT room_id FROM pairing")


def test_exclusion_naming_an_integer_operator_class_is_a_blocker(conn: psycopg.Connection) -> None:
    # An operator class (and operator) for integers only: PostgreSQL would fail to rebuild it
    # ("operator class does not accept data type uuid") after rewriting every table.
    conn.execute(
        """
        CREATE FUNCTION int4_same(int, int) RETURNS bool LANGUAGE sql IMMUTABLE
            AS 'SELECT $1 = $2';
        CREATE OPERATOR === (LEFTARG = int, RIGHTARG = int, FUNCTION = int4_same,
                             COMMUTATOR = ===);
        CREATE OPERATOR CLASS int4_same_ops FOR TYPE int USING hash
            AS OPERATOR 1 ===, FUNCTION 1 hashint4(int);
        CREATE TABLE room (id serial PRIMARY KEY);
        CREATE TABLE booking (
            id serial PRIMARY KEY, room_id int REFERENCES room,
            CONSTRAINT one_per_room EXCLUDE USING hash (room_id int4_same_ops WITH ===));
        """
    )
    found = _named(_problems(conn), Severity.BLOCKER, "one_per_room on public.booking")
    assert found and "room_id" in found[0].reason
    _refused_naming(conn, "one_per_room")


def test_a_keys_locks_grow_with_its_closure_not_the_database(
    conn: psycopg.Connection, dsn: str
) -> None:
    # A one-table key in a database of many sequence-fed tables: the fingerprint measured (and
    # so locked, and needed SELECT on) every one of them; only the closure's sequences now.
    statements = [
        "CREATE TABLE parent (id serial PRIMARY KEY)",
        "CREATE TABLE child (id serial PRIMARY KEY, parent_id int REFERENCES parent)",
    ]
    statements += [f"CREATE TABLE other_{i} (id serial PRIMARY KEY)" for i in range(150)]
    conn.execute(";\n".join(statements))
    # A sequence behind its column outside the closure: not the migration's doing.
    conn.execute("INSERT INTO other_0 SELECT FROM generate_series(1, 3)")
    conn.execute("SELECT setval('other_0_id_seq', 1)")
    # And one inside it, already behind before the migration: measured, so a note too.
    conn.execute("INSERT INTO child (parent_id) VALUES (NULL), (NULL)")
    conn.execute("SELECT setval('child_id_seq', 1)")
    conversion = uuidpk.plan(conn, uuidpk.Selection(tables=("parent",)))
    needs = plan_needs(conversion.plan, fingerprint=True)
    estimate = estimate_locks(conn, needs, conversion.analysis.catalog.schema_oids)
    script = uuidpk.render_script(conn, conversion)
    counted = script.replace(
        "COMMIT;",
        "SELECT 'held=' || count(DISTINCT relation) FROM pg_locks"
        " WHERE pid = pg_backend_pid() AND NOT fastpath AND locktype = 'relation';\nROLLBACK;",
    )
    held = int(run_psql(dsn, counted).split("held=")[1].split()[0])
    assert held <= estimate.needed < 80, (held, estimate)  # 150 tables: ~450 before
    outcome = uuidpk.apply(conn, conversion, verify=True)
    assert outcome.verification is not None and outcome.verification.ok
    checked = uuidpk.verify(conn)
    assert checked.ok, checked.differences
    assert any("other_0_id_seq" in n and "not a table of the migration" in n for n in checked.notes)
    assert any("child_id_seq" in n and "already before the migration" in n for n in checked.notes)


def test_rehearse_with_populated_materialized_views(conn: psycopg.Connection, dsn: str) -> None:
    # pg_dump --schema-only writes every materialized view WITH NO DATA: the copy refreshes the
    # ones populated here (one reading another after it), and reads those, not an empty one.
    conn.execute(
        """
        CREATE TABLE item (id serial PRIMARY KEY, name text);
        CREATE MATERIALIZED VIEW z_item_names AS SELECT id, name FROM item;
        CREATE UNIQUE INDEX ON z_item_names (id);
        CREATE MATERIALIZED VIEW a_item_count AS SELECT count(*) AS n FROM z_item_names;
        CREATE MATERIALIZED VIEW never_filled AS SELECT id FROM item WITH NO DATA;
        INSERT INTO item (name) VALUES ('a'), ('b');
        REFRESH MATERIALIZED VIEW z_item_names;
        REFRESH MATERIALIZED VIEW a_item_count;
        """
    )
    rehearsal = uuidpk.rehearse(conn, ALL)
    assert rehearsal.ok, rehearsal.error
    assert rehearsal.views_read == 2
    applied = uuidpk_cli("apply", "--dsn", dsn, "--all", "--rehearse", "--yes")
    assert applied.code == 0, applied.describe()
    assert conn.execute("SELECT n FROM a_item_count").fetchone() == (2,)
