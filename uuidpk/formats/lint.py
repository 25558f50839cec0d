"""What squawk (the PostgreSQL migration linter) says about a script, answered in the script.

squawk's rules are written for migrations that run while the application works: lock little,
add constraints NOT VALID, never rewrite a table. The offline script is the other kind: one
all-or-nothing transaction in a maintenance window, whose tables are locked ACCESS EXCLUSIVE
from its first statement to COMMIT on purpose. So each rule it would trip is named in the
script's header with the reason it does not apply, and a file-level `-- squawk-ignore-file`
comment for it: a reviewer reads why, squawk stays quiet, and any rule not listed still
speaks. Only rules whose statements occur in the script are listed.

File-level comments, not line-level ones: squawk's `-- squawk-ignore` covers the next line
only, and placing comments between the lines of one statement (inside an ALTER TABLE's list
of clauses) would put text into the middle of statements built from hostile names.

An online script keeps its own reasons (see `ignore_comments`): most rules must hold there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# What trips each rule, as the rendered statements spell it (keywords are upper case there).
TRIGGERS: dict[str, re.Pattern[str]] = {
    "changing-column-type": re.compile(r"\bALTER COLUMN\b.*\bTYPE\b"),
    "ban-drop-default": re.compile(r"\bDROP DEFAULT\b"),
    "ban-alter-identity": re.compile(r"\bDROP IDENTITY\b"),
    "ban-drop-constraint": re.compile(r"\bDROP CONSTRAINT\b"),
    "adding-foreign-key-constraint": re.compile(r"\bFOREIGN KEY\b"),
    "constraint-missing-not-valid": re.compile(r"\bADD CONSTRAINT\b"),
    "ban-drop-sequence": re.compile(r"^DROP SEQUENCE\b", re.MULTILINE),
    "ban-drop-function": re.compile(r"^DROP FUNCTION\b", re.MULTILINE),
    "ban-drop-table": re.compile(r"^DROP TABLE \"?pg_temp\"?\.", re.MULTILINE),
    "prefer-bigint-over-int": re.compile(r"\b(integer|smallint|int2|int4|serial)\b"),
    "adding-not-nullable-field": re.compile(r"\bSET NOT NULL\b"),
    "require-concurrent-index-creation": re.compile(r"^CREATE (UNIQUE )?INDEX\b", re.MULTILINE),
    "require-statement-timeout": re.compile(r"^(ALTER TABLE|LOCK TABLE)\b", re.MULTILINE),
}

OFFLINE_REASONS: dict[str, str] = {
    "changing-column-type": "the conversion is this rewrite; the transaction holds ACCESS "
    "EXCLUSIVE on the closure's tables by design (a maintenance window)",
    "ban-drop-default": "the integer default goes with the integer; the same transaction sets "
    "the uuid default",
    "ban-alter-identity": "identity cannot feed a uuid column; the same transaction sets the "
    "uuid default",
    "ban-drop-constraint": "each foreign key is dropped only to come back before COMMIT, with "
    "its name, actions and deferrability",
    "adding-foreign-key-constraint": "both tables are already locked ACCESS EXCLUSIVE for the "
    "rewrite; no one else waits on this lock",
    "constraint-missing-not-valid": "NOT VALID then VALIDATE saves nothing while the tables "
    "are locked anyway; every row is checked before COMMIT",
    "ban-drop-sequence": "the sequence fed the integer key, which is gone; new rows get UUIDs "
    "from the new default",
    "ban-drop-function": "the script's own helper functions (pg_temp), dropped before COMMIT",
    "ban-drop-table": "the fingerprint's own temporary tables (pg_temp), dropped before COMMIT",
    "prefer-bigint-over-int": "old ids keep the type they had (kept old id columns, mapping "
    "tables)",
    "adding-not-nullable-field": "the column was NOT NULL before the rewrite; the table is "
    "locked for the rewrite anyway",
    "require-concurrent-index-creation": "CREATE INDEX CONCURRENTLY cannot run in a "
    "transaction; the table is locked for the rewrite anyway",
    "require-statement-timeout": "a statement_timeout would stop a table rewrite midway and "
    "roll all of it back; the lock timeout set below bounds the wait for locks",
}


def rules_in(text: str) -> list[str]:
    """The squawk rules the script's statements trip, in TRIGGERS order."""
    return [rule for rule, pattern in TRIGGERS.items() if pattern.search(text)]


def ignore_comments(
    text: str,
    reasons: Mapping[str, str] = OFFLINE_REASONS,
    why: str = "do not apply to one all-or-nothing transaction",
    found: list[str] | None = None,
) -> list[str]:
    """Comment lines (without the leading `-- `) for a script's header: per rule the script
    trips and `reasons` explains, the reason and squawk's file-level ignore."""
    rules = [rule for rule in (rules_in(text) if found is None else found) if rule in reasons]
    if not rules:
        return []
    lines = [f"squawk (migration linter) rules that {why}:"]
    for rule in rules:
        lines.append(f"  {rule}: {reasons[rule]}")
    lines += [f"squawk-ignore-file {rule}" for rule in rules]
    return lines
