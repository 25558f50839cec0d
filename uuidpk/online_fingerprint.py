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
   (online.tables, online.foreign_keys, with their counts at the proof in online.at_proof).
   The schema the migration left (schema_record.py) is recorded then too, as offline just
   before commit, and the state becomes "finished". Only a run still "proved" is closed,
   so a resumed close changes nothing.
3. `verify` compares every table and foreign key with the run, as offline: the unchanged ones
   with their state before the conversion, the changed ones with the state the migration left,
   and says which are which, one by one (compared_with: "before" or "end", in text and JSON,
   with a changed one's count at the proof and at the end). For a changed one, the conversion
   rests on the proof (every shadow = f(old value) in one snapshot), the fill triggers (every
   row written after it got its shadows from the same derivation) and the foreign keys
   validated before the cutover, not on a before/after comparison: a wrong value written
   between the proof and the cutover (an application trigger that sets a converted column
   after the fill trigger ran, say) is what the migration left, and verify cannot see it. As
   offline, a write after the migration is a difference: verify cannot tell the application's
   writes from damage, which is a write too. A run whose migration has not finished is refused
   in one line: neither the schema it leaves nor what changed during it is known yet.

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
from .differences import plural
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
    # (kind, object) -> its count at the proof, for each count that moved until the end;
    # None: closed by a uuidpk that did not keep them
    at_proof: Mapping[tuple[str, str], int] | None = None

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
            None
            if run.online.get("at_proof") is None
            else {(p["kind"], p["object"]): int(p["rows"]) for p in run.online["at_proof"]},
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
BEFORE = "before"  # compared with its rows (pairs) before the conversion, as offline
END = "end"  # written between the proof and the end: compared with what the migration left


@dataclass(frozen=True)
class Compared:
    """What verify compared one table or foreign key with."""

    what: str  # table, foreign key, soft reference
    name: str
    compared_with: str  # BEFORE or END
    at_proof: int | None = None  # END: its rows (pairs) at the proof, when the run kept them
    at_end: int | None = None  # END: its rows (pairs) when the migration ended

    def describe(self) -> str:
        if self.compared_with == BEFORE:
            return f"{self.what} {self.name}: compared with its rows before the conversion"
        unit = "row" if self.what == "table" else "(child, parent) pair"
        counts = ""
        if self.at_proof is not None and self.at_end is not None:
            counts = f" ({plural(self.at_proof, unit)} at the proof, {self.at_end:,} at the end)"
        return (
            f"{self.what} {self.name}: written between the proof and the end{counts}; compared "
            "only with what the migration left"
        )

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "what": self.what,
            "name": self.name,
            "compared_with": self.compared_with,
        }
        if self.compared_with == END:
            found.update(at_proof=self.at_proof, at_end=self.at_end)
        return found


def compared(run: Run, stored: Mapping[tuple[str, str], int]) -> tuple[Compared, ...]:
    """Per table and foreign key of the run, what verify compares it with; stored: the run's
    (kind, object) -> count (the end's, for what was written during an online run)."""
    found = OnlineFingerprint.of(run)
    if found is None:
        return tuple(
            [Compared("table", t.object, BEFORE) for t in run.spec.tables]
            + [Compared(f.what, f.object, BEFORE) for f in run.spec.foreign_keys]
        )

    def one(what: str, name: str, kind: str, written: Sequence[str]) -> Compared:
        if name not in written:
            return Compared(what, name, BEFORE)
        end = stored.get((kind, name))
        if found.at_proof is None:  # closed by an earlier uuidpk: no counts at the proof
            return Compared(what, name, END)
        # A count the run did not keep did not move (a foreign key's NULL references may have).
        return Compared(what, name, END, found.at_proof.get((kind, name), end), end)

    return tuple(
        [one("table", t.object, "table", found.changed_tables) for t in run.spec.tables]
        + [one(f.what, f.object, "fk", found.changed_foreign_keys) for f in run.spec.foreign_keys]
    )


def verify_notes(run: Run, checked: Sequence[Compared]) -> list[str]:
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
    written = [c for c in checked if c.compared_with == END]
    if not written:
        return [
            "online migration: no table or foreign key was written between the proof and the "
            "end; every one is compared with its rows before the conversion"
        ]
    tables = sum(1 for c in written if c.what == "table")
    fks = len(written) - tables
    notes = [
        f"online migration: {tables} of {found.tables} table(s) and {fks} of "
        f"{found.foreign_keys} foreign key(s) were written between the proof and the end (by "
        "the application, or the cutover: not told apart), so they are compared with the rows "
        "the migration left, not with those before it; their conversion rests on the proof "
        "(every shadow = f(old value) in one snapshot), the fill triggers and the foreign keys "
        "validated before the cutover: a wrong value written between the proof and the "
        "cutover cannot be seen"
    ]
    notes += [f"online migration: {c.describe()}" for c in written]
    notes.append(
        f"online migration: the other {found.tables - tables} table(s) and "
        f"{found.foreign_keys - fks} foreign key(s) are compared with their rows before the "
        "conversion"
    )
    return notes
