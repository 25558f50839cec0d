"""`make demo`: an embedded PostgreSQL, a sample shop, and uuidpk's main job on it.

Starts a throwaway server (the pgserver package: PostgreSQL in a wheel, works as root), loads
the Saleor-like shop from uuidpk.sample, then runs the real CLI: inspect, generate (the ALTERs
it will run), apply (its progress live on a terminal), verify; then shows a few orders' old
ids beside their new UUIDs and that every relation survived (seen through natural keys).
No escape codes when the output is not a terminal.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

from .sample import load_shop, natural_snapshot

ORDERS = int(os.environ.get("UUIDPK_DEMO_ORDERS", "10000"))

KEY_COLUMNS = """
SELECT table_name || '.' || column_name, data_type
  FROM information_schema.columns
 WHERE table_schema = 'public' AND (column_name = 'id' OR column_name LIKE '%%\\_id')
 ORDER BY 1
"""


def banner(text: str) -> None:
    if sys.stdout.isatty():
        print(f"\n\033[1m== {text}\033[0m", flush=True)
    else:
        print(f"\n== {text}", flush=True)


def run(
    dsn: str, *args: str, show: int | None = None, section: str | None = None, live: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI. `section`: print only that step of a script (from its `-- name`
    comment to the next blank line). `live`: stderr goes straight to ours, so the progress
    line repaints on a terminal (and plain lines otherwise)."""
    command = [sys.executable, "-m", "uuidpk", *args, "--dsn", dsn]
    print(f"$ uuidpk {' '.join(args)}", flush=True)
    stderr = None if live else subprocess.PIPE
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=stderr, text=True, check=False)
    lines = result.stdout.splitlines()
    if section is not None:
        start = lines.index(f"-- {section}")
        end = lines.index("", start) if "" in lines[start:] else len(lines)
        print(f"... ({start} lines before)")
        lines = lines[start:end]
    for line in lines[:show] if show else lines:
        print(line)
    if show and len(lines) > show:
        print(f"... ({len(lines) - show} more lines)")
    if result.stderr:
        sys.stderr.write(result.stderr)
    sys.stderr.flush()
    if result.returncode != 0:
        raise SystemExit(f"demo: uuidpk {args[0]} exited with {result.returncode}")
    return result


def key_types(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return [(str(a), str(b)) for a, b in conn.execute(KEY_COLUMNS).fetchall()]


def main() -> None:
    import warnings

    warnings.filterwarnings("ignore", module="platformdirs")  # XDG_RUNTIME_DIR unset: harmless
    import pgserver  # a dev dependency: the demo's embedded PostgreSQL

    with tempfile.TemporaryDirectory(prefix="uuidpk-demo-") as tmp:
        banner("starting an embedded PostgreSQL (pgserver)")
        server = pgserver.get_server(Path(tmp) / "pgdata", cleanup_mode="stop")
        admin = server.get_uri()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS uuidpk_demo")
            conn.execute("CREATE DATABASE uuidpk_demo")
        dsn = server.get_uri("uuidpk_demo")
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                banner(f"loading the sample shop: {ORDERS:,} orders")
                load_shop(conn, orders=ORDERS)
                before = natural_snapshot(conn)
                types_before = key_types(conn)
            banner("what converting order_order's key involves")
            run(dsn, "inspect", "--table", "order_order")
            with psycopg.connect(dsn, autocommit=True) as conn:
                old_ids = conn.execute(
                    "SELECT number, id FROM order_order ORDER BY number LIMIT 3"
                ).fetchall()
            banner("the plan, as a psql script: the step that rewrites the tables")
            run(dsn, "generate", "--table", "order_order", section="convert columns", show=20)
            banner("applying it: one transaction, fingerprinted before, checked before commit")
            run(dsn, "apply", "--table", "order_order", "--yes", "--verify", live=True)
            banner("verifying")
            run(dsn, "verify")
            with psycopg.connect(dsn, autocommit=True) as conn:
                after = natural_snapshot(conn)
                types_after = dict(key_types(conn))
                sample = conn.execute(
                    "SELECT o.number, o.id, count(l.id) FROM order_order o"
                    " JOIN order_orderline l ON l.order_id = o.id"
                    " WHERE o.number = ANY(%s)"
                    " GROUP BY o.number, o.id ORDER BY o.number",
                    [[number for number, _ in old_ids]],
                ).fetchall()
            banner("result")
            for column, old_type in types_before:
                new_type = types_after[column]
                mark = "->" if new_type != old_type else "  "
                print(f"  {column:<36} {old_type:<8} {mark} {new_type}")
            was: dict[str, int] = dict(old_ids)
            for number, new_id, lines in sample:
                print(f"  order {number}: id {was[number]:>5} -> {new_id}  ({lines} lines)")
            same = before == after
            relations = sum(len(v) for v in before.values())
            print(
                f"\n  {relations:,} relations compared through natural keys: "
                f"{'all identical' if same else 'DIFFERENT'}"
            )
            if not same:
                raise SystemExit("demo: relations changed")
        finally:
            server.cleanup()


if __name__ == "__main__":
    main()
