"""Application queries before and after a conversion, and the tables' sizes (`make bench`).

A uuid key is 16 bytes where an integer is 4: rows, and above all indexes, get wider, and a
random uuid spreads inserts over the whole index. What an application feels is the queries it
runs every second; this module times a fixed set of them on the shop before and after a
conversion, with the same rows each time: the sample is chosen by a column the conversion does
not touch (md5 of the order number), so "by key" looks up the same 200 orders before and after.

    by key              one order by primary key
    children by parent  an order's lines (the foreign key's index)
    join page           20 orders with their invoice and line count (= ANY of 20 keys)
    keyset page         50 orders after a key, in key order (the primary key's index)

Beside the time, the shared buffers each query touches (EXPLAIN ANALYZE BUFFERS): the same on
a quiet or a busy machine, and what explains the keyset page with random keys (its 50 rows in
index order are 50 rows on 50 heap pages, where integer or v7 keys find them on a few).

Each query runs once per sample key as a prepared statement over one connection: one warm-up
pass (the pages in shared buffers, the plan cached), then five timed passes; the fastest pass,
divided by the number of executions, is reported in microseconds (client round trip included,
as the application sees it; the fastest, because on a shared machine the others measure the
neighbours). Both sides are ANALYZEd first (apply does; the peer methods and a
restored dump rely on autovacuum, which a benchmark cannot wait for).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

import psycopg

SAMPLE = 200
PAGE = 20
TABLES = (
    "order_order",
    "invoice_invoice",
    "order_orderline",
    "order_order_gift_cards",
    "payment_payment",
)

SAMPLE_SQL = f"SELECT id FROM public.order_order ORDER BY md5(number) LIMIT {SAMPLE}"
# (label, SQL, whether the parameter is one key or a page of keys)
QUERIES: tuple[tuple[str, str, bool], ...] = (
    ("by key", "SELECT * FROM public.order_order WHERE id = %s", False),
    ("children by parent", "SELECT * FROM public.order_orderline WHERE order_id = %s", False),
    (
        "join page",
        "SELECT o.id, o.number, i.number, count(l.id) FROM public.order_order o"
        " JOIN public.invoice_invoice i ON i.order_id = o.id"
        " LEFT JOIN public.order_orderline l ON l.order_id = o.id"
        " WHERE o.id = ANY(%s) GROUP BY o.id, o.number, i.number",
        True,
    ),
    (
        "keyset page",
        "SELECT id, number, created_at FROM public.order_order WHERE id > %s ORDER BY id LIMIT 50",
        False,
    ),
)
SIZES_SQL = """
SELECT sum(pg_table_size(c.oid)), sum(pg_indexes_size(c.oid))
  FROM pg_class c WHERE c.oid = ANY(%s::regclass[])
"""


@dataclass
class QueryFigures:
    micros: dict[str, float] = field(default_factory=dict)  # label -> best µs per query
    # label -> shared buffers one query touches (EXPLAIN ANALYZE BUFFERS, mean over the sample):
    # the work that does not depend on the neighbours, and where it goes when keys get random
    buffers: dict[str, float] = field(default_factory=dict)
    table_mb: float = 0.0
    index_mb: float = 0.0


def measure(dsn: str) -> QueryFigures:
    figures = QueryFigures()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE " + ", ".join(f"public.{t}" for t in TABLES))
        row = conn.execute(SIZES_SQL, [[f"public.{t}" for t in TABLES]]).fetchone()
        assert row is not None
        figures.table_mb, figures.index_mb = row[0] / 2**20, row[1] / 2**20
        keys = [r[0] for r in conn.execute(SAMPLE_SQL).fetchall()]
        pages = [keys[i : i + PAGE] for i in range(0, len(keys), PAGE)]
        for label, query, paged in QUERIES:
            params = pages if paged else keys
            passes = []
            for _ in range(6):
                started = time.perf_counter()
                for param in params:
                    conn.execute(query, [param], prepare=True).fetchall()
                passes.append((time.perf_counter() - started) / len(params))
            figures.micros[label] = min(passes[1:]) * 1e6
            figures.buffers[label] = statistics.mean(_buffers(conn, query, p) for p in params)
    return figures


def _buffers(conn: psycopg.Connection, query: str, param: object) -> int:
    row = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query, [param]).fetchone()
    assert row is not None
    top = row[0][0]["Plan"]
    return int(top["Shared Hit Blocks"]) + int(top["Shared Read Blocks"])


def print_figures(before: QueryFigures, after: dict[str, QueryFigures]) -> None:
    """Per query: µs before, then per converted method µs and the ratio (goal <= 1.3x)."""
    names = list(after)
    print(
        "  queries after the conversion (µs per query, best of 5 warm passes; goal <= 1.3x before):"
    )
    print(f"    {'query':<20} {'before':>8}" + "".join(f" {n:>20}" for n in names))
    for label, _, _ in QUERIES:
        cells = []
        for name in names:
            value = after[name].micros.get(label)
            base = before.micros.get(label)
            cells.append(
                f" {value:10.0f} ({value / base:5.2f}x)" if value and base else f" {'-':>20}"
            )
        print(f"    {label:<20} {before.micros.get(label, 0):8.0f}" + "".join(cells))
    print("  shared buffers per query (EXPLAIN ANALYZE BUFFERS, mean over the sample):")
    for label, _, _ in QUERIES:
        base = before.buffers.get(label)
        cells = "".join(
            f" {after[n].buffers[label]:10.1f} ({after[n].buffers[label] / base:5.2f}x)"
            if base and label in after[n].buffers
            else f" {'-':>20}"
            for n in names
        )
        print(f"    {label:<20} {base or 0:8.1f}{cells}")
    for what in ("table_mb", "index_mb"):
        base = getattr(before, what)
        cells = "".join(
            f" {getattr(after[n], what):10.0f} ({getattr(after[n], what) / base:5.2f}x)"
            for n in names
        )
        label = "tables MB" if what == "table_mb" else "indexes MB"
        print(f"    {label:<20} {base:8.0f}{cells}")
