"""The plan's vocabulary: operations as data, steps that group them, and the checks that tell
from the catalog whether a step already happened. No I/O, no SQL text: planning/ builds these,
render.py turns them into SQL."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from .graph import Closure, Key, Node
from .model import Grant, QualifiedName
from .problems import Problem


class Phase(StrEnum):
    """Where a step belongs. The offline plan is one transaction: every step is OFFLINE. The
    online plan spreads its steps over the others, in this order."""

    OFFLINE = "offline"
    EXPAND = "expand"
    BACKFILL = "backfill"
    PREPARE = "prepare"
    CUTOVER = "cutover"
    CONTRACT = "contract"


class LockLevel(StrEnum):
    """PostgreSQL's table lock modes that plans take, weakest first as the documentation lists
    them (ACCESS EXCLUSIVE conflicts with everything, plain reads included)."""

    ACCESS_SHARE = "ACCESS SHARE"
    ROW_EXCLUSIVE = "ROW EXCLUSIVE"
    SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"
    SHARE = "SHARE"
    SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"
    ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"

    @property
    def strength(self) -> int:
        return list(LockLevel).index(self)


class DefaultKind(StrEnum):
    """New rows' key after the change (render's sql_templates/migrate/default_<kind>.sql)."""

    RANDOM = "random"  # gen_random_uuid()
    UUIDV7 = "uuidv7"  # the server's uuidv7() (PostgreSQL 18)
    UUIDV7_EMULATED = "uuidv7_emulated"  # time-ordered, built from clock_timestamp()


def strongest(levels: list[LockLevel | None]) -> LockLevel | None:
    """The strongest of some lock levels; None when none is taken."""
    taken = [level for level in levels if level is not None]
    return max(taken, key=lambda level: level.strength) if taken else None


# -- operations: the plan as data -------------------------------------------------------------
@dataclass(frozen=True)
class SetLocal:
    name: str
    value: str


@dataclass(frozen=True)
class LockTables:
    tables: tuple[QualifiedName, ...]


@dataclass(frozen=True)
class CreateKeyFunction:
    key: bytes | None  # None: random, made inside the server
    time_ordered: bool = False  # also the version 7 derivation
    utf8: bool = True  # the database is UTF-8: its text bytes are already what is hashed


@dataclass(frozen=True)
class Derivation:
    """How one column's new values are computed. Version 8: the keyed hash only. Version 7:
    48 bits of milliseconds first, from the old id itself (`ms_from="id"`), from a timestamp
    column of the same row (`"column"`), or looked up by old value (`"lookup"`)."""

    root: str  # "schema.table" seeding the hash
    version: int = 8
    ms_from: str = "id"
    ms_name: str | None = None  # the timestamp column, or the look-up function
    ms_nullable: bool = False
    # A generic relation: the root depends on the row's content type, (content type id, root).
    cases: tuple[tuple[int, str], ...] = ()
    case_column: str | None = None
    as_text: bool = False  # the column stays text (Django's text object ids) and holds the uuid
    integer: bool = False  # hashed through the bigint variant (same bytes: the decimal digits)


@dataclass(frozen=True)
class GenericReference:
    """A generic relation declared with --soft-ref (Django's content type + object id): each
    row's object id belongs to the table its content type names."""

    column: tuple[int, int]  # (table oid, attnum) of the object id
    content_type_column: str
    usage: tuple[tuple[int, int | None, int], ...]  # (content type, target table oid, rows)


@dataclass(frozen=True)
class BuildOrderMap:
    """Old key -> milliseconds of the root's timestamp column, and its look-up function."""

    table: QualifiedName
    key: str
    order_by: str
    map_name: str
    function: str
    nullable: bool


@dataclass(frozen=True)
class DropKeyFunction:
    time_ordered: bool = False
    lookups: tuple[str, ...] = ()


@dataclass(frozen=True)
class CreateSchema:
    pass


@dataclass(frozen=True)
class WriteMapping:
    mapping: QualifiedName
    table: QualifiedName
    column: str
    type: str
    derivation: Derivation


@dataclass(frozen=True)
class DropConstraint:
    table: QualifiedName
    name: str


@dataclass(frozen=True)
class DropIdentity:
    table: QualifiedName
    column: str


@dataclass(frozen=True)
class KeepOldId:
    table: QualifiedName
    key: str
    column: str
    type: str


@dataclass(frozen=True)
class ColumnChange:
    column: str
    derivation: Derivation
    type: str  # uuid; text for a generic relation's text object ids
    drop_default: bool
    new_default: DefaultKind | None  # None: the column had no generator


@dataclass(frozen=True)
class GeneratedColumn:
    column: str
    type: str
    expression: str


@dataclass(frozen=True)
class AlterColumns:
    table: QualifiedName
    changes: tuple[ColumnChange, ...]
    generated: tuple[GeneratedColumn, ...] = ()  # dropped and added back in the same rewrite
    # Partitions' indexes given their own comments back after the rewrite (None: none).
    index_comments: tuple[tuple[QualifiedName, str | None], ...] = ()


@dataclass(frozen=True)
class DropView:
    view: QualifiedName
    materialized: bool


@dataclass(frozen=True)
class CreateView:
    view: QualifiedName
    materialized: bool
    definition: str
    options: tuple[str, ...]
    populated: bool
    owner: str
    grants: tuple[Grant, ...]
    comment: str | None
    column_comments: tuple[tuple[str, str], ...]
    statements: tuple[str, ...]  # indexes, triggers, rules on it, as the catalog deparsed them


@dataclass(frozen=True)
class DropPolicy:
    table: QualifiedName
    name: str


@dataclass(frozen=True)
class CreatePolicy:
    table: QualifiedName
    name: str
    permissive: bool
    command: str
    roles: tuple[str, ...]
    using_expr: str | None
    check_expr: str | None


@dataclass(frozen=True)
class DropTrigger:
    table: QualifiedName
    name: str


@dataclass(frozen=True)
class DropRule:
    table: QualifiedName
    name: str


@dataclass(frozen=True)
class CatalogStatement:
    """A CREATE statement deparsed by PostgreSQL itself (trigger, rule, index)."""

    statement: str


@dataclass(frozen=True)
class AddForeignKey:
    table: QualifiedName
    name: str
    columns: tuple[str, ...]
    ref_table: QualifiedName
    ref_columns: tuple[str, ...]
    match: str
    on_update: str
    on_delete: str
    deferrable: bool
    deferred: bool
    validated: bool
    comment: str | None


@dataclass(frozen=True)
class Analyze:
    """Fresh statistics for rewritten tables: a column whose type changes loses its pg_statistic
    rows, and autovacuum does not come back for a table whose row count did not move."""

    tables: tuple[QualifiedName, ...]


@dataclass(frozen=True)
class DropSequence:
    sequence: QualifiedName


@dataclass(frozen=True)
class DisownSequence:
    sequence: QualifiedName


Op = (
    SetLocal
    | BuildOrderMap
    | LockTables
    | CreateKeyFunction
    | DropKeyFunction
    | CreateSchema
    | WriteMapping
    | DropConstraint
    | DropIdentity
    | KeepOldId
    | AlterColumns
    | AddForeignKey
    | DropSequence
    | DisownSequence
    | DropView
    | CreateView
    | DropPolicy
    | CreatePolicy
    | DropTrigger
    | DropRule
    | CatalogStatement
    | Analyze
)


# -- done-checks: how the catalog shows that a step already happened ---------------------------
@dataclass(frozen=True)
class ColumnHasType:
    table: QualifiedName
    column: str
    type: str  # as regtype reads it: uuid, text, bigint


@dataclass(frozen=True)
class ColumnExists:
    table: QualifiedName
    column: str
    exists: bool = True


@dataclass(frozen=True)
class ColumnIsIdentity:
    table: QualifiedName
    column: str
    identity: bool


@dataclass(frozen=True)
class ConstraintExists:
    table: QualifiedName
    name: str
    exists: bool = True


@dataclass(frozen=True)
class RelationExists:
    """A table, view, materialized view or sequence by name (kind: pg_class.relkind)."""

    name: QualifiedName
    kind: str  # r, v, m, S
    exists: bool = True


@dataclass(frozen=True)
class TableObjectExists:
    """A policy, trigger or rule, named per table."""

    kind: str  # policy, trigger, rule
    table: QualifiedName
    name: str
    exists: bool = True


@dataclass(frozen=True)
class SequenceOwned:
    """Whether a sequence is OWNED BY a column (pg_depend's 'a' or 'i' dependency)."""

    sequence: QualifiedName
    owned: bool


@dataclass(frozen=True)
class IndexValid:
    """An index exists and is valid (a failed CREATE INDEX CONCURRENTLY leaves it invalid)."""

    name: QualifiedName


@dataclass(frozen=True)
class AllOf:
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class AnyOf:
    checks: tuple[Check, ...]


Check = (
    ColumnHasType
    | ColumnExists
    | ColumnIsIdentity
    | ConstraintExists
    | RelationExists
    | TableObjectExists
    | SequenceOwned
    | IndexValid
    | AllOf
    | AnyOf
)


def step_id(name: str, *parts: str) -> str:
    """A stable id from a step's name and what it is about (a table): words joined by dashes."""
    words = re.findall(r"[a-z0-9_]+", " ".join((name, *parts)).lower())
    return "-".join(words)


@dataclass(frozen=True)
class Step:
    """A group of operations with one purpose; the unit the executor reports progress on and a
    journal records. `id` is stable within a plan (derived from what the step does, not from its
    position); `lock` is the strongest table lock its statements take; `done` tells from the
    catalog that the step already happened (empty where the catalog cannot tell)."""

    name: str
    ops: tuple[Op, ...]
    id: str = ""  # defaults to the name, dashed
    phase: Phase = Phase.OFFLINE
    lock: LockLevel | None = None
    transactional: bool = True
    done: tuple[Check, ...] = ()

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", step_id(self.name))

    @property
    def takes_locks(self) -> bool:
        return any(isinstance(op, LockTables) for op in self.ops)


@dataclass(frozen=True)
class Options:
    key: bytes | None = None
    keep_old_id: str | None = None  # column name, or None
    mapping_table: bool = False
    native_uuidv7: bool = False  # the server has uuidv7() (PostgreSQL 18)
    utf8: bool = True  # the database's encoding is UTF8
    # Index builds of the table rewrites, and the fingerprint's joins (as PostgreSQL's own
    # foreign-key validation uses it): see planning/offline.py.
    maintenance_work_mem: str = "1GB"
    parallel_maintenance_workers: int = 2  # parallel workers per index build (0: none)
    lock_timeout: str = "10s"
    uuid_version: int = 8  # 7: time-ordered values
    order_by: str | None = None  # v7: the roots' timestamp column (else old id order)
    generic: tuple[GenericReference, ...] = ()

    def kept_column(self, text_key: bool) -> str | None:
        """Where a root's old key is kept: --keep-old-id's column; a text key (a natural key,
        converted only when asked) keeps its values in old_id unless told another name."""
        return self.keep_old_id or ("old_id" if text_key else None)


@dataclass(frozen=True)
class Plan:
    keys: tuple[Key, ...]
    closures: tuple[Closure, ...]
    problems: tuple[Problem, ...]
    steps: tuple[Step, ...] = field(default=())
    text_columns: frozenset[Node] = frozenset()  # converted values that stay text (generic)

    @property
    def blocking(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity.blocks)

    @property
    def is_empty(self) -> bool:
        return not self.closures
