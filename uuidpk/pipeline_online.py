"""The application layer for online conversions (pipeline.py has the offline one): plan the
phases from the same analysis and offline plan, run or resume them, show where a conversion
stands, abort one before its cutover. Nothing here prints, prompts or exits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import psycopg

from . import online_fingerprint
from .catalog import require_tool_schema
from .errors import Refused, RefusedAll
from .fingerprint import fingerprint_spec
from .formats.online_script import render_online_script as online_script
from .online import Outcome as OnlineOutcome
from .online import Settings as OnlineSettings
from .online import Status as OnlineStatus
from .online import abort as abort_running
from .online import apply_online as run_online
from .online import status as read_online_status
from .online_preflight import LONG_TRANSACTION, read_readiness
from .ops import Options, Phase
from .pipeline import Analysis, Selection, inspect, plan
from .planning.online import OnlinePlan
from .planning.online import plan_online as online_order
from .planning.partitions import partitions_for
from .planning.shadows import layout_for
from .problems import Problem, Severity


# -- online ---------------------------------------------------------------------------------------
def plan_online(
    conn: psycopg.Connection,
    selection: Selection,
    options: Options | None = None,
    *,
    accept_risks: bool = False,
    warn: Callable[[str], None] | None = None,
) -> OnlinePlan:
    """The online plan for a selection: what the offline plan refuses, it refuses too (and the
    same risks must be accepted); what online mode cannot do yet, and what would make it fail
    (online_preflight.py), RefusedAll with one line each. warn: told the online warnings."""
    options = options or Options()
    # Online takes a fingerprint too (online_fingerprint.py): the same privileges checked.
    conversion = plan(conn, selection, options)
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
    readiness = read_readiness(conn, conversion.graph, conversion.plan.closures)
    if readiness.blocking:
        # All of them, before the first change: the same list `inspect --online` shows.
        raise RefusedAll([f"{p.what} {p.name}: {p.reason}" for p in readiness.blocking])
    if warn is not None:
        for p in readiness.problems:
            if p.severity is Severity.WARNING:
                warn(f"warning: {p.what} {p.name}: {p.reason}")
    online_plan = online_order(conversion.graph, conversion.plan, options, readiness.extra)
    if not online_plan.steps:
        return online_plan
    # The fingerprint verify compares with (online_fingerprint.py): recorded by the proof in its
    # snapshot (the offline spec, converted columns read from their shadows), closed by a last
    # step in another once the contract phase is done.
    closures = list(conversion.plan.closures)
    layout = layout_for(conversion.graph, closures, options, readiness.extra)
    # A partition measured on its own (its own key or foreign key) reads its shadows too: the
    # partitions' columns are named in the layout by partitions_for.
    partitions_for(layout)
    spec = fingerprint_spec(conversion.graph, closures, conversion.plan.text_columns)
    shadows = {
        layout.qname(t): {p.column.name: p.shadow for p in columns}
        for t, columns in layout.columns.items()
    }
    return online_fingerprint.with_fingerprint(online_plan, spec, shadows)


def apply_online(
    conn: psycopg.Connection,
    selection: Selection,
    options: Options | None = None,
    settings: OnlineSettings | None = None,
    *,
    accept_risks: bool = False,
    warn: Callable[[str], None] | None = None,
) -> OnlineOutcome | None:
    """Start an online conversion, or continue the one running (the same selection), up to
    settings.until; None when there is nothing to convert. The application keeps reading and
    writing; the keys change type at the cutover. A second run while one is going: Busy.
    Before a new migration's first change, what online mode refuses: RefusedAll, one line each;
    warn is told its warnings."""
    selection.require()
    options = options or Options()
    settings = replace(settings or OnlineSettings(), key=options.key)
    return run_online(
        conn,
        lambda: plan_online(conn, selection, options, accept_risks=accept_risks, warn=warn),
        settings,
        _asked(selection),
    )


def _asked(selection: Selection) -> dict[str, object]:
    """What the user asked for, as the journal keeps it: a run is continued only by a command
    that asks for the same."""
    asked: dict[str, object] = {
        "tables": list(selection.tables),
        "all": selection.all_tables,
        "soft_refs": list(selection.soft_refs),
    }
    # Only when given: a run journaled before these existed is continued by the same command.
    if selection.exclude:
        asked["exclude"] = list(selection.exclude)
    if selection.skip_blocked:
        asked["skip_blocked"] = True
    return asked


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
    risks are the caller's to show: a script runs nothing until a DBA runs it. The script
    journals its run with this selection, so apply --online asked the same continues it."""
    options = options or Options()
    online_plan = plan_online(conn, selection, options, accept_risks=True)
    selected = {**online_plan.options, "selection": _asked(selection)}
    return online_script(replace(online_plan, options=selected), options.key, until)


def inspect_online(
    conn: psycopg.Connection,
    selection: Selection,
    options: Options | None = None,
    *,
    transaction_age: float = LONG_TRANSACTION,
) -> dict[str, Any]:
    """`inspect --online`: inspect's document, with what online mode would refuse (blockers)
    or run into (warnings) among its database-wide problems, and "online": the disk and WAL
    estimate. Read-only, as inspect. transaction_age: seconds a transaction must have been open
    to be named (CREATE INDEX CONCURRENTLY waits for it)."""
    estimates = []

    def online(analysis: Analysis, _options: Options) -> list[Problem]:
        readiness = read_readiness(
            conn, analysis.graph, analysis.closures, transaction_age=transaction_age
        )
        estimates.append(readiness.estimate)
        return list(readiness.problems)

    document = inspect(conn, selection, options, more=online)
    document["online"] = {"estimate": estimates[0].to_json() if estimates else None}
    return document
