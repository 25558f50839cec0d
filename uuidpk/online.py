"""Run an online plan: phases, batches, throttling, lock retries, resume, status and abort.

The connection is in autocommit mode: each step opens its own short transaction (or none, for
CREATE INDEX CONCURRENTLY and VALIDATE), and the journal records each step's completion inside
that transaction, so a client killed at any moment leaves a journal that says exactly what
happened. Running the same command again continues from there with the stored statements.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import psycopg
from psycopg import errors as pgerrors
from psycopg import sql

from . import journal, templates
from .advisory import migration_lock
from .errors import BadKey, MigrationFailed, Refused
from .journal import Migration
from .online_fingerprint import OnlineFingerprint
from .ops import Phase
from .planning.online import Kind, OnlinePlan, OnlineStep
from .planning.shadows import IndexShape

PHASES = tuple(p for p in Phase if p is not Phase.OFFLINE)  # the online order


@dataclass(frozen=True)
class Event:
    """What the executor reports: a step starting or done, a batch, a lock retry."""

    kind: str  # step, done, batch, retry, note
    step: str | None
    message: str
    rows: int = 0
    rows_total: int = 0
    rate: float = 0.0  # rows per second, batches only
    eta: float | None = None  # seconds left, batches only
    seconds: float = 0.0


Progress = Callable[[Event], None]


@dataclass(frozen=True)
class Settings:
    until: Phase | None = None  # stop after this phase; running again continues
    key: bytes | None = None  # the kept key (--key-file); None: a random key made in the server
    batch_size: int | None = None  # rows (pages without a key) per batch; None: sized by time
    batch_seconds: float = 0.1  # the time a batch should take (GitLab's budget per query)
    pause: float = 0.0  # seconds between batches
    max_rate: float | None = None  # rows per second, at most
    # A queued lock request holds every later request on its tables behind it (the application
    # waits as long as the request does): the wait of one attempt is the application's stall.
    lock_timeout: float = 0.05  # the first attempt's lock_timeout, in seconds
    lock_timeout_max: float = 0.1  # escalation stops here
    cutover_timeout: float = 60.0  # give up taking one step's locks after this many seconds
    progress: Progress | None = None


@dataclass
class Outcome:
    migration: int
    finished: bool  # every step done
    stopped_after: Phase | None
    cutover_lock_seconds: float | None = None
    steps_run: list[str] = field(default_factory=list)


class LockNotTaken(MigrationFailed):
    """A step's locks could not be had within --cutover-timeout."""


def _say(settings: Settings, event: Event) -> None:
    if settings.progress is not None:
        settings.progress(event)


def apply_online(
    conn: psycopg.Connection,
    plan_for: Callable[[], OnlinePlan],
    settings: Settings,
    selection: Mapping[str, Any] | None = None,
) -> Outcome | None:
    """Start a migration (plan_for() is called only when none is running, under the migration
    lock) or continue the running one, up to settings.until. None when there is nothing to
    convert. `selection`: what the user asked for, stored with a new migration; a running
    migration started for another selection is named instead of continued."""
    with migration_lock(conn):
        migration = journal.current(conn)
        if migration is None:
            plan = plan_for()  # refuses a foreign uuidpk schema before the journal goes there
            if not plan.steps:
                return None
            journal.ensure_tables(conn)
            if selection is not None:
                plan = replace(plan, options={**plan.options, "selection": dict(selection)})
            migration = journal.start(conn, plan)
        elif selection is not None and migration.options.get("selection") != dict(selection):
            keys = ", ".join(migration.options.get("keys", []))
            raise Refused(
                f"an online migration of {keys} is in progress: run the command that started "
                "it to continue it, or `uuidpk abort` it"
            )
        return _run(conn, migration, settings)


def _run(conn: psycopg.Connection, migration: Migration, settings: Settings) -> Outcome:
    outcome = Outcome(migration.id, False, None)
    limit = PHASES.index(settings.until) if settings.until else len(PHASES)
    for step in migration.steps:
        if migration.is_done(step.id):
            continue
        if PHASES.index(step.phase) > limit:
            outcome.stopped_after = settings.until
            return outcome
        _say(settings, Event("step", step.id, f"{step.phase}: {step.id}"))
        started = time.perf_counter()
        locked = _run_step(conn, migration, step, settings)
        seconds = time.perf_counter() - started
        if step.id == "cutover":
            outcome.cutover_lock_seconds = locked
        outcome.steps_run.append(step.id)
        extra = f", locks held {locked * 1000:.0f} ms" if locked is not None else ""
        _say(
            settings,
            Event("done", step.id, f"{step.id} done in {seconds:.2f} s{extra}", seconds=seconds),
        )
    with conn.transaction():
        journal.finish(conn, migration.id, journal.DONE)
    outcome.finished = True
    return outcome


def _run_step(
    conn: psycopg.Connection, migration: Migration, step: OnlineStep, settings: Settings
) -> float | None:
    """Run one step and journal it. Returns how long the step held its locks, for steps run
    in one transaction."""
    started = time.perf_counter()
    try:
        if step.kind in (Kind.TRANSACTION, Kind.KEY):
            return _transaction(conn, migration, step, settings)
        if step.kind is Kind.BACKFILL:
            _backfill(conn, migration, step, settings)
        elif step.kind is Kind.INDEX:
            _index(conn, step)
        elif step.kind is Kind.AUTOCOMMIT:
            for statement in step.statements:
                conn.execute(_text(statement))
        elif step.kind is Kind.PROOF:
            _prove(conn, step)
        with conn.transaction():
            journal.mark_done(conn, migration.id, step.id, time.perf_counter() - started)
    except psycopg.Error as exc:
        raise MigrationFailed(_failure(exc, step)) from None
    return None


def _failure(exc: psycopg.Error, step: OnlineStep) -> str:
    message = _message(exc)
    cutover = PHASES.index(Phase.CUTOVER)
    where = (
        "before the cutover" if PHASES.index(step.phase) < cutover else "at or after the cutover"
    )
    return (
        f"step {step.id} failed: {message}; the steps before it stay done ({where}); "
        "run the same command again to continue"
    )


def _message(exc: psycopg.Error) -> str:
    primary = getattr(exc.diag, "message_primary", None) or str(exc)
    lines = primary.strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _text(statement: str) -> sql.SQL:
    # Stored statements are complete SQL text; sql.SQL keeps psycopg from reading % in them
    # as placeholders when no parameters are passed.
    return sql.SQL(statement)


_KEY_INSERT = templates.statement("online/key_insert.sql").as_string(None)


def _transaction(
    conn: psycopg.Connection, migration: Migration, step: OnlineStep, settings: Settings
) -> float:
    if step.kind is Kind.KEY and _KEY_INSERT in step.statements and settings.key is None:
        raise BadKey("this migration was started with a kept key: give the same --key-file")

    def body() -> None:
        if step.kind is Kind.TRANSACTION:
            # One message (simple query protocol): the locks, taken by the first statement,
            # are held for the server's work, not for a round trip per statement, each of which
            # waits for the client to be scheduled (the cutover's 68 statements at 200,000
            # orders: 63 ms one by one, 20 ms as one message, on a busy 2-core machine). The
            # newline before each ';' ends a trailing line comment.
            conn.execute(_text("\n;\n".join(step.statements)))
            return
        for statement in step.statements:
            if step.kind is Kind.KEY and statement == _KEY_INSERT:
                conn.execute(_text(statement), {"key": settings.key})
            else:
                conn.execute(_text(statement))

    return with_lock_retries(conn, step, settings, body, migration)


def with_lock_retries(
    conn: psycopg.Connection,
    step: OnlineStep,
    settings: Settings,
    body: Callable[[], None],
    migration: Migration | None = None,
) -> float:
    """Run body in a transaction under a short lock_timeout; on a lock timeout (or deadlock)
    roll back, wait with jittered back-off and try again with a somewhat longer timeout, until
    settings.cutover_timeout. A queued ACCESS EXCLUSIVE request blocks every later reader of
    the table, so each wait stays short and the place in the queue is given up instead.
    Returns the seconds from the first statement to COMMIT: PostgreSQL releases the locks as
    it commits, and only then deletes the files of dropped indexes (the commit's reply can
    come much later on big tables; the locks are no longer held then)."""
    deadline = time.monotonic() + settings.cutover_timeout
    timeout = settings.lock_timeout
    attempt = 0
    while True:
        attempt += 1
        try:
            with conn.transaction():
                conn.execute(
                    templates.statement("migrate/set_local.sql").format(
                        name=sql.Identifier("lock_timeout"),
                        value=sql.Literal(f"{max(1, round(timeout * 1000))}ms"),
                    )
                )
                started = time.perf_counter()
                body()
                if migration is not None:
                    journal.mark_done(conn, migration.id, step.id, time.perf_counter() - started)
                held = time.perf_counter() - started
            return held
        except (pgerrors.LockNotAvailable, pgerrors.DeadlockDetected) as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LockNotTaken(
                    f"step {step.id}: could not take its locks in {settings.cutover_timeout:g} s "
                    f"({attempt} attempts; last: {_message(exc)}); nothing of this "
                    "step happened; run the same command again when the database is quieter"
                ) from None
            pause = min(left, min(0.5, 0.02 * 2 ** min(attempt, 5)) * random.uniform(0.5, 1.5))
            _say(
                settings,
                Event(
                    "retry",
                    step.id,
                    f"{step.id}: lock not available, retry {attempt} in {pause * 1000:.0f} ms",
                ),
            )
            time.sleep(pause)
            timeout = min(settings.lock_timeout_max, timeout * 1.5)


def _backfill(
    conn: psycopg.Connection, migration: Migration, step: OnlineStep, settings: Settings
) -> None:
    state = journal.backfill_state(conn, migration.id, step.id)
    if state is None:
        # The bound is read now that the trigger exists (expand committed it), and kept: a
        # resumed backfill ends where the first one would have.
        with conn.transaction():
            assert step.bound is not None
            row = conn.execute(_text(step.bound)).fetchone()
            bound = None if row is None else row[0]
            state = journal.backfill_start(conn, migration.id, step.id, bound, step.rows)
    if state.bound is None:
        return
    high_water = state.high_water
    done_rows, seconds_total = state.rows_done, state.seconds
    size = settings.batch_size or (10 if step.by_pages else 1000)
    batch_sql = _text(step.statements[0])
    while not (step.by_pages and high_water is not None and int(high_water) >= int(state.bound)):
        result: list[tuple[str | None, int]] = []
        began = time.perf_counter()
        with_lock_retries(
            conn,
            step,
            _batch_settings(settings),
            partial(
                _batch, conn, migration, step, batch_sql, high_water, state.bound, size, result
            ),
        )
        row = result[-1]
        elapsed = time.perf_counter() - began
        if not step.by_pages and row[1] == 0:
            break
        high_water = row[0]
        done_rows += row[1]
        seconds_total += elapsed
        rate = done_rows / seconds_total if seconds_total > 0 else 0.0
        left = max(step.rows - done_rows, 0)
        _say(
            settings,
            Event(
                "batch",
                step.id,
                f"{step.id}: {done_rows} rows",
                rows=done_rows,
                rows_total=max(step.rows, done_rows),
                rate=rate,
                eta=left / rate if rate > 0 else None,
                seconds=elapsed,
            ),
        )
        if settings.batch_size is None and elapsed > 0:
            # Aim at batch_seconds per batch; change by at most a factor of 2 at a time.
            factor = max(0.5, min(2.0, settings.batch_seconds / elapsed))
            size = max(10 if not step.by_pages else 1, min(100_000, int(size * factor)))
        wait = settings.pause
        if settings.max_rate and row[1]:
            wait = max(wait, row[1] / settings.max_rate - elapsed)
        if wait > 0:
            time.sleep(wait)


def _batch(
    conn: psycopg.Connection,
    migration: Migration,
    step: OnlineStep,
    statement: sql.SQL,
    after: str | None,
    bound: str | None,
    size: int,
    result: list[tuple[str | None, int]],
) -> None:
    """One batch and its bookkeeping, in the caller's transaction."""
    began = time.perf_counter()
    if step.replica:
        conn.execute(templates.statement("online/set_replica.sql"))
    # Never a server-side prepared statement: a generic plan cannot fold the first batch's
    # "after IS NULL" and would scan the key from the start in every batch.
    row = conn.execute(
        statement, {"after": after, "bound": bound, "size": size}, prepare=False
    ).fetchone()
    assert row is not None
    high_water, rows = row[0], int(row[1])
    if rows or step.by_pages:
        journal.backfill_batch(
            conn, migration.id, step.id, high_water, rows, time.perf_counter() - began
        )
    result.append((high_water, rows))


def _batch_settings(settings: Settings) -> Settings:
    # A batch waiting on an application's row lock holds the rows it already updated: keep
    # the wait short (an application's transaction holds its rows for milliseconds) and start
    # the batch again rather than stall the application behind it.
    return Settings(
        lock_timeout=max(settings.lock_timeout, 0.1),
        lock_timeout_max=max(settings.lock_timeout_max, 0.1),
        cutover_timeout=max(settings.cutover_timeout, 60.0),
        progress=settings.progress,
    )


def _index(conn: psycopg.Connection, step: OnlineStep) -> None:
    assert step.done is not None
    row = conn.execute(_text(step.done)).fetchone()
    if row is not None and row[0]:
        return  # built by an earlier run that stopped before journaling it
    # An interrupted CREATE INDEX CONCURRENTLY leaves the index INVALID: maintained on every
    # write, never used, and in the way of the same name. Drop it (if there) and build again.
    for statement in step.undo:
        conn.execute(_text(statement))
    conn.execute(_text(step.statements[0]))


def _prove(conn: psycopg.Connection, step: OnlineStep) -> None:
    """Every shadow equals the derivation of its old value, in one snapshot that blocks no
    writer (ACCESS SHARE only). With the twin foreign keys validated, the relations the new
    columns describe are those of the old ones. A proof that holds records, in the same
    snapshot, the fingerprint `verify` compares with (step.record, online_fingerprint.py)."""
    bad = []
    snapshot = "fingerprint_snapshot" if step.record else "proof_snapshot"
    with conn.transaction():
        conn.execute(templates.statement(f"online/{snapshot}.sql"))
        for label, statement in zip(step.labels, step.statements, strict=True):
            row = conn.execute(_text(statement)).fetchone()
            if row and row[0]:
                bad.append(f"{label} ({row[0]} rows)")
        for statement in step.record if not bad else ():
            conn.execute(_text(statement))
    if bad:
        raise MigrationFailed(
            "the shadow columns do not match the old ones in " + ", ".join(bad) + "; nothing "
            "was switched: `uuidpk abort`, then start again"
        )


# -- status and abort ----------------------------------------------------------------------
@dataclass(frozen=True)
class TableProgress:
    step: str
    rows_done: int
    rows_total: int
    batches: int
    done: bool


@dataclass(frozen=True)
class Status:
    migration: int
    state: str  # running, done, aborted
    phase: Phase | None  # the phase of the next step; None when finished
    next_step: str | None
    steps_done: int
    steps_total: int
    backfills: tuple[TableProgress, ...]
    options: dict[str, object]
    fingerprint: OnlineFingerprint | None = None  # recorded at the proof


def status(conn: psycopg.Connection) -> Status | None:
    """Where the latest online migration stands, or None when there never was one."""
    migration = journal.last(conn)
    if migration is None:
        return None
    following = migration.next_step if migration.state == journal.RUNNING else None
    progress = tuple(
        TableProgress(
            b.step_id,
            b.rows_done,
            max(b.rows_total, b.rows_done),
            b.batches,
            migration.is_done(b.step_id),
        )
        for b in journal.backfills(conn, migration.id)
    )
    return Status(
        migration.id,
        migration.state,
        following.phase if following else None,
        following.id if following else None,
        len(migration.done),
        len(migration.steps),
        progress,
        migration.options,
    )


def abort(conn: psycopg.Connection, settings: Settings | None = None) -> int:
    """Undo the running migration before its cutover: every trigger, function, index,
    constraint and column it added, in reverse order; the journal keeps it as aborted.
    Returns the migration's id. After the cutover, Refused saying what going back takes."""
    settings = settings or Settings()
    with migration_lock(conn):
        migration = journal.current(conn)
        if migration is None:
            raise Refused("no online migration is in progress")
        if migration.is_done("cutover"):
            raise Refused(
                "the cutover is done: the keys are uuid columns now and the application may have "
                "written new rows with them; going back takes a conversion back from a backup "
                "(or by hand from the old columns, which stay until the contract phase); "
                "run the same apply command again to finish"
            )
        for step in reversed(migration.steps):
            for statement in step.undo:
                _undo(conn, step, statement, settings)
        with conn.transaction():
            journal.finish(conn, migration.id, journal.ABORTED)
        return migration.id


def _undo(conn: psycopg.Connection, step: OnlineStep, statement: str, settings: Settings) -> None:
    if "CONCURRENTLY" in statement:
        conn.execute(_text(statement))  # not in a transaction block; waits for no lock queue
        return

    def run() -> None:
        conn.execute(_text(statement))

    with_lock_retries(conn, step, settings, run)


def read_index_shapes(conn: psycopg.Connection, oids: Sequence[int]) -> dict[int, IndexShape]:
    """What index_shapes.sql says about these indexes (for plan_online)."""
    rows = conn.execute(
        templates.statement("online/index_shapes.sql"), {"oids": list(oids)}
    ).fetchall()
    shapes = {}
    for row in rows:
        oid, method, key_count, columns, opclasses, collations, options, predicate = row[:8]
        exprs, nulls_not_distinct, names = row[8], bool(row[9]), row[10]
        shapes[int(oid)] = IndexShape(
            int(oid),
            method,
            int(key_count),
            tuple(columns),
            tuple(o or "" for o in opclasses[:key_count]),
            tuple(c or "" for c in collations[:key_count]),
            tuple(options[:key_count]),
            predicate,
            tuple(e or "" for e in exprs),
            nulls_not_distinct,
            tuple(names),
        )
    return shapes


def read_index_partitions(
    conn: psycopg.Connection, oids: Sequence[int]
) -> dict[int, tuple[tuple[int, str], ...]]:
    """What index_partitions.sql says about these indexes of partitioned tables."""
    rows = conn.execute(
        templates.statement("online/index_partitions.sql"), {"oids": list(oids)}
    ).fetchall()
    found: dict[int, list[tuple[int, str]]] = {}
    for parent, table_oid, name in rows:
        found.setdefault(int(parent), []).append((int(table_oid), name))
    return {k: tuple(v) for k, v in found.items()}


def read_update_triggers(
    conn: psycopg.Connection, table_oids: Sequence[int]
) -> dict[int, list[tuple[str, str]]]:
    """Per table, the (name, tgenabled) of triggers a backfill UPDATE would fire."""
    rows = conn.execute(
        templates.statement("online/update_triggers.sql"), {"tables": list(table_oids)}
    ).fetchall()
    found: dict[int, list[tuple[str, str]]] = {}
    for table_oid, name, enabled in rows:
        found.setdefault(int(table_oid), []).append((name, enabled))
    return found


def may_set_replica(conn: psycopg.Connection) -> bool:
    """Whether this role may SET session_replication_role (superuser; 15+: a granted SET)."""
    row = conn.execute(templates.statement("online/may_set_replica.sql")).fetchone()
    if row and row[0]:
        return True
    if conn.info.server_version >= 150000:
        row = conn.execute(templates.statement("online/may_set_replica_15.sql")).fetchone()
        return bool(row and row[0])
    return False


def read_column_grants(
    conn: psycopg.Connection, table_oids: Sequence[int]
) -> list[tuple[int, int, str, str, bool]]:
    """(table oid, attnum, grantee, privilege, grantable) of every column privilege there."""
    rows = conn.execute(
        templates.statement("online/column_grants.sql"), {"tables": list(table_oids)}
    ).fetchall()
    return [(int(t), int(a), g, p, bool(o)) for t, a, g, p, o in rows]
