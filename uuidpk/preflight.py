"""Checks against the live server before anything changes: whether the current role may run
every statement of a plan, and whether the server's lock table can hold the plan's locks.

An offline plan fails as a whole, but only when PostgreSQL reaches the statement it refuses:
after minutes of rewrites under ACCESS EXCLUSIVE locks. These read the catalog (a privilege
function or a setting per need, one query each) and turn each missing piece into a blocker.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row

from . import templates
from .catalog import relation_oids_sql, sequence_columns_sql
from .model import TOOL_SCHEMA, QualifiedName
from .ops import (
    AddForeignKey,
    AlterColumns,
    BuildOrderMap,
    CreateKeyFunction,
    CreateSchema,
    CreateView,
    DisownSequence,
    DropConstraint,
    DropIdentity,
    DropPolicy,
    DropRule,
    DropSequence,
    DropTrigger,
    DropView,
    KeepOldId,
    LockTables,
    Plan,
    WriteMapping,
)
from .problems import Problem, Severity


@dataclass
class Needs:
    """What a plan's statements ask of the role running them."""

    owned: set[QualifiedName] = field(default_factory=set)  # ALTER/DROP: the owner's privileges
    # Relations that get new files or a new oid in the transaction, each a lock of its own:
    # tables ALTER ... TYPE rewrites, views dropped and created again.
    replaced: set[QualifiedName] = field(default_factory=set)
    views: set[tuple[str, str]] = field(default_factory=set)  # CREATE VIEW: (schema, owner)
    temp: bool = False  # functions and tables in pg_temp
    tool_schema: bool = False  # writes into the tool's schema
    fingerprint: bool = False  # records a fingerprint (reads the sequences feeding `locked`)
    locked: set[QualifiedName] = field(default_factory=set)  # the closures' tables


def plan_needs(plan: Plan, *, fingerprint: bool = False) -> Needs:
    """Read the needs off the plan's operations (what apply and the script run). With
    fingerprint, apply also records one in the tool's schema."""
    needs = Needs(tool_schema=fingerprint, fingerprint=fingerprint)
    for op in (op for step in plan.steps for op in step.ops):
        match op:
            case LockTables(tables=tables):
                needs.owned.update(tables)
                needs.locked.update(tables)
            case AlterColumns(table=table):
                needs.owned.add(table)
                needs.replaced.add(table)
            case (
                DropConstraint(table=table)
                | DropIdentity(table=table)
                | KeepOldId(table=table)
                | AddForeignKey(table=table)
                | DropPolicy(table=table)
                | DropTrigger(table=table)
                | DropRule(table=table)
            ):
                needs.owned.add(table)
            case DropView(view=view):
                needs.owned.add(view)
                needs.replaced.add(view)
            case DropSequence(sequence=sequence) | DisownSequence(sequence=sequence):
                needs.owned.add(sequence)
            case CreateView(view=view, owner=owner):
                needs.views.add((view.schema, owner))
            case CreateKeyFunction() | BuildOrderMap():
                needs.temp = True
            case CreateSchema() | WriteMapping():
                needs.tool_schema = True
    return needs


def _rows(
    conn: psycopg.Connection, name: str, params: dict[str, Any], schemas: str, needs: Needs
) -> list[dict[str, Any]]:
    """A check's rows; its {sequence_columns}: those of the schemas in params[schemas] that
    feed the tables the plan locks (what its fingerprint reads)."""
    query = templates.statement(f"catalog/{name}").format(
        sequence_columns=sequence_columns_sql(schemas, relation_oids_sql(needs.locked))
    )
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()


def _names(relations: Iterable[QualifiedName]) -> tuple[list[str], list[str]]:
    ordered = sorted(relations)
    return [r.schema for r in ordered], [r.name for r in ordered]


def privilege_problems(
    conn: psycopg.Connection,
    needs: Needs,
    user: str,
    user_schemas: Sequence[int] = (),
    *,
    own_objects: bool = False,
) -> list[Problem]:
    """One blocker per privilege the role lacks, with the GRANT (or role) that gives it.
    own_objects: only those on the plan's own objects (relations, views' schemas and owners),
    not on the database or the tool's schema, which every plan needs."""
    schemas, names = _names(needs.owned)
    rows = _rows(
        conn,
        "missing_privileges.sql",
        {
            "owned_schemas": schemas,
            "owned_names": names,
            "view_schemas": [schema for schema, _ in sorted(needs.views)],
            "view_owners": [owner for _, owner in sorted(needs.views)],
            "temp": needs.temp,
            "tool_schema": TOOL_SCHEMA if needs.tool_schema else None,
            "fingerprint": needs.fingerprint,
            "schemas": list(user_schemas),
        },
        "schemas",
        needs,
    )
    problems = []
    seen: set[tuple[str, str, str, str | None]] = set()
    for row in rows:
        what, name, missing = row["what"], row["name"], row["missing"]
        if (what, name, missing, row["owner"]) in seen:
            continue
        if own_objects and (what == "database" or (what == "schema" and name == TOOL_SCHEMA)):
            continue
        seen.add((what, name, missing, row["owner"]))
        problems.append(
            Problem(Severity.BLOCKER, "privilege", name, _reason(what, missing, row, user))
        )
    return problems


def _reason(what: str, missing: str, row: dict[str, Any], user: str) -> str:
    name = row["name"]
    if what == "relation":
        owner = row["owner"]
        return (
            f"role {user} does not own it (owner {owner}) and must ALTER or DROP it: "
            f"run as {owner}, or GRANT {owner} TO {user}"
        )
    if what == "role":
        return (
            f"role {user} must give recreated views back to {name} (ALTER ... OWNER TO needs "
            f"membership): GRANT {name} TO {user}, or run as {name}"
        )
    if what in ("sequence read", "table read"):
        kind = "SEQUENCE " if what == "sequence read" else ""
        return (
            f"role {user} cannot read it, and the fingerprint reads where each sequence feeding "
            "the closure's tables stands against its column (to tell sequences behind before "
            f"the migration): GRANT SELECT "
            f"ON {kind}{name} TO {user}"
        )
    if what == "owner schema":
        owner = row["owner"]
        return (
            f"views are given back to {owner} (ALTER ... OWNER TO), who lacks CREATE on "
            f"schema {name}: GRANT CREATE ON SCHEMA {name} TO {owner}"
        )
    if what == "database" and missing == "TEMPORARY":
        return (
            f"role {user} may not create temporary objects (the derivation functions live in "
            f"pg_temp): GRANT TEMPORARY ON DATABASE {name} TO {user}"
        )
    if what == "database":
        return (
            f"role {user} may not create schema {TOOL_SCHEMA} (fingerprints, mapping tables): "
            f"GRANT CREATE ON DATABASE {name} TO {user}"
        )
    purpose = (
        "fingerprints and mapping tables go there"
        if name == TOOL_SCHEMA
        else "views on the keys are recreated there"
    )
    grant = f"GRANT {missing} ON SCHEMA {name} TO {user}"
    return f"role {user} lacks {missing} on schema {name} ({purpose}): {grant}"


@dataclass(frozen=True)
class LockEstimate:
    """Lock table entries a plan needs (an upper estimate) and what the server has."""

    needed: int
    capacity: int
    max_locks_per_transaction: int
    backends: int  # max_connections + max_prepared_transactions


def estimate_locks(
    conn: psycopg.Connection, needs: Needs, user_schemas: Sequence[int] = ()
) -> LockEstimate:
    relations = sorted(needs.owned | needs.replaced)
    schemas, names = _names(relations)
    (row,) = _rows(
        conn,
        "lock_estimate.sql",
        {
            "schemas": schemas,
            "names": names,
            "rewritten": [r in needs.replaced for r in relations],
            "fingerprint": needs.fingerprint,
            "user_schemas": list(user_schemas),
        },
        "user_schemas",
        needs,
    )
    # The fingerprint writes each table's measures through a temporary table and each parent's
    # kept keys into an unlogged one (neither with a TOAST table); they are dropped at once, but
    # their locks last until the transaction ends.
    measured = 2 * len(needs.replaced) if needs.fingerprint else 0
    return LockEstimate(
        # The tool's own tables, the pg_temp functions' tables, and the system catalogs and
        # their indexes that the statements and the schema record read (past 16 relations a
        # transaction's locks leave the fast path): 52 held in all by a two-table closure.
        needed=int(row["needed"]) + 64 + measured,
        capacity=int(row["capacity"]),
        max_locks_per_transaction=int(row["max_locks_per_transaction"]),
        backends=int(row["max_connections"]) + int(row["max_prepared_transactions"]),
    )


def lock_problems(
    conn: psycopg.Connection, needs: Needs, user_schemas: Sequence[int] = ()
) -> list[Problem]:
    """A blocker when the plan would need more lock table entries than the server has."""
    estimate = estimate_locks(conn, needs, user_schemas)
    if estimate.needed <= estimate.capacity:
        return []
    enough = -(-estimate.needed // estimate.backends)  # ceiling
    return [
        Problem(
            Severity.BLOCKER,
            "lock table",
            "max_locks_per_transaction",
            f"the plan locks about {estimate.needed} relations (tables, partitions, indexes, "
            "TOAST; rewritten tables twice) in one transaction, the server's lock table holds "
            f"{estimate.capacity} (max_locks_per_transaction {estimate.max_locks_per_transaction}"
            f" x (max_connections + max_prepared_transactions) {estimate.backends}): raise "
            f"max_locks_per_transaction to at least {enough} (needs a restart), or convert "
            "fewer tables at a time",
        )
    ]


def closure_preflight(
    conn: psycopg.Connection,
    plan: Plan,
    user: str,
    *,
    fingerprint: bool = False,
    schemas: Sequence[int] = (),
) -> list[Problem]:
    """What the server's checks block in a plan of one closure on its own (--skip-blocked
    leaves such a closure out): privileges on its own objects, and a lock table too small for
    it alone. What every plan needs (the database's, the tool schema's) is not its own."""
    if not plan.steps:
        return []
    needs = plan_needs(plan, fingerprint=fingerprint)
    own = privilege_problems(conn, needs, user, schemas, own_objects=True)
    return own + lock_problems(conn, needs, schemas)


def preflight_problems(
    conn: psycopg.Connection,
    plan: Plan,
    user: str,
    *,
    fingerprint: bool = False,
    schemas: Sequence[int] = (),
) -> list[Problem]:
    """Privileges and lock table room for a plan (nothing when it has no steps). schemas: the
    user's schemas (Catalog.schema_oids), where the fingerprint reads sequence-fed tables."""
    if not plan.steps:
        return []
    needs = plan_needs(plan, fingerprint=fingerprint)
    return privilege_problems(conn, needs, user, schemas) + lock_problems(conn, needs, schemas)
