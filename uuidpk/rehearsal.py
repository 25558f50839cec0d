"""A rehearsal: the whole plan run against a schema-only copy of the database, to hear what
PostgreSQL says before anything real changes.

Static analysis of the catalog misses shapes; PostgreSQL does not. The copy is made from the
live catalog (pg_dump --schema-only restored with psql into a scratch database on the same
server, so roles, extensions and settings are the same), the plan is made there and run with
--dry-run semantics (one transaction, rolled back), every view is read inside it, and the
scratch database is dropped. On empty tables this takes seconds and catches every error that
does not depend on data; what depends on data (a CHECK that fails on some rows, a unique index
that fresh rows of a materialized view violate, ids held in columns without a foreign key) it
cannot show.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from .errors import MigrationFailed, Refused, UuidpkError, primary_message
from .executor import apply_offline
from .ops import Options
from .pipeline import Analysis, Selection, analyse
from .planning import plan_conversion

Say = Callable[[str], None]

# Every view and materialized view outside the system schemas, read at the end of the rehearsal:
# a view PostgreSQL kept (no dependency on what it reads, crosstab's query text) fails here. A
# materialized view that holds no rows cannot be read (nor in the live database).
_VIEWS = """
SELECT n.nspname, c.relname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE (c.relkind = 'v' OR (c.relkind = 'm' AND c.relispopulated))
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\\_%'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                      AND d.deptype = 'e')
 ORDER BY 1, 2
"""


# The materialized views that hold rows in the live database: pg_dump --schema-only writes every
# one WITH NO DATA, and the copy refreshes these (over its empty tables) to be like the live one.
_POPULATED = """
SELECT n.nspname, c.relname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'm' AND c.relispopulated
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\\_%'
 ORDER BY 1, 2
"""


_DATABASE = """
SELECT pg_encoding_to_char(encoding), datcollate, datctype
  FROM pg_database WHERE datname = current_database()
"""

_CLIENT_OPTIONS = frozenset(
    {
        "host", "hostaddr", "port", "dbname", "user", "passfile", "options", "service",
        "connect_timeout", "sslmode", "sslcert", "sslkey", "sslrootcert", "sslcrl",
        "gssencmode", "krbsrvname", "target_session_attrs",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Rehearsal:
    """What PostgreSQL said when the plan ran against a schema-only copy: ok, or the step and
    its error; how many views were read afterwards; how long it took, copy included."""

    ok: bool
    error: str
    blockers: int  # problems the plan found before running (run anyway with ignore_blockers)
    views_read: int
    seconds: float

    def summary(self) -> str:
        if self.ok:
            return (
                f"rehearsal on a schema-only copy: the plan ran and {self.views_read} view(s) "
                f"read back ({self.seconds:.1f} s); data-dependent failures are not covered"
            )
        return f"rehearsal on a schema-only copy failed: {self.error}"


def _quiet(_: str) -> None:
    pass


def rehearse(
    conn: psycopg.Connection,
    selection: Selection,
    options: Options | None = None,
    *,
    ignore_blockers: bool = False,
    say: Say = _quiet,
) -> Rehearsal:
    """Copy the schema of conn's database into a scratch database, plan `selection` there,
    run the plan in a transaction that is rolled back, read every view inside it, and drop the
    scratch database. With ignore_blockers the plan runs even though inspect found blockers,
    to see which of them PostgreSQL itself refuses. The live database is only read."""
    started = time.perf_counter()
    params: dict[str, Any] = dict(conn.info.get_parameters())
    password = conn.info.password
    scratch = f"uuidpk_rehearsal_{os.getpid()}_{secrets.token_hex(4)}"
    admin = psycopg.connect(make_conninfo("", **params, password=password), autocommit=True)
    try:
        # The copy keeps the live database's encoding and collation: text keys, casts and
        # sort orders behave there as they do here.
        encoding, collate, ctype = admin.execute(_DATABASE).fetchone() or ("UTF8", "C", "C")
        try:
            admin.execute(
                sql.SQL(
                    "CREATE DATABASE {} TEMPLATE template0 ENCODING {} LC_COLLATE {} LC_CTYPE {}"
                ).format(
                    sql.Identifier(scratch),
                    sql.Literal(encoding),
                    sql.Literal(collate),
                    sql.Literal(ctype),
                )
            )
        except psycopg.Error as exc:
            raise Refused(f"a rehearsal needs a scratch database: {primary_message(exc)}") from None
        try:
            say(f"copying the schema into {scratch}")
            _copy_schema(params, password, scratch)
            target = make_conninfo("", **{**params, "dbname": scratch}, password=password)
            with psycopg.connect(target, autocommit=True) as copy:
                _populate(copy, conn.execute(_POPULATED).fetchall())
                analysis = analyse(copy, selection, options)
                return _run(copy, analysis, options, ignore_blockers, started, say)
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch))
            )
    finally:
        admin.close()


def _run(
    copy: psycopg.Connection,
    analysis: Analysis,
    options: Options | None,
    ignore_blockers: bool,
    started: float,
    say: Say,
) -> Rehearsal:
    server = analysis.catalog.server
    options = replace(
        options or Options(),
        native_uuidv7=server.has_uuidv7,
        utf8=server.encoding == "UTF8",
        generic=(),  # generic relations are converted from their rows, which a copy lacks
    )
    planned = plan_conversion(
        analysis.graph,
        list(analysis.keys),
        options,
        analysis.all_problems(),
        force=ignore_blockers,
    )
    blockers = len(planned.blocking)
    if not planned.steps:
        first = planned.blocking[0] if planned.blocking else None
        error = f"{first.what} {first.name}: {first.reason}" if first else "nothing to convert"
        return Rehearsal(False, error, blockers, 0, time.perf_counter() - started)
    read: list[int] = []

    def read_views(conn: psycopg.Connection) -> None:
        views = conn.execute(_VIEWS).fetchall()
        for schema, name in views:
            say(f"reading {schema}.{name}")
            conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, name)))
        read.append(len(views))

    try:
        apply_offline(copy, planned, dry_run=True, after=read_views)
    except MigrationFailed as exc:
        return Rehearsal(False, str(exc), blockers, 0, time.perf_counter() - started)
    return Rehearsal(True, "", blockers, read[-1], time.perf_counter() - started)


def _populate(copy: psycopg.Connection, views: list[tuple[str, str]]) -> None:
    """Refresh in the copy the materialized views populated in the live database. One that
    reads another waits for it: each round refreshes those whose inputs are populated, until
    none is left (or none can be: that error is the rehearsal's to report)."""
    waiting = list(views)
    while waiting:
        failed: list[tuple[str, str]] = []
        error: psycopg.Error | None = None
        for schema, name in waiting:
            try:
                copy.execute(
                    sql.SQL("REFRESH MATERIALIZED VIEW {}").format(sql.Identifier(schema, name))
                )
            except psycopg.errors.ObjectNotInPrerequisiteState as exc:  # an input not yet
                failed.append((schema, name))
                error = exc
        if len(failed) == len(waiting):
            assert error is not None
            raise UuidpkError(f"refreshing the schema copy failed: {primary_message(error)}")
        waiting = failed


def _copy_schema(params: dict[str, Any], password: str | None, scratch: str) -> None:
    """pg_dump --schema-only of the live database, restored with psql into scratch: one pipe,
    stopping at the first error. The password goes through the environment, never argv."""
    env = {**os.environ}
    if password:
        env["PGPASSWORD"] = password
    # psycopg's libpq may be newer than pg_dump's and name options pg_dump refuses
    # (sslcertmode): pass on only those every supported libpq knows.
    known = {k: v for k, v in params.items() if k in _CLIENT_OPTIONS}
    source = make_conninfo("", **known)
    target = make_conninfo("", **known | {"dbname": scratch})
    # pg_dump's stderr goes to a file: a pipe nobody reads until the end could fill and stall
    # pg_dump, and psql with it.
    with tempfile.TemporaryFile() as errors:
        dump = subprocess.Popen(
            [_binary("pg_dump"), "--schema-only", "--no-publications", "--no-subscriptions",
             "--dbname", source],
            stdout=subprocess.PIPE,
            stderr=errors,
            env=env,
        )  # fmt: skip
        restore = subprocess.run(
            [_binary("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname", target],
            stdin=dump.stdout,
            capture_output=True,
            env=env,
            check=False,
        )
        assert dump.stdout is not None
        dump.stdout.close()
        dumped = dump.wait()
        errors.seek(0)
        dumped_error = errors.read().decode(errors="replace")
    # psql first: when it stops at an error, pg_dump dies of the closed pipe and says less.
    if restore.returncode != 0:
        said = restore.stderr.decode(errors="replace")
        raise UuidpkError(f"restoring the schema copy failed: {_first_error(said)}")
    if dumped != 0:
        raise UuidpkError(f"pg_dump --schema-only failed: {_first_error(dumped_error)}")


def _first_error(text: str) -> str:
    lines = [line for line in text.splitlines() if "ERROR" in line or "error" in line]
    return (lines or text.splitlines() or ["no message"])[0].strip()


def _binary(name: str) -> str:
    """pg_dump or psql: on PATH, else the newest /usr/lib/postgresql/*/bin (Debian)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    raise Refused(f"a rehearsal needs {name} (Debian: apt-get install postgresql-client)")
