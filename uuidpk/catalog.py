"""Read the catalogs: a handful of batched queries per database, never one per table."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from . import templates
from .model import (
    Catalog,
    Column,
    Constraint,
    Dependent,
    Grant,
    Index,
    Policy,
    Sequence,
    Server,
    Table,
    View,
)


def _rows(conn: psycopg.Connection, template: str) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(templates.load(f"catalog/{template}").encode())
        return cur.fetchall()


def read_server(conn: psycopg.Connection) -> Server:
    (row,) = _rows(conn, "server.sql")
    return Server(**row)


def read_catalog(conn: psycopg.Connection) -> Catalog:
    """Everything uuidpk needs to know about the user's schemas, in one consistent snapshot."""
    # One REPEATABLE READ snapshot so the queries agree with each other even while DDL runs.
    idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with conn.transaction():
        if idle:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        # Deparsed expressions (views, policies, defaults, constraints) name every user object
        # with its schema only when the search path holds nothing but pg_catalog; then they
        # mean the same thing whatever search_path the migration later runs with.
        conn.execute("SET LOCAL search_path = pg_catalog")
        server = read_server(conn)
        tables = tuple(
            Table(**{**r, "partition_key": tuple(r["partition_key"])})
            for r in _rows(conn, "tables.sql")
        )
        columns = tuple(Column(**r) for r in _rows(conn, "columns.sql"))
        constraints = tuple(
            Constraint(
                **{**r, "columns": tuple(r["columns"]), "ref_columns": tuple(r["ref_columns"])}
            )
            for r in _rows(conn, "constraints.sql")
        )
        indexes = tuple(
            Index(
                **{
                    **r,
                    "key_columns": tuple(r["key_columns"]),
                    "used_columns": frozenset(r["used_columns"]),
                }
            )
            for r in _rows(conn, "indexes.sql")
        )
        sequences = tuple(_sequence(r) for r in _rows(conn, "sequences.sql"))
        dependents = tuple(
            Dependent(**{**r, "columns": tuple(r["columns"])})
            for r in _rows(conn, "dependents.sql")
        )
        views = tuple(_view(r) for r in _rows(conn, "views.sql"))
        policies = tuple(
            Policy(**{**r, "roles": tuple(r["roles"])}) for r in _rows(conn, "policies.sql")
        )
        own = frozenset(r["name"] for r in _rows(conn, "uuidpk_tables.sql"))
    return Catalog(
        server, tables, columns, constraints, indexes, sequences, dependents, views, policies, own
    )


def _view(row: dict[str, Any]) -> View:
    return View(
        **{
            **row,
            "options": tuple(row["options"]),
            "column_comments": tuple(sorted(row["column_comments"].items())),
            "grants": tuple(Grant(**g) for g in row["grants"]),
            "reads": tuple(row["reads"]),
            "triggers": tuple(row["triggers"]),
            "rules": tuple(row["rules"]),
        }
    )


def _sequence(row: dict[str, Any]) -> Sequence:
    owner = None
    if row["owner_table_oid"] is not None:
        owner = (int(row["owner_table_oid"]), int(row["owner_attnum"]))
    used_by = tuple((int(t), int(a)) for t, a in (row["used_by"] or []))
    return Sequence(
        oid=row["oid"],
        schema=row["schema"],
        name=row["name"],
        owner=owner,
        is_identity=row["is_identity"],
        used_by=used_by,
    )
