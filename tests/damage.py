"""Every kind of damage verify must catch, shared by the offline (test_verify_damage.py) and the
online (test_online_verify.py) damage tests.

Two databases are converted once per mode and server: the sample shop with what a real schema
has around its tables (a view, an application trigger, comments, grants to a role, column
grants, a row security policy), and the twins (parents whose other columns are identical, a
table without a key). Each damage runs on a private copy of one of them, then verify must fail
and its difference lines must be exactly the expected ones (each line starts with one of them,
each of them starts a line): the damaged object named with what changed, nothing else blamed.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pgutil
import psycopg
from checks import assert_ok, clone, connect, shop_template, uuidpk

INVOICE_FK = "invoice_invoice_order_id_c5fc9ae9_fk_order_order_id"
LINES_FK = "order_orderline_order_id_eb04ec2d_fk_order_order_id"
GIFT_CARD_FK = "order_order_gift_car_giftcard_id_f6844926_fk_giftcard_"
PAYMENT_FK = "payment_payment_order_id_22b45881_fk_order_order_id"
ORIGINAL_FK = "order_order_original_id_1dd680dd_fk_order_order_id"
LINES_INDEX = "order_orderline_order_id_eb04ec2d"
READER = "uuidpk_verify_reader"  # a role of the whole test server: created, never dropped

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

# What the shop's tables have around them in a real database.
SURROUNDINGS = f"""
CREATE VIEW order_summary AS
    SELECT o.id, o.number, count(l.id) AS lines
      FROM order_order AS o LEFT JOIN order_orderline AS l ON l.order_id = o.id
     GROUP BY o.id;
COMMENT ON VIEW order_summary IS 'One row an order, with its number of lines.';
CREATE FUNCTION line_written() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';
CREATE TRIGGER line_written AFTER INSERT ON order_orderline
    FOR EACH ROW EXECUTE FUNCTION line_written();
COMMENT ON TRIGGER line_written ON order_orderline IS 'The application''s audit.';
COMMENT ON INDEX {LINES_INDEX} IS 'Lines by order.';
GRANT SELECT ON order_order, order_orderline, order_summary TO {READER};
GRANT UPDATE (status) ON order_order TO {READER};
ALTER TABLE payment_payment ENABLE ROW LEVEL SECURITY;
CREATE POLICY payments_read ON payment_payment FOR SELECT TO {READER} USING (amount >= 0);
"""

VIEW_DEFINITION = (
    "SELECT o.id, o.number, count(l.id) AS lines"
    " FROM (public.order_order o LEFT JOIN public.order_orderline l ON ((l.order_id = o.id)))"
    " GROUP BY o.id;"
)


@dataclass(frozen=True)
class Damage:
    id: str
    database: str  # "shop" or "twins"
    damage: Callable[[psycopg.Connection], object]
    # The start of each line verify must print, after "uuidpk: "; "…" stands for any text.
    expected: tuple[str, ...]


def run(statement: str) -> Callable[[psycopg.Connection], object]:
    return lambda conn: conn.execute(statement)  # type: ignore[arg-type]


# -- damage that needs to look first -----------------------------------------------------------
def twin_ids(conn: psycopg.Connection) -> tuple[object, object]:
    """The two "Music" playlists, the one with more tracks first."""
    rows = conn.execute(
        "SELECT p.id FROM playlist AS p WHERE p.name = 'Music'"
        " ORDER BY (SELECT count(*) FROM track AS t WHERE t.playlist_id = p.id) DESC"
    ).fetchall()
    (first,), (second,) = rows
    return first, second


def repoint_a_track(conn: psycopg.Connection) -> None:
    # Track 'b' moves from the first "Music" to the second: same title, a parent that reads
    # exactly like its old one.
    first, second = twin_ids(conn)
    conn.execute(
        "UPDATE track SET playlist_id = %s WHERE playlist_id = %s AND title = 'b'", (second, first)
    )


def swap_plays(conn: psycopg.Connection) -> None:
    first, second = twin_ids(conn)
    conn.execute("UPDATE play SET playlist_id = %s WHERE playlist_id = %s", (second, first))


def new_uuid_for_a_parent(conn: psycopg.Connection) -> None:
    # ON UPDATE CASCADE carries the new uuid into every child row: every pair still joins, and
    # every row reads as before but for the key.
    conn.execute("UPDATE playlist SET id = gen_random_uuid() WHERE name = 'Other'")
    joined = conn.execute(
        "SELECT count(*) FROM track AS t JOIN playlist AS p"
        " ON p.id = t.playlist_id WHERE p.name = 'Other'"
    ).fetchone()
    assert joined == (1,)


def repoint_an_invoice(conn: psycopg.Connection) -> None:
    changed = conn.execute(
        """UPDATE invoice_invoice AS i
              SET order_id = (SELECT o.id FROM order_order AS o
                               WHERE o.id <> i.order_id ORDER BY o.number LIMIT 1)
            WHERE i.number = (SELECT min(number) FROM invoice_invoice)"""
    ).rowcount
    assert changed == 1


def swap_gift_cards(conn: psycopg.Connection) -> None:
    # Two rows (o1, g1), (o2, g2) become (o1, g2), (o2, g1): same orders, same gift cards, same
    # row count. The join table's own columns are all converted keys (id, order_id,
    # giftcard_id), so only the parent rows tell the pairings apart.
    row = conn.execute(
        """SELECT a.id, b.id
             FROM order_order_gift_cards AS a
             JOIN order_order_gift_cards AS b
               ON a.order_id <> b.order_id AND a.giftcard_id <> b.giftcard_id
            WHERE NOT EXISTS (SELECT 1 FROM order_order_gift_cards AS x
                               WHERE (x.order_id, x.giftcard_id) IN ((a.order_id, b.giftcard_id),
                                                                    (b.order_id, a.giftcard_id)))
            LIMIT 1"""
    ).fetchone()
    assert row is not None
    conn.execute(
        """UPDATE order_order_gift_cards AS j
              SET giftcard_id = o.giftcard_id
             FROM order_order_gift_cards AS o
            WHERE (j.id, o.id) IN ((%(a)s, %(b)s), (%(b)s, %(a)s))""",
        {"a": row[0], "b": row[1]},
    )


DAMAGES = (
    # -- relations, proven by identity
    Damage(
        "a child repointed to a twin parent",
        "twins",
        repoint_a_track,
        (
            "table public.track: 4 rows before and after, but different rows",
            f"foreign key {TRACK_FK}: 4 (child, parent) pairs before and after, but different",
        ),
    ),
    Damage(
        "twins swapped in a table without a key",
        "twins",
        swap_plays,
        (
            "table public.play: 3 rows before and after, but different rows",
            f"foreign key {PLAY_FK}: 3 (child, parent) pairs before and after, but different",
        ),
    ),
    Damage(
        "a parent's uuid changed with all its children",
        "twins",
        new_uuid_for_a_parent,
        (
            "table public.playlist: 3 rows before and after, but different rows",
            "table public.track: 4 rows before and after, but different rows",
            "table public.play: 3 rows before and after, but different rows",
            f"foreign key {TRACK_FK}: 4 (child, parent) pairs before and after, but different",
            f"foreign key {PLAY_FK}: 3 (child, parent) pairs before and after, but different",
        ),
    ),
    Damage(
        "an invoice pointed at another order",
        "shop",
        repoint_an_invoice,
        (
            "table public.invoice_invoice: … rows before and after, but different rows",
            f"foreign key {INVOICE_FK} on public.invoice_invoice: … (child, parent) pairs"
            " before and after, but different pairs",
        ),
    ),
    Damage(
        "pairs swapped in the join table",
        "shop",
        swap_gift_cards,
        (
            "table public.order_order_gift_cards: … rows before and after, but different rows",
            f"foreign key {GIFT_CARD_FK} on public.order_order_gift_cards: … (child, parent)"
            " pairs before and after, but different pairs",
        ),
    ),
    Damage(
        "a row deleted",
        "shop",
        run(
            "DELETE FROM payment_payment"
            " WHERE reference = (SELECT min(reference) FROM payment_payment)"
        ),
        (
            "table public.payment_payment: … rows before, … after",
            f"foreign key {PAYMENT_FK} on public.payment_payment: … (child, parent) pairs before,",
        ),
    ),
    Damage(
        "a value changed",
        "shop",
        run(
            "UPDATE order_orderline SET quantity = quantity + 1"
            " WHERE ctid = (SELECT min(ctid) FROM order_orderline)"
        ),
        ("table public.order_orderline: … rows before and after, but different rows",),
    ),
    Damage(
        "a reference set to NULL",
        "shop",
        run("UPDATE order_order SET original_id = NULL WHERE original_id IS NOT NULL"),
        (
            "table public.order_order: … rows before and after, but different rows",
            f"foreign key {ORIGINAL_FK} on public.order_order: … (child, parent) pairs before,"
            " 0 after",
            f"foreign key {ORIGINAL_FK} on public.order_order: … rows with a NULL reference"
            " before, 200 after",
        ),
    ),
    Damage(
        "an orphan behind a dropped foreign key",
        "shop",
        run(
            f"ALTER TABLE payment_payment DROP CONSTRAINT {PAYMENT_FK};"
            " INSERT INTO payment_payment (order_id, reference, amount)"
            " VALUES (gen_random_uuid(), 'ORPHAN-1', 1)"
        ),
        (
            "table public.payment_payment: … rows before, … after",
            f"foreign key {PAYMENT_FK} on public.payment_payment: missing",
            f"foreign key {PAYMENT_FK} on public.payment_payment: 1 orphaned row (a reference"
            " with no parent row), 0 before",
            f"constraint {PAYMENT_FK} on public.payment_payment: missing",
        ),
    ),
    # -- the schema the migration left
    Damage(
        "a foreign key dropped",
        "shop",
        run(f"ALTER TABLE order_orderline DROP CONSTRAINT {LINES_FK}"),
        (
            f"foreign key {LINES_FK} on public.order_orderline: missing",
            f"constraint {LINES_FK} on public.order_orderline: missing",
        ),
    ),
    Damage(
        "a foreign key left NOT VALID",
        "shop",
        run(
            f"ALTER TABLE order_orderline DROP CONSTRAINT {LINES_FK};"
            f" ALTER TABLE order_orderline ADD CONSTRAINT {LINES_FK} FOREIGN KEY (order_id)"
            " REFERENCES order_order (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED"
            " NOT VALID"
        ),
        (
            f"foreign key {LINES_FK} on public.order_orderline: NOT VALID, but it was validated",
            f"constraint {LINES_FK} on public.order_orderline: now FOREIGN KEY (order_id)"
            " REFERENCES public.order_order(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED"
            " NOT VALID; it was",
        ),
    ),
    Damage(
        "another ON DELETE",
        "shop",
        run(
            f"ALTER TABLE invoice_invoice DROP CONSTRAINT {INVOICE_FK};"
            f" ALTER TABLE invoice_invoice ADD CONSTRAINT {INVOICE_FK} FOREIGN KEY (order_id)"
            " REFERENCES order_order (id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED"
        ),
        (
            f"constraint {INVOICE_FK} on public.invoice_invoice: now FOREIGN KEY (order_id)"
            " REFERENCES public.order_order(id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED;"
            " it was FOREIGN KEY (order_id) REFERENCES public.order_order(id) ON DELETE CASCADE"
            " DEFERRABLE INITIALLY DEFERRED",
        ),
    ),
    Damage(
        "no longer DEFERRABLE",
        "shop",
        run(f"ALTER TABLE invoice_invoice ALTER CONSTRAINT {INVOICE_FK} NOT DEFERRABLE"),
        (
            f"constraint {INVOICE_FK} on public.invoice_invoice: now FOREIGN KEY (order_id)"
            " REFERENCES public.order_order(id) ON DELETE CASCADE; it was",
        ),
    ),
    Damage(
        "a foreign key's triggers disabled",
        "shop",
        run("ALTER TABLE payment_payment DISABLE TRIGGER ALL"),
        (
            f"constraint {PAYMENT_FK} on public.payment_payment: the triggers that enforce it"
            " are partly disabled, enabled; they were enabled",
        ),
    ),
    Damage(
        "a primary key dropped",
        "shop",
        run("ALTER TABLE payment_payment DROP CONSTRAINT payment_payment_pkey"),
        (
            "constraint payment_payment_pkey on public.payment_payment: missing"
            " (it was PRIMARY KEY (id))",
            "index payment_payment_pkey on public.payment_payment: missing",
        ),
    ),
    Damage(
        "a unique constraint dropped",
        "shop",
        run(
            "ALTER TABLE order_orderline DROP CONSTRAINT order_orderline_order_id_sku_08ff4735_uniq"
        ),
        (
            "constraint order_orderline_order_id_sku_08ff4735_uniq on public.order_orderline:"
            " missing (it was UNIQUE (order_id, sku))",
            "index order_orderline_order_id_sku_08ff4735_uniq on public.order_orderline: missing",
        ),
    ),
    Damage(
        "an index dropped",
        "shop",
        run(f"DROP INDEX {LINES_INDEX}"),
        (
            f"index {LINES_INDEX} on public.order_orderline: missing (it was"
            f" CREATE INDEX {LINES_INDEX} ON public.order_orderline USING btree (order_id))",
        ),
    ),
    Damage(
        "a default dropped",
        "shop",
        run("ALTER TABLE order_order ALTER COLUMN id DROP DEFAULT"),
        ("column public.order_order.id: default gen_random_uuid() was dropped",),
    ),
    Damage(
        "NOT NULL dropped",
        "shop",
        run("ALTER TABLE invoice_invoice ALTER COLUMN order_id DROP NOT NULL"),
        ("column public.invoice_invoice.order_id: NOT NULL was dropped",),
    ),
    Damage(
        "a converted column owning a sequence",
        "shop",
        run("CREATE SEQUENCE stray_seq OWNED BY public.order_order.id"),
        ("sequence public.stray_seq: still owned by converted column public.order_order.id",),
    ),
    # -- what the first verify did not see (issue 19)
    Damage(
        "a view's definition changed",
        "shop",
        run(
            "CREATE OR REPLACE VIEW order_summary AS"
            " SELECT o.id, o.number, count(l.id) AS lines"
            " FROM order_order AS o LEFT JOIN order_orderline AS l ON l.order_id = o.id"
            " WHERE o.status <> 'hidden' GROUP BY o.id"
        ),
        (
            # Long definitions are shown around their first difference (whole in JSON).
            "view public.order_summary: definition changed: now ...r_orderline l ON"
            " ((l.order_id = o.id))) WHERE (o.status <> 'hidden'::text) GROUP BY o.id; it was"
            " ...r_orderline l ON ((l.order_id = o.id))) GROUP BY o.id (at character 133)",
        ),
    ),
    Damage(
        "a column's type changed keeping its text",
        "shop",
        run("ALTER TABLE payment_payment ALTER COLUMN reference TYPE varchar(40)"),
        (
            "column public.payment_payment.reference: type is now character varying(40);"
            " it was text",
        ),
    ),
    Damage(
        "a trigger disabled",
        "shop",
        run("ALTER TABLE order_orderline DISABLE TRIGGER line_written"),
        ("trigger line_written on public.order_orderline: disabled; it was enabled",),
    ),
    Damage(
        "a trigger dropped",
        "shop",
        run("DROP TRIGGER line_written ON order_orderline"),
        (
            "trigger line_written on public.order_orderline: missing (it was CREATE TRIGGER"
            " line_written AFTER INSERT ON public.order_orderline FOR EACH ROW EXECUTE FUNCTION"
            " public.line_written())",
        ),
    ),
    Damage(
        "a comment changed",
        "shop",
        run("COMMENT ON COLUMN order_order.id IS 'Changed.'"),
        (
            "comment on column public.order_order.id: now 'Changed.';"
            " it was 'Surrogate key (Django AutoField).'",
        ),
    ),
    Damage(
        "a privilege revoked",
        "shop",
        run(f"REVOKE SELECT ON order_order FROM {READER}"),
        (f"privileges on table public.order_order: {READER} lost SELECT",),
    ),
    # -- around them
    Damage(
        "a column privilege revoked",
        "shop",
        run(f"REVOKE UPDATE (status) ON order_order FROM {READER}"),
        ("privileges on column public.order_order.status: every privilege was revoked",),
    ),
    Damage(
        "a privilege granted to PUBLIC",
        "shop",
        run("GRANT DELETE ON order_orderline TO PUBLIC"),
        ("privileges on table public.order_orderline: PUBLIC gained DELETE",),
    ),
    Damage(
        "an owner changed",
        "shop",
        run(f"ALTER TABLE invoice_invoice OWNER TO {READER}"),
        (
            f"owner of table public.invoice_invoice: now {READER}; it was postgres",
            # The owner's default privileges move with it.
            "privileges on table public.invoice_invoice: postgres lost",
        ),
    ),
    Damage(
        "a comment dropped",
        "shop",
        run(f"COMMENT ON INDEX {LINES_INDEX} IS NULL"),
        (
            f"comment on index {LINES_INDEX} on public.order_orderline: dropped (it was"
            " 'Lines by order.')",
        ),
    ),
    Damage(
        "a view dropped",
        "shop",
        run("DROP VIEW order_summary"),
        ("view public.order_summary: missing",),
    ),
    Damage(
        "a policy dropped",
        "shop",
        run("DROP POLICY payments_read ON payment_payment"),
        (
            "policy payments_read on public.payment_payment: missing (it was PERMISSIVE FOR"
            f" SELECT TO {READER} USING ((amount >= (0)::numeric)))",
        ),
    ),
    Damage(
        "row security disabled",
        "shop",
        run("ALTER TABLE payment_payment DISABLE ROW LEVEL SECURITY"),
        ("row security on table public.payment_payment: disabled (it was enabled)",),
    ),
)


# -- the converted databases ---------------------------------------------------------------------
_converted: dict[tuple[int, str, str], str] = {}
_lock = threading.Lock()


def converted(pg: pgutil.PgCluster, database: str, mode: str) -> str:
    """A database holding `database` converted by `mode` (offline or online) and verified
    clean, made once per server: clone it, never change it."""
    key = (id(pg), database, mode)
    with _lock:
        name = _converted.get(key)
        if name is not None and name in pg._databases:
            return name
        pg.ensure_role(READER)
        if database == "shop":
            name, dsn = clone(pg, shop_template(pg, 200), hint=f"tpl_damage_{mode}")
            with connect(dsn) as conn:
                conn.execute(SURROUNDINGS)  # type: ignore[arg-type]
        else:
            name, dsn = pg.create_database(pgutil.unique_name(f"tpl_twins_{mode}"))
            with connect(dsn) as conn:
                conn.execute(TWINS)  # type: ignore[arg-type]
        online = ("--online",) if mode == "online" else ()
        assert_ok(uuidpk("apply", "--dsn", dsn, "--all", "--yes", *online))
        outcome = assert_ok(uuidpk("verify", "--dsn", dsn))
        assert outcome.out.rstrip().endswith("; no difference"), outcome.describe()
        _converted[key] = name
        return name


def damaged(pg: pgutil.PgCluster, damage: Damage, mode: str) -> tuple[str, str]:
    """(name, dsn) of a private copy of the converted database, with the damage done."""
    name, dsn = clone(pg, converted(pg, damage.database, mode), hint="damaged")
    with connect(dsn) as conn:
        damage.damage(conn)
    return name, dsn


def assert_caught(pg: pgutil.PgCluster, damage: Damage, mode: str) -> None:
    """verify fails cleanly on a damaged copy, naming exactly what the damage changed, in text
    and in JSON, and records the failure in the run's status."""
    name, dsn = damaged(pg, damage, mode)
    try:
        outcome = uuidpk("verify", "--dsn", dsn)
        assert outcome.exception is None and outcome.code == 1, outcome.describe()
        assert "Traceback" not in outcome.err
        *lines, summary = [line.removeprefix("uuidpk: ") for line in outcome.err_lines]
        assert summary.startswith("fingerprint run") and "difference(s)" in summary, lines
        found = [line for line in lines if not line.startswith("note: ")]
        patterns = [
            re.compile(".*".join(re.escape(part) for part in e.split("…")) + ".*", re.DOTALL)
            for e in damage.expected
        ]
        unexpected = [line for line in found if not any(p.match(line) for p in patterns)]
        assert not unexpected, f"blamed besides the damage: {unexpected}\n{outcome.describe()}"
        for expected, pattern in zip(damage.expected, patterns, strict=True):
            assert any(pattern.match(line) for line in found), f"{expected!r} not in {found}"
        document = json.loads(uuidpk("verify", "--dsn", dsn, "--format", "json").out)
        assert document["ok"] is False
        told = [f"{d['what']} {d['name']}: {d['detail']}" for d in document["differences"]]
        assert told == found, (told, found)
        with connect(dsn) as conn:
            row = conn.execute("SELECT status FROM uuidpk.fingerprint_run ORDER BY id DESC")
            assert row.fetchone() == ("failed",)
    finally:
        pg.drop_database(name)
