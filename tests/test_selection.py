"""Issue 23: which keys a command converts. `--all` names every table it leaves out and why;
`--all --skip-blocked` converts every key nothing blocks and names the blocked ones with every
blocker; `--exclude` leaves the keys the user chooses. inspect, generate and apply judge alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from checks import assert_clean_failure, assert_ok, uuidpk

import uuidpk as api

# Every kind of table --all leaves out, beside two keys it takes.
MIXED = """
CREATE EXTENSION isn;
CREATE TABLE public.isbn_registry (id serial PRIMARY KEY, prefix text NOT NULL);
ALTER EXTENSION isn ADD TABLE public.isbn_registry;
ALTER EXTENSION isn ADD SEQUENCE public.isbn_registry_id_seq;
CREATE TABLE amount (id numeric(12, 0) PRIMARY KEY);
CREATE TABLE country (code char(2) PRIMARY KEY);
CREATE TABLE done (id uuid PRIMARY KEY);
CREATE TABLE log (message text);
CREATE TABLE pair (a int, b int, PRIMARY KEY (a, b));
CREATE TABLE item (id serial PRIMARY KEY, country char(2) REFERENCES country);
CREATE TABLE line (id bigserial PRIMARY KEY, item_id int REFERENCES item);
"""


def _document(dsn: str, *args: str) -> tuple[int, dict[str, Any]]:
    outcome = uuidpk("inspect", "--dsn", dsn, "--format", "json", *args)
    assert outcome.exception is None and outcome.code in (0, 1), outcome.describe()
    return outcome.code, json.loads(outcome.out)


def _left_out(document: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {f"{e['schema']}.{e['table']}": (e["reason"], e["detail"]) for e in document["left_out"]}


def _types(conn: psycopg.Connection, *tables: str) -> dict[str, str]:
    rows = conn.execute(
        """SELECT a.attrelid::regclass::text || '.' || a.attname, format_type(a.atttypid, NULL)
             FROM pg_attribute a
            WHERE a.attrelid = ANY(%s::regclass[]) AND a.attnum > 0 AND NOT a.attisdropped""",
        [list(tables)],
    ).fetchall()
    return dict(rows)


def test_all_names_every_table_it_leaves_out(dsn: str, conn: psycopg.Connection) -> None:
    conn.execute(MIXED)
    code, document = _document(dsn, "--all")
    assert code == 0
    assert {(k["table"], k["column"]) for k in document["keys"]} == {("item", "id"), ("line", "id")}
    left = _left_out(document)
    assert {name: reason for name, (reason, _) in left.items()} == {
        "public.isbn_registry": "extension",
        "public.amount": "not integer",
        "public.country": "not integer",
        "public.done": "not integer",
        "public.log": "no key",
        "public.pair": "no key",
    }
    assert "numeric(12,0)" in left["public.amount"][1]
    assert "natural key" in left["public.country"][1]
    assert "uuid already" in left["public.done"][1]
    assert left["public.pair"][1] == "a composite primary key (a, b)"
    text = assert_ok(uuidpk("inspect", "--dsn", dsn, "--all")).out
    for name in left:
        assert name in text
    summary = text.splitlines()[-2]
    assert summary.endswith("; left out: 3 not integer, 2 no key, 1 extension"), summary
    # generate and apply say the same on stderr, one line per reason.
    generated = assert_ok(uuidpk("generate", "--dsn", dsn, "--all"))
    assert "uuidpk: left out (no key, 2): public.log, public.pair" in generated.err_lines
    assert any(
        line.startswith("uuidpk: left out (not integer, 3): public.amount.id numeric(12,0)")
        for line in generated.err_lines
    ), generated.err


# Three keys: tag's closure is blocked twice (a CHECK comparing two of its columns, a view doing
# arithmetic on it), gadget's once (a default that cannot become a uuid); shelf nothing blocks.
BLOCKED = """
CREATE TABLE tag (id serial PRIMARY KEY, name text);
CREATE TABLE tag_pair (
    id serial PRIMARY KEY,
    tag1 integer NOT NULL REFERENCES tag, tag2 integer NOT NULL REFERENCES tag,
    CONSTRAINT ordered CHECK (tag1 < tag2));
CREATE VIEW tag_next AS SELECT id + 1 AS next_id FROM tag;
CREATE TABLE gadget (id integer PRIMARY KEY DEFAULT 7);
CREATE TABLE shelf (id serial PRIMARY KEY, name text);
CREATE TABLE book (id serial PRIMARY KEY, shelf_id int NOT NULL REFERENCES shelf,
                   gadget_id int REFERENCES gadget);
CREATE VIEW shelf_books AS SELECT s.name, b.id FROM shelf s JOIN book b ON b.shelf_id = s.id;
INSERT INTO tag (name) VALUES ('a'), ('b');
INSERT INTO tag_pair (tag1, tag2) VALUES (1, 2);
INSERT INTO shelf (name) VALUES ('top');
INSERT INTO book (shelf_id) VALUES (1), (1);
"""


def test_skip_blocked_converts_every_key_nothing_blocks(dsn: str, conn: psycopg.Connection) -> None:
    conn.execute(BLOCKED)
    # Without it, one blocker refuses everything, before anything changes.
    refused = assert_clean_failure(uuidpk("apply", "--dsn", dsn, "--all", "--yes"))
    assert "blocker" in refused or "cannot" in refused
    code, document = _document(dsn, "--all", "--skip-blocked")
    assert code == 0, document  # what is left runs: inspect gates CI on that
    assert {k["table"] for k in document["keys"]} == {"shelf", "book", "tag_pair"}
    blocked = {
        f"{e['schema']}.{e['table']}": [f"{p['what']} {p['name']}" for p in e["problems"]]
        for e in document["left_out"]
    }
    # Every blocker of a closure, for each of its keys.
    assert sorted(blocked["public.tag"]) == [
        "check constraint ordered on public.tag_pair",
        "view public.tag_next",
    ]
    # tag_pair's own key is a closure of its own, and nothing blocks it.
    assert set(blocked) == {"public.tag", "public.gadget"}
    assert blocked["public.gadget"] == ["default public.gadget.id"]
    applied = assert_ok(
        uuidpk("apply", "--dsn", dsn, "--all", "--skip-blocked", "--yes", "--verify")
    )
    assert any(
        line.startswith("uuidpk: left out public.tag.id integer (blocked): ")
        and "(and 1 more: see uuidpk inspect)" in line
        for line in applied.err_lines
    ), applied.err
    types = _types(conn, "tag", "tag_pair", "gadget", "shelf", "book")
    assert types["tag.id"] == "integer" and types["tag_pair.tag1"] == "integer"
    assert types["gadget.id"] == "integer" and types["book.gadget_id"] == "integer"
    assert types["shelf.id"] == "uuid" and types["book.shelf_id"] == "uuid"
    assert types["book.id"] == "uuid" and types["tag_pair.id"] == "uuid"
    assert conn.execute("SELECT count(*) FROM shelf_books").fetchone() == (2,)
    assert_ok(uuidpk("verify", "--dsn", dsn))


def test_a_blocked_key_takes_every_key_of_its_closure(conn: psycopg.Connection) -> None:
    # account_profile's key is a foreign key to account: one closure, blocked as one.
    conn.execute(
        """
        CREATE TABLE account (id serial PRIMARY KEY);
        CREATE TABLE account_profile (id int PRIMARY KEY REFERENCES account,
                                      CHECK (id > 100 OR id < 0));
        CREATE TABLE other (id serial PRIMARY KEY);
        """
    )
    selection = api.Selection(all_tables=True, skip_blocked=True)
    analysis = api.analyse(conn, selection)
    assert [str(k.table.qname) for k in analysis.keys] == ["public.other"]
    left = {str(e.table): e for e in analysis.left_out}
    assert set(left) == {"public.account", "public.account_profile"}
    assert left["public.account"].problems == left["public.account_profile"].problems
    assert "account_profile_id_check" in left["public.account"].problems[0].name


def test_exclude_leaves_a_key_and_its_closure(
    dsn: str, conn: psycopg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn.execute(
        """
        CREATE TABLE account (id serial PRIMARY KEY);
        CREATE TABLE account_profile (id int PRIMARY KEY REFERENCES account);
        CREATE TABLE post (id serial PRIMARY KEY, account_id int REFERENCES account);
        CREATE TABLE tag (id serial PRIMARY KEY);
        """
    )
    code, document = _document(dsn, "--all", "--exclude", "account_profile", "--exclude", "tag")
    assert code == 0
    assert [k["table"] for k in document["keys"]] == ["post"]
    left = _left_out(document)
    assert left["public.tag"] == ("excluded", "--exclude")
    assert left["public.account_profile"] == ("excluded", "--exclude")
    reason, detail = left["public.account"]
    assert reason == "excluded" and "public.account_profile (--exclude)" in detail
    # The same from uuidpk.toml.
    (tmp_path / "uuidpk.toml").write_text('exclude = ["account_profile", "public.tag"]\n')
    monkeypatch.chdir(tmp_path)
    script = assert_ok(uuidpk("generate", "--dsn", dsn, "--all"))
    assert "left out (excluded, 3): " in script.err
    assert script.out.startswith(f"-- uuidpk {api.__version__}: convert 1 key(s), 1 column(s), to")
    # A table that does not exist is an error, not a silent no-op.
    missing = assert_clean_failure(uuidpk("inspect", "--dsn", dsn, "--all", "--exclude", "nope"))
    assert "'nope' not found" in missing


def test_a_blocked_generic_relation_leaves_its_targets(conn: psycopg.Connection) -> None:
    # A Django generic relation whose rows point at post and at gadget, whose key is blocked:
    # it cannot be converted (gadget's ids stay integers), so every model it can point at must
    # stay too: an integer object id cannot hold a uuid (a comment on a post, written today or
    # after the conversion). A table that is no model (shelf) converts.
    conn.execute(
        """
        CREATE TABLE django_content_type (
            id serial PRIMARY KEY, app_label varchar(100) NOT NULL, model varchar(100) NOT NULL,
            UNIQUE (app_label, model));
        CREATE TABLE blog_post (id serial PRIMARY KEY);
        CREATE TABLE blog_gadget (id integer PRIMARY KEY DEFAULT 7);
        CREATE TABLE blog_shelf (id serial PRIMARY KEY);
        CREATE TABLE blog_comment (
            id serial PRIMARY KEY,
            content_type_id int NOT NULL REFERENCES django_content_type, object_id int NOT NULL);
        INSERT INTO django_content_type (app_label, model)
             VALUES ('contenttypes', 'contenttype'), ('blog', 'post'), ('blog', 'gadget'),
                    ('blog', 'comment');
        INSERT INTO blog_post DEFAULT VALUES;
        INSERT INTO blog_gadget VALUES (1);
        INSERT INTO blog_comment (content_type_id, object_id) VALUES (2, 1), (3, 1);
        """
    )
    with pytest.raises(api.Refused, match="blog_gadget"):
        api.plan(conn, api.Selection(all_tables=True))
    selection = api.Selection(all_tables=True, skip_blocked=True)
    conversion = api.plan(conn, selection)
    converted = {str(k.table.qname) for k in conversion.plan.keys}
    assert converted == {"public.blog_shelf"}
    left = {str(e.table): e for e in conversion.analysis.left_out}
    assert left["public.blog_gadget"].reason == "blocked"
    for table in ("public.blog_post", "public.blog_comment"):
        why, *its_own = left[table].problems
        assert why.name == "public.blog_comment.object_id" and "content type" in why.reason
        assert [p.reason for p in its_own] == [
            "1 row(s) point at public.blog_gadget, whose key is not converted: add it with --table"
        ]
    assert left["public.django_content_type"].reason == "framework"
    assert not conversion.analysis.generic  # left as it is
    api.apply(conn, conversion, accept_risks=True, verify=True)
    assert conn.execute(
        "SELECT count(*) FROM blog_comment c JOIN blog_post p ON p.id = c.object_id"
        " WHERE c.content_type_id = 2"
    ).fetchone() == (1,)


def test_inspect_judges_with_the_options_apply_runs_with(
    dsn: str, conn: psycopg.Connection
) -> None:
    # A CHECK between two columns of one key holds with v7 values made from the old ids:
    # inspect --uuid v7 said "blocker (--uuid v7 keeps it)" while apply --uuid v7 converted it.
    conn.execute(
        """
        CREATE TABLE tag (id serial PRIMARY KEY);
        CREATE TABLE tag_pair (id serial PRIMARY KEY,
            tag1 integer NOT NULL REFERENCES tag, tag2 integer NOT NULL REFERENCES tag,
            CONSTRAINT ordered CHECK (tag1 < tag2));
        INSERT INTO tag SELECT FROM generate_series(1, 3);
        INSERT INTO tag_pair (tag1, tag2) VALUES (1, 2), (2, 3);
        """
    )

    def ordered(*args: str) -> tuple[int, list[str]]:
        code, document = _document(dsn, "--all", *args)
        found = [
            p for k in document["keys"] for p in k["problems"] if p["what"] == "check constraint"
        ]
        return code, [p["severity"] for p in found]

    assert ordered() == (1, ["blocker"])
    assert ordered("--uuid", "v7") == (0, ["handled"])
    assert ordered("--uuid", "v7", "--order-by", "id") == (1, ["blocker"])  # times, not ids
    assert_ok(uuidpk("apply", "--dsn", dsn, "--all", "--uuid", "v7", "--yes", "--verify"))
    assert conn.execute("SELECT count(*) FROM tag_pair WHERE tag1 < tag2").fetchone() == (2,)


def test_every_blocker_of_a_key_at_once_the_lock_table_too(
    conn: psycopg.Connection, dsn: str
) -> None:
    (capacity,) = conn.execute(
        "SELECT current_setting('max_locks_per_transaction')::int"
        " * (current_setting('max_connections')::int"
        " + current_setting('max_prepared_transactions')::int)"
    ).fetchone()  # type: ignore[misc]
    statements = ["CREATE TABLE parent (id serial PRIMARY KEY, CONSTRAINT odd CHECK (id <> 42))"]
    statements += [
        f"CREATE TABLE child_{i} (id serial PRIMARY KEY, parent_id integer REFERENCES parent,"
        f" note text);"
        f" CREATE INDEX ON child_{i} (parent_id)"
        for i in range(capacity // 10 + 10)  # each: ~5 relations with TOAST, rewritten: twice
    ]
    statements.append("CREATE TABLE other (id serial PRIMARY KEY)")
    conn.execute(";\n".join(statements))
    # The CHECK no longer hides the lock table: both, before anything changes.
    code, document = _document(dsn, "--table", "parent")
    assert code == 1
    shown = [p["what"] for p in document["keys"][0]["problems"] + document["problems"]]
    assert "check constraint" in shown and "lock table" in shown, shown
    # --skip-blocked leaves parent out with both, and converts other.
    args = ("--table", "parent", "--table", "other", "--skip-blocked")
    code, document = _document(dsn, *args)
    assert code == 0, document["problems"]
    (left,) = document["left_out"]
    assert left["table"] == "parent"
    assert sorted(p["what"] for p in left["problems"]) == ["check constraint", "lock table"]
    # Without the CHECK, the lock table alone leaves it out (the server's judgement).
    conn.execute("ALTER TABLE parent DROP CONSTRAINT odd")
    assert_clean_failure(uuidpk("apply", "--dsn", dsn, "--yes", "--table", "parent"))
    assert_ok(uuidpk("apply", "--dsn", dsn, "--yes", *args))
    types = _types(conn, "parent", "other", "child_0")
    assert types["parent.id"] == "integer" and types["child_0.parent_id"] == "integer"
    assert types["other.id"] == "uuid"
