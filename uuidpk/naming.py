"""Names as people read them in messages and in the fingerprint's object names: double-quoted
only when PostgreSQL would need the quotes."""

from __future__ import annotations

import re

from .model import QualifiedName

_PLAIN = re.compile(r"[a-z_][a-z0-9_$]*")


def quote_if_needed(name: str) -> str:
    """A name as psql shows it: double-quoted when it is not a plain lower-case identifier.
    Only for messages and fingerprint object names, never for SQL (sql.Identifier does that)."""
    if _PLAIN.fullmatch(name):
        return name
    return '"' + name.replace('"', '""') + '"'


def display_name(name: QualifiedName) -> str:
    return f"{quote_if_needed(name.schema)}.{quote_if_needed(name.name)}"
