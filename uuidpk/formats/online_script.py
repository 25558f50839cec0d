"""An online plan -> one psql script a DBA reviews and runs: the same steps `apply --online`
runs, in the same order, with the transactions psql needs around them. Pure.

One script, not one per phase: the phases depend on each other's order (a backfill before its
trigger loses rows; a cutover before its twin indexes fails), and one file is reviewed once.
`--until PHASE` ends the script after a phase, for a DBA who times the cutover with a deploy:
generate `--until prepare` now, the whole script later, and run from the cutover's marker on.

What differs from the executor, because a script cannot do it:
- no retries: each transaction has SET LOCAL lock_timeout (LOCK_TIMEOUT) and fails when it
  runs out; ON_ERROR_STOP ends the script there.
- no journal: `uuidpk status` and `uuidpk abort` know nothing of a script's run.
- the backfill is a procedure in pg_temp (gone with the session whatever happens) that
  COMMITs after every batch; CALL runs it outside a transaction block (psql autocommit), the
  only place a procedure may COMMIT.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from psycopg import sql

from .. import templates
from ..ops import Phase
from ..planning.online import Kind, OnlinePlan, OnlineStep
from ..safe_text import for_comment
from .lint import ignore_comments, rules_in

# A script waits this long for a transaction's locks, once: a longer wait holds every later
# reader of the table behind the queued lock; a shorter one fails more often on a busy table.
LOCK_TIMEOUT = "1s"

PHASES = tuple(p for p in Phase if p is not Phase.OFFLINE)

_KEY_INSERT = templates.statement("online/key_insert.sql").as_string(None)
_HIDE_PARAMETERS = templates.statement("migrate/hide_parameters.sql").as_string(None)

ONLINE_REASONS: dict[str, str] = {
    "ban-drop-constraint": "the cutover drops each old constraint in the transaction that "
    "makes its twin (built and validated before) the real one",
    "adding-foreign-key-constraint": "each twin foreign key is added NOT VALID (a brief "
    "SHARE ROW EXCLUSIVE) and validated after, without blocking writes",
    "constraint-missing-not-valid": "CHECK and FOREIGN KEY twins are added NOT VALID and "
    "validated after; the cutover's PRIMARY KEY / UNIQUE ... USING INDEX reuse indexes built "
    "CONCURRENTLY, a catalog change",
    "ban-drop-default": "the integer default goes with the integer key at the cutover; the "
    "same transaction sets the uuid default",
    "ban-alter-identity": "identity cannot feed a uuid column; the cutover sets the uuid default",
    "ban-drop-sequence": "the sequence fed the integer key, which the contract phase drops",
    "ban-drop-function": "the migration's own fill and derivation functions, dropped once no "
    "trigger uses them",
    "prefer-bigint-over-int": "old ids keep the type they had (kept old id columns)",
    "adding-not-nullable-field": "SET NOT NULL at the cutover is proven by a validated CHECK "
    "(PostgreSQL then skips the scan)",
    "require-concurrent-index-creation": "every index on a table in use is built CONCURRENTLY; "
    "the rule reads the twin index build on a table created in this script",
    "require-statement-timeout": "a statement_timeout would stop a catalog change or a batch "
    "midway; the SET LOCAL lock_timeout before it bounds the wait for locks",
}


# Rules the online script trips that the offline one does not (lint.TRIGGERS has the others).
_ONLINE_TRIGGERS: dict[str, re.Pattern[str]] = {
    "ban-drop-column": re.compile(r"\bDROP COLUMN\b"),
    "ban-drop-not-null": re.compile(r"\bDROP NOT NULL\b"),
    "ban-drop-table": re.compile(r"^DROP TABLE\b", re.MULTILINE),
    "prefer-robust-stmts": re.compile(r"^(CREATE|ALTER|DROP)\b", re.MULTILINE),
    "renaming-column": re.compile(r"\bRENAME COLUMN\b"),
    "renaming-object": re.compile(r"\bRENAME\b"),
    "require-concurrent-index-deletion": re.compile(r"^DROP INDEX (?!CONCURRENTLY)", re.MULTILINE),
}

ONLINE_REASONS.update(
    {
        "ban-drop-column": "the old integer columns, dropped in the contract phase after the "
        "cutover gave their names to the uuid columns",
        "ban-drop-not-null": "the old integer columns lose NOT NULL at the cutover: they stay "
        "until the contract phase and new rows no longer fill them",
        "ban-drop-table": "the migration's own key table (uuidpk.online_key), forgotten at the end",
        "prefer-robust-stmts": "the script is run once, from the top, and stops at the first "
        "error; each step is its own transaction, so a stopped run shows exactly what is done",
        "renaming-column": "the cutover swaps names: the uuid column takes the old name in the "
        "transaction that changes the key (the moment the application must be ready for)",
        "renaming-object": "every index and constraint gets the name it had, in the cutover",
        "require-concurrent-index-deletion": "the old indexes go in the cutover transaction, "
        "which holds ACCESS EXCLUSIVE on their tables for a moment anyway",
    }
)


def _rules(text: str) -> list[str]:
    found = [rule for rule, pattern in _ONLINE_TRIGGERS.items() if pattern.search(text)]
    return [*(r for r in rules_in(text) if r not in found), *found]


def render_online_script(plan: OnlinePlan, key: bytes | None, until: Phase | None = None) -> str:
    """The psql script of an online plan's steps up to `until` (all: None). `key`: the kept key
    (--key-file), written into the script's key INSERT; None: the server makes a random one."""
    steps = [s for s in plan.steps if PHASES.index(s.phase) <= _last(until)]
    body: list[str] = []
    phase: Phase | None = None
    for step in steps:
        if step.phase is not phase:
            phase = step.phase
            body += ["", f"-- ======== phase {phase} ========"]
        body.append("")
        body += _step(step, key)
    text = "\n".join(body) + "\n"
    header = _header(plan, key, until, text)
    return "\n".join(header) + "\n" + text


def _last(until: Phase | None) -> int:
    return PHASES.index(until) if until else len(PHASES) - 1


def _header(plan: OnlinePlan, key: bytes | None, until: Phase | None, text: str) -> list[str]:
    lines = [
        "uuidpk online conversion, as a psql script: run it with psql -f (never in one",
        "transaction: no -1, no BEGIN around it); the application keeps reading and writing.",
        f"tables ({len(plan.tables)}): " + ", ".join(for_comment(t) for t in plan.tables),
        "phases: " + ", ".join(str(p) for p in PHASES[: _last(until) + 1]),
        f"A script cannot retry a lock: each transaction waits at most {LOCK_TIMEOUT} for its",
        "locks (SET LOCAL lock_timeout; edit it here) and fails instead; ON_ERROR_STOP ends",
        "the script at the first error. The steps before it stay done (each commits on its",
        "own): read the error, then run the rest of the script from the failed step's marker.",
        "The run is not journaled: `uuidpk status` and `uuidpk abort` do not see it; each",
        "phase below is marked, and every step's marker names what it makes.",
    ]
    if key is not None:
        lines += [
            "SECRET: this script contains the derivation key given with --key-file (the INSERT",
            "into uuidpk.online_key); keep it as you keep the key file. The server's log may",
            "record that statement's text when log_statement is 'all' or 'mod'.",
        ]
    else:
        lines += [
            "The derivation key is made at random inside the server and forgotten in the",
            "contract phase: the UUIDs cannot be derived again.",
        ]
    rules = _rules(text)
    reasons = {r: ONLINE_REASONS[r] for r in rules if r in ONLINE_REASONS}
    lines += ignore_comments(text, reasons, "do not apply as this script applies them", rules)
    out = [f"-- {line}" if line else "--" for line in lines]
    out.append("\\set ON_ERROR_STOP on")
    return out


def _marker(step: OnlineStep) -> str:
    return f"-- step {for_comment(step.id)} ({step.kind})"


def _step(step: OnlineStep, key: bytes | None) -> list[str]:
    out = [_marker(step)]
    if step.kind in (Kind.TRANSACTION, Kind.KEY):
        out += ["BEGIN;", f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}';"]
        out += [_terminated(s) for s in _key_statements(step, key)]
        out.append("COMMIT;")
    elif step.kind is Kind.INDEX:
        out.append("-- CONCURRENTLY: outside any transaction block (psql autocommit).")
        out += [_terminated(s) for s in step.statements]
    elif step.kind is Kind.AUTOCOMMIT:
        out += [_terminated(s) for s in step.statements]
    elif step.kind is Kind.BACKFILL:
        out += _backfill(step)
    elif step.kind is Kind.PROOF:
        out += _proof(step)
    return out


def _key_statements(step: OnlineStep, key: bytes | None) -> Iterable[str]:
    for statement in step.statements:
        if statement == _HIDE_PARAMETERS:
            continue  # about bound parameters; the script has none
        if statement == _KEY_INSERT:
            if key is None:
                raise ValueError("the plan keeps a key: give it")
            # The kept key, in the script on purpose (the header says so); hex digits only.
            yield f"INSERT INTO uuidpk.online_key (key) VALUES (decode('{key.hex()}', 'hex'))"
        else:
            yield statement


def _terminated(statement: str) -> str:
    return statement.rstrip().rstrip(";") + ";"


def _dollar(text: str, base: str) -> str:
    """A dollar-quote tag that does not occur in text (names in it are the user's)."""
    tag, n = f"${base}$", 0
    while tag in text:
        n += 1
        tag = f"${base}{n}$"
    return tag


def _as_dynamic(statement: str) -> str:
    """A batch statement written for psycopg's parameters, as text for PL/pgSQL's EXECUTE ...
    USING: %(after)s, %(bound)s, %(size)s become $1, $2, $3; %% becomes %."""
    names = {"after": "$1", "bound": "$2", "size": "$3"}
    return re.sub(
        r"%\((after|bound|size)\)s|%%",
        lambda m: names[m.group(1)] if m.group(1) else "%",
        statement,
    )


def _backfill(step: OnlineStep) -> list[str]:
    assert step.bound is not None
    batch = sql.Literal(_as_dynamic(step.statements[0])).as_string(None)
    bound = sql.Literal(step.bound).as_string(None)
    label = sql.Literal(step.id).as_string(None)
    size = 10 if step.by_pages else 1000
    replica = (
        "        -- ordinary triggers (the user's updated_at ones) do not fire for this batch\n"
        "        PERFORM set_config('session_replication_role', 'replica', true);\n"
        if step.replica
        else ""
    )
    if step.by_pages:
        stop = "        EXIT WHEN high_water::bigint >= bound::bigint;\n"
        done = ""
    else:
        stop = ""
        done = "        EXIT WHEN n = 0;\n"
    body = (
        "DECLARE\n"
        "    bound text;\n"
        "    high_water text;\n"
        "    next_high text;\n"
        "    n bigint;\n"
        "    total bigint := 0;\n"
        "BEGIN\n"
        "    -- The end, read now that the fill trigger exists: later rows were filled by it.\n"
        f"    EXECUTE {bound} INTO bound;\n"
        "    IF bound IS NULL THEN\n"
        "        RETURN;\n"
        "    END IF;\n"
        "    LOOP\n"
        f"{stop}"
        "        -- A batch waiting on an application's row lock holds the rows it updated.\n"
        f"        PERFORM set_config('lock_timeout', '{LOCK_TIMEOUT}', true);\n"
        f"{replica}"
        f"        EXECUTE {batch} INTO next_high, n USING high_water, bound, batch_size;\n"
        f"{done}"
        "        high_water := next_high;\n"
        "        total := total + n;\n"
        "        -- Each batch its own short transaction: its row locks go now.\n"
        "        COMMIT;\n"
        f"        RAISE NOTICE '%: % rows', {label}, total;\n"
        "    END LOOP;\n"
        "END\n"
    )
    tag = _dollar(body, "uuidpk")
    return [
        "-- A procedure in pg_temp: gone with this session if the script stops; it COMMITs",
        "-- after every keyset batch, which PostgreSQL allows only when CALL runs outside a",
        "-- transaction block (psql's autocommit). batch_size: rows per batch"
        + (" (pages here: the table has no single-column key)." if step.by_pages else "."),
        "CREATE PROCEDURE pg_temp.uuidpk_backfill(batch_size integer)",
        f"LANGUAGE plpgsql AS {tag}",
        body.rstrip("\n"),
        f"{tag};",
        f"CALL pg_temp.uuidpk_backfill({size});",
        "DROP PROCEDURE pg_temp.uuidpk_backfill(integer);",
    ]


def _proof(step: OnlineStep) -> list[str]:
    checks = []
    for label, statement in zip(step.labels, step.statements, strict=True):
        literal = sql.Literal(statement).as_string(None)
        name = sql.Literal(label).as_string(None)
        checks.append(
            f"    EXECUTE {literal} INTO n;\n"
            "    IF n > 0 THEN\n"
            "        RAISE EXCEPTION 'the shadow columns of % do not match the old ones "
            f"(% rows): nothing was switched', {name}, n;\n"
            "    END IF;\n"
        )
    body = "DECLARE\n    n bigint;\nBEGIN\n" + "".join(checks) + "END\n"
    tag = _dollar(body, "uuidpk")
    if not checks:
        # The fingerprint's close (online_fingerprint.py): in one snapshot, after the contract.
        return [
            "-- The fingerprint `uuidpk verify` compares with, closed in one snapshot: what",
            "-- changed since the proof, and the schema the migration left.",
            "BEGIN ISOLATION LEVEL REPEATABLE READ;",
            *(_terminated(s) for s in step.record),
            "COMMIT;",
        ]
    lines = [
        "-- Every shadow is the derivation of its old value, in one snapshot that blocks no",
        "-- writer; a mismatch stops the script before the cutover.",
    ]
    if step.record:
        lines += [
            "-- Then, in the same snapshot, the fingerprint `uuidpk verify` compares with",
            "-- (it writes only uuidpk's own tables).",
            "BEGIN ISOLATION LEVEL REPEATABLE READ;",
        ]
    else:
        lines.append("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;")
    lines += [f"DO {tag}", body.rstrip("\n"), f"{tag};"]
    lines += [_terminated(s) for s in step.record]
    lines.append("COMMIT;")
    return lines
