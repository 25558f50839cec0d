"""uuidpk: convert PostgreSQL integer primary keys to UUIDs, in place, with every relation.

The Python API (the command line is a thin layer over it):

    import uuidpk

    with uuidpk.connect("postgresql:///shop") as conn:
        selection = uuidpk.Selection(tables=("order_order",))
        document = uuidpk.inspect(conn, selection)          # what `uuidpk inspect` shows
        conversion = uuidpk.plan(conn, selection)           # Refused when something blocks it
        print(uuidpk.render_script(conn, conversion))       # what `uuidpk generate` prints
        applied = uuidpk.apply(conn, conversion, accept_risks=True)
        outcome = uuidpk.verify(conn, applied.run_id)       # outcome.ok, outcome.differences
        rehearsal = uuidpk.rehearse(conn, selection)        # the plan on a schema-only copy

    Online (the application keeps writing; run again to resume after any interruption):

        uuidpk.apply_online(conn, selection, uuidpk.Options(key=key),
                            uuidpk.OnlineSettings(until=uuidpk.Phase.PREPARE))
        uuidpk.inspect_online(conn, selection)              # + what online mode refuses, risks
        uuidpk.online_status(conn)                          # phase, per-table backfill
        uuidpk.abort_online(conn)                           # before the cutover: undo it all
"""

__version__ = "0.1.0"

from .connection import connect
from .derive import derive_uuid
from .errors import (
    ConnectionFailed,
    MigrationFailed,
    Refused,
    RefusedAll,
    TableNotFound,
    UsageProblem,
    UuidpkError,
    VerificationFailed,
)
from .online import Event as OnlineEvent
from .online import Outcome as OnlineOutcome
from .online import Settings as OnlineSettings
from .online import Status as OnlineStatus
from .ops import Options, Phase
from .pipeline import (
    Analysis,
    Applied,
    Conversion,
    Selection,
    SequenceReport,
    analyse,
    apply,
    inspect,
    plan,
    render_django_migration,
    render_django_state,
    render_script,
    sequences,
    verify,
)
from .pipeline_online import (
    abort_online,
    apply_online,
    inspect_online,
    online_status,
    plan_online,
)
from .planning.online import OnlinePlan
from .rehearsal import Rehearsal, rehearse

__all__ = [
    "Analysis",
    "Applied",
    "ConnectionFailed",
    "Conversion",
    "MigrationFailed",
    "OnlineEvent",
    "OnlineOutcome",
    "OnlinePlan",
    "OnlineSettings",
    "OnlineStatus",
    "Options",
    "Phase",
    "Refused",
    "RefusedAll",
    "Rehearsal",
    "Selection",
    "SequenceReport",
    "TableNotFound",
    "UsageProblem",
    "UuidpkError",
    "VerificationFailed",
    "__version__",
    "abort_online",
    "analyse",
    "apply",
    "apply_online",
    "connect",
    "derive_uuid",
    "inspect",
    "inspect_online",
    "online_status",
    "plan",
    "plan_online",
    "rehearse",
    "render_django_migration",
    "render_django_state",
    "render_script",
    "sequences",
    "verify",
]
