"""Issue 14: shapes large real schemas have. Each one either works after `apply --all` or is
named by `inspect` before anything changes (a blocker where PostgreSQL will refuse, a warning
where it will not). Each test builds the smallest schema with the shape in a real PostgreSQL."""

from __future__ import annotations

import json

import psycopg
import pytest
from checks import uuidpk_process

import uuidpk
from uuidpk.errors import Refused
from uuidpk.problems import Problem, Severity

ALL = uuidpk.Selection(all_tables=True)


def _problems(conn: psycopg.Connection, selection: uuidpk.Selection = ALL) -> list[Problem]:
    return uuidpk.analyse(conn, selection).all_problems()


def _named(problems: list[Problem], severity: Severity, words: str) -> list[Problem]:
    return [p for p in problems if p.severity == severity and words in f"{p.name} {p.reason}"]


def _apply(conn: psycopg.Connection, **options: object) -> uuidpk.Applied:
    conversion = uuidpk.plan(conn, ALL, uuidpk.Options(**options))  # type: ignore[arg-type]
    return uuidpk.apply(conn, conversion, accept_risks=True, verify=True)


# -- fails after the rewrite, though inspect said "handled" ---------------------------------------
ORDERED_CHECK = """
CREATE TABLE tag (id serial PRIMARY KEY);
CREATE TABLE tag_pair (
    id serial PRIMARY KEY,
    tag1 integer NOT NULL REFERENCES tag, tag2 integer NOT NULL REFERENCES tag,
    CONSTRAINT ordered CHECK (tag1 < tag2));
INSERT INTO tag SELECT FROM generate_series(1, 20);
INSERT INTO tag_pair (tag1, tag2) SELECT i, i + 1 FROM generate_series(1, 19) i;
"""


def test_check_ordering_two_converted_columns_is_a_blocker(conn: psycopg.Connection) -> None:
    conn.execute(ORDERED_CHECK)
    found = _named(_problems(conn), Severity.BLOCKER, "ordered on public.tag_pair")
    assert found and "--uuid v7" in found[0].reason
    with pytest.raises(Refused, match="ordered"):
        uuidpk.plan(conn, ALL)


def test_check_ordering_holds_with_v7_from_old_ids(conn: psycopg.Connection) -> None:
    conn.execute(ORDERED_CHECK)
    _apply(conn, uuid_version=7)
    assert conn.execute("SELECT count(*) FROM tag_pair WHERE tag1 < tag2").fetchone() == (19,)


def test_union_all_with_bare_null_is_retargeted(conn: psycopg.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE release (id serial PRIMARY KEY, name text);
        CREATE TABLE build (id serial PRIMARY KEY, release_id integer REFERENCES release);
        CREATE VIEW everything AS
            SELECT b.release_id AS release, b.id AS build FROM build b
            UNION ALL SELECT r.id, NULL FROM release r;
        INSERT INTO release (name) VALUES ('a');
        INSERT INTO build (release_id) VALUES (1);
        """
    )
    assert "NULL::integer" in conn.execute("SELECT pg_get_viewdef('everything')").fetchone()[0]
    _apply(conn)
    assert conn.execute("SELECT count(*) FROM everything").fetchone() == (2,)


@pytest.mark.parametrize(
    "dependent",
    [
        "CREATE TRIGGER odd BEFORE UPDATE ON item FOR EACH ROW WHEN (OLD.id IN (1, 3267)) "
        "EXECUTE FUNCTION noop()",
        "CREATE TRIGGER odd BEFORE UPDATE ON item FOR EACH ROW WHEN (OLD.id = 7) "
        "EXECUTE FUNCTION noop()",
        "CREATE RULE odd AS ON DELETE TO item WHERE old.id = 1 DO INSTEAD NOTHING",
    ],
)
def test_trigger_when_and_rule_where_comparing_with_numbers(
    conn: psycopg.Connection, dependent: str
) -> None:
    conn.execute(
        """
        CREATE TABLE item (id serial PRIMARY KEY);
        CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
        """
    )
    conn.execute(dependent)
    assert _named(_problems(conn), Severity.BLOCKER, "odd on public.item")
    with pytest.raises(Refused):
        uuidpk.plan(conn, ALL)


@pytest.mark.parametrize(
    "index",
    [
        "CREATE INDEX typed ON work_item (id) WHERE work_item_type_id = 2",
        "CREATE INDEX typed ON work_item ((work_item_type_id % 100), work_item_type_id)",
    ],
)
def test_partial_and_expression_index_on_numbers(conn: psycopg.Connection, index: str) -> None:
    conn.execute(
        """
        CREATE TABLE work_item_type (id serial PRIMARY KEY);
        CREATE TABLE work_item (id serial PRIMARY KEY,
                                work_item_type_id integer REFERENCES work_item_type);
        """
    )
    conn.execute(index)
    assert _named(_problems(conn), Severity.BLOCKER, "typed")
    with pytest.raises(Refused, match="typed"):
        uuidpk.plan(conn, ALL)


def test_partial_index_that_makes_sense_over_uuid_is_not_a_blocker(
    conn: psycopg.Connection,
) -> None:
    conn.execute(
        """
        CREATE TABLE work_item_type (id serial PRIMARY KEY);
        CREATE TABLE work_item (id serial PRIMARY KEY, closed boolean,
                                work_item_type_id integer REFERENCES work_item_type);
        CREATE INDEX open_items ON work_item (work_item_type_id) WHERE NOT closed;
        INSERT INTO work_item_type DEFAULT VALUES;
        INSERT INTO work_item (closed, work_item_type_id) VALUES (false, 1);
        """
    )
    assert not _named(_problems(conn), Severity.BLOCKER, "open_items")
    _apply(conn)


JOIN_WITHOUT_FK = """
CREATE TABLE staff (id serial PRIMARY KEY, name text);
CREATE TABLE team (id serial PRIMARY KEY, manager_id integer);
CREATE VIEW team_manager AS
    SELECT t.id AS team, s.name FROM team t JOIN staff s ON s.id = t.manager_id;
INSERT INTO staff (name) VALUES ('ann');
INSERT INTO team (manager_id) VALUES (1);
"""


def test_view_joining_a_key_with_an_integer_column_without_fk(conn: psycopg.Connection) -> None:
    conn.execute(JOIN_WITHOUT_FK)
    found = _named(_problems(conn), Severity.BLOCKER, "team_manager")
    assert found and "--soft-ref public.team.manager_id=public.staff" in found[0].reason
    with pytest.raises(Refused, match="team_manager"):
        uuidpk.plan(conn, ALL)
    # The join is the evidence: declared, the column converts with the key and the view reads.
    selection = uuidpk.Selection(all_tables=True, soft_refs=("team.manager_id=staff",))
    conversion = uuidpk.plan(conn, selection)
    uuidpk.apply(conn, conversion, accept_risks=True, verify=True)
    assert conn.execute("SELECT name FROM team_manager").fetchall() == [("ann",)]


def test_materialized_view_is_said_to_be_recomputed(conn: psycopg.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE person (id serial PRIMARY KEY);
        CREATE MATERIALIZED VIEW people AS SELECT id FROM person;
        CREATE UNIQUE INDEX people_id ON people (id);
        """
    )
    found = _named(_problems(conn), Severity.HANDLED, "public.people")
    assert found and "recomputed" in found[0].reason and "unique index" in found[0].reason


# -- succeeds, then breaks the application ---------------------------------------------------------
def test_trigger_assigning_the_key_from_the_dropped_sequence(conn: psycopg.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE machine (id serial PRIMARY KEY, name text);
        CREATE FUNCTION assign_machine_id() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN NEW.id := nextval('machine_id_seq'); RETURN NEW; END $$;
        CREATE TRIGGER assign BEFORE INSERT ON machine FOR EACH ROW
            EXECUTE FUNCTION assign_machine_id();
        """
    )
    found = _named(_problems(conn), Severity.WARNING, "machine_id_seq")
    assert found and found[0].name.startswith("public.assign_machine_id")


def test_crosstab_column_definition_list(conn: psycopg.Connection) -> None:
    conn.execute(
        """
        CREATE EXTENSION tablefunc;
        CREATE TABLE person (id serial PRIMARY KEY);
        CREATE TABLE score (id serial PRIMARY KEY, person_id integer REFERENCES person,
                            subject text, points integer);
        CREATE VIEW scores AS SELECT * FROM crosstab(
            'SELECT person_id, subject, points FROM score ORDER BY 1, 2')
            AS ct(person_id integer, math integer, art integer);
        """
    )
    found = _named(_problems(conn), Severity.BLOCKER, "scores")
    assert found and "person_id integer" in found[0].reason


def test_second_sequence_owned_by_the_key(conn: psycopg.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE account (id serial PRIMARY KEY);
        CREATE SEQUENCE account_legacy_seq OWNED BY account.id;
        INSERT INTO account DEFAULT VALUES;
        """
    )
    _apply(conn)
    owned = conn.execute(
        "SELECT count(*) FROM pg_depend WHERE refobjid = 'account'::regclass "
        "AND classid = 'pg_class'::regclass AND deptype IN ('a', 'i')"
    ).fetchone()
    assert owned == (0,)
    assert uuidpk.verify(conn).ok


# -- the rehearsal ---------------------------------------------------------------------------------
def test_rehearsal_reports_what_postgresql_says(conn: psycopg.Connection) -> None:
    conn.execute(JOIN_WITHOUT_FK)
    rehearsal = uuidpk.rehearse(conn, ALL, ignore_blockers=True)
    assert not rehearsal.ok
    assert "team_manager" in rehearsal.error or "operator does not exist" in rehearsal.error
    assert conn.execute("SELECT count(*) FROM team").fetchone() == (1,)
    scratch = "SELECT count(*) FROM pg_database WHERE datname LIKE 'uuidpk\\_rehearsal%'"
    assert conn.execute(scratch).fetchone() == (0,)  # dropped, failure or not


def test_rehearsal_of_a_clean_schema(conn: psycopg.Connection) -> None:
    conn.execute(ORDERED_CHECK.replace("CONSTRAINT ordered CHECK (tag1 < tag2)", "note text"))
    rehearsal = uuidpk.rehearse(conn, ALL)
    assert rehearsal.ok, rehearsal.error
    assert conn.execute(
        "SELECT data_type FROM information_schema.columns "
        "WHERE table_name = 'tag' AND column_name = 'id'"
    ).fetchone() == ("integer",)


# -- soft references: ranked by evidence, each column once, guesses summed up ------------------
def test_a_join_is_evidence_of_a_soft_reference(conn: psycopg.Connection) -> None:
    conn.execute(JOIN_WITHOUT_FK)
    found = [p for p in _problems(conn) if p.what == "soft reference"]
    assert [p.name for p in found] == ["public.team.manager_id"]
    assert "view public.team_manager joins" in found[0].reason
    # The join names the target: --soft-ref needs no =TARGET.
    selection = uuidpk.Selection(all_tables=True, soft_refs=("team.manager_id",))
    uuidpk.apply(conn, uuidpk.plan(conn, selection), verify=True)
    assert conn.execute("SELECT name FROM team_manager").fetchall() == [("ann",)]


def test_a_column_named_like_many_tables_is_said_once(conn: psycopg.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE a_projects (id serial PRIMARY KEY);
        CREATE TABLE b_projects (id serial PRIMARY KEY);
        CREATE TABLE c_projects (id serial PRIMARY KEY);
        CREATE TABLE note (id serial PRIMARY KEY, project_id integer);
        """
    )
    found = [p for p in _problems(conn) if p.what == "soft reference"]
    assert [p.name for p in found] == ["public.note.project_id"]
    assert "one of public.a_projects, public.b_projects, public.c_projects" in found[0].reason


def test_name_guesses_are_summed_up_and_findings_stay(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE project (id serial PRIMARY KEY)")
    for n in range(30):
        conn.execute(f"CREATE TABLE log_{n} (id serial PRIMARY KEY, project_id integer)")
    conn.execute(JOIN_WITHOUT_FK)
    problems = _problems(conn)
    warnings = [p for p in problems if p.severity == Severity.WARNING]
    assert {p.name for p in warnings if p.what == "soft reference"} == {
        "public.team.manager_id",
        "30 columns",
    }
    assert len(_named(problems, Severity.NOTE, "project_id")) == 30
    assert _named(problems, Severity.BLOCKER, "team_manager")


# -- each shape rehearsed: what PostgreSQL itself says on a schema-only copy ----------------------
NOOP = "CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';"
WORK_ITEMS = """
CREATE TABLE work_item_type (id serial PRIMARY KEY);
CREATE TABLE work_item (id serial PRIMARY KEY, work_item_type_id integer REFERENCES work_item_type);
"""
CROSSTAB = """
CREATE EXTENSION tablefunc;
CREATE TABLE person (id serial PRIMARY KEY);
CREATE TABLE score (id serial PRIMARY KEY, person_id integer REFERENCES person, subject text,
                    points integer);
CREATE VIEW scores AS SELECT * FROM crosstab(
    'SELECT person_id, subject, points FROM score ORDER BY 1, 2')
    AS ct(person_id integer, math integer, art integer);
"""
# (schema, what the rehearsal says when the plan is run past inspect's blockers): False where
# PostgreSQL refuses without any data, True where only data (or a later call) shows it.
REHEARSED = {
    "ordered check": (ORDERED_CHECK, True),  # only rows break the order
    "trigger when": (
        "CREATE TABLE item (id serial PRIMARY KEY);" + NOOP + "CREATE TRIGGER odd BEFORE UPDATE "
        "ON item FOR EACH ROW WHEN (OLD.id IN (1, 3267)) EXECUTE FUNCTION noop()",
        False,
    ),
    "rule where": (
        "CREATE TABLE item (id serial PRIMARY KEY);"
        "CREATE RULE odd AS ON DELETE TO item WHERE old.id = 1 DO INSTEAD NOTHING",
        False,
    ),
    "partial index": (
        WORK_ITEMS + "CREATE INDEX t ON work_item (id) WHERE work_item_type_id = 2",
        False,
    ),
    "expression index": (
        WORK_ITEMS + "CREATE INDEX t ON work_item ((work_item_type_id % 100), work_item_type_id)",
        False,
    ),
    "join without fk": (JOIN_WITHOUT_FK, False),
    # crosstab compares its query's types with the column list only when rows come back.
    "crosstab": (CROSSTAB, True),
}


@pytest.mark.parametrize("shape", sorted(REHEARSED))
def test_rehearsal_agrees_with_the_blockers(conn: psycopg.Connection, shape: str) -> None:
    schema, runs = REHEARSED[shape]
    conn.execute(schema)
    rehearsal = uuidpk.rehearse(conn, ALL, ignore_blockers=True)
    assert rehearsal.blockers >= 1  # inspect names it ...
    assert rehearsal.ok is runs, rehearsal.error  # ... and PostgreSQL refuses it, or only data can
    # The live database was only read.
    assert conn.execute(
        "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND a.atttypid = 'uuid'::regtype"
    ).fetchone() == (0,)


def test_rehearse_flags(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(JOIN_WITHOUT_FK)
    outcome = uuidpk_process("inspect", "--dsn", dsn, "--all", "--rehearse", "--format", "json")
    assert outcome.code == 1
    document = json.loads(outcome.out)
    assert document["rehearsal"]["ok"] is False
    assert "rehearsal on a schema-only copy failed" in outcome.err
    outcome = uuidpk_process(
        "apply", "--dsn", dsn, "--all", "--rehearse", "--yes", "--soft-ref", "team.manager_id"
    )
    assert outcome.code == 0, outcome.err
    assert "rehearsal on a schema-only copy: the plan ran and 1 view(s) read back" in outcome.err


# -- choosing the tables: one rule for partitioned and plain tables -------------------------------
def test_one_key_rule_for_partitioned_and_plain_tables(conn: psycopg.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE build (id bigserial, partition_id bigint NOT NULL,
                            PRIMARY KEY (id, partition_id)) PARTITION BY LIST (partition_id);
        CREATE TABLE build_100 PARTITION OF build FOR VALUES IN (100);
        CREATE TABLE stage (id bigserial, partition_id bigint NOT NULL,
                            PRIMARY KEY (id, partition_id));
        """
    )
    keys = {f"{k.table.qname}.{k.column.name}" for k in uuidpk.analyse(conn, ALL).keys}
    assert keys == {"public.build.id"}  # the partition key aside, one column; stage: two
    with pytest.raises(Refused, match=r"stage has a composite primary key \(id, partition_id\)"):
        uuidpk.analyse(conn, uuidpk.Selection(tables=("stage",)))
    _apply(conn)
    assert conn.execute("SELECT pg_typeof(id)::text FROM build LIMIT 1").fetchone() is None
    assert conn.execute(
        "SELECT format_type(atttypid, -1) FROM pg_attribute "
        "WHERE attrelid = 'build'::regclass AND attname = 'id'"
    ).fetchone() == ("uuid",)
