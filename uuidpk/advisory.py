"""One migration at a time per database: a session-level advisory lock that every command
which changes the database takes before it reads the catalog. A second run is told who holds it
instead of planning from a catalog the first run is about to change."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from .errors import UuidpkError

# pg_advisory_lock(int, int): the first number names the application, the second the lock.
# 0x75756964 is "uuid" in ASCII; applications choose their own numbers, so pick an odd one.
LOCK_CLASS = 0x75756964
MIGRATION_LOCK = 1


class Busy(UuidpkError):
    """Another uuidpk migration holds the database."""


def holder(conn: psycopg.Connection) -> tuple[int, str] | None:
    """(pid, application_name) of the session holding the migration lock, if any."""
    row = conn.execute(
        "SELECT l.pid, coalesce(a.application_name, '') FROM pg_catalog.pg_locks l"
        " LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.database = ("
        "   SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())"
        " AND l.classid = %s::oid AND l.objid = %s::oid AND l.objsubid = 2",
        (LOCK_CLASS, MIGRATION_LOCK),
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


@contextmanager
def migration_lock(conn: psycopg.Connection) -> Iterator[None]:
    """Hold the database's migration lock for the block; Busy at once if another session has
    it (never wait: the other run may take hours). Re-entrant within one session."""
    got = conn.execute(
        "SELECT pg_catalog.pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, MIGRATION_LOCK)
    ).fetchone()
    if not got or not got[0]:
        who = holder(conn)
        by = f" (backend pid {who[0]})" if who else ""
        raise Busy(
            f"another uuidpk migration is running on database {conn.info.dbname}{by}; "
            "wait for it to finish (uuidpk status shows online ones)"
        )
    try:
        yield
    finally:
        if not conn.closed:
            conn.execute(
                "SELECT pg_catalog.pg_advisory_unlock(%s, %s)", (LOCK_CLASS, MIGRATION_LOCK)
            )
