"""Opening connections: --dsn, else DATABASE_URL, else libpq's PG* variables."""

from __future__ import annotations

import os
import re

import psycopg

from .errors import ConnectionFailed


def resolve_dsn(dsn: str | None) -> str:
    """The DSN to use: the explicit one, else DATABASE_URL, else "" (libpq reads PG*)."""
    if dsn:
        return dsn
    return os.environ.get("DATABASE_URL", "")


_URL_PASSWORD = re.compile(r"(://[^:/?#@]*):[^@/?#]*@")
_KW_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def redact(text: str) -> str:
    """Text with any password in a DSN replaced by ***."""
    text = _URL_PASSWORD.sub(r"\1:***@", text)
    return _KW_PASSWORD.sub(r"\1***", text)


def connect(dsn: str | None, *, autocommit: bool = True) -> psycopg.Connection:
    """A connection, or ConnectionFailed with a one-line reason (never the password)."""
    target = resolve_dsn(dsn)
    try:
        conn = psycopg.connect(target, autocommit=autocommit, application_name="uuidpk")
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()
        reason = first[-1] if first else type(exc).__name__
        # libpq reports "connection to server at ... failed: FATAL: ..." over several lines;
        # the last line carries the cause (refused login, unknown database, no server).
        raise ConnectionFailed(f"cannot connect to the database: {redact(reason)}") from None
    except ValueError as exc:  # malformed connection strings
        raise ConnectionFailed(f"invalid DSN: {redact(str(exc))}") from None
    return conn
