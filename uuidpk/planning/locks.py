"""Which table lock each operation's statements take (PostgreSQL's documentation, "Explicit
Locking", and the reference page of each command), so a step can say the strongest it holds."""

from __future__ import annotations

from ..ops import (
    AddForeignKey,
    AlterColumns,
    Analyze,
    BuildOrderMap,
    CatalogStatement,
    CreateKeyFunction,
    CreatePolicy,
    CreateSchema,
    CreateView,
    DisownSequence,
    DropConstraint,
    DropIdentity,
    DropKeyFunction,
    DropPolicy,
    DropRule,
    DropSequence,
    DropTrigger,
    DropView,
    KeepOldId,
    LockLevel,
    LockTables,
    Op,
    SetLocal,
    WriteMapping,
    strongest,
)


def op_lock(op: Op) -> LockLevel | None:
    """The strongest lock the op's statements take on an existing relation; None for what
    touches only the session (settings, pg_temp functions) or creates new objects."""
    match op:
        case SetLocal() | CreateKeyFunction() | DropKeyFunction() | CreateSchema():
            return None
        case BuildOrderMap() | WriteMapping():
            return LockLevel.ACCESS_SHARE  # they read the root table into a new table
        case AddForeignKey():
            # ADD FOREIGN KEY takes SHARE ROW EXCLUSIVE on both tables (its validation reads
            # them); COMMENT ON CONSTRAINT only SHARE UPDATE EXCLUSIVE.
            return LockLevel.SHARE_ROW_EXCLUSIVE
        case Analyze():
            return LockLevel.SHARE_UPDATE_EXCLUSIVE
        case DisownSequence():
            return LockLevel.SHARE_ROW_EXCLUSIVE  # ALTER SEQUENCE ... OWNED BY NONE
        case CatalogStatement(statement=statement):
            return _catalog_statement_lock(statement)
        case (
            LockTables()  # IN ACCESS EXCLUSIVE MODE
            | DropConstraint()  # ALTER TABLE
            | DropIdentity()
            | KeepOldId()
            | AlterColumns()
            | DropSequence()
            | DropView()
            | CreateView()  # ALTER ... OWNER TO on the new view
            | DropPolicy()  # DROP/CREATE POLICY lock the table ACCESS EXCLUSIVE
            | CreatePolicy()
            | DropTrigger()
            | DropRule()
        ):
            return LockLevel.ACCESS_EXCLUSIVE
    raise TypeError(f"no lock level known for {type(op).__name__}")


def _catalog_statement_lock(statement: str) -> LockLevel:
    """CREATE INDEX takes SHARE, CREATE TRIGGER SHARE ROW EXCLUSIVE, CREATE RULE (and anything
    else the catalog deparses) ACCESS EXCLUSIVE."""
    words = statement.split(None, 3)[:3]
    head = " ".join(w.upper() for w in words)
    if head.startswith(("CREATE INDEX", "CREATE UNIQUE INDEX")):
        return LockLevel.SHARE
    if head.startswith(("CREATE TRIGGER", "CREATE CONSTRAINT TRIGGER")):
        return LockLevel.SHARE_ROW_EXCLUSIVE
    return LockLevel.ACCESS_EXCLUSIVE


def step_lock(ops: tuple[Op, ...]) -> LockLevel | None:
    """The strongest lock a step's ops take."""
    return strongest([op_lock(op) for op in ops])
