"""The tool's own schema, uuidpk: creating it and its tables, and reading and writing the rows
kept there (fingerprint runs and their measured values). The one place that knows the layout of
uuidpk's tables; the online journal's rows are read and written by journal.py.

    uuidpk.fingerprint_run (id, taken_at, spec jsonb, status recorded|verified|failed,
                            schema_after jsonb, problems_before jsonb, online jsonb)
    uuidpk.fingerprint (run_id, kind table|fk|fk_nulls|fk_orphans, object, row_count, hash)
    uuidpk.online_migration (id, started_at, finished_at, state running|done|aborted, options)
    uuidpk.online_step (migration_id, position, id, phase, spec jsonb, done_at, seconds)
    uuidpk.online_backfill (migration_id, step_id, bound, high_water, rows_done, rows_total, ...)
    uuidpk.online_key (key): the online derivation's key, until the contract phase

Writing is done by statements (the *_sql functions) that apply runs and `generate` prints into
its script alike; they name the run by current_run_sql(), the session's last run.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from . import schema_record, templates
from .catalog import relation_oids_sql, sequence_columns_sql
from .errors import VerificationFailed
from .model import QualifiedName

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
    schema_after: Any  # schema_objects.sql's record (schema_record.py); None: not recorded
    problems_before: list[dict[str, Any]] | None
    online: dict[str, Any] | None = None  # an online migration's run (online_fingerprint.py)


def create_schema(conn: psycopg.Connection) -> None:
    """The uuidpk schema, if missing."""
    conn.execute(_template("create_schema", folder="migrate"))


def fingerprint_tables_sql() -> list[sql.SQL]:
    """The uuidpk schema and its fingerprint tables, if missing (inside the migration's
    transaction: a migration that rolls back leaves nothing behind)."""
    return [
        _template("create_schema", folder="migrate"),
        _template("create_run_table"),
        _template("add_run_columns"),
        _template("create_value_table"),
    ]


def create_journal_tables(conn: psycopg.Connection) -> None:
    """The uuidpk schema and the online journal's tables, if missing."""
    with conn.transaction():
        create_schema(conn)
        for name in ("journal_migration_table", "journal_step_table", "journal_backfill_table"):
            conn.execute(_template(name, folder="online"))


def create_fingerprint_tables(conn: psycopg.Connection) -> None:
    """Run fingerprint_tables_sql()."""
    for statement in fingerprint_tables_sql():
        conn.execute(statement)


def current_run_sql() -> sql.SQL:
    """The id of the run this session started last."""
    return _template("current_run")


def insert_run_sql(spec: dict[str, Any]) -> sql.Composed:
    """A new run holding a spec."""
    return _template("insert_run").format(spec=sql.Literal(json.dumps(spec, sort_keys=True)))


def record_problems_sql(tables: Sequence[QualifiedName]) -> list[sql.SQL | sql.Composed]:
    """Keep in the current run the sequences feeding these tables that are behind their
    columns already (only those: reading a sequence and its column's maximum locks them until
    the migration commits)."""
    columns = sequence_columns_sql(None, relation_oids_sql(tables))
    return [
        _template("sequence_state_function"),
        _template("record_problems").format(columns=columns, run=current_run_sql()),
    ]


def schema_objects_sql(tables: Sequence[QualifiedName]) -> sql.Composed:
    """The schema record of these tables as it is now (schema_objects.sql)."""
    items = [{"schema": t.schema, "name": t.name} for t in tables]
    return _template("schema_objects").format(
        tables=sql.Literal(json.dumps(items)), version=sql.Literal(schema_record.VERSION)
    )


def record_schema_sql(tables: Sequence[QualifiedName]) -> sql.Composed:
    """Keep in the current run the schema on these tables as it is now."""
    return _template("record_schema").format(
        objects=schema_objects_sql(tables), run=current_run_sql()
    )


def read_schema(
    conn: psycopg.Connection, tables: Sequence[QualifiedName]
) -> schema_record.SchemaRecord:
    """The schema record of these tables as it is now."""
    row = conn.execute(schema_objects_sql(tables)).fetchone()
    assert row is not None
    return schema_record.SchemaRecord.from_json(json.loads(row[0]))


def read_run(conn: psycopg.Connection, run_id: int | None = None) -> StoredRun:
    """The run asked for, or the latest; VerificationFailed when there is none."""
    (present,) = conn.execute(_template("has_runs")).fetchone() or (False,)
    if not present:
        raise VerificationFailed(
            "no fingerprint in this database: uuidpk apply records one before it changes anything"
        )
    # Binary results: a timestamptz in text follows the session's DateStyle, which may be one
    # psycopg cannot read back (German, SQL).
    with conn.cursor(row_factory=dict_row, binary=True) as cur:
        cur.execute(_template("run"), {"run_id": run_id})
        row = cur.fetchone()
    if row is None:
        which = f"run {run_id}" if run_id is not None else "run"
        raise VerificationFailed(f"no fingerprint {which} in uuidpk.fingerprint_run")
    return StoredRun(
        row["id"],
        row["taken_at"],
        json.loads(row["spec"]),
        row["status"],
        _json(row["schema_after"]),
        _json(row["problems_before"]),
        _json(row["online"]),
    )


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def read_values(conn: psycopg.Connection, run_id: int) -> list[ValueRow]:
    rows = conn.execute(_template("run_values"), {"run_id": run_id}).fetchall()
    return [(kind, obj, int(count), None if h is None else int(h)) for kind, obj, count, h in rows]


def mark_run(conn: psycopg.Connection, run_id: int, status: str) -> None:
    """Record what a verify found: verified or failed."""
    conn.execute(_template("mark_run"), {"run_id": run_id, "status": status})


# -- an online migration's run (online_fingerprint.py) ------------------------------------------
def mark_online_sql() -> sql.Composed:
    """Mark the current run as the fingerprint of the online migration running."""
    return _template("online_mark").format(run=current_run_sql())


def online_run_id(conn: psycopg.Connection, migration: int) -> int | None:
    """The latest run this online migration took, if any."""
    (present,) = conn.execute(_template("has_runs")).fetchone() or (False,)
    if not present:
        return None
    row = conn.execute(_template("online_run"), {"migration": migration}).fetchone()
    return None if row is None else int(row[0])


def close_online_sql(tables: Sequence[QualifiedName]) -> sql.Composed:
    """Close the online run still open with the values in pg_temp.uuidpk_after and the
    schema on these tables as it is now (online_close.sql)."""
    return _template("online_close").format(objects=schema_objects_sql(tables))
