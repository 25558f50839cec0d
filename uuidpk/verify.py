"""Verification after the change: measure again with the recorded spec (fingerprint.py) and
compare, then the checks a DBA would make (foreign keys as recorded, converted columns, sequences
that lag behind their columns). `verify` exits non-zero on any difference and names it. After an
online migration, what is compared with what is in online_fingerprint.py; verify says it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from . import schema_record, store, templates
from .differences import Difference, plural
from .errors import VerificationFailed
from .fingerprint import (
    FK,
    FK_NULLS,
    FK_ORPHANS,
    TABLE,
    FingerprintSpec,
    Measures,
    Progress,
    Run,
    measure_all,
    pin_sql,
    read_measures,
    read_run,
    unpin_sql,
)
from .model import QualifiedName
from .naming import display_name, quote_if_needed
from .online_fingerprint import END, Compared, compared, verify_notes
from .schema_record import SchemaRecord
from .sequences import read_sequence_positions


def _template(name: str) -> sql.SQL:
    return templates.statement(f"verify/{name}.sql")


# -- verifying ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verification:
    run: Run
    tables: int
    foreign_keys: int
    rows: int  # table rows measured now
    sequences_checked: int | None  # None: the sequence check was not asked for
    differences: tuple[Difference, ...]
    notes: tuple[str, ...] = field(default=())
    compared: tuple[Compared, ...] = ()  # per table and foreign key, what it was compared with

    @property
    def ok(self) -> bool:
        return not self.differences

    def summary(self) -> str:
        sequences = ""
        if self.sequences_checked is not None:
            sequences = f", {self.sequences_checked} sequence-fed column(s)"
        head = (
            f"fingerprint run {self.run.id} of {self.run.taken_at:%Y-%m-%d %H:%M:%S %Z}: "
            f"{self.tables} table(s), {self.foreign_keys} foreign key(s), "
            f"{self.rows:,} row(s){sequences} checked"
        )
        written = [c for c in self.compared if c.compared_with == END]
        if written:
            tables = sum(1 for c in written if c.what == "table")
            head += (
                f" ({tables} table(s) and {len(written) - tables} foreign key(s) of them only "
                "against what the online migration left)"
            )
        if self.ok:
            return f"{head}; no difference"
        return f"{head}; {len(self.differences)} difference(s)"

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run.id,
            "taken_at": self.run.taken_at.isoformat(),
            "ok": self.ok,
            "tables": self.tables,
            "foreign_keys": self.foreign_keys,
            "rows": self.rows,
            "sequences_checked": self.sequences_checked,
            "differences": [d.to_json() for d in self.differences],
            "notes": list(self.notes),
            "compared": [c.to_json() for c in self.compared],
            "online": self.run.online,
        }


def compare(
    spec: FingerprintSpec, before: Measures, after: Measures
) -> tuple[list[Difference], list[str]]:
    """Differences between two measurements of the same spec, and notes (things that were
    already so before the change: orphans under a NOT VALID key)."""
    differences: list[Difference] = []
    notes: list[str] = []
    for t in spec.tables:
        b, a = before.get((TABLE, t.object)), after.get((TABLE, t.object))
        if b is None or a is None:
            continue
        if b.row_count != a.row_count:
            differences.append(
                Difference(
                    "table",
                    t.object,
                    f"{plural(b.row_count, 'row')} before, {a.row_count:,} after",
                )
            )
        elif b.hash != a.hash:
            differences.append(
                Difference(
                    "table",
                    t.object,
                    f"{plural(b.row_count, 'row')} before and after, but different rows "
                    "(their keys included)",
                )
            )
    for f in spec.foreign_keys:
        obj = f.object
        b, a = before.get((FK, obj)), after.get((FK, obj))
        if b is not None and a is not None:
            if b.row_count != a.row_count:
                differences.append(
                    Difference(
                        f.what,
                        obj,
                        f"{plural(b.row_count, '(child, parent) pair')} before, "
                        f"{a.row_count:,} after",
                    )
                )
            elif b.hash != a.hash:
                differences.append(
                    Difference(
                        f.what,
                        obj,
                        f"{plural(b.row_count, '(child, parent) pair')} before and after, but "
                        f"different pairs",
                    )
                )
        b, a = before.get((FK_NULLS, obj)), after.get((FK_NULLS, obj))
        if b is not None and a is not None and b.row_count != a.row_count:
            differences.append(
                Difference(
                    f.what,
                    obj,
                    f"{plural(b.row_count, 'row')} with a NULL reference before, "
                    f"{a.row_count:,} after",
                )
            )
        b, a = before.get((FK_ORPHANS, obj)), after.get((FK_ORPHANS, obj))
        if a is not None and a.row_count:
            was = b.row_count if b is not None else 0
            if a.row_count != was:
                differences.append(
                    Difference(
                        f.what,
                        obj,
                        f"{plural(a.row_count, 'orphaned row')} (a reference with no parent "
                        f"row), {was:,} before",
                    )
                )
            else:
                why = "nothing enforces it" if f.soft else "the key is NOT VALID"
                notes.append(
                    f"{f.what} {obj}: {plural(a.row_count, 'orphaned row')}, "
                    f"as many as before the change ({why})"
                )
        elif b is not None and a is not None and b.row_count != a.row_count:
            differences.append(
                Difference(f.what, obj, f"{b.row_count:,} orphaned rows before, none after")
            )
    return differences, notes


def check_foreign_keys(conn: psycopg.Connection, spec: FingerprintSpec) -> list[Difference]:
    """Each recorded foreign key is still there, between the same columns, and validated when
    it was validated before."""
    constrained = [f for f in spec.foreign_keys if not f.soft]
    if not constrained:
        return []
    items = [{"schema": f.table.schema, "table": f.table.name, "name": f.name} for f in constrained]
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(_template("foreign_keys"), {"foreign_keys": Jsonb(items)})
        rows = cur.fetchall()
    differences = []
    for f, row in zip(constrained, rows, strict=True):
        if not row["found"]:
            differences.append(Difference("foreign key", f.object, "missing"))
            continue
        now_ref = QualifiedName(row["ref_schema"], row["ref_table"])
        if (tuple(row["columns"]), now_ref, tuple(row["ref_columns"])) != (
            f.columns,
            f.ref_table,
            f.ref_columns,
        ):
            differences.append(
                Difference(
                    "foreign key",
                    f.object,
                    f"now ({', '.join(row['columns'])}) references {display_name(now_ref)}"
                    f"({', '.join(row['ref_columns'])}); it was ({', '.join(f.columns)}) -> "
                    f"{display_name(f.ref_table)}({', '.join(f.ref_columns)})",
                )
            )
        if f.validated and not row["validated"]:
            differences.append(
                Difference("foreign key", f.object, "NOT VALID, but it was validated before")
            )
    return differences


def check_converted_columns(conn: psycopg.Connection, spec: FingerprintSpec) -> list[Difference]:
    """Each converted column is uuid, is no identity, has no default drawing from a sequence,
    and owns no sequence."""
    columns = [(t.table, c) for t in spec.tables for c in t.converted]
    texts = {(t.table, c) for t in spec.tables for c in t.keep_text}
    if not columns:
        return []
    items = [{"schema": t.schema, "table": t.name, "column": c} for t, c in columns]
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(_template("converted_columns"), {"columns": Jsonb(items)})
        rows = cur.fetchall()
    differences = []
    for (table, column), row in zip(columns, rows, strict=True):
        name = f"{display_name(table)}.{quote_if_needed(column)}"
        if not row["found"]:
            differences.append(Difference("column", name, "missing"))
            continue
        if (table, column) in texts:
            if row["type"] != "text":
                differences.append(Difference("column", name, f"type is {row['type']}, not text"))
        elif not row["is_uuid"]:
            differences.append(Difference("column", name, f"type is {row['type']}, not uuid"))
        if row["identity"]:
            differences.append(Difference("column", name, "is still an identity column"))
        if row["default_sequences"] or "nextval(" in (row["default_expr"] or ""):
            differences.append(
                Difference(
                    "column", name, f"default {row['default_expr']} still draws from a sequence"
                )
            )
        for sequence in row["owned_sequences"]:
            differences.append(
                Difference("sequence", sequence, f"still owned by converted column {name}")
            )
    return differences


def check_schema(
    conn: psycopg.Connection, spec: FingerprintSpec, recorded: SchemaRecord
) -> list[Difference]:
    """The schema the migration left on the measured tables and the views reading them
    (recorded just before its commit, schema_record.py) against the catalog now: an action or
    DEFERRABLE changed, a key, index, default, trigger or comment dropped, a trigger disabled,
    a view redefined, a column's type or a privilege changed all show. Objects added since are
    no loss and are not reported."""
    conn.execute(pin_sql())  # deparsed definitions as the recording session saw them
    now = store.read_schema(conn, spec.relations)
    conn.execute(unpin_sql())
    return schema_record.compare(recorded.objects, now.objects)


def _check_sequences(
    conn: psycopg.Connection, before: Sequence[dict[str, Any]], tables: set[QualifiedName]
) -> tuple[int, list[Difference], list[str]]:
    """Every sequence-fed column of the database: a sequence behind a column of the migration's
    tables is a difference, or a note when it was behind already before the migration (the
    fingerprint measured the sequences feeding those tables); one behind elsewhere is a note
    (the migration touched neither it nor its table, and did not measure it before)."""
    already = {
        (
            QualifiedName(p["sequence_schema"], p["sequence_name"]),
            QualifiedName(p["table_schema"], p["table_name"]),
            p["column"],
        )
        for p in before
        if p.get("what") == "sequence"
    }
    positions = read_sequence_positions(conn)
    differences, notes = [], []
    for p in positions:
        if not p.lagging:
            continue
        detail = f"{p.describe()} (uuidpk sequences --fix moves it)"
        name = display_name(p.sequence)
        if (p.sequence, p.table, p.column) in already:
            notes.append(f"sequence {name}: {detail}; so already before the migration")
        elif p.table not in tables:
            notes.append(f"sequence {name}: {detail}; not a table of the migration")
        else:
            differences.append(Difference("sequence", name, detail))
    return len(positions), differences, notes


def _read_only(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT current_setting('transaction_read_only')").fetchone()
    return row is not None and row[0] == "on"


def verify(
    conn: psycopg.Connection,
    run_id: int | None = None,
    *,
    check_sequences: bool = True,
    mark: bool = True,
    progress: Progress | None = None,
) -> Verification:
    """Measure again with the recorded spec and compare; check foreign keys, converted columns
    and (check_sequences) every sequence-fed column of the database. With mark, record the
    outcome in the run's status. Returns the outcome; raises only when there is nothing to
    verify. In its own transaction (one snapshot), or inside the caller's."""
    top_level = conn.info.transaction_status == TransactionStatus.IDLE
    with conn.transaction():
        if top_level:
            # One snapshot for every measure, so the queries agree with each other.
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        run = read_run(conn, run_id)
        before = read_measures(conn, run.id)
        against = compared(run, {key: m.row_count for key, m in before.items()})
        online = verify_notes(run, against)  # refuses a run whose online migration is running
        recorded = None if run.schema_after is None else run.schema_after.readable(run.id)
        spec = run.spec
        after, unmeasurable = measure_all(conn, spec, tolerate=True, progress=progress)
        differences = [
            Difference(u.what, u.object, f"cannot be measured: {u.reason}") for u in unmeasurable
        ]
        found, notes = compare(spec, before, after)
        notes = online + notes
        differences += found
        differences += check_foreign_keys(conn, spec)
        differences += check_converted_columns(conn, spec)
        if recorded is not None:
            differences += check_schema(conn, spec, recorded)
            if recorded.version == 1:
                notes.append(
                    f"fingerprint run {run.id} was recorded by an older uuidpk: its schema "
                    "record has constraints, indexes, defaults and NOT NULL, not "
                    f"{schema_record.NOT_IN_VERSION_1}: those are not compared"
                )
        else:
            notes.append("the schema after the migration was not recorded: not compared")
        checked = None
        if check_sequences:
            measured = {t.table for t in spec.tables}
            checked, lagging, already = _check_sequences(conn, run.problems_before, measured)
            differences += lagging
            notes += already
        if mark and _read_only(conn):
            # A hot standby, or default_transaction_read_only: verify proves, writes nothing.
            notes.append("read-only: the run's status was not recorded")
        elif mark:
            store.mark_run(conn, run.id, "failed" if differences else "verified")
    rows = sum(
        after[(TABLE, t.object)].row_count for t in spec.tables if (TABLE, t.object) in after
    )
    return Verification(
        run=run,
        tables=len(spec.tables),
        foreign_keys=len(spec.foreign_keys),
        rows=rows,
        sequences_checked=checked,
        differences=tuple(differences),
        notes=tuple(notes),
        compared=against,
    )


def require_verified(verification: Verification) -> None:
    """VerificationFailed naming the differences (the first five), when there are any."""
    if verification.differences:
        shown = "; ".join(str(d) for d in verification.differences[:5])
        more = len(verification.differences) - 5
        extra = f" (and {more} more)" if more > 0 else ""
        raise VerificationFailed(f"{shown}{extra}")
