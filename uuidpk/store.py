"""The tool's own schema, uuidpk: creating it and its tables, and reading and writing the rows
kept there (fingerprint runs and their measured values). The one place that knows the layout of
uuidpk's tables; the online journal's rows are read and written by journal.py.

    uuidpk.fingerprint_run (id, taken_at, spec jsonb, status recorded|verified|failed)
    uuidpk.fingerprint (run_id, kind table|fk|fk_nulls|fk_orphans, object, row_count, hash)
    uuidpk.online_migration (id, started_at, finished_at, state running|done|aborted, options)
    uuidpk.online_step (migration_id, position, id, phase, spec jsonb, done_at, seconds)
    uuidpk.online_backfill (migration_id, step_id, bound, high_water, rows_done, rows_total, ...)
    uuidpk.online_key (key): the online derivation's key, until the contract phase
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from . import templates
from .errors import VerificationFailed

# (kind, object, row count, hash) as uuidpk.fingerprint holds them.
ValueRow = tuple[str, str, int, int | None]


def _template(name: str, folder: str = "verify") -> sql.SQL:
    return templates.statement(f"{folder}/{name}.sql")


@dataclass(frozen=True)
class StoredRun:
    id: int
    taken_at: dt.datetime
    spec: dict[str, Any]  # the fingerprint spec's JSON
    status: str  # recorded, verified, failed


def create_schema(conn: psycopg.Connection) -> None:
    """The uuidpk schema, if missing."""
    conn.execute(_template("create_schema", folder="migrate"))


def create_fingerprint_tables(conn: psycopg.Connection) -> None:
    """The uuidpk schema and its fingerprint tables, if missing (inside the caller's
    transaction: a migration that rolls back leaves nothing behind)."""
    create_schema(conn)
    conn.execute(_template("create_run_table"))
    conn.execute(_template("create_value_table"))


def create_journal_tables(conn: psycopg.Connection) -> None:
    """The uuidpk schema and the online journal's tables, if missing."""
    with conn.transaction():
        create_schema(conn)
        for name in ("journal_migration_table", "journal_step_table", "journal_backfill_table"):
            conn.execute(_template(name, folder="online"))


def insert_run(conn: psycopg.Connection, spec: dict[str, Any]) -> tuple[int, dt.datetime]:
    """A new run holding a spec: its id and when it was taken."""
    # Binary results: a timestamptz in text follows the session's DateStyle, which may be one
    # psycopg cannot read back (German, SQL).
    row = conn.execute(_template("insert_run"), {"spec": Jsonb(spec)}, binary=True).fetchone()
    assert row is not None
    run_id, taken_at = row
    return int(run_id), taken_at


def insert_values(conn: psycopg.Connection, run_id: int, values: Iterable[ValueRow]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            _template("insert_value"),
            [
                {"run_id": run_id, "kind": kind, "object": obj, "row_count": count, "hash": h}
                for kind, obj, count, h in values
            ],
        )


def read_run(conn: psycopg.Connection, run_id: int | None = None) -> StoredRun:
    """The run asked for, or the latest; VerificationFailed when there is none."""
    (present,) = conn.execute(_template("has_runs")).fetchone() or (False,)
    if not present:
        raise VerificationFailed(
            "no fingerprint in this database: uuidpk apply records one before it changes anything"
        )
    with conn.cursor(row_factory=dict_row, binary=True) as cur:
        cur.execute(_template("run"), {"run_id": run_id})
        row = cur.fetchone()
    if row is None:
        which = f"run {run_id}" if run_id is not None else "run"
        raise VerificationFailed(f"no fingerprint {which} in uuidpk.fingerprint_run")
    return StoredRun(row["id"], row["taken_at"], row["spec"], row["status"])


def read_values(conn: psycopg.Connection, run_id: int) -> list[ValueRow]:
    rows = conn.execute(_template("run_values"), {"run_id": run_id}).fetchall()
    return [(kind, obj, int(count), None if h is None else int(h)) for kind, obj, count, h in rows]


def mark_run(conn: psycopg.Connection, run_id: int, status: str) -> None:
    """Record what a verify found: verified or failed."""
    conn.execute(_template("mark_run"), {"run_id": run_id, "status": status})
