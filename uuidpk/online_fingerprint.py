"""The fingerprint of an online migration: when it is measured, and what `verify` can compare
after one.

Offline, the fingerprint is measured inside the migration's transaction, converted columns as
f(old value), and no one can write before the commit. Online, the application writes during the
run and after it, so no measurement taken before the cutover equals a later one of a table that
was written in between. So:

1. At the proof (the last step before the cutover), in the proof's own REPEATABLE READ snapshot
   and only once every shadow has been proven equal to f(old value) there, the offline
   fingerprint is measured: same spec, same statements (fingerprint.fingerprint_sql), each
   converted column read from its shadow. By the proof, in that snapshot, that is f(old value),
   the value the column is about to become, without a second sha256 per row. The run is marked
   online = {"state": "proved"}. A failed proof records nothing. The snapshot blocks no writer
   (ACCESS SHARE only); it writes only uuidpk's own tables.
2. At the end (a last step after the contract phase, journaled as any), in one snapshot, the
   same spec is measured as the columns are now, and compared in SQL with the proof's values. A
   table or foreign key whose measure equals the proof's was not written between the proof and
   the end: its rows and pairs after the conversion are those before it, proven as offline. One
   whose measure differs was written meanwhile: by the application, or by the cutover itself;
   nothing can tell those apart. Its values become the end's, and the run names it
   (online.tables, online.foreign_keys). The schema the migration left (constraints with
   actions and deferrability, indexes, defaults, NOT NULL) is recorded then too, as offline
   just before commit, and the state becomes "finished". Only a run still "proved" is closed,
   so a resumed close changes nothing.
3. `verify` compares every table and foreign key with the run, as offline: the unchanged ones
   with their state before the conversion, the changed ones with the state the migration left,
   and says which are which. For a changed one, the conversion rests on the proof (every shadow
   = f(old value) in one snapshot), the fill triggers (every row written after it got its
   shadows from the same derivation) and the foreign keys validated before the cutover, not on a
   before/after comparison. As offline, a write after the migration is a difference: verify
   cannot tell the application's writes from damage, which is a write too. A run whose migration
   has not finished is refused in one line: neither the schema it leaves nor what changed during
   it is known yet.

1 and 2 are statements in the plan's steps (OnlineStep.record): `apply --online` runs them and
`generate --online` prints them, as offline's fingerprint. A run names no journal entry (a
script keeps none): a migration's run is the latest online one taken since it started.

Not chosen: measuring inside the cutover's transaction (a scan of every table under ACCESS
EXCLUSIVE); measuring only at the end (nothing compared with the rows before the conversion);
excusing every table with rows written after the migration (it would excuse damage as well).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from psycopg import sql

from . import store
from .errors import VerificationFailed
from .fingerprint import (
    Derived,
    FingerprintSpec,
    Run,
    fingerprint_sql,
    measure_again_sql,
    pin_sql,
    read_run,
    unpin_sql,
)
from .model import QualifiedName
from .ops import LockLevel, Phase
from .planning.online import Kind, OnlinePlan, OnlineStep

FINISHED = "finished"  # online_close.sql's; online_mark.sql's is "proved"


@dataclass(frozen=True)
class OnlineFingerprint:
    """An online migration's fingerprint run, as `status` and `verify` tell it."""

    run: int
    state: str  # proved: taken at the proof; finished: closed at the migration's end
    taken_at: dt.datetime
    status: str  # recorded, verified, failed (the last verify's outcome)
    tables: int  # measured
    foreign_keys: int
    changed_tables: tuple[str, ...] = ()  # written between the proof and the end
    changed_foreign_keys: tuple[str, ...] = ()

    @classmethod
    def of(cls, run: Run) -> OnlineFingerprint | None:
        if run.online is None:
            return None
        return cls(
            run.id,
            str(run.online.get("state")),
            run.taken_at,
            run.status,
            len(run.spec.tables),
            len(run.spec.foreign_keys),
            tuple(run.online.get("tables") or ()),
            tuple(run.online.get("foreign_keys") or ()),
        )

    def describe(self) -> str:
        taken = f"{self.taken_at:%Y-%m-%d %H:%M:%S %Z}"
        head = f"fingerprint run {self.run}, taken at the proof {taken}"
        if self.state != FINISHED:
            return f"{head}; closed when the migration ends (uuidpk verify waits for that)"
        written = len(self.changed_tables)
        last = {"recorded": "not verified yet", "verified": "verified", "failed": "failed"}
        return (
            f"{head}, closed at the end ({written} of {self.tables} table(s) written "
            f"meanwhile); uuidpk verify compares with it: {last.get(self.status, self.status)}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "state": self.state,
            "taken_at": self.taken_at.isoformat(),
            "status": self.status,
            "changed_tables": list(self.changed_tables),
            "changed_foreign_keys": list(self.changed_foreign_keys),
        }


def with_fingerprint(
    plan: OnlinePlan, spec: FingerprintSpec, shadows: Mapping[QualifiedName, Mapping[str, str]]
) -> OnlinePlan:
    """The online plan with its fingerprint: recorded by the proof (proof_sql), closed by a
    last step once the contract phase is done (close_sql). shadows: per table, each converted
    column's shadow column."""
    record = tuple(proof_sql(spec, shadow_columns(spec, shadows)))
    steps = tuple(replace(s, record=record) if s.kind is Kind.PROOF else s for s in plan.steps)
    close = OnlineStep(
        "fingerprint",
        Phase.CONTRACT,
        Kind.PROOF,
        (),
        lock=LockLevel.ACCESS_SHARE,
        record=tuple(close_sql(spec)),
    )
    return replace(plan, steps=(*steps, close))


# -- 1. at the proof ------------------------------------------------------------------------------
def proof_sql(spec: FingerprintSpec, shadows: Derived) -> list[str]:
    """The statements that record the fingerprint in the proof's snapshot, after the proof:
    the offline ones (fingerprint_sql), converted columns read from their shadows, and the
    online mark. As text, for the journal."""
    statements: list[str] = []
    for what, statement in fingerprint_sql(spec, shadows):
        statements.append(statement.as_string(None))
        if what == "fingerprint run":
            statements.append(store.mark_online_sql().as_string(None))
    return statements


def shadow_columns(
    spec: FingerprintSpec, shadows: Mapping[QualifiedName, Mapping[str, str]]
) -> Derived:
    """Per measured table, each converted column read from its shadow column."""
    return {
        table: {column: sql.Identifier(shadow) for column, shadow in shadows[table].items()}
        for table in spec.relations
        if table in shadows
    }


# -- 2. at the end ----------------------------------------------------------------------------
def close_sql(spec: FingerprintSpec) -> list[str]:
    """The statements that close the fingerprint at the migration's end, in one snapshot:
    every relation measured as it is now, each value that moved since the proof kept with the
    tables and foreign keys it belongs to, and the schema the migration left. Once: they change
    nothing when the latest online run is closed already. As text, for the journal."""
    statements = [pin_sql(), *measure_again_sql(spec)]
    statements += [store.close_online_sql(spec.relations), unpin_sql()]
    return [s.as_string(None) for s in statements]


def read(conn: psycopg.Connection, migration: int) -> OnlineFingerprint | None:
    """The fingerprint an online migration recorded, if any."""
    run_id = store.online_run_id(conn, migration)
    return None if run_id is None else OnlineFingerprint.of(read_run(conn, run_id))


# -- 3. what verify says ------------------------------------------------------------------------
def verify_notes(run: Run) -> list[str]:
    """What verify compares for an online migration's run, or VerificationFailed when the
    migration has not finished (nothing to compare with yet). [] for an offline run."""
    found = OnlineFingerprint.of(run)
    if found is None:
        return []
    if found.state != FINISHED:
        raise VerificationFailed(
            f"fingerprint run {run.id} was taken at the proof of an online migration that has "
            "not finished: its end records the schema it leaves and what was written during "
            "it; finish it (the same apply command, or the rest of the script), then verify"
        )
    tables, fks = found.changed_tables, found.changed_foreign_keys
    if not tables and not fks:
        return [
            "online migration: no table or foreign key was written between the proof and the "
            "end; every one is compared with its rows before the conversion"
        ]
    return [
        f"online migration: {_some(tables, 'table')} and "
        f"{_some(fks, 'foreign key')} written between the proof and the end (by the "
        "application, or the cutover: not told apart) are compared with the rows the "
        "migration left, not with those before it; their "
        "conversion rests on the proof (every shadow = f(old value) in one snapshot), the fill "
        "triggers and the foreign keys validated before the cutover",
        "online migration: the other "
        f"{found.tables - len(tables)} table(s) and {found.foreign_keys - len(fks)} foreign "
        "key(s) are compared with their rows before the conversion",
    ]


def _some(names: Sequence[str], word: str) -> str:
    if not names:
        return f"no {word}"
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f"{len(names)} {word}(s) ({shown})"
