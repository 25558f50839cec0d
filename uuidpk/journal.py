"""The online migration's journal, in the tool's `uuidpk` schema.

A migration row with what was asked (never the key), every step as it was rendered when the
migration started (a resumed run runs these, not a new plan: the catalog by then holds shadows
and triggers), each step's completion, and per backfill its bound and high-water mark. Steps
that run in a transaction are marked done inside it; a backfill batch writes its mark inside its
own transaction. One migration at a time per database: advisory.migration_lock, held by the
run for its whole length.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from . import store, templates
from .planning.online import OnlinePlan, OnlineStep

RUNNING, DONE, ABORTED = "running", "done", "aborted"


@dataclass(frozen=True)
class Migration:
    id: int
    started_at: datetime
    state: str
    options: dict[str, Any]
    steps: tuple[OnlineStep, ...]
    done: dict[str, float]  # step id -> seconds it took, for the steps done
    finished_at: datetime | None = None

    def is_done(self, step_id: str) -> bool:
        return step_id in self.done

    @property
    def next_step(self) -> OnlineStep | None:
        return next((s for s in self.steps if s.id not in self.done), None)


@dataclass(frozen=True)
class Backfill:
    step_id: str
    bound: str | None
    high_water: str | None
    rows_done: int
    rows_total: int
    batches: int
    seconds: float


def _sql(name: str) -> Any:
    return templates.statement(f"online/{name}.sql")


def ensure_tables(conn: psycopg.Connection) -> None:
    store.create_journal_tables(conn)


def _exists(conn: psycopg.Connection) -> bool:
    row = conn.execute(_sql("journal_exists")).fetchone()
    return bool(row and row[0])


def current(conn: psycopg.Connection) -> Migration | None:
    """The migration still running (started, neither done nor aborted), if any."""
    if not _exists(conn):
        return None
    try:
        row = conn.execute(_sql("journal_current")).fetchone()
    except psycopg.errors.InsufficientPrivilege:
        return None  # a role that may not read the journal (uuidpk generate by a reader)
    return None if row is None else _read(conn, row[0])


def last(conn: psycopg.Connection) -> Migration | None:
    """The latest migration in any state."""
    if not _exists(conn):
        return None
    row = conn.execute(_sql("journal_last")).fetchone()
    return None if row is None else _read(conn, row[0])


def _read(conn: psycopg.Connection, migration_id: int) -> Migration:
    with conn.cursor(row_factory=dict_row) as cur:
        head = cur.execute(_sql("journal_migration"), {"migration": migration_id}).fetchone()
        assert head is not None
        rows = cur.execute(_sql("journal_steps"), {"migration": migration_id}).fetchall()
    steps = tuple(OnlineStep.from_json(r["spec"]) for r in rows)
    done = {r["id"]: float(r["seconds"] or 0) for r in rows if r["done_at"] is not None}
    return Migration(
        head["id"],
        head["started_at"],
        head["state"],
        dict(head["options"]),
        steps,
        done,
        head["finished_at"],
    )


def start(conn: psycopg.Connection, plan: OnlinePlan) -> Migration:
    """Record a new migration and every step of its plan, in one transaction."""
    with conn.transaction():
        row = conn.execute(
            _sql("journal_start"), {"options": Jsonb(json.loads(plan.options_json()))}
        ).fetchone()
        assert row is not None
        migration_id = int(row[0])
        for position, step in enumerate(plan.steps):
            conn.execute(
                _sql("journal_add_step"),
                {
                    "migration": migration_id,
                    "position": position,
                    "id": step.id,
                    "phase": str(step.phase),
                    "spec": Jsonb(step.to_json()),
                },
            )
    return _read(conn, migration_id)


def mark_done(conn: psycopg.Connection, migration_id: int, step_id: str, seconds: float) -> None:
    """Inside the step's own transaction when it has one."""
    conn.execute(
        _sql("journal_step_done"), {"migration": migration_id, "id": step_id, "seconds": seconds}
    )


def finish(conn: psycopg.Connection, migration_id: int, state: str) -> None:
    conn.execute(_sql("journal_finish"), {"migration": migration_id, "state": state})


def backfill_start(
    conn: psycopg.Connection, migration_id: int, step_id: str, bound: str | None, total: int
) -> Backfill:
    """Record the backfill's end once (a resumed run keeps the first), and read its state."""
    conn.execute(
        _sql("journal_backfill_start"),
        {"migration": migration_id, "id": step_id, "bound": bound, "total": total},
    )
    state = backfill_state(conn, migration_id, step_id)
    assert state is not None
    return state


def backfill_state(conn: psycopg.Connection, migration_id: int, step_id: str) -> Backfill | None:
    row = conn.execute(
        _sql("journal_backfill_read"), {"migration": migration_id, "id": step_id}
    ).fetchone()
    return None if row is None else Backfill(step_id, *row)


def backfill_batch(
    conn: psycopg.Connection,
    migration_id: int,
    step_id: str,
    high_water: str | None,
    rows: int,
    seconds: float,
) -> None:
    """Inside the batch's transaction."""
    conn.execute(
        _sql("journal_backfill_batch"),
        {
            "migration": migration_id,
            "id": step_id,
            "high_water": high_water,
            "rows": rows,
            "seconds": seconds,
        },
    )


def backfills(conn: psycopg.Connection, migration_id: int) -> list[Backfill]:
    rows = conn.execute(_sql("journal_backfills"), {"migration": migration_id}).fetchall()
    return [Backfill(*row) for row in rows]
