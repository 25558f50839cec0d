"""Run a plan. Offline: one transaction, all or nothing; `apply` executes exactly the
statements `generate` prints."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from .errors import MigrationFailed, Refused, primary_message
from .ops import LockLevel, Plan
from .render import as_text, executable, plan_sql
from .safe_text import shorten_statement

Progress = Callable[[str], None]
Hook = Callable[[psycopg.Connection], None]


@dataclass(frozen=True)
class StepTiming:
    name: str
    seconds: float
    statements: int
    lock: LockLevel | None = None  # the strongest lock the step took


class _DryRun(Exception):
    pass


def apply_offline(
    conn: psycopg.Connection,
    plan: Plan,
    *,
    dry_run: bool = False,
    before: Hook | None = None,
    after: Hook | None = None,
    progress: Progress | None = None,
) -> list[StepTiming]:
    """Run every step in one transaction. Any error rolls everything back and raises
    MigrationFailed; so does a dropped connection (the server rolls back on its own).

    `before` runs once the plan holds its locks (after the step that takes them, before any
    change): a fingerprint taken earlier could miss rows written in between. `after` runs
    after the last step, before commit."""
    # One transaction cannot hold a step that PostgreSQL refuses inside a transaction block
    # (CREATE INDEX CONCURRENTLY): refuse the plan before anything runs.
    outside = [step.id for step in plan.steps if not step.transactional]
    if outside:
        raise Refused(
            f"step {outside[0]} cannot run inside a transaction: this plan is not for apply_offline"
        )
    timings: list[StepTiming] = []
    statement: sql.Composable | None = None
    try:
        with conn.transaction():
            for step, statements in plan_sql(plan):
                if progress:
                    progress(f"{step.name} ({len(statements)} statements)")
                started = time.perf_counter()
                for statement in statements:
                    conn.execute(*executable(statement))  # type: ignore[call-overload]
                timings.append(
                    StepTiming(step.name, time.perf_counter() - started, len(statements), step.lock)
                )
                if before is not None and step.takes_locks:
                    statement = None
                    before(conn)
            statement = None
            if after is not None:
                after(conn)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    except psycopg.Error as exc:
        raise MigrationFailed(_describe(exc, conn, statement)) from None
    return timings


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
