"""The application layer for online conversions (pipeline.py has the offline one): plan the
phases from the same analysis and offline plan, run or resume them, show where a conversion
stands, abort one before its cutover. Nothing here prints, prompts or exits."""

from __future__ import annotations

from dataclasses import replace

import psycopg

from . import online_fingerprint
from .catalog import require_tool_schema
from .errors import Refused
from .fingerprint import fingerprint_spec
from .formats.online_script import render_online_script as online_script
from .graph import Node
from .online import Outcome as OnlineOutcome
from .online import Settings as OnlineSettings
from .online import Status as OnlineStatus
from .online import abort as abort_running
from .online import apply_online as run_online
from .online import may_set_replica, read_column_grants, read_index_shapes, read_update_triggers
from .online import status as read_online_status
from .ops import Options, Phase
from .pipeline import Selection, plan
from .planning.online import OnlinePlan
from .planning.online import plan_online as online_order
from .planning.shadows import ColumnGrant, Extra, layout_for


# -- online ---------------------------------------------------------------------------------------
def plan_online(
    conn: psycopg.Connection,
    selection: Selection,
    options: Options | None = None,
    *,
    accept_risks: bool = False,
) -> OnlinePlan:
    """The online plan for a selection: what the offline plan refuses, it refuses too (and the
    same risks must be accepted); what online mode cannot do yet, Refused with one line."""
    options = options or Options()
    conversion = plan(conn, selection, options, fingerprint=False)  # online takes none
    if conversion.is_empty:
        return OnlinePlan(())
    if conversion.risks and not accept_risks:
        raise Refused(
            f"{len(conversion.risks)} warning(s): functions that will fail or references "
            "without a foreign key; accept the risks (--accept-risks), or declare them (--soft-ref)"
        )
    catalog = conversion.analysis.catalog
    require_tool_schema(catalog)  # the key and the journal go there
    options = replace(
        options,
        native_uuidv7=catalog.server.has_uuidv7,
        utf8=catalog.server.encoding == "UTF8",
        generic=conversion.analysis.generic,
    )
    shapes = read_index_shapes(conn, [i.oid for i in catalog.indexes])
    tables = sorted({t for c in conversion.plan.closures for t in c.tables})
    triggers = read_update_triggers(conn, tables)
    for table_oid, found in triggers.items():
        name = catalog.table(table_oid).qname
        always = [t for t, enabled in found if enabled == "A"]
        if always:
            raise Refused(
                f"trigger {always[0]} on {name} is ENABLE ALWAYS: the online backfill's UPDATEs "
                "would fire it; use offline"
            )
    if triggers and not may_set_replica(conn):
        table_oid, found = next(iter(triggers.items()))
        raise Refused(
            f"trigger {found[0][0]} on {catalog.table(table_oid).qname} would fire on every "
            "backfilled row; the backfill skips such triggers with session_replication_role, "
            "which needs a superuser or (PostgreSQL 15+) GRANT SET ON PARAMETER "
            "session_replication_role"
        )
    grants: dict[Node, list[ColumnGrant]] = {}
    for table_oid, attnum, grantee, privilege, grantable in read_column_grants(conn, tables):
        grants.setdefault((table_oid, attnum), []).append(
            ColumnGrant(grantee, privilege, grantable)
        )
    extra = Extra(shapes, frozenset(triggers), {n: tuple(g) for n, g in grants.items()})
    online_plan = online_order(conversion.graph, conversion.plan, options, extra)
    if not online_plan.steps:
        return online_plan
    # The fingerprint verify compares with (online_fingerprint.py): recorded by the proof in its
    # snapshot (the offline spec, converted columns read from their shadows), closed by a last
    # step in another once the contract phase is done.
    closures = list(conversion.plan.closures)
    layout = layout_for(conversion.graph, closures, options, extra)
    spec = fingerprint_spec(conversion.graph, closures, conversion.plan.text_columns)
    shadows = {
        layout.qname(t): {p.column.name: p.shadow for p in layout.columns[t]} for t in layout.tables
    }
    return online_fingerprint.with_fingerprint(online_plan, spec, shadows)


def apply_online(
    conn: psycopg.Connection,
    selection: Selection,
    options: Options | None = None,
    settings: OnlineSettings | None = None,
    *,
    accept_risks: bool = False,
) -> OnlineOutcome | None:
    """Start an online conversion, or continue the one running (the same selection), up to
    settings.until; None when there is nothing to convert. The application keeps reading and
    writing; the keys change type at the cutover. A second run while one is going: Busy."""
    selection.require()
    options = options or Options()
    settings = replace(settings or OnlineSettings(), key=options.key)
    asked = {
        "tables": list(selection.tables),
        "all": selection.all_tables,
        "soft_refs": list(selection.soft_refs),
    }
    return run_online(
        conn,
        lambda: plan_online(conn, selection, options, accept_risks=accept_risks),
        settings,
        asked,
    )


def online_status(conn: psycopg.Connection) -> OnlineStatus | None:
    """Where the latest online conversion stands (phase, per-table backfill, the fingerprint
    its proof recorded), or None."""
    found = read_online_status(conn)
    if found is None:
        return None
    return replace(found, fingerprint=online_fingerprint.read(conn, found.migration))


def abort_online(conn: psycopg.Connection, settings: OnlineSettings | None = None) -> int:
    """Before the cutover: remove everything the running online conversion added. After it:
    Refused, saying what going back would take."""
    return abort_running(conn, settings)


def render_online_script(
    conn: psycopg.Connection,
    selection: Selection,
    options: Options | None = None,
    until: Phase | None = None,
) -> str:
    """The online plan as one psql script (`generate --online`), up to `until` (all: None). The
    risks are the caller's to show: a script runs nothing until a DBA runs it."""
    options = options or Options()
    online_plan = plan_online(conn, selection, options, accept_risks=True)
    return online_script(online_plan, options.key, until)
