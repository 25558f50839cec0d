"""Sequences against the columns they feed: where each stands, and moving a lagging one past
its column's values (a restore or a manual insert can leave nextval() behind)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from . import templates
from .catalog import read_schema_oids, sequence_columns_sql
from .errors import UuidpkError, primary_message
from .model import QualifiedName
from .naming import display_name, quote_if_needed


def _template(name: str) -> sql.SQL:
    return templates.statement(f"verify/{name}.sql")


@dataclass(frozen=True)
class SequencePosition:
    """A sequence against one integer column it feeds (a default's nextval() or identity)."""

    sequence_oid: int
    sequence: QualifiedName
    increment: int
    table: QualifiedName
    column: str
    last_value: int
    is_called: bool
    extreme: int | None  # the column's max (min when the sequence counts down); None: no rows

    @property
    def next_value(self) -> int:
        return self.last_value + self.increment if self.is_called else self.last_value

    @property
    def lagging(self) -> bool:
        """nextval() would hand out a value the column already holds (or has passed)."""
        if self.extreme is None:
            return False
        if self.increment > 0:
            return self.next_value <= self.extreme
        return self.next_value >= self.extreme

    @property
    def column_name(self) -> str:
        return f"{display_name(self.table)}.{quote_if_needed(self.column)}"

    def describe(self) -> str:
        which = "max" if self.increment > 0 else "min"
        where = "not past" if self.lagging else "past"
        return (
            f"next value {self.next_value} is {where} {which}({self.column_name}) = {self.extreme}"
        )


def _position_sql(
    sequence: QualifiedName, table: QualifiedName, column: str, increment: int, template: str
) -> sql.Composed:
    up = increment > 0
    return _template(template).format(
        sequence=sql.Identifier(sequence.schema, sequence.name),
        extreme=sql.SQL("max" if up else "min"),
        further=sql.SQL("greatest" if up else "least"),
        column=sql.Identifier(column),
        table=sql.Identifier(table.schema, table.name),
    )


def read_sequence_positions(conn: psycopg.Connection) -> list[SequencePosition]:
    """Every sequence-fed integer column of the database, with where its sequence stands.
    One catalog query, then one small query per column (max() is an index probe where the
    column is indexed, as keys are)."""
    schemas = {"schemas": read_schema_oids(conn)}
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sequence_columns_sql(), schemas)
        columns = cur.fetchall()
    positions = []
    for c in columns:
        sequence = QualifiedName(c["sequence_schema"], c["sequence_name"])
        table = QualifiedName(c["table_schema"], c["table_name"])
        row = conn.execute(
            _position_sql(sequence, table, c["column_name"], c["increment"], "sequence_position")
        ).fetchone()
        assert row is not None
        last_value, is_called, extreme = row
        positions.append(
            SequencePosition(
                c["sequence_oid"],
                sequence,
                c["increment"],
                table,
                c["column_name"],
                last_value,
                is_called,
                extreme,
            )
        )
    return positions


@dataclass(frozen=True)
class SequenceFix:
    position: SequencePosition  # as it was found
    value: int  # the sequence's last value now; nextval() returns the one after


def fix_sequences(
    conn: psycopg.Connection, positions: Iterable[SequencePosition]
) -> list[SequenceFix]:
    """Move each lagging sequence past its column's max (min, counting down) with setval(),
    never backwards. A sequence that feeds several columns ends past all of them."""
    fixes = []
    for p in positions:
        if not p.lagging:
            continue
        statement = _position_sql(p.sequence, p.table, p.column, p.increment, "sequence_fix")
        try:
            row = conn.execute(statement, {"sequence_oid": p.sequence_oid}).fetchone()
        except psycopg.Error as exc:
            reason = primary_message(exc)
            name = display_name(p.sequence)
            raise UuidpkError(f"cannot move sequence {name}: {reason}") from None
        assert row is not None
        fixes.append(SequenceFix(p, int(row[0])))
    return fixes
