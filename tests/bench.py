"""`make bench`: how long an offline conversion takes next to the physical floor.

For each scale (orders in the sample shop of uuidpk.sample: per order ~1 invoice, ~3 lines,
0.5 gift-card links, 0.5 payments; ~10% of orders reference an earlier one), the shop is loaded
once into a template database and VACUUM ANALYZEd. Each method then runs on a fresh copy
(CREATE DATABASE ... TEMPLATE, then CHECKPOINT, so no method pays for another's dirty pages),
timed from the outside as a client process, and the copy is dropped:

    floor          VACUUM FULL of the five tables the key touches: rewrite each once, rebuild
                   its indexes. No conversion can do less.
    rewrite        the cheapest int->uuid rewrite: ALTER ... TYPE uuid USING the id zero-padded
                   (sorted, predictable: not usable), FKs dropped and restored. The floor of
                   this work, and the first ratio column (see PEER_USING).
    oneliner       what peers paste: ALTER ... TYPE uuid USING md5(key || id)::uuid per table,
                   FKs dropped and restored, no proof. The second ratio column.
    article        the classic hand-written method: uuid columns filled by gen_random_uuid()
                   and UPDATE ... FROM joins, then constraints dropped, renamed, added back.
    uuidpk         `python -m uuidpk apply --table order_order --yes` (what a user runs).
    uuidpk+verify  the same with --verify, when apply has it.
    uuidpk-v7      the same with --uuid v7, when apply has it (time order from the old ids).
    uuidpk-v7-time --uuid v7 --order-by created_at: only with --only (children look their
                   parent's time up row by row).
    uuidpk-script  `uuidpk generate` run by psql: the SQL alone, without apply's extras.

After the first run of rewrite, uuidpk and uuidpk-v7, and on an unconverted copy, a fixed set of
application queries is timed and the tables' and indexes' sizes read (bench_queries.py): the
ratio after/before per query, goal <= 1.3x.
    offline-under-load, online
                   the conversion while tests/workload.py (a shop application: 4 connections,
                   25 transactions a second each) keeps working: failed and lost application
                   transactions, stalls, p99, throughput share, cutover lock. At 200,000 orders
                   unless --load-scales (or --scales/--orders) say otherwise. See bench_load.py.

Reported per method: median wall seconds and its ratios to the rewrite's and the one-liner's
medians, the server's CPU seconds (every process of the server, from /proc: the steadier number
on a shared machine, where wall time moves with whatever else runs) and its ratios, the WAL
written, and the client's peak RSS (wait4 through a small fork-and-exec shim, see
run_client). For apply, the seconds of each step, from the times its progress lines arrive on
stderr.

`make bench` runs issue 15's three scales: 100,000 orders (repeat 3), 1M and 3M (repeat 1), every
default method, and the rows under load at 200,000 and 1M orders (repeat 1). On 2 quiet cores that
took 25 minutes (3M alone: ~14, of which the article method ~4). For a quicker look: --scales
1000000 (about 6 minutes with the rows under load at 1M).

    .venv/bin/python tests/bench.py                       # 1M orders, every method
    .venv/bin/python tests/bench.py --scales 100000,1000000
    .venv/bin/python tests/bench.py --orders 100000 --only floor uuidpk uuidpk-script
    .venv/bin/python tests/bench.py --inspect-2000 --scales 0   # only the catalog benchmark
    .venv/bin/python tests/bench.py --set wal_level=minimal --set max_wal_senders=0
    .venv/bin/python tests/bench.py --only online offline-under-load --scales 200000,1000000

The server is a throwaway PostgreSQL started with tests/pgutil.py (the test harness), but with
a real server's durability and memory (see BENCH_SETTINGS), or the server of --dsn.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_load
import bench_queries
import pgutil
from workload import UnderLoad

from uuidpk.sample import load_shop

REPO = pgutil.REPO
PYTHON = sys.executable

# A production-like server: durable (fsync, synchronous_commit, full_page_writes on, unlike the
# test harness), shared_buffers 1GB, everything else PostgreSQL's default: maintenance_work_mem
# 64MB unless a method sets its own (uuidpk does, the floor and the article do not),
# max_parallel_maintenance_workers 2, wal_level replica (every rewrite is WAL-logged).
# max_wal_size 4GB instead of 1GB: the largest method writes ~2GB of WAL at 1M orders, and with
# 1GB a checkpoint would start inside some methods and not others.
BENCH_SETTINGS = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "shared_buffers": "1GB",
    "max_wal_size": "4GB",
}
SHOWN_SETTINGS = (
    "server_version",
    "shared_buffers",
    "maintenance_work_mem",
    "work_mem",
    "max_parallel_maintenance_workers",
    "max_wal_size",
    "wal_level",
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "wal_compression",
)

# The tables the key of order_order reaches (giftcard_giftcard is not among them).
AFFECTED = (
    "order_order",
    "invoice_invoice",
    "order_orderline",
    "order_order_gift_cards",
    "payment_payment",
)
FLOOR_SQL = "VACUUM FULL " + ", ".join(f"public.{t}" for t in AFFECTED)

# The method of the reference article, written by hand for the shop: a new uuid column on the
# parent, filled by a volatile default (ADD COLUMN ... DEFAULT gen_random_uuid() rewrites the
# table), a uuid column per reference filled by UPDATE ... FROM a join with the parent (every
# row gets a new version: heap and every index grow), then the old columns dropped (with them
# their constraints, indexes and the sequence), the new ones renamed, and keys, unique
# constraints, indexes and foreign keys added back under their names. One transaction.
# The foreign keys go first: they are DEFERRABLE INITIALLY DEFERRED, and the rewrite of
# order_order gives every row this transaction's xmin, so the self reference's RI triggers would
# queue an event per updated row and the later ALTER TABLE would fail with "pending trigger
# events" (or, with SET CONSTRAINTS ALL IMMEDIATE, pay a lookup per row).
ARTICLE_SQL = """
BEGIN;
ALTER TABLE public.order_order
  DROP CONSTRAINT order_order_original_id_1dd680dd_fk_order_order_id;
ALTER TABLE public.invoice_invoice
  DROP CONSTRAINT invoice_invoice_order_id_c5fc9ae9_fk_order_order_id;
ALTER TABLE public.order_orderline
  DROP CONSTRAINT order_orderline_order_id_eb04ec2d_fk_order_order_id;
ALTER TABLE public.order_order_gift_cards
  DROP CONSTRAINT order_order_gift_cards_order_id_ce5608c4_fk_order_order_id;
ALTER TABLE public.payment_payment
  DROP CONSTRAINT payment_payment_order_id_22b45881_fk_order_order_id;

ALTER TABLE public.order_order ADD COLUMN new_id uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE public.order_order ADD COLUMN new_original_id uuid;
ALTER TABLE public.invoice_invoice ADD COLUMN new_order_id uuid;
ALTER TABLE public.order_orderline ADD COLUMN new_order_id uuid;
ALTER TABLE public.order_order_gift_cards ADD COLUMN new_order_id uuid;
ALTER TABLE public.payment_payment ADD COLUMN new_order_id uuid;

UPDATE public.order_order AS c SET new_original_id = p.new_id
  FROM public.order_order AS p WHERE c.original_id = p.id;
UPDATE public.invoice_invoice AS c SET new_order_id = p.new_id
  FROM public.order_order AS p WHERE c.order_id = p.id;
UPDATE public.order_orderline AS c SET new_order_id = p.new_id
  FROM public.order_order AS p WHERE c.order_id = p.id;
UPDATE public.order_order_gift_cards AS c SET new_order_id = p.new_id
  FROM public.order_order AS p WHERE c.order_id = p.id;
UPDATE public.payment_payment AS c SET new_order_id = p.new_id
  FROM public.order_order AS p WHERE c.order_id = p.id;

ALTER TABLE public.order_order DROP COLUMN id, DROP COLUMN original_id;
ALTER TABLE public.order_order RENAME COLUMN new_id TO id;
ALTER TABLE public.order_order RENAME COLUMN new_original_id TO original_id;
ALTER TABLE public.order_order ADD CONSTRAINT order_order_pkey PRIMARY KEY (id);
CREATE INDEX order_order_original_id_1dd680dd ON public.order_order (original_id);

ALTER TABLE public.invoice_invoice DROP COLUMN order_id;
ALTER TABLE public.invoice_invoice RENAME COLUMN new_order_id TO order_id;
ALTER TABLE public.invoice_invoice ALTER COLUMN order_id SET NOT NULL;
CREATE INDEX invoice_invoice_order_id_c5fc9ae9 ON public.invoice_invoice (order_id);

ALTER TABLE public.order_orderline DROP COLUMN order_id;
ALTER TABLE public.order_orderline RENAME COLUMN new_order_id TO order_id;
ALTER TABLE public.order_orderline ALTER COLUMN order_id SET NOT NULL;
ALTER TABLE public.order_orderline
  ADD CONSTRAINT order_orderline_order_id_sku_08ff4735_uniq UNIQUE (order_id, sku);
CREATE INDEX order_orderline_order_id_eb04ec2d ON public.order_orderline (order_id);

ALTER TABLE public.order_order_gift_cards DROP COLUMN order_id;
ALTER TABLE public.order_order_gift_cards RENAME COLUMN new_order_id TO order_id;
ALTER TABLE public.order_order_gift_cards ALTER COLUMN order_id SET NOT NULL;
ALTER TABLE public.order_order_gift_cards
  ADD CONSTRAINT order_order_gift_cards_order_id_giftcard_id_f58e7356_uniq
  UNIQUE (order_id, giftcard_id);
CREATE INDEX order_order_gift_cards_order_id_ce5608c4
  ON public.order_order_gift_cards (order_id);

ALTER TABLE public.payment_payment DROP COLUMN order_id;
ALTER TABLE public.payment_payment RENAME COLUMN new_order_id TO order_id;
ALTER TABLE public.payment_payment ALTER COLUMN order_id SET NOT NULL;
ALTER TABLE public.payment_payment ADD CONSTRAINT payment_payment_order_id_key UNIQUE (order_id);

ALTER TABLE public.order_order
  ADD CONSTRAINT order_order_original_id_1dd680dd_fk_order_order_id
  FOREIGN KEY (original_id) REFERENCES public.order_order (id)
  ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE public.invoice_invoice
  ADD CONSTRAINT invoice_invoice_order_id_c5fc9ae9_fk_order_order_id
  FOREIGN KEY (order_id) REFERENCES public.order_order (id)
  ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE public.order_orderline
  ADD CONSTRAINT order_orderline_order_id_eb04ec2d_fk_order_order_id
  FOREIGN KEY (order_id) REFERENCES public.order_order (id)
  ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE public.order_order_gift_cards
  ADD CONSTRAINT order_order_gift_cards_order_id_ce5608c4_fk_order_order_id
  FOREIGN KEY (order_id) REFERENCES public.order_order (id)
  ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE public.payment_payment
  ADD CONSTRAINT payment_payment_order_id_22b45881_fk_order_order_id
  FOREIGN KEY (order_id) REFERENCES public.order_order (id)
  DEFERRABLE INITIALLY DEFERRED;
COMMIT;
"""

# The two rows the issue sets apply against, run as SQL by the bench itself. Both drop the five
# foreign keys, rewrite each table once with ALTER ... TYPE uuid USING (order_order's two key
# columns in one ALTER: one rewrite, its indexes rebuilt once), and add the keys back
# (validating: one join per child). One transaction, as apply.
#   rewrite   the cheapest conversion there is: the id zero-padded into a uuid. Sorted and
#             predictable (so not usable), the least CPU per row: the floor of this work.
#   oneliner  what peers paste: md5(key || id)::uuid per table. Unkeyed md5, no proof.
PEER_USING = {
    "rewrite": "lpad(to_hex({col}), 32, '0')::uuid",
    "oneliner": "md5('bench-key-0123456789' || {col})::uuid",
}
# (table, constraint, column, action) of the five foreign keys that reference order_order.id.
SHOP_FKS = (
    (
        "order_order",
        "order_order_original_id_1dd680dd_fk_order_order_id",
        "original_id",
        "ON DELETE SET NULL",
    ),
    (
        "invoice_invoice",
        "invoice_invoice_order_id_c5fc9ae9_fk_order_order_id",
        "order_id",
        "ON DELETE CASCADE",
    ),
    (
        "order_orderline",
        "order_orderline_order_id_eb04ec2d_fk_order_order_id",
        "order_id",
        "ON DELETE CASCADE",
    ),
    (
        "order_order_gift_cards",
        "order_order_gift_cards_order_id_ce5608c4_fk_order_order_id",
        "order_id",
        "ON DELETE CASCADE",
    ),
    ("payment_payment", "payment_payment_order_id_22b45881_fk_order_order_id", "order_id", ""),
)


def peer_sql(using: str) -> str:
    """The whole conversion of the shop's key with one ALTER ... TYPE uuid USING per table."""
    lines = ["BEGIN;"]
    lines += [f"ALTER TABLE public.{t} DROP CONSTRAINT {c};" for t, c, _, _ in SHOP_FKS]
    lines.append(
        "ALTER TABLE public.order_order ALTER COLUMN id DROP DEFAULT, "
        f"ALTER COLUMN id TYPE uuid USING {using.format(col='id')}, "
        f"ALTER COLUMN original_id TYPE uuid USING {using.format(col='original_id')};"
    )
    lines += [
        f"ALTER TABLE public.{t} ALTER COLUMN {col} TYPE uuid USING {using.format(col=col)};"
        for t, _, col, _ in SHOP_FKS
        if t != "order_order"
    ]
    lines += [
        f"ALTER TABLE public.{t} ADD CONSTRAINT {c} FOREIGN KEY ({col}) "
        f"REFERENCES public.order_order (id) {action} DEFERRABLE INITIALLY DEFERRED;"
        for t, c, col, action in SHOP_FKS
    ]
    lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


# After a conversion: the six key columns are uuid and the five foreign keys are back.
CHECK_SQL = """
SELECT
  (SELECT count(*) FROM pg_attribute
    WHERE atttypid = 'uuid'::regtype AND NOT attisdropped AND (attrelid, attname) IN (
      ('public.order_order'::regclass, 'id'), ('public.order_order'::regclass, 'original_id'),
      ('public.invoice_invoice'::regclass, 'order_id'),
      ('public.order_orderline'::regclass, 'order_id'),
      ('public.order_order_gift_cards'::regclass, 'order_id'),
      ('public.payment_payment'::regclass, 'order_id'))),
  (SELECT count(*) FROM pg_constraint
    WHERE contype = 'f' AND confrelid = 'public.order_order'::regclass),
  (SELECT count(*) FROM public.order_order)
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The server


def _server_settings(extra: dict[str, str]) -> dict[str, str]:
    return {**pgutil.SERVER_SETTINGS, **BENCH_SETTINGS, **extra}


@contextlib.contextmanager
def _patched_settings(settings: dict[str, str]) -> Iterator[None]:
    """pgutil.start_server() writes pgutil.SERVER_SETTINGS into postgresql.conf: swap in ours."""
    saved = pgutil.SERVER_SETTINGS
    pgutil.SERVER_SETTINGS = settings
    try:
        yield
    finally:
        pgutil.SERVER_SETTINGS = saved


def start_cluster(dsn: str | None, extra: dict[str, str]) -> pgutil.PgCluster:
    if dsn:
        if extra:
            raise SystemExit("--set needs a server bench.py starts itself (not --dsn)")
        return pgutil.external_server(dsn)
    with _patched_settings(_server_settings(extra)):
        return pgutil.start_server()


def postmaster_pid(cluster: pgutil.PgCluster) -> int | None:
    """The server's postmaster when it runs on this machine (the parent of our backend, if that
    pid here is a postgres process), else None: then server CPU is not reported."""
    try:
        with cluster.connect_admin() as admin:
            backend = admin.info.backend_pid
        with open(f"/proc/{backend}/cmdline", "rb") as f:
            if b"postgres" not in f.read():
                return None
        return _proc_times(backend)[0]
    except (OSError, ValueError, IndexError, psycopg.Error):
        return None


_TICK = os.sysconf("SC_CLK_TCK")


def _proc_times(pid: int) -> tuple[int, list[int]]:
    """(parent pid, [utime, stime, cutime, cstime]) of a process, in clock ticks."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[1]), [int(x) for x in fields[11:15]]


def server_cpu(pm: int | None) -> float | None:
    """CPU seconds used so far by the server: the postmaster, its live children, and (through
    the postmaster's cutime/cstime) every child it has reaped: backends, parallel workers,
    checkpointer, WAL writer. A child reaped while /proc is being read would count twice or not
    at all, so the scan is repeated until the postmaster's own counters did not move."""
    if pm is None:
        return None
    for _ in range(20):
        try:
            before = sum(_proc_times(pm)[1])
        except OSError:
            return None
        total = before
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                ppid, times = _proc_times(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pm:
                total += sum(times)
        if sum(_proc_times(pm)[1]) == before:
            return total / _TICK
        time.sleep(0.05)
    return None


def settle(admin: psycopg.Connection, database: str) -> None:
    """Wait (up to 10 s) until no backend is left in `database`: a client's backend outlives the
    client by a little, and its CPU time is only final once it has exited."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [database]
        ).fetchone()
        if not row or not row[0]:
            break
        time.sleep(0.05)
    time.sleep(0.1)  # from leaving pg_stat_activity to being reaped by the postmaster


def wal_lsn(admin: psycopg.Connection) -> int:
    row = admin.execute("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn").fetchone()
    assert row is not None
    return int(row[0])


def show_settings(admin: psycopg.Connection) -> dict[str, str]:
    rows = admin.execute(
        "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)",
        [list(SHOWN_SETTINGS)],
    ).fetchall()
    return dict(rows)


# ---------------------------------------------------------------------------------------------
# Running a client process


@dataclass
class ClientRun:
    seconds: float
    rss_mb: float | None  # None: the work ran inside this process (the online API)
    returncode: int
    stderr: list[tuple[float, str]]  # (seconds since start, line)
    server_cpu: float | None = None
    wal_mb: float | None = None
    load: UnderLoad | None = None  # rows under load: what the application saw
    reported_lock: float | None = None  # the cutover lock seconds the tool reported
    started: float = 0.0  # perf_counter() when the client started: stderr times count from it

    def text(self) -> str:
        return "\n".join(line for _, line in self.stderr)


# Peak RSS needs care. A child's ru_maxrss (wait4, RUSAGE_CHILDREN) starts from the high-water
# mark of the address space it replaced at exec: Linux carries it over. subprocess starts children
# with vfork, whose "replaced" address space is this very process, so wait4 on a direct child
# reports max(bench's own peak, the child's) -- 200 MB for psql if the bench ever held 200 MB.
# So a minimal interpreter (python -I -S, ~7 MB) forks and execs the client, waits for it with
# wait4 and writes its status and ru_maxrss to a pipe: the floor of the measure is ~7 MB, and
# each run is measured alone (RUSAGE_CHILDREN would be a maximum over every earlier run too).
_SHIM = """import os, sys
fd = int(sys.argv[1])
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
os.write(fd, b"%d %d" % (os.waitstatus_to_exitcode(status), usage.ru_maxrss))
"""


def run_client(
    argv: Sequence[str], stdin_text: str | None = None, cwd: Path | None = None
) -> ClientRun:
    """Run one client to completion: wall time, its own peak RSS and its stderr lines with the
    time each arrived (apply prints a line as each step starts)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PYTHONUNBUFFERED"] = "1"
    read_end, write_end = os.pipe()
    started = time.perf_counter()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _SHIM, str(write_end), *argv],
            stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=cwd or REPO,
            pass_fds=(write_end,),
        )
    finally:
        os.close(write_end)
    if stdin_text is not None:
        assert proc.stdin is not None

        def feed() -> None:
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.write(stdin_text)  # type: ignore[union-attr]
                proc.stdin.close()  # type: ignore[union-attr]

        threading.Thread(target=feed, daemon=True).start()
    lines: list[tuple[float, str]] = []
    assert proc.stderr is not None
    for line in proc.stderr:
        lines.append((time.perf_counter() - started, line.rstrip("\n")))
    proc.wait()
    seconds = time.perf_counter() - started
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read().split()
    if proc.returncode != 0 or len(report) != 2:
        return ClientRun(seconds, 0.0, proc.returncode or 1, lines, started=started)
    # ru_maxrss is in kilobytes on Linux.
    return ClientRun(seconds, int(report[1]) / 1024, int(report[0]), lines, started=started)


def psql_argv(dsn: str, *extra: str) -> list[str]:
    return [pgutil.psql_binary(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, *extra]


def uuidpk_argv(*args: str) -> list[str]:
    return [PYTHON, "-m", "uuidpk", *args]


def apply_help() -> str:
    proc = subprocess.run(
        uuidpk_argv("apply", "--help"), capture_output=True, text=True, cwd=REPO, check=False
    )
    return proc.stdout


# ---------------------------------------------------------------------------------------------
# Methods


@dataclass(frozen=True)
class Method:
    name: str
    run: Callable[[str], ClientRun]
    converts: bool = True
    steps: bool = False  # stderr carries apply's step lines
    default: bool = True  # run without --only
    under_load: bool = False  # runs with the shop application working (bench_load.py)
    skip: str | None = None  # why it cannot run here (printed instead of a row)


def _floor(dsn: str) -> ClientRun:
    return run_client(psql_argv(dsn, "-c", FLOOR_SQL))


def _article(dsn: str) -> ClientRun:
    return run_client(psql_argv(dsn, "-f", "-"), ARTICLE_SQL)


def _peer(kind: str) -> Callable[[str], ClientRun]:
    def run(dsn: str) -> ClientRun:
        return run_client(psql_argv(dsn, "-f", "-"), peer_sql(PEER_USING[kind]))

    return run


def _apply(*extra: str) -> Callable[[str], ClientRun]:
    def run(dsn: str) -> ClientRun:
        return run_client(
            uuidpk_argv("apply", "--dsn", dsn, "--table", "public.order_order", "--yes", *extra)
        )

    return run


def _apply_at(checkout: Path, *extra: str) -> Callable[[str], ClientRun]:
    """`uuidpk apply` of another checkout (--baseline): `python -m` imports the uuidpk package
    of its working directory before the installed one."""

    def run(dsn: str) -> ClientRun:
        argv = uuidpk_argv("apply", "--dsn", dsn, "--table", "public.order_order", "--yes", *extra)
        return run_client(argv, cwd=checkout)

    return run


def baseline_methods(checkout: Path) -> list[Method]:
    """apply and apply --verify of another checkout (e.g. `git archive main` unpacked), to time
    a change against the code before it in one run: same server, same copies, interleaved."""
    if not (checkout / "uuidpk" / "__init__.py").is_file():
        raise SystemExit(f"--baseline {checkout}: no uuidpk package there")
    return [
        Method("uuidpk@base", _apply_at(checkout), steps=True),
        Method("uuidpk+verify@base", _apply_at(checkout, "--verify"), steps=True),
    ]


def _script(dsn: str) -> ClientRun:
    """generate (not timed: it only reads the catalog) then psql runs the script, timed."""
    proc = subprocess.run(
        uuidpk_argv("generate", "--dsn", dsn, "--table", "public.order_order"),
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    if proc.returncode != 0:
        return ClientRun(0.0, 0.0, proc.returncode, [(0.0, proc.stderr.strip())])
    return run_client(psql_argv(dsn, "-f", "-"), proc.stdout)


def _apply_under_load(options: bench_load.LoadOptions, *extra: str) -> Callable[[str], ClientRun]:
    """`uuidpk apply` (with `extra`) as a client process while the application works."""

    def run(dsn: str) -> ClientRun:
        argv = uuidpk_argv("apply", "--dsn", dsn, "--table", bench_load.TABLE, "--yes", *extra)
        under = bench_load.under_load(dsn, lambda: run_client(argv), options)
        client: ClientRun = under.result
        client.load = under
        client.reported_lock = bench_load.lock_from_stderr(client.text())
        return client

    return run


def _online_api_under_load(
    options: bench_load.LoadOptions, apply_online: Callable[..., object]
) -> Callable[[str], ClientRun]:
    """uuidpk.apply_online() in this process (a thread beside the application's)."""

    def run(dsn: str) -> ClientRun:
        def migrate() -> ClientRun:
            started = time.perf_counter()
            lines: list[tuple[float, str]] = []

            def say(line: str) -> None:
                lines.append((time.perf_counter() - started, line))

            try:
                result = bench_load.call_online_api(apply_online, dsn, say)
            except Exception as exc:  # reported as the run's failure, like a client's exit
                lines.append((time.perf_counter() - started, repr(exc)))
                return ClientRun(time.perf_counter() - started, None, 1, lines, started=started)
            client = ClientRun(time.perf_counter() - started, None, 0, lines, started=started)
            client.reported_lock = bench_load.lock_from_result(result)
            return client

        under = bench_load.under_load(dsn, migrate, options)
        client: ClientRun = under.result
        client.load = under
        return client

    return run


def available_methods(load: bench_load.LoadOptions | None = None) -> list[Method]:
    load = load or bench_load.LoadOptions()
    help_text = apply_help()
    methods = [
        Method("floor", _floor, converts=False),
        Method("rewrite", _peer("rewrite")),
        Method("oneliner", _peer("oneliner")),
        Method("uuidpk-script", _script),
        Method("uuidpk", _apply(), steps=True),
    ]
    if "--verify" in help_text:
        methods.append(Method("uuidpk+verify", _apply("--verify"), steps=True))
    if re.search(r"--uuid\b[^\n]*v7", help_text):
        methods.append(Method("uuidpk-v7", _apply("--uuid", "v7"), steps=True))
        if "--order-by" in help_text:
            methods.append(
                Method(
                    "uuidpk-v7-time",
                    _apply("--uuid", "v7", "--order-by", "created_at"),
                    steps=True,
                    default=False,
                )
            )
    methods.append(Method("article", _article))
    methods.append(
        Method("offline-under-load", _apply_under_load(load), steps=False, under_load=True)
    )
    apply_online = bench_load.online_api()
    if bench_load.online_cli(help_text):
        online = Method("online", _apply_under_load(load, "--online"), under_load=True)
    elif apply_online is not None:
        online = Method("online", _online_api_under_load(load, apply_online), under_load=True)
    else:
        online = Method("online", _floor, under_load=True, skip=bench_load.online_missing_line())
    methods.append(online)
    return methods


# Apply's stderr: "uuidpk: <step> (<n> statements)" as each step starts; "uuidpk: <what> ...
# in <s> s" for work that reports its own duration (fingerprint, verification) and, last, for
# the whole conversion.
_STEP = re.compile(r"^uuidpk: (?P<name>.+?) \((?P<n>\d+) statements?\)$")
_TIMED = re.compile(r"^uuidpk: (?P<what>.+?) in (?P<s>[0-9.]+) s$")


def apply_steps(run: ClientRun) -> list[tuple[str, float]]:
    """Seconds per phase of one apply run, from the arrival times of its stderr lines."""
    phases: list[tuple[str, float]] = []
    current, since = "connect, read catalog, plan", 0.0
    for at, line in run.stderr:
        step = _STEP.match(line)
        timed = _TIMED.match(line)
        if step:
            phases.append((current, at - since))
            current, since = step.group("name"), at
        elif timed and timed.group("what").startswith(("converted", "dry run")):
            phases.append((current, at - since))
            current, since = "commit, exit", at
        elif timed:
            own = float(timed.group("s"))
            label = timed.group("what").split()[0].rstrip(":")
            phases.append((current, at - since - own))
            phases.append((label, own))
            since = at
    phases.append((current, run.seconds - since))
    merged: dict[str, float] = {}
    for name, seconds in phases:
        merged[name] = merged.get(name, 0.0) + max(seconds, 0.0)
    return list(merged.items())


# ---------------------------------------------------------------------------------------------
# The data set


def template_name(orders: int) -> str:
    return f"uuidpk_bench_shop_{orders}"


def _template_ready(admin: psycopg.Connection, name: str) -> bool:
    row = admin.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
        [name],
    ).fetchone()
    return bool(row and row[0] == "uuidpk bench template: complete")


def build_template(cluster: pgutil.PgCluster, orders: int) -> float | None:
    """The shop at this scale in a template database; seconds spent, None when it was there."""
    name = template_name(orders)
    with cluster.connect_admin() as admin:
        if _template_ready(admin, name):
            return None
    cluster.drop_database(name)
    started = time.perf_counter()
    cluster.create_database(name)
    with psycopg.connect(cluster.dsn(name), autocommit=True) as conn:
        load_shop(conn, orders=orders)
        conn.execute("VACUUM ANALYZE")  # visibility map and hint bits set: copies start clean
    seconds = time.perf_counter() - started
    with cluster.connect_admin() as admin:
        admin.execute(
            sql.SQL("COMMENT ON DATABASE {} IS 'uuidpk bench template: complete'").format(
                sql.Identifier(name)
            )
        )
    return seconds


def copy_database(cluster: pgutil.PgCluster, template: str, name: str) -> None:
    """A copy of the template. FILE_COPY (PostgreSQL 15+) copies the files and writes one WAL
    record, where the default WAL_LOG strategy writes the whole database to WAL and through
    shared buffers (slower, and it would leave the copy hot in cache for the method)."""
    strategy = " STRATEGY FILE_COPY" if cluster.version >= 150000 else ""
    cluster.drop_database(name)
    with cluster.connect_admin() as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}" + strategy).format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
        admin.execute("CHECKPOINT")
    cluster._databases.add(name)


# ---------------------------------------------------------------------------------------------
# One scale


@dataclass
class Result:
    method: Method
    runs: list[ClientRun] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    queries: bench_queries.QueryFigures | None = None  # after the first run, when measured

    @property
    def ok_runs(self) -> list[ClientRun]:
        return [r for r in self.runs if r.returncode == 0]

    def median(self, attr: str) -> float | None:
        values = [getattr(r, attr) for r in self.ok_runs if getattr(r, attr) is not None]
        return statistics.median(values) if values else None


def check_converted(dsn: str, orders: int, under_load: bool = False) -> str | None:
    """Six uuid columns, five FKs, every order (and, under load, the application's too)."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(CHECK_SQL).fetchone()
    assert row is not None
    uuid_columns, foreign_keys, rows = row
    if under_load and rows >= orders:
        rows = orders
    if (uuid_columns, foreign_keys, rows) != (6, 5, orders):
        return f"after the run: {uuid_columns}/6 uuid columns, {foreign_keys}/5 FKs, {rows} orders"
    return None


# The methods whose result the application queries are timed on (bench_queries): uuidpk's
# random-looking keys, the time-ordered ones, and the zero-padded rewrite (sorted like the
# integers were: what the uuid type alone costs).
QUERY_METHODS = ("rewrite", "uuidpk", "uuidpk-v7")


def bench_scale(
    cluster: pgutil.PgCluster, orders: int, methods: list[Method], repeat: int
) -> dict[str, Result]:
    pm = postmaster_pid(cluster)
    template = template_name(orders)
    results = {m.name: Result(m) for m in methods}
    if any(m.name in QUERY_METHODS for m in methods):
        name = f"uuidpk_bench_{orders}_before"
        copy_database(cluster, template, name)
        before = Result(Method("before", _floor, converts=False))
        before.queries = bench_queries.measure(cluster.dsn(name))
        results["(before)"] = before
        cluster.drop_database(name)
    for rep in range(repeat):
        for method in methods:
            if method.skip:
                continue
            name = f"uuidpk_bench_{orders}_{re.sub(r'[^a-z0-9]+', '_', method.name)}"
            copy_database(cluster, template, name)
            dsn = cluster.dsn(name)
            with cluster.connect_admin() as admin:
                lsn0, cpu0 = wal_lsn(admin), server_cpu(pm)
                run = method.run(dsn)
                settle(admin, name)
                cpu1, lsn1 = server_cpu(pm), wal_lsn(admin)
            run.wal_mb = (lsn1 - lsn0) / 2**20
            run.server_cpu = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
            results[method.name].runs.append(run)
            problem = None
            if run.returncode != 0:
                problem = f"exit {run.returncode}: {run.text()[-600:]}"
            elif method.converts:
                problem = check_converted(dsn, orders, method.under_load)
            if problem:
                results[method.name].failures.append(problem)
                run.returncode = run.returncode or 99
                log(f"{orders} orders, {method.name} #{rep + 1}: FAILED {problem}")
            elif run.load is not None:
                r = run.load.migration
                log(
                    f"{orders} orders, {method.name} #{rep + 1}: {run.seconds:.1f} s; load: "
                    f"{run.load.whole.failed} failed, {run.load.whole.lost.total} lost, "
                    f"stall {r.longest_stall * 1000:.0f} ms, share {r.share or 0:.0%}"
                )
            else:
                cpu = "" if run.server_cpu is None else f", server CPU {run.server_cpu:.1f} s"
                log(
                    f"{orders} orders, {method.name} #{rep + 1}: {run.seconds:.1f} s{cpu}, "
                    f"WAL {run.wal_mb:.0f} MB, client RSS {run.rss_mb or 0:.0f} MB"
                )
                if rep == 0 and method.name in QUERY_METHODS:
                    results[method.name].queries = bench_queries.measure(dsn)
            cluster.drop_database(name)
    return results


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_scale(
    orders: int,
    load_seconds: float | None,
    results: dict[str, Result],
    load_options: bench_load.LoadOptions | None = None,
) -> None:
    loaded = [r for r in results.values() if r.method.under_load]
    results = {name: r for name, r in results.items() if not r.method.under_load}
    if results:
        print_offline(orders, load_seconds, results)
    if loaded:
        rows = [
            bench_load.LoadRow(
                r.method.name,
                [run.load for run in r.ok_runs if run.load is not None],
                [run.reported_lock for run in r.ok_runs],
                r.failures,
                [bench_load.step_seconds([line for _, line in run.stderr]) for run in r.ok_runs],
                [bench_load.step_intervals(run.stderr, run.started) for run in r.ok_runs],
            )
            for r in loaded
            if not r.method.skip
        ]
        notes = [r.method.skip for r in loaded if r.method.skip]
        bench_load.print_load(orders, rows, load_options or bench_load.LoadOptions(), notes)


def print_offline(orders: int, load_seconds: float | None, results: dict[str, Result]) -> None:
    """The issue's table: every method's median seconds and server CPU, as ratios to the
    cheapest rewrite (the floor of this work) and to the md5 one-liner (what peers do)."""

    def base(name: str, attr: str) -> float | None:
        return results[name].median(attr) if name in results else None

    def ratio(value: float | None, against: float | None) -> str:
        return _fmt(value / against if value and against else None, "6.2f") + "x"

    runs = max((len(r.runs) for r in results.values()), default=0)
    load = "reused" if load_seconds is None else f"{load_seconds:.0f} s"
    print(f"\n== {orders:,} orders (template load + VACUUM ANALYZE: {load}; median of {runs})")
    header = (
        f"{'method':<15} {'seconds':>8} {'x rewrite':>9} {'x 1-liner':>9} {'srv CPU s':>9}"
        f" {'x rewrite':>9} {'x 1-liner':>9} {'WAL MB':>7} {'client RSS MB':>13}"
    )
    print(header)
    print("-" * len(header))
    for name, result in results.items():
        if name == "(before)":
            continue
        if not result.ok_runs:
            print(f"{name:<15} FAILED: {result.failures[0] if result.failures else '?'}")
            continue
        seconds = result.median("seconds")
        cpu = result.median("server_cpu")
        print(
            f"{name:<15} {_fmt(seconds, '8.1f')}"
            f"  {ratio(seconds, base('rewrite', 'seconds'))}"
            f"  {ratio(seconds, base('oneliner', 'seconds'))}"
            f" {_fmt(cpu, '9.1f')}"
            f"  {ratio(cpu, base('rewrite', 'server_cpu'))}"
            f"  {ratio(cpu, base('oneliner', 'server_cpu'))}"
            f" {_fmt(result.median('wal_mb'), '7.0f')} {_fmt(result.median('rss_mb'), '13.1f')}"
        )
        if result.failures:
            print(f"{'':<15} ({len(result.failures)} failed run(s): {result.failures[0][:200]})")
    before = results.get("(before)")
    after = {n: r.queries for n, r in results.items() if n != "(before)" and r.queries}
    if before and before.queries and after:
        bench_queries.print_figures(before.queries, after)
    for name, result in results.items():
        if not result.method.steps or not result.ok_runs:
            continue
        per_run = [dict(apply_steps(r)) for r in result.ok_runs]
        print(f"  {name} steps (median s):")
        for step in per_run[0]:
            values = [p.get(step, 0.0) for p in per_run]
            print(f"    {step:<45} {statistics.median(values):8.2f}")


# ---------------------------------------------------------------------------------------------
# inspect on 2,000 tables and 5,000 foreign keys


@dataclass(frozen=True)
class Extras:
    """Objects of a real schema: partitioned tables and their partitions, tables with a
    trigger pair (each its own trigger function, plus one shared audit function), plain
    functions."""

    partitioned: int = 0
    partitions: int = 0
    triggers: int = 0
    functions: int = 0


# Like the real 1,000-table schema of issue 15: ~430 partitions, thousands of functions and
# triggers (the 5,000 foreign keys of the plain benchmark stay).
REAL_EXTRAS = Extras(partitioned=20, partitions=420, triggers=1200, functions=2500)


def synthetic_schema(
    tables: int, foreign_keys: int, seed: int, extras: Extras | None = None
) -> list[str]:
    """DDL batches (each one transaction) for a seeded random schema.

    Four schemas; keys integer serial, bigint identity or bigint serial; ~10% join tables (two
    FKs and a unique pair, as Django makes them), ~3% self references, ~5% one-to-one (a unique
    FK column); every FK column indexed. The rest of the FKs go from a random table to a
    random other table, so long closures and cycles between tables occur.
    """
    rnd = random.Random(seed)
    schemas = ("public", "sales", "stock", "crm")
    kinds = (("integer", "serial"), ("bigint", "identity"), ("bigint", "bigserial"))
    names = [f"{schemas[i % len(schemas)]}.t{i:04d}" for i in range(tables)]
    key_type: dict[str, str] = {}
    creates: list[str] = []
    for name in names:
        base, how = rnd.choice(kinds)
        key_type[name] = base
        key = {
            "serial": "id serial PRIMARY KEY",
            "bigserial": "id bigserial PRIMARY KEY",
            "identity": "id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        }[how]
        creates.append(
            f"CREATE TABLE {name} ({key}, name text NOT NULL, "
            "created_at timestamptz NOT NULL DEFAULT now(), note text)"
        )
    fks: list[str] = []
    per_table: dict[str, int] = {}

    def add_fk(child: str, parent: str, unique: bool = False, not_null: bool = False) -> str:
        n = per_table[child] = per_table.get(child, 0) + 1
        column = f"{parent.split('.')[1]}_{n}_id"
        short = child.split(".")[1]
        null = " NOT NULL" if not_null else ""
        fks.append(f"ALTER TABLE {child} ADD COLUMN {column} {key_type[parent]}{null}")
        fks.append(
            f"ALTER TABLE {child} ADD CONSTRAINT {short}_{column}_fk FOREIGN KEY ({column}) "
            f"REFERENCES {parent} (id) DEFERRABLE INITIALLY DEFERRED"
        )
        if unique:
            fks.append(f"ALTER TABLE {child} ADD CONSTRAINT {short}_{column}_key UNIQUE ({column})")
        else:
            fks.append(f"CREATE INDEX {short}_{column}_idx ON {child} ({column})")
        return column

    join_tables = names[: tables // 10]
    others = names[tables // 10 :]
    count = 0
    for join in join_tables:
        a, b = rnd.sample(others, 2)
        ca = add_fk(join, a, not_null=True)
        cb = add_fk(join, b, not_null=True)
        short = join.split(".")[1]
        fks.append(f"ALTER TABLE {join} ADD CONSTRAINT {short}_pair_uniq UNIQUE ({ca}, {cb})")
        count += 2
    for child in rnd.sample(others, tables * 3 // 100):
        add_fk(child, child)
        count += 1
    while count < foreign_keys:
        child, parent = rnd.sample(others, 2)
        add_fk(child, parent, unique=rnd.random() < 0.05)
        count += 1
    batches_extra = _real_objects(rnd, names, key_type, extras) if extras else []
    # One transaction per ~300 tables or ~600 DDL statements: each statement locks its tables
    # until commit and the lock table holds max_locks_per_transaction x max_connections.
    batches = [f"CREATE SCHEMA IF NOT EXISTS {s}" for s in schemas[1:]]
    batches += [";\n".join(creates[i : i + 300]) for i in range(0, len(creates), 300)]
    batches += [";\n".join(fks[i : i + 600]) for i in range(0, len(fks), 600)]
    return batches + batches_extra


def _real_objects(
    rnd: random.Random, names: list[str], key_type: dict[str, str], extras: Extras
) -> list[str]:
    """What a real schema has and the plain synthetic one lacks: partitioned tables (keyed by
    (id, created_at) as PostgreSQL requires the partition key in the primary key, referenced by
    nothing but referencing other tables), trigger functions and their triggers on many tables
    (audit and touch-updated_at kinds, PL/pgSQL naming NEW.id), and plain functions: PL/pgSQL
    look-ups by id and LANGUAGE sql ones (sqlglot parses those) over random tables, most of
    which reach some closure."""
    ddl: list[str] = []
    per_parent = max(1, extras.partitions // max(1, extras.partitioned))
    for p in range(extras.partitioned):
        parent = f"public.part{p:03d}"
        target = rnd.choice(names)
        ddl.append(
            f"CREATE TABLE {parent} (id bigint GENERATED BY DEFAULT AS IDENTITY, "
            f"created_at timestamptz NOT NULL, ref_id {key_type[target]} "
            f"REFERENCES {target} (id), payload text, PRIMARY KEY (id, created_at)) "
            "PARTITION BY RANGE (created_at)"
        )
        for m in range(per_parent):
            lo, hi = f"2000-01-01'::date + {m * 30}", f"2000-01-01'::date + {(m + 1) * 30}"
            ddl.append(
                f"CREATE TABLE {parent}_p{m:03d} PARTITION OF {parent} "
                f"FOR VALUES FROM ('{lo}) TO ('{hi})"
            )
    ddl.append(
        "CREATE FUNCTION public.audit_row() RETURNS trigger LANGUAGE plpgsql AS $f$BEGIN "
        "RAISE DEBUG 'audit % %', TG_TABLE_NAME, NEW.id; RETURN NEW; END$f$"
    )
    for t in rnd.sample(names, min(extras.triggers, len(names))):
        short = t.split(".")[1]
        ddl.append(
            f"CREATE FUNCTION {t}_touch() RETURNS trigger LANGUAGE plpgsql AS $f$"
            f"DECLARE n integer; BEGIN NEW.note := coalesce(NEW.note, '') || NEW.id::text; "
            f"SELECT count(*) INTO n FROM {t} WHERE id = NEW.id; RETURN NEW; END$f$"
        )
        ddl.append(
            f"CREATE TRIGGER {short}_touch BEFORE UPDATE ON {t} "
            f"FOR EACH ROW EXECUTE FUNCTION {t}_touch()"
        )
        ddl.append(
            f"CREATE TRIGGER {short}_audit AFTER INSERT ON {t} "
            "FOR EACH ROW EXECUTE FUNCTION public.audit_row()"
        )
    for f in range(extras.functions):
        a, b = rnd.sample(names, 2)
        if f % 2:
            ddl.append(
                f"CREATE FUNCTION public.fn_{f:05d}(p_id bigint) RETURNS bigint "
                f"LANGUAGE plpgsql STABLE AS $f$DECLARE r bigint; BEGIN "
                f"SELECT x.id INTO r FROM {a} x JOIN {b} y ON y.id = x.id WHERE x.id = p_id; "
                f"RETURN r; END$f$"
            )
        else:
            ddl.append(
                f"CREATE FUNCTION public.fn_{f:05d}(p_name text) RETURNS SETOF {a} "
                f"LANGUAGE sql STABLE AS $f$SELECT x.* FROM {a} x WHERE x.name = p_name "
                f"AND x.created_at > now() - interval '1 day' ORDER BY x.created_at$f$"
            )
    return [";\n".join(ddl[i : i + 600]) for i in range(0, len(ddl), 600)]


def bench_inspect(
    cluster: pgutil.PgCluster, tables: int, foreign_keys: int, extras: Extras | None = None
) -> None:
    real = "_real" if extras else ""
    name = f"uuidpk_bench_inspect_{tables}_{foreign_keys}{real}"
    cluster.drop_database(name)
    cluster.create_database(name)
    dsn = cluster.dsn(name)
    started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for batch in synthetic_schema(tables, foreign_keys, seed=20240611, extras=extras):
            with conn.transaction():
                conn.execute(batch)
        conn.execute("ANALYZE")
        row = conn.execute(
            "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = relnamespace"
            " WHERE relkind = 'r' AND nspname IN ('public', 'sales', 'stock', 'crm')),"
            " (SELECT count(*) FROM pg_constraint WHERE contype = 'f'),"
            " (SELECT count(*) FROM pg_class WHERE relispartition AND relkind = 'r'),"
            " (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = pronamespace"
            "   WHERE nspname IN ('public', 'sales', 'stock', 'crm')),"
            " (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal)"
        ).fetchone()
    assert row is not None
    print(
        f"\n== inspect: {row[0]:,} tables ({row[2]:,} of them partitions), {row[1]:,} foreign"
        f" keys, {row[3]:,} functions, {row[4]:,} triggers"
        f" (schema built in {time.perf_counter() - started:.0f} s;"
        f" load average {os.getloadavg()[0]:.1f})"
    )
    runs = []
    for _ in range(3):
        run = run_client(uuidpk_argv("inspect", "--dsn", dsn, "--all", "--format", "json"))
        runs.append(run)
        # Exit 1 with the document written: a closure has a blocker (the real-like schema's
        # --all plan locks more relations than a default lock table holds). Still a full run.
        if run.returncode not in (0, 1):
            print(f"uuidpk inspect --all --format json FAILED: {run.text()[-600:]}")
            break
    ok = [r for r in runs if r.returncode in (0, 1)]
    if ok:
        seconds = statistics.median(r.seconds for r in ok)
        goal = 3.0 if extras else 2.0
        verdict = "ok" if seconds < goal else f"OVER the {goal:.0f} s goal"
        rss = max(r.rss_mb or 0.0 for r in ok)
        print(
            f"uuidpk inspect --all --format json (subprocess, median of {len(ok)}): "
            f"{seconds:.2f} s ({verdict}), client peak RSS {rss:.0f} MB"
        )
    for label, seconds in inspect_pieces(dsn):
        print(f"  in process: {label:<40} {seconds:7.3f} s")
    print_profile(uuidpk_argv("inspect", "--dsn", dsn, "--all", "--format", "json"))
    cluster.drop_database(name)


def print_profile(argv: list[str], top: int = 12) -> None:
    """Run a uuidpk command once under cProfile; print where its own code spends the time."""
    import pstats
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "profile"
        python, rest = argv[0], argv[1:]
        proc = subprocess.run(
            [python, "-m", "cProfile", "-o", str(out), *rest],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        if proc.returncode != 0 or not out.exists():
            print(f"  (cProfile run failed: {proc.stderr.strip()[-300:]})")
            return
        stats = pstats.Stats(str(out))
        rows = []
        for (filename, line, function), entry in stats.stats.items():  # type: ignore[attr-defined]
            if "/uuidpk/" not in filename:
                continue
            calls, tottime = entry[1], entry[2]
            rows.append((tottime, calls, f"{Path(filename).name}:{line}({function})"))
        total = sum(entry[2] for entry in stats.stats.values())  # type: ignore[attr-defined]
    print(f"  cProfile, uuidpk's own code by self time (run total {total:.1f} s):")
    for tottime, calls, where in sorted(rows, reverse=True)[:top]:
        print(f"    {tottime:7.3f} s  {calls:>7} calls  {where}")


def inspect_pieces(dsn: str) -> list[tuple[str, float]]:
    """The pieces of inspect, timed in this process (best of three)."""
    from uuidpk.blockers import closure_problems, key_problems
    from uuidpk.catalog import read_catalog
    from uuidpk.graph import Graph
    from uuidpk.report import inspect_document

    best: dict[str, float] = {}

    @contextlib.contextmanager
    def timed(label: str) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        best[label] = min(best.get(label, float("inf")), time.perf_counter() - t0)

    for _ in range(3):
        with timed("connect"):
            conn = psycopg.connect(dsn, autocommit=True)
        with conn, timed("catalog.read_catalog"):
            catalog = read_catalog(conn)
        with timed("Graph(catalog)"):
            graph = Graph(catalog)
        with timed("graph.all_keys()"):
            keys = graph.all_keys()
        with timed(f"closures of {len(keys)} keys"):
            seen: set[tuple[int, int]] = set()
            for key in keys:
                node = graph.canon((key.table.oid, key.column.attnum))
                if node not in seen:
                    seen.update(graph.closure(node).nodes)
        with timed("blockers.closure_problems"):
            problems: dict[tuple[int, int], list] = {}
            for key in keys:
                closure = graph.closure(graph.canon((key.table.oid, key.column.attnum)))
                if closure.root not in problems:
                    problems[closure.root] = closure_problems(graph, closure)
        with timed("report.inspect_document"):
            document = inspect_document(
                graph,
                keys,
                lambda key, closure, found=problems: key_problems(key) + found[closure.root],
            )
        with timed("json.dumps"):
            json.dumps(document, indent=2)
    return list(best.items())


# ---------------------------------------------------------------------------------------------
# Main


# Issue 15's scales (cost must grow linearly), and issue 10's two scales for the rows under load.
DEFAULT_SCALES = (100_000, 1_000_000, 3_000_000)
DEFAULT_LOAD_SCALES = (bench_load.DEFAULT_SCALE, 1_000_000)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="uuidpk benchmark: offline conversion vs the physical floor (see docstring)."
    )
    parser.add_argument("--orders", type=int, help="orders (one scale); default 100,000, 1M and 3M")
    parser.add_argument(
        "--scales",
        help="comma-separated order counts, e.g. 100000,1000000 (overrides --orders; 0: none)",
    )
    parser.add_argument(
        "--repeat", type=int, help="runs per method (median); default 1 at >= 1M, else 3"
    )
    parser.add_argument("--only", nargs="+", metavar="METHOD", help="run only these methods")
    parser.add_argument(
        "--keep-server",
        action="store_true",
        help="leave the server (and the templates) running; print how to reach and stop it",
    )
    parser.add_argument(
        "--dsn", help="superuser DSN of an existing server instead of a throwaway one"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra server setting (e.g. wal_level=minimal with max_wal_senders=0)",
    )
    parser.add_argument(
        "--inspect-2000",
        action="store_true",
        help="also time `uuidpk inspect --all` on 2,000 tables and 5,000 foreign keys",
    )
    parser.add_argument(
        "--inspect-real",
        action="store_true",
        help="also time `uuidpk inspect --all` on those tables plus what real schemas have:"
        " 420 partitions, 2,500 functions, 1,200 tables with triggers",
    )
    parser.add_argument("--inspect-tables", type=int, default=2000, help=argparse.SUPPRESS)
    parser.add_argument("--inspect-fks", type=int, default=5000, help=argparse.SUPPRESS)
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="also run apply and apply --verify of the checkout in DIR (uuidpk@base rows)",
    )
    bench_load.add_arguments(parser)
    return parser.parse_args(argv)


def plan_scales(
    args: argparse.Namespace, methods: list[Method], load: bench_load.LoadOptions
) -> dict[int, list[Method]]:
    """Which methods run at which scale. The offline methods at --scales (else --orders, else
    DEFAULT_SCALES); the rows under load at --load-scales, else at the scales given, else at
    DEFAULT_LOAD_SCALES."""
    given = None
    if args.scales is not None:
        given = [int(s.replace("_", "")) for s in args.scales.split(",")]
        given = [n for n in given if n]
    elif args.orders is not None:
        given = [args.orders]
    plain_scales = given if given is not None else list(DEFAULT_SCALES)
    if load.scales is not None:
        load_scales = list(load.scales)
    else:
        load_scales = given if given is not None else list(DEFAULT_LOAD_SCALES)
    plan: dict[int, list[Method]] = {}
    for orders in plain_scales:
        plan.setdefault(orders, []).extend(m for m in methods if not m.under_load)
    for orders in load_scales:
        plan.setdefault(orders, []).extend(m for m in methods if m.under_load)
    return {orders: ms for orders, ms in plan.items() if ms}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    extra = dict(s.split("=", 1) for s in args.set)
    load_options = bench_load.options_from(args)
    methods = available_methods(load_options)
    if args.baseline:
        methods += baseline_methods(args.baseline)
    if args.only:
        unknown = set(args.only) - {m.name for m in methods}
        if unknown:
            names = ", ".join(m.name for m in methods)
            raise SystemExit(f"unknown method(s) {', '.join(sorted(unknown))}; have: {names}")
        methods = [m for m in methods if m.name in args.only]
    else:
        methods = [m for m in methods if m.default]

    started = time.perf_counter()
    cluster = start_cluster(args.dsn, extra)
    if args.keep_server and cluster.owned:
        import atexit

        atexit.unregister(cluster.close)
    try:
        with cluster.connect_admin() as admin:
            settings = show_settings(admin)
        print(
            "uuidpk bench: conversion of public.order_order's key (5 tables), offline and under"
            " load"
        )
        where = "throwaway server (tests/pgutil.py)" if cluster.owned else "server of --dsn"
        print(
            f"server: PostgreSQL {settings.get('server_version')}, {where}, {os.cpu_count()} CPUs"
        )
        print(
            "settings: "
            + ", ".join(f"{k}={v}" for k, v in settings.items() if k != "server_version")
        )
        print(
            "  (a production-like server: durable, shared_buffers 1GB, max_wal_size 4GB, all else"
            " default; uuidpk sets its own maintenance_work_mem, floor and article do not)"
        )
        print(f"methods: {', '.join(m.name for m in methods)}")
        print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        all_results: dict[int, dict[str, Result]] = {}
        for orders, scale_methods in plan_scales(args, methods, load_options).items():
            if all(m.skip for m in scale_methods):
                for m in scale_methods:
                    print(f"\n{orders:,} orders: {m.skip}")
                continue
            log(f"building the template for {orders:,} orders")
            load = build_template(cluster, orders)
            if load is not None:
                log(f"loaded {orders:,} orders in {load:.1f} s")
            repeat = args.repeat or (1 if orders >= 1_000_000 else 3)
            if not args.repeat and all(m.under_load for m in scale_methods):
                repeat = load_options.repeat
            results = bench_scale(cluster, orders, scale_methods, repeat)
            all_results[orders] = results
            print_scale(orders, load, results, load_options)
            if cluster.owned and not args.keep_server:
                cluster.drop_database(template_name(orders))  # disk for the next scale
        if len(all_results) > 1:
            print_memory(all_results)
        if args.inspect_2000:
            bench_inspect(cluster, args.inspect_tables, args.inspect_fks)
        if args.inspect_real:
            bench_inspect(cluster, args.inspect_tables, args.inspect_fks, REAL_EXTRAS)
        print(
            f"\nload average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
            f"total {time.perf_counter() - started:.0f} s"
        )
        failed = any(
            not r.ok_runs and not r.method.skip
            for res in all_results.values()
            for n, r in res.items()
            if n != "(before)"
        )
    finally:
        if args.keep_server and cluster.owned:
            print(f"\nserver kept: {cluster.admin_dsn}")
            print(f"stop it with: {' '.join(cluster._pg_ctl)} stop -D {cluster._data_dir}")
        else:
            cluster.close()
    return 1 if failed else 0


def print_memory(all_results: dict[int, dict[str, Result]]) -> None:
    """Client peak RSS must not grow with the data: the client reads catalogs, never rows."""
    print("\n== client peak RSS by scale (MB)")
    # The scales that ran the offline methods (a scale of rows under load alone has none).
    offline = {
        orders: results
        for orders, results in all_results.items()
        if any(not r.method.under_load for r in results.values())
    }
    if not offline:
        return
    names = [
        n
        for n, r in next(iter(offline.values())).items()
        if n != "(before)" and not r.method.under_load and all(n in res for res in offline.values())
    ]
    print(f"{'method':<15} " + " ".join(f"{o:>12,}" for o in offline))
    for name in names:
        values = [offline[o][name].median("rss_mb") for o in offline]
        print(f"{name:<15} " + " ".join(_fmt(v, "12.1f") for v in values))


if __name__ == "__main__":
    sys.exit(main())
