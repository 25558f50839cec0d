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
"""

__version__ = "0.1.0"

from .connection import connect
from .derive import derive_uuid
from .errors import (
    ConnectionFailed,
    MigrationFailed,
    Refused,
    TableNotFound,
    UsageProblem,
    UuidpkError,
    VerificationFailed,
)
from .ops import Options
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
from .rehearsal import Rehearsal, rehearse

__all__ = [
    "Analysis",
    "Applied",
    "ConnectionFailed",
    "Conversion",
    "MigrationFailed",
    "Options",
    "Refused",
    "Rehearsal",
    "Selection",
    "SequenceReport",
    "TableNotFound",
    "UsageProblem",
    "UuidpkError",
    "VerificationFailed",
    "__version__",
    "analyse",
    "apply",
    "connect",
    "derive_uuid",
    "inspect",
    "plan",
    "rehearse",
    "render_django_migration",
    "render_django_state",
    "render_script",
    "sequences",
    "verify",
]
