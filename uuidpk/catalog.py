"""Read the catalogs: a handful of batched queries per database, never one per table, all in
one snapshot. The user's schemas are read first; every other query takes their oids as its one
schema filter."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from . import templates
from .errors import ForeignToolSchema
from .model import (
    TOOL_SCHEMA,
    TOOL_SCHEMA_MARKER,
    Catalog,
    Column,
    Constraint,
    Dependent,
    Function,
    FunctionArgument,
    FunctionType,
    Grant,
    Index,
    Policy,
    QualifiedName,
    Sequence,
    Server,
    Table,
    ToolSchema,
    View,
    tool_schema_state,
)


def _rows(
    conn: psycopg.Connection, template: str, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(templates.load(f"catalog/{template}").encode(), params)
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
        tool, own, schemas = _read_schemas(conn)
        p = {"schemas": schemas}
        tables = tuple(
            Table(**{**r, "partition_key": tuple(r["partition_key"])})
            for r in _rows(conn, "tables.sql", p)
        )
        columns = tuple(Column(**r) for r in _rows(conn, "columns.sql", p))
        constraints = tuple(
            Constraint(
                **{
                    **r,
                    "columns": tuple(r["columns"]),
                    "ref_columns": tuple(r["ref_columns"]),
                    "exclusion_columns": tuple(r["exclusion_columns"]),
                    "exclusion_uuid": tuple(r["exclusion_uuid"]),
                }
            )
            for r in _rows(conn, "constraints.sql", p)
        )
        indexes = tuple(
            Index(
                **{
                    **r,
                    "key_columns": tuple(r["key_columns"]),
                    "used_columns": frozenset(r["used_columns"]),
                }
            )
            for r in _rows(conn, "indexes.sql", p)
        )
        sequences = tuple(_sequence(r) for r in _rows(conn, "sequences.sql", p))
        dependents = tuple(
            Dependent(**{**r, "columns": tuple(r["columns"])})
            for r in _rows(conn, "dependents.sql", p)
        )
        views = tuple(_view(r) for r in _rows(conn, "views.sql", p))
        policies = tuple(
            Policy(**{**r, "roles": tuple(r["roles"])}) for r in _rows(conn, "policies.sql", p)
        )
        functions = tuple(function_from_row(r) for r in _rows(conn, "functions.sql", p))
    return Catalog(
        server,
        tables,
        columns,
        constraints,
        indexes,
        sequences,
        dependents,
        views,
        policies,
        own,
        tool_schema=tool,
        schema_oids=tuple(schemas),
        functions=functions,
    )


def _read_schemas(conn: psycopg.Connection) -> tuple[ToolSchema, frozenset[str], list[int]]:
    """The state of the schema named uuidpk, the relations it holds when it is the tool's, and
    the oids of the user's schemas: the tool's own schema is not one of them, a user's schema
    that happens to be named uuidpk is."""
    rows = _rows(conn, "schemas.sql")
    tool_row = next((r for r in rows if r["name"] == TOOL_SCHEMA), None)
    relations = frozenset(tool_row["relations"]) if tool_row is not None else None
    tool = tool_schema_state(tool_row["comment"] if tool_row else None, relations)
    schemas = [int(r["oid"]) for r in rows if r["name"] != TOOL_SCHEMA or not tool.is_tools]
    own = relations if relations is not None and tool.is_tools else frozenset()
    return tool, own, schemas


def read_schema_oids(conn: psycopg.Connection) -> list[int]:
    """The oids of the user's schemas (Catalog.schema_oids without reading the rest)."""
    return _read_schemas(conn)[2]


def sequence_columns_sql(
    schemas: str | None = "schemas", tables: sql.Composable | None = None
) -> sql.Composed:
    """Every sequence-fed integer column of the user's schemas (sequence_columns.sql), the
    schemas as the bound parameter of that name (their oids); with None, as a psql script
    finds them where it runs (schema_oids.sql over schemas.sql). tables (an oid[], see
    relation_oids_sql): only the sequences feeding those tables, with every column they feed."""
    if schemas is not None:
        oids: sql.Composable = sql.SQL("{}::oid[]").format(sql.Placeholder(schemas))
    else:
        found = templates.statement("catalog/schema_oids.sql").format(
            schemas=templates.statement("catalog/schemas.sql"), tool=sql.Literal(TOOL_SCHEMA)
        )
        oids = sql.SQL("ARRAY({})").format(found)
    return templates.statement("catalog/sequence_columns.sql").format(
        schemas=oids, tables=tables if tables is not None else sql.SQL("NULL::oid[]")
    )


def relation_oids_sql(relations: Iterable[QualifiedName]) -> sql.Composed:
    """The oids of these relations where the statement runs (an oid[]; names that name
    nothing are left out), with the names as literals: a psql script holds it as it is."""
    ordered = sorted(set(relations))
    return templates.statement("catalog/relation_oids.sql").format(
        schemas=sql.Literal([r.schema for r in ordered]),
        names=sql.Literal([r.name for r in ordered]),
    )


def require_tool_schema(catalog: Catalog) -> None:
    """Refuse, before anything changes, to write the tool's schema (fingerprints, mapping tables,
    journals) when a schema named uuidpk exists that the tool did not make."""
    if catalog.tool_schema is ToolSchema.FOREIGN:
        raise ForeignToolSchema(
            f"schema {TOOL_SCHEMA} exists and was not made by uuidpk (no comment "
            f"{TOOL_SCHEMA_MARKER!r}, and it holds other objects): uuidpk keeps its fingerprints "
            "and mapping tables there; rename that schema first"
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


def function_from_row(row: Mapping[str, Any]) -> Function:
    """A Function from one row of catalog/functions.sql (json columns already decoded)."""
    return Function(
        oid=int(row["oid"]),
        schema=row["schema"],
        name=row["name"],
        kind=row["kind"],
        identity_arguments=row["identity_arguments"],
        result=row["result"],
        language=row["language"],
        returns_set=bool(row["returns_set"]),
        arguments=tuple(
            FunctionArgument(
                position=int(a["position"]),
                name=a["name"],
                mode=a["mode"],
                type=_function_type(a["type"]),
            )
            for a in row["arguments"] or ()
        ),
        return_type=_function_type(row["return_type"]) if row["return_type"] else None,
        body=row["body"],
        sql_standard_body=bool(row["sql_standard_body"]),
        trigger_tables=tuple(int(t) for t in row.get("trigger_tables") or ()),
    )


def _function_type(d: Mapping[str, Any]) -> FunctionType:
    return FunctionType(
        type=d["type"],
        base_schema=d["base_schema"],
        base_name=d["base_name"],
        is_array=bool(d["is_array"]),
        relation_oid=int(d["relation_oid"]) if d["relation_oid"] is not None else None,
        relation_kind=d["relation_kind"],
        relation_schema=d["relation_schema"],
        relation_name=d["relation_name"],
        integer_fields=tuple(d["integer_fields"] or ()),
    )
