"""Fail before changing anything, never after: options the schema cannot take, a text (natural)
key, privileges the role lacks, a lock table too small for the plan. Each is a blocker in
`inspect` and refuses `apply` before the first statement, the database untouched."""

from __future__ import annotations

import psycopg
import pytest
from checks import assert_clean_failure, assert_ok, column_types, uuidpk
from pgutil import run_psql
from psycopg import sql
from psycopg.conninfo import make_conninfo

from uuidpk import pipeline
from uuidpk.model import QualifiedName
from uuidpk.planning import mapping_names
from uuidpk.preflight import estimate_locks, plan_needs

AUTHORS = """
CREATE TABLE author (id serial PRIMARY KEY, status text, name text);
CREATE TABLE book (id serial PRIMARY KEY, author_id integer REFERENCES author, title text);
CREATE TABLE publisher (id serial PRIMARY KEY, founded date, note text);
INSERT INTO author (status, name) VALUES ('active', 'Ann'), ('retired', 'Bob');
INSERT INTO book (author_id, title) VALUES (1, 'One'), (2, 'Two');
INSERT INTO publisher (founded) VALUES ('1900-01-01');
"""
# A sequence the superuser owns feeding a column of a closure table that is not the key: the
# fingerprint reads where it stands against book.serial_no.
SERIAL_NUMBERS = """
CREATE SEQUENCE serial_numbers;
ALTER TABLE book ADD COLUMN serial_no integer DEFAULT nextval('serial_numbers');
"""


def _refused_untouched(conn: psycopg.Connection, dsn: str, *args: str) -> str:
    """apply refuses with one line, and not one column changed type."""
    before = column_types(conn)
    line = assert_clean_failure(uuidpk("apply", "--dsn", dsn, "--yes", *args))
    assert column_types(conn) == before
    return line


# -- options ------------------------------------------------------------------------------------
def test_keep_old_id_naming_an_existing_column_is_refused_before_anything_changes(
    conn: psycopg.Connection, dsn: str
) -> None:
    conn.execute(AUTHORS)
    args = ("--table", "author", "--keep-old-id=status")
    shown = uuidpk("inspect", "--dsn", dsn, *args)
    assert shown.code == 1, shown.describe()
    assert "public.author already has a column status" in shown.out
    line = _refused_untouched(conn, dsn, *args)
    assert "--keep-old-id status" in line and "already has a column" in line, line
    assert_ok(uuidpk("apply", "--dsn", dsn, "--yes", "--table", "author", "--keep-old-id=old_st"))


def test_keep_old_id_longer_than_postgresql_names_is_refused(
    conn: psycopg.Connection, dsn: str
) -> None:
    conn.execute(AUTHORS)
    name = "kept_" + "é" * 30  # 65 bytes: PostgreSQL would cut it, and only say so in a NOTICE
    line = _refused_untouched(conn, dsn, "--table", "author", f"--keep-old-id={name}")
    assert "65 bytes" in line and "63" in line, line


def test_mapping_table_names_fit_in_63_bytes_and_stay_apart() -> None:
    long = [QualifiedName("s" * 40, "t" * 40 + str(i)) for i in range(3)]
    long.append(QualifiedName("ü" * 30, "ü" * 30))
    names = mapping_names(long)
    assert all(len(n.encode()) <= 63 for n in names.values()), names
    assert len(set(names.values())) == len(long)


@pytest.mark.parametrize(
    ("schema", "expected"),
    [("ALTER TABLE author ADD created_at text", "is text, not a timestamp or date")],
)
def test_order_by_must_name_a_timestamp_in_every_root_table(
    conn: psycopg.Connection, dsn: str, schema: str, expected: str
) -> None:
    conn.execute(AUTHORS)
    conn.execute(schema)
    args = ("--table", "author", "--uuid", "v7", "--order-by", "created_at")
    shown = uuidpk("inspect", "--dsn", dsn, *args)
    assert shown.code == 1 and expected in shown.out, shown.describe()
    assert expected in _refused_untouched(conn, dsn, *args)


def test_a_root_without_the_order_by_column_is_said_and_keeps_id_order(
    conn: psycopg.Connection, dsn: str
) -> None:
    conn.execute(AUTHORS)
    conn.execute("ALTER TABLE book ADD created_at timestamptz")
    args = ("--table", "author", "--table", "book", "--uuid", "v7", "--order-by", "created_at")
    shown = assert_ok(uuidpk("inspect", "--dsn", dsn, *args))
    assert "root table public.author has no such column" in shown.out, shown.describe()
    assert "keep the old id order" in shown.out
    assert_ok(uuidpk("apply", "--dsn", dsn, "--yes", *args))


def test_order_by_a_date_column_is_accepted(conn: psycopg.Connection, dsn: str) -> None:
    conn.execute(AUTHORS)
    args = ("--table", "publisher", "--uuid", "v7", "--order-by", "founded")
    assert_ok(uuidpk("inspect", "--dsn", dsn, *args))
    assert_ok(uuidpk("apply", "--dsn", dsn, "--yes", *args))


# -- natural keys -------------------------------------------------------------------------------
COUNTRIES = """
CREATE TABLE country (code char(2) PRIMARY KEY, name text);
CREATE TABLE city (id serial PRIMARY KEY, country_code char(2) REFERENCES country, name text);
INSERT INTO country VALUES ('FR', 'France'), ('DE', 'Germany');
INSERT INTO city (country_code, name) VALUES ('FR', 'Paris'), ('DE', 'Berlin'), ('FR', 'Lyon');
"""


def test_a_text_key_is_converted_only_when_asked_and_keeps_its_values(
    conn: psycopg.Connection, dsn: str
) -> None:
    conn.execute(COUNTRIES)
    every = assert_ok(uuidpk("inspect", "--dsn", dsn, "--all"))
    keys, left_out = every.out.replace("country_code", "").split("left out (")
    assert "country" not in keys  # not converted, and said why:
    assert "not integer  public.country.code character(2): a character(2) key is likely" in left_out
    shown = uuidpk("inspect", "--dsn", dsn, "--table", "country")
    assert shown.code == 1 and "--allow-text-keys" in shown.out, shown.describe()
    line = _refused_untouched(conn, dsn, "--table", "country")
    assert "natural key" in line and "--allow-text-keys" in line, line
    assert_ok(uuidpk("apply", "--dsn", dsn, "--yes", "--table", "country", "--allow-text-keys"))
    kept = conn.execute(
        "SELECT c.old_id, t.name FROM city t JOIN country c ON c.code = t.country_code"
        " ORDER BY t.name"
    ).fetchall()
    assert kept == [("DE", "Berlin"), ("FR", "Lyon"), ("FR", "Paris")]
    types = column_types(conn)
    assert types[("public", "city", "country_code")] == "uuid"
    assert types[("public", "country", "old_id")] == "character(2)"


# -- privileges ---------------------------------------------------------------------------------
def _role(pg: object, name: str) -> None:
    pg.ensure_role(name, sql.SQL("LOGIN"))  # type: ignore[attr-defined]


def test_missing_privileges_are_blockers_one_line_each_then_the_grants_suffice(
    pg: object, conn: psycopg.Connection, dsn: str
) -> None:
    migrator, viewer = "uuidpk_ff_migrator", "uuidpk_ff_viewer"
    _role(pg, migrator)
    _role(pg, viewer)
    database = sql.Identifier(conn.info.dbname)
    conn.execute(AUTHORS + SERIAL_NUMBERS)
    conn.execute(
        "CREATE VIEW author_books AS SELECT a.id, b.title FROM author a JOIN book b"
        " ON b.author_id = a.id"
    )
    for statement in (
        "ALTER TABLE author OWNER TO {m}",
        "ALTER TABLE book OWNER TO {m}",
        "ALTER VIEW author_books OWNER TO {v}",
        "REVOKE TEMPORARY ON DATABASE {db} FROM PUBLIC",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
    ):
        conn.execute(
            sql.SQL(statement).format(
                m=sql.Identifier(migrator), v=sql.Identifier(viewer), db=database
            )
        )
    as_migrator = make_conninfo(dsn, user=migrator)
    shown = uuidpk("inspect", "--dsn", as_migrator, "--table", "author")
    assert shown.code == 1, shown.describe()
    privileges = sorted(line for line in shown.out.splitlines() if "privilege" in line)
    expected = [
        f"does not own it (owner {viewer})",  # a view it must drop
        "ALTER ... OWNER TO needs membership",  # and give back to its owner
        f"GRANT CREATE ON SCHEMA public TO {migrator}",  # where the view is recreated
        f"GRANT CREATE ON SCHEMA public TO {viewer}",  # ALTER ... OWNER TO needs it too
        "GRANT TEMPORARY ON DATABASE",  # the derivation functions in pg_temp
        "GRANT CREATE ON DATABASE",  # the tool's schema, for the fingerprint
        # The fingerprint reads the sequences feeding the closure's tables.
        "GRANT SELECT ON SEQUENCE public.serial_numbers",
    ]
    for needle in expected:
        assert sum(needle in line for line in privileges) == 1, (needle, privileges)
    assert len(privileges) == len(expected), "\n".join(privileges)  # none outside the closure
    line = _refused_untouched(conn, as_migrator, "--table", "author")
    assert "privilege" in line and "see uuidpk inspect" in line, line

    for statement in (
        "GRANT {v} TO {m}",
        "GRANT CREATE ON SCHEMA public TO {m}, {v}",
        "GRANT TEMPORARY ON DATABASE {db} TO {m}",
        "GRANT SELECT ON serial_numbers TO {m}",
    ):
        conn.execute(
            sql.SQL(statement).format(
                m=sql.Identifier(migrator), v=sql.Identifier(viewer), db=database
            )
        )
    # The fingerprint's schema: apply still needs CREATE on the database for it.
    line = _refused_untouched(conn, as_migrator, "--table", "author")
    assert f"GRANT CREATE ON DATABASE {conn.info.dbname}" in line, line
    shown = uuidpk("inspect", "--dsn", as_migrator, "--table", "author")
    assert shown.code == 1 and "GRANT CREATE ON DATABASE" in shown.out, shown.describe()
    conn.execute(
        sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(database, sql.Identifier(migrator))
    )
    assert_ok(uuidpk("inspect", "--dsn", as_migrator, "--table", "author"))
    assert_ok(uuidpk("apply", "--dsn", as_migrator, "--yes", "--table", "author"))
    assert column_types(conn)[("public", "book", "author_id")] == "uuid"
    conn.execute(
        sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(viewer), sql.Identifier(migrator))
    )
    conn.execute(
        sql.SQL("DROP OWNED BY {}, {}").format(sql.Identifier(migrator), sql.Identifier(viewer))
    )


def test_privileges_are_checked_once_with_what_the_plan_will_run(
    pg: object, conn: psycopg.Connection, dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """apply checks privileges once, with the fingerprint's reads; the psql script records
    the same fingerprint, so generate asks for them too; a Django migration records none.
    The fingerprint reads the sequences feeding the closure's tables (book.serial_no's), not
    every sequence of the database (publisher's)."""
    owner = "uuidpk_ff_owner"
    _role(pg, owner)
    conn.execute(AUTHORS + SERIAL_NUMBERS)
    for statement in (
        "ALTER TABLE author OWNER TO {o}",
        "ALTER TABLE book OWNER TO {o}",
        "GRANT CREATE ON DATABASE {db} TO {o}",
    ):
        conn.execute(
            sql.SQL(statement).format(o=sql.Identifier(owner), db=sql.Identifier(conn.info.dbname))
        )
    as_owner = make_conninfo(dsn, user=owner)
    grant = "GRANT SELECT ON SEQUENCE public.serial_numbers"
    generated = uuidpk("generate", "--dsn", as_owner, "--table", "author")
    assert generated.code == 1 and grant in generated.err, generated.describe()
    assert "publisher" not in generated.err, generated.describe()
    django = uuidpk("generate", "--dsn", as_owner, "--table", "author", "--format", "django")
    assert django.code != 1 or grant not in django.err, django.describe()
    conn.execute(sql.SQL("GRANT SELECT ON serial_numbers TO {}").format(sql.Identifier(owner)))
    calls: list[bool] = []
    checks = pipeline.preflight_problems

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(bool(kwargs.get("fingerprint")))
        return checks(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "preflight_problems", counted)
    with psycopg.connect(as_owner, autocommit=True) as own:
        conversion = pipeline.plan(own, pipeline.Selection(tables=("author",)))
        pipeline.apply(own, conversion)
    assert calls == [True]
    assert column_types(conn)[("public", "book", "author_id")] == "uuid"
    conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(owner)))


def test_a_table_owned_by_another_role_is_named(
    pg: object, conn: psycopg.Connection, dsn: str
) -> None:
    stranger = "uuidpk_ff_stranger"
    _role(pg, stranger)
    conn.execute(AUTHORS)
    conn.execute(
        sql.SQL("GRANT ALL ON ALL TABLES IN SCHEMA public TO {}").format(sql.Identifier(stranger))
    )
    as_stranger = make_conninfo(dsn, user=stranger)
    shown = uuidpk("inspect", "--dsn", as_stranger, "--table", "author")
    assert shown.code == 1, shown.describe()
    for table in ("public.author", "public.book"):
        assert (
            any(
                table + " " in line and "does not own it (owner postgres)" in line
                for line in shown.out.splitlines()
            )
            or f"{table}:" in shown.out
        ), shown.out
    line = _refused_untouched(conn, as_stranger, "--table", "author")
    assert "does not own" in line, line
    conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(stranger)))


# -- the lock table -----------------------------------------------------------------------------
def _wide_closure(conn: psycopg.Connection, children: int) -> None:
    statements = ["CREATE TABLE parent (id serial PRIMARY KEY, note text)"]
    statements += [
        f"CREATE TABLE child_{i} (id serial PRIMARY KEY, parent_id integer REFERENCES parent,"
        f" note text); CREATE INDEX ON child_{i} (parent_id)"
        for i in range(children)
    ]
    conn.execute(";\n".join(statements))


def test_the_lock_estimate_covers_the_locks_a_plan_really_takes(
    conn: psycopg.Connection, dsn: str
) -> None:
    _wide_closure(conn, 20)
    conversion = pipeline.plan(conn, pipeline.Selection(tables=("parent",)))
    estimate = estimate_locks(
        conn, plan_needs(conversion.plan, fingerprint=True), conversion.analysis.catalog.schema_oids
    )
    script = pipeline.render_script(conn, conversion)
    # Run the whole plan, then count the lock table entries it holds (one per relation however
    # many modes; fast-path locks take none), and roll back.
    counted = script.replace(
        "COMMIT;",
        "SELECT 'held=' || count(DISTINCT relation) FROM pg_locks"
        " WHERE pid = pg_backend_pid() AND NOT fastpath AND locktype = 'relation';\nROLLBACK;",
    )
    held = int(run_psql(dsn, counted).split("held=")[1].split()[0])
    assert held <= estimate.needed <= 3 * held, (held, estimate)


def test_a_plan_larger_than_the_lock_table_is_refused_naming_the_setting(
    conn: psycopg.Connection, dsn: str
) -> None:
    (capacity,) = conn.execute(
        "SELECT current_setting('max_locks_per_transaction')::int"
        " * (current_setting('max_connections')::int"
        " + current_setting('max_prepared_transactions')::int)"
    ).fetchone()  # type: ignore[misc]
    _wide_closure(conn, capacity // 10 + 10)  # each child: ~5 relations, rewritten: twice
    shown = uuidpk("inspect", "--dsn", dsn, "--table", "parent")
    assert shown.code == 1 and "raise max_locks_per_transaction to at least" in shown.out
    line = _refused_untouched(conn, dsn, "--table", "parent")
    assert "max_locks_per_transaction" in line, line
