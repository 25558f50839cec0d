"""Opening connections: --dsn, else DATABASE_URL, else libpq's PG* variables.

A DSN holds a password, and libpq quotes the connection string (or pieces of it) in its own
error messages when it cannot parse it. So no message here ever carries the DSN or libpq's
quoted values: a failure names the target from the parsed parts (host, port, database, user)
and the cause, and a DSN that does not parse is described without any of its text.
"""

from __future__ import annotations

import os
import re

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from .errors import ConnectionFailed


def resolve_dsn(dsn: str | None) -> str:
    """The DSN to use: the explicit one, else DATABASE_URL, else "" (libpq reads PG*)."""
    if dsn:
        return dsn
    return os.environ.get("DATABASE_URL", "")


def is_bare_name(dsn: str) -> bool:
    """A word that is neither a URL nor key=value pairs: psql reads it as a database name
    (`psql shop`), and so does uuidpk (`--dsn shop`)."""
    return bool(dsn) and "=" not in dsn and not _URL.match(dsn)


def with_parameters(dsn: str | None, **parameters: str | None) -> str:
    """The DSN (or DATABASE_URL) with psql-style options laid over it: host, port, user,
    dbname, password (each None when not given). A bare word is a database name, as psql
    reads its first argument. Errors name no part of the DSN (parse_dsn)."""
    base = resolve_dsn(dsn)
    parts = {} if not base else ({"dbname": base} if is_bare_name(base) else parse_dsn(base))
    given = {k: v for k, v in parameters.items() if v is not None}
    if not given and not (base and is_bare_name(base)):
        return base  # unchanged: a URL stays a URL in messages and pg_stat_activity
    return make_conninfo("", **{**parts, **given})


# Greedy to the last "@": a password may hold "#", "?", "%", "/" or "@" when not encoded.
_URL_PASSWORD = re.compile(r"([a-z][a-z0-9+.-]*://[^:/@\s]*):\S*@", re.IGNORECASE)
_KW_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*(?:'|$)|\S+)", re.IGNORECASE)


def redact(text: str) -> str:
    """Text with any password in a DSN replaced by ***: a net under the messages of other
    errors. Connection errors never contain the DSN in the first place (connect)."""
    text = _URL_PASSWORD.sub(r"\1:***@", text)
    return _KW_PASSWORD.sub(r"\1***", text)


_URL = re.compile(r"\A(?:postgres|postgresql)://", re.IGNORECASE)


def _url_problem(dsn: str) -> str | None:
    """Why a URL DSN is too ambiguous to use, or None. libpq looks for the user:password@
    part only before the first "/" and splits it at the first "@": a password holding an
    unencoded "@" or "/" becomes part of the host, port or database name, which then turn up
    in messages. Such a URL is refused before anything connects."""
    rest = _URL.sub("", dsn, count=1)
    authority = re.split(r"[/?]", rest, maxsplit=1)[0]
    if rest.count("@") > 1 or ("@" in rest and "@" not in authority):
        return (
            "invalid connection URL: percent-encode '@', '/', '?', '#' and '%' in the user "
            "name and password (e.g. '@' as %40)"
        )
    return None


def parse_dsn(dsn: str) -> dict[str, str]:
    """The parsed DSN (libpq's own parser), or ConnectionFailed without any of its text."""
    problem = _url_problem(dsn) if _URL.match(dsn) else None
    if problem:
        raise ConnectionFailed(problem)
    try:
        return {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    except psycopg.Error as exc:
        kind = "URL" if _URL.match(dsn) else "connection string"
        raise ConnectionFailed(f"invalid {kind}: {_own_words(str(exc), dsn)}") from None


def _own_words(message: str, dsn: str) -> str:
    """libpq's parse error with every piece of the DSN left out. libpq puts the values it
    could not read in double quotes; a quote inside a value breaks that pairing, so any word
    that still occurs in the DSN goes too."""
    outside = " \u2026 ".join(message.split('"')[0::2])
    words = [
        "\u2026" if len(core := word.strip(".,:;()")) >= 2 and core in dsn else word
        for word in outside.split()
    ]
    return re.sub(r"(\u2026[\s,:]*)+\u2026", "\u2026", " ".join(words)).strip(" :") or "unreadable"


def describe_target(parts: dict[str, str]) -> str:
    """host:port, database and user of a parsed DSN, with libpq's PG* defaults; never the
    password."""
    host = parts.get("host") or parts.get("hostaddr") or os.environ.get("PGHOST", "")
    port = parts.get("port") or os.environ.get("PGPORT") or "5432"
    if not host or host.startswith("/"):
        where = f"local socket {host or '(default directory)'} port {port}"
    else:
        where = ",".join(f"{h}:{port}" for h in host.split(","))
    user = parts.get("user") or os.environ.get("PGUSER")
    database = parts.get("dbname") or os.environ.get("PGDATABASE") or user
    details = [f"database {database}" if database else "", f"user {user}" if user else ""]
    extra = ", ".join(d for d in details if d)
    return f"{where} ({extra})" if extra else where


_CAUSE = re.compile(r"connection to server (?:at|on socket) .*? failed: (.*)")


def connection_cause(message: str) -> str:
    """The cause in libpq's report of a failed connection: "connection to server at "h", port
    p failed: CAUSE" over several lines (one per address tried, hints indented by a tab);
    the first cause, on one line, without libpq's location (described by the caller)."""
    for line in message.splitlines():
        if line[:1].isspace():
            continue  # "Is the server running on that host...": a hint, not a cause
        match = _CAUSE.search(line)
        if match and match.group(1).strip():
            return " ".join(match.group(1).split())
    lines = [line for line in message.splitlines() if line.strip() and not line[:1].isspace()]
    first = lines[0] if lines else "unknown reason"
    return " ".join(re.sub(r"\A(connection (failed|is bad): )+", "", first).split())


def connect(dsn: str | None, *, autocommit: bool = True) -> psycopg.Connection:
    """A connection, or ConnectionFailed with a one-line reason (never the password)."""
    target = resolve_dsn(dsn)
    parts = parse_dsn(target)
    try:
        conn = psycopg.connect(target, autocommit=autocommit, application_name="uuidpk")
    except (psycopg.Error, ValueError) as exc:
        message = f"cannot connect to {describe_target(parts)}: {connection_cause(str(exc))}"
        password = parts.get("password")
        if password:
            message = message.replace(password, "***")
        raise ConnectionFailed(redact(message)) from None
    return conn
