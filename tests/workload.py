"""An application that keeps reading and writing the sample shop while its key is converted.

    load = Workload(dsn, workers=4, rate=25)    # per worker: 25 transactions a second at most
    load.start()
    ...                                         # the migration (or nothing), while load runs
    load.stop()
    report = load.report(window=(t0, t1))       # t0, t1 from load.now()

Each worker is a thread with its own connection (psycopg, autocommit off) to the shop of
uuidpk.sample, loopback only. One transaction:

    1. read a pool order by its natural key (number): its id, whatever the key's type
    2. INSERT an order that replaces it (original_id = that id) ... RETURNING id
    3. INSERT a line of the new order with the id step 2 returned ... RETURNING id
    4. UPDATE the pool order by its key: total + 1 ... RETURNING total
    5. read the new order by key, the new order's lines, the pool order's lines, invoices and
       payment (children by parent); the line of step 3 must be among the new order's lines
    6. COMMIT

No id is ever computed or kept across transactions: ids come from the server in the same
transaction (an int before the cutover, a uuid after). New rows carry client-made natural keys
(order number, line sku) so their identity survives the key change. Each worker updates only
its own share of the pool, so the last total it saw committed is the one the row must keep.

After the run, check_lost() finds by natural key every committed order, its line, its
reference to the pool order and each pool order's last committed total: anything missing or
pointing elsewhere is lost.

psycopg prepares a statement on its fifth execution. When the key's type changes, a prepared
statement whose result has that column fails once with "cached plan must not change result
type" (SQLSTATE 0A000); psycopg deallocates its statements on ROLLBACK, so the worker rolls back
and runs the transaction again, once, as an application that re-prepares would. Such retries are
counted apart; a retry that fails too is a failed transaction.
"""

from __future__ import annotations

import bisect
import itertools
import random
import secrets
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict

T = TypeVar("T")

# "cached plan must not change result type": the server's plancache refuses to run a prepared
# statement whose result row changed shape (here: the key's column type) since it was prepared.
REPLAN_SQLSTATE = "0A000"
REPLAN_MESSAGE = "cached plan must not change result type"

# A commit whose outcome the client cannot know (the connection broke while it waited).
IN_DOUBT = "in-doubt"
# A read inside the transaction that did not see what the transaction wrote.
BAD_READ = "bad-read"
# No sqlstate: the connection failed (or could not be made).
CONNECTION = "connection"

_POOL_SQL = """
SELECT number FROM public.order_order
WHERE number LIKE 'O-%%'
ORDER BY hashtext(number || %s)
LIMIT %s
"""
_READ_POOL_ORDER = "SELECT id FROM public.order_order WHERE number = %s"
_INSERT_ORDER = """
INSERT INTO public.order_order (number, created_at, status, total, original_id)
VALUES (%s, now(), 'unfulfilled', %s, %s)
RETURNING id
"""
_INSERT_LINE = """
INSERT INTO public.order_orderline (order_id, sku, quantity, unit_price)
VALUES (%s, %s, 1, %s)
RETURNING id
"""
_UPDATE_POOL_ORDER = """
UPDATE public.order_order SET total = total + 1, status = 'partially fulfilled'
WHERE id = %s
RETURNING total
"""
_READ_ORDER = "SELECT number, status, total FROM public.order_order WHERE id = %s"
_READ_LINES = "SELECT sku, quantity FROM public.order_orderline WHERE order_id = %s"
_READ_INVOICES = "SELECT number FROM public.invoice_invoice WHERE order_id = %s"
_READ_PAYMENT = "SELECT reference FROM public.payment_payment WHERE order_id = %s"

# Lost-row checks, by natural keys only (no id is compared: ids change type at the cutover).
_CHECK_ORDERS = """
SELECT o.number, r.number
FROM public.order_order AS o
LEFT JOIN public.order_order AS r ON r.id = o.original_id
WHERE o.number = ANY(%s)
"""
_CHECK_LINES = """
SELECT o.number, l.sku
FROM public.order_order AS o
JOIN public.order_orderline AS l ON l.order_id = o.id
WHERE o.number = ANY(%s)
"""
_CHECK_TOTALS = "SELECT number, total FROM public.order_order WHERE number = ANY(%s)"


@dataclass(frozen=True)
class Tx:
    """One application transaction as the client saw it (perf_counter seconds)."""

    worker: int
    start: float
    end: float
    ok: bool
    error: str | None = None  # SQLSTATE, or IN_DOUBT / BAD_READ / CONNECTION
    replanned: bool = False  # failed once with REPLAN_MESSAGE, then ran again

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Committed:
    """What one committed transaction wrote, by natural key (ids as RETURNING gave them)."""

    number: str  # the new order
    order_id: Any
    sku: str  # its line
    line_id: Any
    original: str  # the pool order it replaces (original_id)


@dataclass
class _Worker:
    index: int
    pool: list[str]
    txs: list[Tx] = field(default_factory=list)
    committed: list[Committed] = field(default_factory=list)
    totals: dict[str, Decimal] = field(default_factory=dict)  # pool order -> last committed
    doubtful: set[str] = field(default_factory=set)  # pool orders whose last update is unknown


@dataclass(frozen=True)
class Loss:
    """Committed work the database no longer shows."""

    orders: int = 0  # committed new orders that are gone
    lines: int = 0  # committed lines gone or now under another order
    references: int = 0  # new orders whose original_id no longer leads to their pool order
    updates: int = 0  # pool orders whose total is not the last one committed
    checked_orders: int = 0
    checked_updates: int = 0

    @property
    def total(self) -> int:
        return self.orders + self.lines + self.references + self.updates


@dataclass(frozen=True)
class Report:
    """Figures of one run (seconds; throughput in transactions per second)."""

    ok: int
    failed: int
    errors: dict[str, int]  # error -> count, failed transactions only
    replanned: int  # transactions that met REPLAN_MESSAGE once and then went on
    lost: Loss
    longest_stall: float  # largest gap between two successes of one worker (window edges too)
    global_stall: float  # largest gap with no success of any worker
    longest_transaction: float
    p50: float | None
    p99: float | None
    throughput: float
    baseline_throughput: float | None
    window: tuple[float, float]

    @property
    def share(self) -> float | None:
        """Throughput in the window as a share of the baseline's."""
        if not self.baseline_throughput:
            return None
        return self.throughput / self.baseline_throughput

    def lines(self) -> list[str]:
        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value * 1000:.0f} ms"

        errors = ", ".join(f"{k} x{v}" for k, v in sorted(self.errors.items())) or "none"
        share = "-" if self.share is None else f"{self.share:.0%}"
        return [
            f"transactions: {self.ok} ok, {self.failed} failed ({errors}), "
            f"{self.replanned} re-prepared after {REPLAN_MESSAGE!r}",
            f"lost: {self.lost.total} (orders {self.lost.orders}, lines {self.lost.lines}, "
            f"references {self.lost.references}, updates {self.lost.updates}; checked "
            f"{self.lost.checked_orders} orders, {self.lost.checked_updates} updated orders)",
            f"longest stall: {ms(self.longest_stall)} per worker, {ms(self.global_stall)} for "
            f"all workers; longest transaction {ms(self.longest_transaction)}",
            f"latency: p50 {ms(self.p50)}, p99 {ms(self.p99)}; throughput "
            f"{self.throughput:.0f}/s, {share} of the baseline",
        ]


def _sqlstate(exc: BaseException) -> str:
    return getattr(exc, "sqlstate", None) or CONNECTION


def _is_replan(exc: BaseException) -> bool:
    return _sqlstate(exc) == REPLAN_SQLSTATE and REPLAN_MESSAGE in str(exc)


class Workload:
    """A concurrent application on the shop at `dsn` (see the module's docstring).

    Bounded: it stops by itself after `duration` seconds or `max_transactions` attempts (all
    workers together), whichever comes first, or when stop() is called. `rate` caps each
    worker's transactions per second (closed loop: a late worker does not catch up, as a
    user who waited does not click twice); None runs flat out. Each statement is cancelled by
    the server after `statement_timeout`, so a worker never waits longer than that on a lock.
    """

    def __init__(
        self,
        dsn: str,
        *,
        workers: int = 4,
        duration: float = 60.0,
        max_transactions: int | None = None,
        rate: float | None = None,
        pool: int = 400,
        statement_timeout: str = "120s",
        seed: int = 1,
    ) -> None:
        host = str(conninfo_to_dict(dsn).get("host") or "")
        if host not in ("", "localhost", "127.0.0.1", "::1") and not host.startswith("/"):
            raise ValueError(f"the workload runs on loopback only, not against host {host!r}")
        self.dsn = dsn
        self.workers = workers
        self.duration = duration
        self.max_transactions = max_transactions
        self.rate = rate
        self.pool_size = pool
        self.statement_timeout = statement_timeout
        self.seed = seed
        # A run's natural keys: unique across runs on the same database.
        self.prefix = f"L{secrets.token_hex(3)}"
        self.started: float | None = None
        self.stopped: float | None = None
        self._deadline = float("inf")
        self._stop = threading.Event()
        self._attempts = 0
        self._count_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._workers: list[_Worker] = []
        self._crashes: list[BaseException] = []

    @staticmethod
    def now() -> float:
        return time.perf_counter()

    # -- running -------------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(
            self.dsn,
            autocommit=False,
            application_name="uuidpk-workload",
            options=f"-c statement_timeout={self.statement_timeout}",
            connect_timeout=10,
        )

    def start(self) -> None:
        """Pick the pool, connect every worker, start them together; returns at once."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            numbers = [
                row[0]
                for row in conn.execute(_POOL_SQL, (str(self.seed), self.pool_size)).fetchall()
            ]
        if len(numbers) < self.workers:
            raise ValueError(f"the shop has {len(numbers)} orders for {self.workers} workers")
        connections = [self._connect() for _ in range(self.workers)]
        self._workers = [_Worker(i, numbers[i :: self.workers]) for i in range(self.workers)]
        self.started = self.now()
        self._deadline = self.started + self.duration
        for worker, conn in zip(self._workers, connections, strict=True):
            thread = threading.Thread(
                target=self._run_worker, args=(worker, conn), name=f"workload-{worker.index}"
            )
            thread.daemon = True
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Ask every worker to finish its transaction and stop; wait for them."""
        self._stop.set()
        self.wait(timeout)

    def wait(self, timeout: float | None = None) -> None:
        """Wait until every worker has stopped (by itself, or after stop())."""
        for thread in self._threads:
            thread.join(timeout)
        if any(thread.is_alive() for thread in self._threads):
            raise RuntimeError("workload workers did not stop in time")
        if self.stopped is None:
            self.stopped = self.now()  # the run ends when its last transaction does
        if self._crashes:
            raise RuntimeError(f"a workload worker crashed: {self._crashes[0]!r}")

    def _claim(self) -> bool:
        """May one more transaction start? (the run's bounds, checked between transactions)"""
        if self._stop.is_set() or self.now() >= self._deadline:
            return False
        with self._count_lock:
            if self.max_transactions is not None and self._attempts >= self.max_transactions:
                return False
            self._attempts += 1
            return True

    def _run_worker(self, worker: _Worker, conn: psycopg.Connection) -> None:
        rnd = random.Random(self.seed * 1000 + worker.index)
        interval = 1.0 / self.rate if self.rate else 0.0
        seq = 0
        try:
            while self._claim():
                seq += 1
                began = self.now()
                if conn.closed or conn.broken:
                    try:
                        conn = self._connect()
                    except psycopg.OperationalError:
                        worker.txs.append(Tx(worker.index, began, self.now(), False, CONNECTION))
                        time.sleep(0.1)
                        continue
                conn = self._transaction(worker, conn, rnd, seq, began)
                pause = interval - (self.now() - began)
                if worker.txs and not worker.txs[-1].ok:
                    pause = max(pause, 0.01)  # do not spin on an error that persists
                if pause > 0:
                    self._stop.wait(pause)
        except BaseException as exc:  # reported by wait()
            self._crashes.append(exc)
        finally:
            conn.close()

    def _transaction(
        self,
        worker: _Worker,
        conn: psycopg.Connection,
        rnd: random.Random,
        seq: int,
        began: float,
    ) -> psycopg.Connection:
        original = rnd.choice(worker.pool)
        number = f"{self.prefix}-{worker.index}-{seq:07d}"
        sku = f"{number}-line"
        replanned = False
        for attempt in (1, 2):
            committing = False
            try:
                done = self._statements(conn, number, sku, original)
                if done is None:
                    conn.rollback()
                    worker.txs.append(
                        Tx(worker.index, began, self.now(), False, BAD_READ, replanned)
                    )
                    return conn
                committing = True
                conn.commit()
            except psycopg.Error as exc:
                end = self.now()
                if committing and (conn.broken or not getattr(exc, "sqlstate", None)):
                    worker.doubtful.add(original)
                    worker.txs.append(Tx(worker.index, began, end, False, IN_DOUBT, replanned))
                    return conn
                if not conn.broken:
                    conn.rollback()  # psycopg deallocates its prepared statements here
                if attempt == 1 and _is_replan(exc):
                    replanned = True
                    continue
                worker.txs.append(Tx(worker.index, began, end, False, _sqlstate(exc), replanned))
                return conn
            order_id, line_id, total = done
            worker.committed.append(Committed(number, order_id, sku, line_id, original))
            worker.totals[original] = total
            worker.doubtful.discard(original)
            worker.txs.append(Tx(worker.index, began, self.now(), True, None, replanned))
            return conn
        raise AssertionError("unreachable")

    @staticmethod
    def _statements(
        conn: psycopg.Connection, number: str, sku: str, original: str
    ) -> tuple[Any, Any, Decimal] | None:
        """The transaction's statements, up to its commit; None when a read missed what the
        transaction just wrote (then it rolls back: an application would not commit it)."""
        with conn.cursor() as cur:
            row = cur.execute(_READ_POOL_ORDER, (original,)).fetchone()
            if row is None:
                return None
            original_id = row[0]
            row = cur.execute(_INSERT_ORDER, (number, Decimal("9.99"), original_id)).fetchone()
            assert row is not None
            order_id = row[0]
            row = cur.execute(_INSERT_LINE, (order_id, sku, Decimal("9.99"))).fetchone()
            assert row is not None
            line_id = row[0]
            row = cur.execute(_UPDATE_POOL_ORDER, (original_id,)).fetchone()
            if row is None:
                return None
            total = row[0]
            seen = cur.execute(_READ_ORDER, (order_id,)).fetchone()
            lines = cur.execute(_READ_LINES, (order_id,)).fetchall()
            cur.execute(_READ_LINES, (original_id,)).fetchall()
            cur.execute(_READ_INVOICES, (original_id,)).fetchall()
            cur.execute(_READ_PAYMENT, (original_id,)).fetchall()
            if seen is None or seen[0] != number or lines != [(sku, 1)]:
                return None
        return order_id, line_id, total

    # -- results -------------------------------------------------------------------------------

    @property
    def transactions(self) -> list[Tx]:
        return sorted((tx for w in self._workers for tx in w.txs), key=lambda tx: tx.end)

    @property
    def committed(self) -> list[Committed]:
        return [c for w in self._workers for c in w.committed]

    def check_lost(self, conn: psycopg.Connection) -> Loss:
        """Look every committed row up by natural key (run after stop())."""
        committed = self.committed
        numbers = [c.number for c in committed]
        originals: dict[str, str | None] = dict(conn.execute(_CHECK_ORDERS, (numbers,)).fetchall())
        pairs = set(conn.execute(_CHECK_LINES, (numbers,)).fetchall())
        expected = {
            number: total
            for w in self._workers
            for number, total in w.totals.items()
            if number not in w.doubtful
        }
        totals: dict[str, Decimal] = dict(conn.execute(_CHECK_TOTALS, (list(expected),)).fetchall())
        return Loss(
            orders=sum(1 for c in committed if c.number not in originals),
            lines=sum(1 for c in committed if (c.number, c.sku) not in pairs),
            references=sum(
                1 for c in committed if c.number in originals and originals[c.number] != c.original
            ),
            updates=sum(1 for number, total in expected.items() if totals.get(number) != total),
            checked_orders=len(committed),
            checked_updates=len(expected),
        )

    def report(
        self,
        conn: psycopg.Connection | None = None,
        *,
        window: tuple[float, float] | None = None,
        baseline: tuple[float, float] | None = None,
    ) -> Report:
        """Figures for `window` (default: the whole run); lost rows checked through `conn`.

        Counts, errors and latencies are of the transactions that ended in the window; stalls
        are measured from the window's start to its end, so a worker blocked across an edge
        shows the part inside. `baseline` (e.g. the seconds before a migration) gives the
        throughput share.
        """
        if self.started is None or self.stopped is None:
            raise RuntimeError("report() needs a run that was started and stopped")
        lo, hi = window if window is not None else (self.started, self.stopped)
        txs = [tx for tx in self.transactions if lo <= tx.end <= hi]
        ok = [tx for tx in txs if tx.ok]
        failed = [tx for tx in txs if not tx.ok]
        latencies = sorted(tx.seconds for tx in ok)
        return Report(
            ok=len(ok),
            failed=len(failed),
            errors=dict(Counter(tx.error or "?" for tx in failed)),
            replanned=sum(1 for tx in ok if tx.replanned),
            lost=self.check_lost(conn) if conn is not None else Loss(),
            longest_stall=max(
                (
                    _longest_gap([tx.end for tx in ok if tx.worker == w], lo, hi)
                    for w in range(self.workers)
                ),
                default=hi - lo,
            ),
            global_stall=_longest_gap([tx.end for tx in ok], lo, hi),
            longest_transaction=self._longest_transaction(lo, hi),
            p50=_percentile(latencies, 0.50),
            p99=_percentile(latencies, 0.99),
            throughput=len(ok) / (hi - lo) if hi > lo else 0.0,
            baseline_throughput=self.throughput(*baseline) if baseline is not None else None,
            window=(lo, hi),
        )

    def throughput(self, lo: float, hi: float) -> float:
        """Successful transactions per second that ended in [lo, hi]."""
        ends = [tx.end for tx in self.transactions if tx.ok]
        count = bisect.bisect_right(ends, hi) - bisect.bisect_left(ends, lo)
        return count / (hi - lo) if hi > lo else 0.0

    def _longest_transaction(self, lo: float, hi: float) -> float:
        """The longest transaction overlapping the window, cut to it (one still running at
        the window's end counts to there)."""
        longest = 0.0
        for tx in self.transactions:
            if tx.end >= lo and tx.start <= hi:
                longest = max(longest, min(tx.end, hi) - max(tx.start, lo))
        return longest


def _longest_gap(ends: Sequence[float], lo: float, hi: float) -> float:
    points = [lo, *sorted(e for e in ends if lo <= e <= hi), hi]
    return max(b - a for a, b in itertools.pairwise(points))


def _percentile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile of sorted values (linear interpolation between the nearest ranks)."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


@contextmanager
def running(load: Workload) -> Iterator[Workload]:
    """Start the load; stop it however the block ends."""
    load.start()
    try:
        yield load
    finally:
        # A worker finishes its transaction first, each statement within statement_timeout.
        load.stop(timeout=600.0)


@dataclass(frozen=True)
class UnderLoad:
    """A migration run under load: its result, the report of its window and of the run."""

    result: Any
    load: Workload
    migration: Report  # the window of the migration, baseline before it
    whole: Report  # the whole run, with the lost-row check
    seconds: float  # the migration's wall time


def run_under_load(
    dsn: str,
    migrate: Callable[[], T],
    *,
    baseline: float = 10.0,
    after: float = 3.0,
    **options: Any,
) -> UnderLoad:
    """`baseline` seconds of load alone, then `migrate()` under it, then `after` seconds more.

    The workload's own time bound is set from these (plus an hour for the migration), so the
    load never stops before the migration ends. Lost rows are checked once the load stopped.
    """
    options.setdefault("duration", baseline + after + 3600.0)
    load = Workload(dsn, **options)
    with running(load):
        time.sleep(baseline)
        t0 = load.now()
        result = migrate()
        t1 = load.now()
        time.sleep(after)
    with psycopg.connect(dsn, autocommit=True) as conn:
        whole = load.report(conn)
    assert load.started is not None
    migration = load.report(window=(t0, t1), baseline=(load.started, t0))
    return UnderLoad(result, load, migration, whole, t1 - t0)
