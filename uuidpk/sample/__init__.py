"""A small Saleor-like shop (Django naming) to try uuidpk on, at any size.

    SHOP_SQL            the schema, as pg_dump writes it (shop.sql): loadable alone with psql
    load_shop(conn)     the schema plus deterministic rows, set-based (10^6 orders: < 1 min)
    natural_snapshot()  every relation of the shop seen through natural keys only, no ids

The key of public.order_order is referenced five times: by invoice_invoice.order_id (many-to-one),
order_orderline.order_id (many-to-one), order_order_gift_cards.order_id (Django's many-to-many
join table to giftcard_giftcard), payment_payment.order_id (one-to-one: UNIQUE) and
order_order.original_id (self reference). Because natural_snapshot() never reads an id, it gives
the same answer before and after a key conversion exactly when no relation was lost or rewired.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import psycopg
from psycopg import sql

__all__ = [
    "GRANTEE",
    "POST_DATA_MARKER",
    "SHOP_DATA_SQL",
    "SHOP_SQL",
    "TABLES",
    "Row",
    "drop_shop",
    "load_shop",
    "natural_snapshot",
    "shop_sections",
]

_HERE: Final = Path(__file__).resolve().parent

#: The whole schema (pre-data and post-data sections), as pg_dump would write it.
SHOP_SQL: Final[str] = (_HERE / "shop.sql").read_text(encoding="utf-8")

#: The rows: reads the settings uuidpk_sample.orders and uuidpk_sample.seed (see the file).
SHOP_DATA_SQL: Final[str] = (_HERE / "shop_data.sql").read_text(encoding="utf-8")

#: The line of shop.sql that separates tables (before) from keys, indexes, FKs, grants (after).
POST_DATA_MARKER: Final = "-- uuidpk:post-data\n"

#: The shop's tables (schema public), parents before children.
TABLES: Final[tuple[str, ...]] = (
    "order_order",
    "giftcard_giftcard",
    "invoice_invoice",
    "order_orderline",
    "order_order_gift_cards",
    "payment_payment",
)

#: shop.sql grants SELECT on every table to this role when (and only when) it exists.
GRANTEE: Final = "shop_readonly"


def shop_sections() -> tuple[str, str]:
    """SHOP_SQL split like a dump: (pre-data: tables, sequences, comments; post-data: the rest)."""
    pre, marker, post = SHOP_SQL.partition(POST_DATA_MARKER)
    if not marker:
        raise RuntimeError("shop.sql lost its post-data marker line")
    return pre, post


def load_shop(conn: psycopg.Connection, orders: int = 200, seed: int = 1) -> None:
    """Create the shop in schema public of an empty database and fill it, in one transaction.

    Same (orders, seed), same rows, on any server. Row counts are linear in `orders`: ~3 lines,
    ~1 invoice, 0.5 gift-card links and 0.5 payments per order, orders/2 gift cards; ~10% of
    orders point to an earlier one. Rows are loaded between the schema's two sections, as a
    restore does; sequences end just past the largest id, and the tables are analyzed.
    """
    if orders < 1:
        raise ValueError(f"orders must be at least 1, not {orders}")
    pre, post = shop_sections()
    with conn.transaction():
        conn.execute(pre)
        # Settings of this transaction only: the two the data script reads; enough memory for
        # its sort and the index builds not to spill to disk at a million orders; and no JIT,
        # which the planner's blind row estimates for generate_series() would otherwise call
        # for on every statement (a quarter of a second each, even for ten orders).
        conn.execute(
            "SELECT set_config('uuidpk_sample.orders', %s, true),"
            " set_config('uuidpk_sample.seed', %s, true),"
            " set_config('work_mem', '256MB', true),"
            " set_config('maintenance_work_mem', '512MB', true),"
            " set_config('jit', 'off', true)",
            (str(orders), str(seed)),
        )
        conn.execute(SHOP_DATA_SQL)
        conn.execute(post)
        conn.execute(sql.SQL("ANALYZE {}").format(_table_list()))


def drop_shop(conn: psycopg.Connection) -> None:
    """Drop the shop's tables (and with them their sequences), if they exist."""
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(_table_list()))


def _table_list() -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier("public", table) for table in TABLES)


Row = tuple[str | None, ...]

# Each relation, through natural keys. LEFT JOINs: a dangling reference shows as None.
_SNAPSHOT_QUERIES: Final[dict[str, str]] = {
    # invoice number -> order number (many-to-one)
    "invoices": """
        SELECT i.number, o.number
        FROM public.invoice_invoice AS i
        LEFT JOIN public.order_order AS o ON o.id = i.order_id
    """,
    # (order number, sku) per line (many-to-one)
    "lines": """
        SELECT o.number, l.sku
        FROM public.order_orderline AS l
        LEFT JOIN public.order_order AS o ON o.id = l.order_id
    """,
    # (order number, gift card code) per row of the join table (many-to-many)
    "gift_cards": """
        SELECT o.number, g.code
        FROM public.order_order_gift_cards AS j
        LEFT JOIN public.order_order AS o ON o.id = j.order_id
        LEFT JOIN public.giftcard_giftcard AS g ON g.id = j.giftcard_id
    """,
    # payment reference -> order number (one-to-one)
    "payments": """
        SELECT p.reference, o.number
        FROM public.payment_payment AS p
        LEFT JOIN public.order_order AS o ON o.id = p.order_id
    """,
    # order number -> original order number, or None (self reference), for every order
    "originals": """
        SELECT o.number, r.number
        FROM public.order_order AS o
        LEFT JOIN public.order_order AS r ON r.id = o.original_id
    """,
}


def _sort_key(row: Row) -> tuple[tuple[bool, str], ...]:
    return tuple((value is None, value or "") for value in row)


def natural_snapshot(conn: psycopg.Connection) -> dict[str, list[Row]]:
    """Every relation of the shop as sorted tuples of natural keys (no ids, any key type).

    Keys: "invoices" (invoice number, order number), "lines" (order number, sku), "gift_cards"
    (order number, gift card code), "payments" (payment reference, order number), "originals"
    (order number, original order number or None). A reference that leads nowhere gives None.
    """
    snapshot: dict[str, list[Row]] = {}
    with conn.cursor() as cur:
        for name, query in _SNAPSHOT_QUERIES.items():
            cur.execute(query)
            rows: list[Row] = [tuple(row) for row in cur.fetchall()]
            snapshot[name] = sorted(rows, key=_sort_key)
    return snapshot
