"""An online plan -> one psql script a DBA reviews and runs: the same steps `apply --online`
runs, in the same order, with the transactions psql needs around them. Pure.

One script, not one per phase: the phases depend on each other's order (a backfill before its
trigger loses rows; a cutover before its twin indexes fails), and one file is reviewed once.
`--until PHASE` ends the script after a phase, for a DBA who times the cutover with a deploy:
generate `--until prepare` now, the whole script later, and run from the cutover's marker on.

As the executor (online.py) runs a migration, but in psql:
- the journal: the script records its migration and every step in uuidpk's journal tables, as
  apply --online does, found again by a token in its options; each step marks itself done in
  its own transaction (after it, for CONCURRENTLY and VALIDATE), each backfill batch writes its
  high-water mark. `uuidpk status` shows a script's run, `uuidpk abort` undoes one that stopped
  before the cutover, and the script's session holds the migration lock while it runs.
- lock retries: each transaction step is a DO block whose attempts are subtransactions under a
  short lock_timeout, with jittered back-off, until a total timeout; then one clear error and
  ON_ERROR_STOP ends the script.
- the backfill: a procedure in pg_temp that COMMITs per batch and sizes batches by time; CALL
  runs it outside a transaction block (psql autocommit), the only place a procedure may COMMIT.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable

from psycopg import sql

from .. import templates
from ..advisory import LOCK_CLASS, MIGRATION_LOCK
from ..ops import Phase
from ..planning.online import Kind, OnlinePlan, OnlineStep
from ..safe_text import for_comment
from .lint import ignore_comments, rules_in

# A transaction step's first attempt waits this long for its locks, later ones up to
# LOCK_TIMEOUT_MAX (apply --online's defaults): a longer wait holds every later reader of the
# table behind the queued lock. The step gives up after TOTAL_TIMEOUT (--cutover-timeout).
LOCK_TIMEOUT_MS = 50
LOCK_TIMEOUT_MAX_MS = 100
TOTAL_TIMEOUT = "60 s"
# The key step touches only uuidpk's own objects: one attempt with this lock_timeout.
LOCK_TIMEOUT = "1s"
# A backfill batch waits this long for an application's row lock before it starts again.
BATCH_LOCK_TIMEOUT = "100ms"

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
    "trigger uses them, and each backfill's procedure (pg_temp), dropped when it is done",
    "prefer-bigint-over-int": "old ids keep the type they had (kept old id columns)",
    "adding-not-nullable-field": "SET NOT NULL at the cutover is proven by a validated CHECK "
    "(PostgreSQL then skips the scan)",
    "require-concurrent-index-creation": "every index on a table in use is built CONCURRENTLY; "
    "the rule reads the twin index build on a table created in this script",
    "require-statement-timeout": "a statement_timeout would stop a catalog change or a batch "
    "midway; each transaction's lock_timeout (short, retried) bounds the wait for locks",
}


# Rules the online script trips that the offline one does not (lint.TRIGGERS has the others).
_ONLINE_TRIGGERS: dict[str, re.Pattern[str]] = {
    "ban-drop-column": re.compile(r"\bDROP COLUMN\b"),
    "ban-drop-function": re.compile(r"^DROP (FUNCTION|PROCEDURE)\b", re.MULTILINE),
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
    token = script_token(plan)
    steps = [s for s in plan.steps if PHASES.index(s.phase) <= _last(until)]
    body: list[str] = ["", "-- ======== journal ========", ""]
    body += _journal_start(plan, token)
    phase: Phase | None = None
    for step in steps:
        if step.phase is not phase:
            phase = step.phase
            body += ["", f"-- ======== phase {phase} ========"]
        body.append("")
        body += _step(step, key, token)
    if len(steps) == len(plan.steps):
        body += ["", "-- every step is done", _terminated(_finish(token))]
    text = "\n".join(body) + "\n"
    header = _header(plan, key, until, text)
    return "\n".join(header) + "\n" + text


def script_token(plan: OnlinePlan) -> str:
    """What names a script's migration in the journal: a digest of the plan, so the script of
    `--until prepare` and the whole script of the same plan journal one migration."""
    spec = json.dumps([plan.options_json(), [s.to_json() for s in plan.steps]], sort_keys=True)
    return hashlib.sha256(spec.encode()).hexdigest()[:16]


def _last(until: Phase | None) -> int:
    return PHASES.index(until) if until else len(PHASES) - 1


def _header(plan: OnlinePlan, key: bytes | None, until: Phase | None, text: str) -> list[str]:
    lines = [
        "uuidpk online conversion, as a psql script: run it with psql -f (never in one",
        "transaction: no -1, no BEGIN around it); the application keeps reading and writing.",
        f"tables ({len(plan.tables)}): " + ", ".join(for_comment(t) for t in plan.tables),
        "phases: " + ", ".join(str(p) for p in PHASES[: _last(until) + 1]),
        "The run is journaled as apply --online journals one: `uuidpk status` shows where it",
        "stands, `uuidpk abort` undoes it before the cutover, and apply --online with the same",
        "selection continues it. Each transaction takes its locks with a short lock_timeout",
        f"({LOCK_TIMEOUT_MS} ms, then up to {LOCK_TIMEOUT_MAX_MS} ms) and retries with back-off "
        f"for {TOTAL_TIMEOUT} at most;",
        "ON_ERROR_STOP ends the script at the first error. The steps before it stay done (each",
        "commits on its own): read the error, then run the script again from the failed step's",
        "marker (every step's marker names what it makes).",
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


def _literal(value: object) -> str:
    return sql.Literal(value).as_string(None)


def _template(template: str, /, **parts: str) -> str:
    return (
        templates.statement(f"online/{template}.sql")
        .format(**{k: sql.SQL(v) for k, v in parts.items()})
        .as_string(None)
    )


def _migration(token: str) -> str:
    return _template("script_migration", token=_literal(token))


def _done(step: OnlineStep, token: str, since: str = "clock_timestamp()") -> str:
    return _template(
        "script_step_done", migration=_migration(token), step=_literal(step.id), since=since
    )


def _finish(token: str) -> str:
    return _template("script_finish", token=_literal(token))


def _journal_start(plan: OnlinePlan, token: str) -> list[str]:
    options = _literal(json.dumps({**plan.options, "script": token}, sort_keys=True))
    parts = {
        "migration": _migration(token),
        "options": options,
        "lock_class": str(LOCK_CLASS),
        "lock_id": str(MIGRATION_LOCK),
    }
    tag = _dollar(_template("script_journal_start", tag="", **parts), "uuidpk")
    start = _template("script_journal_start", tag=tag, **parts)
    rows = ",\n".join(
        f"        ({n}, {_literal(s.id)}, {_literal(str(s.phase))}, "
        f"{_literal(json.dumps(s.to_json(), sort_keys=True))})"
        for n, s in enumerate(plan.steps)
    )
    steps = _template("script_journal_steps", migration=_migration(token), rows=rows)
    return [
        "-- The migration and every step of it in uuidpk's journal (once: run again, the script",
        "-- finds its migration by the token below and goes on); this session holds the",
        "-- migration lock, as apply --online does, until it ends.",
        "BEGIN;",
        f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}';",
        *(_terminated(s) for s in _journal_tables()),
        _terminated(start),
        _terminated(steps),
        "COMMIT;",
    ]


def _journal_tables() -> list[str]:
    names = ["migrate/create_schema"] + [
        f"online/{n}"
        for n in ("journal_migration_table", "journal_step_table", "journal_backfill_table")
    ]
    return [templates.statement(f"{n}.sql").as_string(None) for n in names]


def _step(step: OnlineStep, key: bytes | None, token: str) -> list[str]:
    out = [_marker(step)]
    if step.kind is Kind.KEY:
        # Only uuidpk's own objects: one attempt, no retries needed.
        out += ["BEGIN;", f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}';"]
        out += [_terminated(s) for s in _key_statements(step, key)]
        out += [_terminated(_done(step, token, "transaction_timestamp()")), "COMMIT;"]
    elif step.kind is Kind.TRANSACTION:
        out += _retrying(step, token)
    elif step.kind is Kind.INDEX:
        out.append("-- CONCURRENTLY: outside any transaction block (psql autocommit).")
        out += [_terminated(s) for s in step.statements]
        out.append(_terminated(_done(step, token)))
    elif step.kind is Kind.AUTOCOMMIT:
        out += [_terminated(s) for s in step.statements]
        out.append(_terminated(_done(step, token)))
    elif step.kind is Kind.BACKFILL:
        out += _backfill(step, token)
    elif step.kind is Kind.PROOF:
        out += _proof(step)
        out.append(_terminated(_done(step, token)))
    return out


def _retrying(step: OnlineStep, token: str) -> list[str]:
    statements = "\n".join(f"            EXECUTE {_literal(s)};" for s in step.statements)
    done = _done(step, token, "statement_timestamp()")
    parts = {
        "step": _literal(step.id),
        "first": str(LOCK_TIMEOUT_MS),
        "most": str(LOCK_TIMEOUT_MAX_MS),
        "total": _literal(TOTAL_TIMEOUT),
        "statements": statements,
        "done": done,
    }
    tag = _dollar(_template("script_transaction", tag="", **parts), "uuidpk")
    return [
        "-- One transaction with the statements below, retried while its locks are busy.",
        _terminated(_template("script_transaction", tag=tag, **parts)),
    ]


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


def _backfill(step: OnlineStep, token: str) -> list[str]:
    assert step.bound is not None
    name = "pg_temp.uuidpk_backfill"
    replica = (
        "            -- ordinary triggers (the user's updated_at ones) do not fire for this batch\n"
        "            PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);"
        if step.replica
        else ""
    )
    parts = {
        "name": name,
        "step": _literal(step.id),
        "migration": _migration(token),
        "bound": _literal(step.bound),
        "batch": _literal(_as_dynamic(step.statements[0])),
        "rows": str(step.rows),
        "by_pages": "true" if step.by_pages else "false",
        "start": "10" if step.by_pages else "1000",
        "least": "1" if step.by_pages else "10",
        "replica": replica,
        "lock_timeout": _literal(BATCH_LOCK_TIMEOUT),
        "total": _literal(TOTAL_TIMEOUT),
        "done": _done(step, token, "statement_timestamp()"),
    }
    tag = _dollar(_template("script_backfill", tag="", **parts), "uuidpk")
    unit = "pages (the table has no single-column key)" if step.by_pages else "rows"
    return [
        "-- A procedure in pg_temp (gone with this session) that COMMITs after every batch and",
        "-- journals its high-water mark: run again, it goes on from there. CALL ...(NULL) sizes",
        f"-- each batch to take about 100 ms; CALL ...(n) makes every batch n {unit}.",
        _terminated(_template("script_backfill", tag=tag, **parts)),
        f"CALL {name}(NULL);",
        f"DROP PROCEDURE {name}(integer);",
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
