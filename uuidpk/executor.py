"""Run a plan. Offline: one transaction, all or nothing; `apply` executes exactly the
statements `generate` prints. A listener (progress.py) hears each step and each table rewrite
as it starts, and how long the tables stayed locked."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from .errors import MigrationFailed, Refused, primary_message
from .model import QualifiedName
from .ops import AlterColumns, LockLevel, Plan
from .progress import Event, Listener
from .render import as_text, executable, render_op
from .safe_text import shorten_statement

Hook = Callable[[psycopg.Connection], None]


@dataclass(frozen=True)
class StepTiming:
    name: str
    seconds: float
    statements: int
    lock: LockLevel | None = None  # the strongest lock the step took


@dataclass(frozen=True)
class Execution:
    """What ran: each step's time, and how long the plan held its locks: from the step that
    takes them to the end of the commit (or rollback), fingerprint and check included. That
    is the downtime the application saw."""

    timings: tuple[StepTiming, ...]
    locked_seconds: float | None
    seconds: float


class _DryRun(Exception):
    pass


def _silent(_: Event) -> None:
    pass


def apply_offline(
    conn: psycopg.Connection,
    plan: Plan,
    *,
    dry_run: bool = False,
    before: Hook | None = None,
    after: Hook | None = None,
    listener: Listener = _silent,
    sizes: dict[QualifiedName, int] | None = None,
) -> Execution:
    """Run every step in one transaction. Any error rolls everything back and raises
    MigrationFailed; so does a dropped connection (the server rolls back on its own).

    `before` runs once the plan holds its locks (after the step that takes them, before any
    change): a fingerprint taken earlier could miss rows written in between. `after` runs
    after the last step, before commit. `sizes` (bytes per table) let the listener show how
    far a step's table rewrites got."""
    # One transaction cannot hold a step that PostgreSQL refuses inside a transaction block
    # (CREATE INDEX CONCURRENTLY): refuse the plan before anything runs.
    outside = [step.id for step in plan.steps if not step.transactional]
    if outside:
        raise Refused(
            f"step {outside[0]} cannot run inside a transaction: this plan is not for apply_offline"
        )
    timings: list[StepTiming] = []
    statement: sql.Composable | None = None
    sizes = sizes or {}
    started = time.perf_counter()
    locked_at: float | None = None
    rendered = [(step, [(op, list(render_op(op))) for op in step.ops]) for step in plan.steps]
    total = len(rendered)
    listener(Event("start", steps=total))
    outcome = "rolled_back"
    try:
        with conn.transaction():
            for index, (step, ops) in enumerate(rendered, 1):
                count = sum(len(statements) for _, statements in ops)
                listener(Event("step", step.name, index, total, count))
                if step.takes_locks and locked_at is None:
                    locked_at = time.perf_counter()
                step_started = time.perf_counter()
                rewrites = [op.table for op, _ in ops if isinstance(op, AlterColumns)]
                step_bytes = sum(sizes.get(t, 0) for t in rewrites)
                done = 0
                for op, statements in ops:
                    if isinstance(op, AlterColumns):
                        listener(
                            Event(
                                "table",
                                step.name,
                                index,
                                total,
                                table=str(op.table),
                                bytes=sizes.get(op.table, 0),
                                bytes_done=done,
                                bytes_total=step_bytes,
                            )
                        )
                        done += sizes.get(op.table, 0)
                    for statement in statements:
                        conn.execute(*executable(statement))  # type: ignore[call-overload]
                seconds = time.perf_counter() - step_started
                timings.append(StepTiming(step.name, seconds, count, step.lock))
                listener(Event("step_done", step.name, index, total, count, seconds=seconds))
                if before is not None and step.takes_locks:
                    statement = None
                    before(conn)
            statement = None
            if after is not None:
                after(conn)
            if dry_run:
                raise _DryRun
        outcome = "committed"
    except _DryRun:
        pass
    except psycopg.Error as exc:
        raise MigrationFailed(_describe(exc, conn, statement)) from None
    finally:
        # The locks end with the transaction: after the commit or the rollback.
        now = time.perf_counter()
        locked = None if locked_at is None else now - locked_at
        listener(Event(outcome, seconds=locked))
    return Execution(tuple(timings), locked, time.perf_counter() - started)


def _describe(
    exc: psycopg.Error, conn: psycopg.Connection, statement: sql.Composable | None
) -> str:
    message = primary_message(exc)
    if conn.closed or exc.sqlstate is None or exc.sqlstate.startswith("08"):
        return (
            f"connection lost ({message}); the server rolled the transaction back, nothing changed"
        )
    where = ""
    if statement is not None:
        text = as_text(statement, None)
        where = f" in: {shorten_statement(text)}"
    return f"{message}{where}; rolled back, nothing changed"
