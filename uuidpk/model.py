"""What the catalog says, as frozen values. Nothing here talks to a database."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

# pg_constraint.confupdtype / confdeltype letters, as SQL says them.
FK_ACTIONS = {
    "a": "NO ACTION",
    "r": "RESTRICT",
    "c": "CASCADE",
    "n": "SET NULL",
    "d": "SET DEFAULT",
}
MATCH_TYPES = {"s": "SIMPLE", "f": "FULL", "p": "PARTIAL"}
# The integer types a key may have, by pg_type.typname, with their width in bytes; and every
# name SQL text may spell them with (casts in view, function and policy bodies).
INTEGER_WIDTHS = {"int2": 2, "int4": 4, "int8": 8}
INTEGER_TYPES = frozenset(INTEGER_WIDTHS)
INTEGER_NAMES = INTEGER_TYPES | {"smallint", "int", "integer", "bigint"}
TEXT_TYPES = frozenset({"text", "varchar", "bpchar"})

# The schema the tool writes (mapping tables, fingerprints, journals), and the comment it puts on
# that schema when it makes it (sql_templates/migrate/create_schema.sql says the same text).
TOOL_SCHEMA = "uuidpk"
TOOL_SCHEMA_MARKER = (
    "uuidpk: made by the uuidpk tool for its mapping tables, fingerprints and journals"
)
# Relations the tool itself makes in its schema (before the marker existed, a schema holding
# only these was made by an earlier uuidpk): fingerprint_run, fingerprint,
# fingerprint_parent_<pid>_<n>, map_<schema>_<table>.
TOOL_RELATIONS = frozenset({"fingerprint_run", "fingerprint"})
TOOL_RELATION_PREFIXES = ("fingerprint_parent_", "map_")


class ToolSchema(StrEnum):
    """What the schema named uuidpk is in this database."""

    ABSENT = "absent"  # no such schema: the tool makes (and marks) it when it needs it
    MARKED = "marked"  # made by the tool: carries TOOL_SCHEMA_MARKER
    LEGACY = "legacy"  # no mark, but holds nothing but the tool's relations (an earlier uuidpk)
    FOREIGN = "foreign"  # the user's: its tables are user tables; the tool must not write there

    @property
    def is_tools(self) -> bool:
        return self in (ToolSchema.MARKED, ToolSchema.LEGACY)


def tool_schema_state(comment: str | None, relations: frozenset[str] | None) -> ToolSchema:
    """Tell the tool's schema from a user's: relations is None when no schema uuidpk exists."""
    if relations is None:
        return ToolSchema.ABSENT
    if comment == TOOL_SCHEMA_MARKER:
        return ToolSchema.MARKED
    if comment is None and all(
        name in TOOL_RELATIONS or name.startswith(TOOL_RELATION_PREFIXES) for name in relations
    ):
        return ToolSchema.LEGACY
    return ToolSchema.FOREIGN


@dataclass(frozen=True, order=True)
class QualifiedName:
    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Table:
    oid: int
    schema: str
    name: str
    relkind: str  # r table, p partitioned table, v view, m materialized view, f foreign
    is_partition: bool
    parent_oid: int | None
    est_rows: int | None  # None: never analyzed (reltuples = -1)
    size_bytes: int
    owner: str
    rls_enabled: bool
    comment: str | None
    partition_key: tuple[int, ...] = ()
    extension: str | None = None  # the extension it belongs to (CREATE EXTENSION made it)

    @property
    def qname(self) -> QualifiedName:
        return QualifiedName(self.schema, self.name)

    @property
    def is_partitioned(self) -> bool:
        return self.relkind == "p"

    @property
    def is_table(self) -> bool:
        return self.relkind in ("r", "p")


@dataclass(frozen=True)
class Column:
    table_oid: int
    attnum: int
    name: str
    type: str  # format_type(), e.g. "integer", "character varying(5)"
    type_name: str  # pg_type.typname, e.g. "int4"
    type_schema: str
    not_null: bool
    default_expr: str | None
    identity: str  # "" none, "a" ALWAYS, "d" BY DEFAULT
    generated: str  # "" none, "s" stored
    comment: str | None

    @property
    def is_integer(self) -> bool:
        return self.type_schema == "pg_catalog" and self.type_name in INTEGER_TYPES

    @property
    def is_text(self) -> bool:
        return self.type_schema == "pg_catalog" and self.type_name in TEXT_TYPES

    @property
    def is_uuid(self) -> bool:
        return self.type_schema == "pg_catalog" and self.type_name == "uuid"


@dataclass(frozen=True)
class Constraint:
    oid: int
    table_oid: int
    name: str
    kind: str  # p primary key, u unique, f foreign key, c check, x exclusion
    columns: tuple[int, ...]
    ref_table_oid: int | None
    ref_columns: tuple[int, ...]
    on_update: str
    on_delete: str
    match_type: str
    deferrable: bool
    deferred: bool
    validated: bool
    parent_oid: int | None  # set on the clones PostgreSQL makes for partitions
    index_oid: int | None
    definition: str
    comment: str | None
    # An exclusion constraint's elements (attnum; 0: an expression), and for each whether
    # PostgreSQL rebuilds it over uuid (catalog/constraints.sql says how that is read).
    exclusion_columns: tuple[int, ...] = ()
    exclusion_uuid: tuple[bool, ...] = ()

    @property
    def pairs(self) -> tuple[tuple[int, int], ...]:
        """(referencing attnum, referenced attnum) for a foreign key."""
        return tuple(zip(self.columns, self.ref_columns, strict=True))


@dataclass(frozen=True)
class Index:
    oid: int
    table_oid: int
    name: str
    key_columns: tuple[int, ...]  # 0 stands for an expression
    used_columns: frozenset[int]
    is_unique: bool
    is_primary: bool
    is_partial: bool
    has_expressions: bool
    constraint_oid: int | None
    definition: str
    predicate: str | None = None  # a partial index's WHERE, deparsed
    expressions: str | None = None  # an expression index's expressions, deparsed
    comment: str | None = None
    parent_oid: int | None = None  # the partitioned index it is attached to


@dataclass(frozen=True)
class Sequence:
    oid: int
    schema: str
    name: str
    owner: tuple[int, int] | None  # (table oid, attnum) of OWNED BY or identity
    is_identity: bool
    used_by: tuple[tuple[int, int], ...]  # columns whose default calls nextval() on it

    @property
    def qname(self) -> QualifiedName:
        return QualifiedName(self.schema, self.name)


class DependentKind(StrEnum):
    """What stands on a column (catalog/dependents.sql spells these in its kind column)."""

    VIEW = "view"
    MATVIEW = "matview"
    RULE = "rule"
    POLICY = "policy"
    TRIGGER = "trigger"
    FUNCTION = "function"  # a SQL-standard body (BEGIN ATOMIC) that uses the column
    GENERATED = "generated"  # a generated column whose expression uses it


@dataclass(frozen=True)
class Dependent:
    kind: str  # a DependentKind, as the catalog query spells it
    oid: int
    table_oid: int
    columns: tuple[int, ...]
    schema: str
    name: str
    relation_oid: int | None
    definition: str | None


@dataclass(frozen=True)
class Grant:
    grantee: str  # a role name, or PUBLIC
    privilege: str
    grantable: bool


@dataclass(frozen=True)
class View:
    """A view or materialized view, with what recreating it exactly takes."""

    oid: int
    schema: str
    name: str
    relkind: str  # v view, m materialized view
    definition: str
    options: tuple[str, ...]  # reloptions: check_option=..., security_barrier=...
    owner: str
    comment: str | None
    column_comments: tuple[tuple[str, str], ...]
    grants: tuple[Grant, ...]
    populated: bool
    reads: tuple[int, ...]  # oids of the relations its query reads
    triggers: tuple[str, ...] = ()  # CREATE TRIGGER statements
    rules: tuple[str, ...] = ()  # CREATE RULE statements

    @property
    def qname(self) -> QualifiedName:
        return QualifiedName(self.schema, self.name)

    @property
    def is_materialized(self) -> bool:
        return self.relkind == "m"


@dataclass(frozen=True)
class Policy:
    oid: int
    table_oid: int
    name: str
    permissive: bool
    command: str
    roles: tuple[str, ...]
    using_expr: str | None
    check_expr: str | None


@dataclass(frozen=True)
class Server:
    version_num: int
    database: str
    current_user: str
    has_uuidv7: bool
    is_superuser: bool
    encoding: str = "UTF8"


@dataclass(frozen=True)
class FunctionType:
    """A type in a function signature, seen through arrays and domains."""

    type: str  # format_type(), e.g. "integer[]", "forum_example.person"
    base_schema: str  # the element type of an array, the base type of a domain
    base_name: str
    is_array: bool
    relation_oid: int | None  # set when the base type is a row type (table, view, composite)
    relation_kind: str | None  # r, p, v, m, f, c (composite type)
    relation_schema: str | None
    relation_name: str | None
    integer_fields: tuple[str, ...]  # smallint/integer/bigint fields of that row type

    @property
    def is_integer(self) -> bool:
        return self.base_schema == "pg_catalog" and self.base_name in INTEGER_TYPES

    @property
    def relation(self) -> tuple[str, str] | None:
        if self.relation_schema is None or self.relation_name is None:
            return None
        return (self.relation_schema, self.relation_name)


@dataclass(frozen=True)
class FunctionArgument:
    position: int
    name: str | None
    mode: str  # i in, o out, b inout, v variadic, t RETURNS TABLE column
    type: FunctionType

    @property
    def is_input(self) -> bool:
        return self.mode in ("i", "b", "v")

    @property
    def is_output(self) -> bool:
        return self.mode in ("o", "b", "t")


@dataclass(frozen=True)
class Function:
    oid: int
    schema: str
    name: str
    kind: str  # f function, p procedure, a aggregate, w window
    identity_arguments: str
    result: str | None  # pg_get_function_result(); None for procedures
    language: str
    returns_set: bool
    arguments: tuple[FunctionArgument, ...]
    return_type: FunctionType | None
    body: str | None  # prosrc, or the whole definition for SQL-standard bodies
    sql_standard_body: bool
    trigger_tables: tuple[int, ...] = ()  # tables whose triggers call it (NEW/OLD rows)

    @property
    def signature(self) -> str:
        return f"{self.schema}.{self.name}({self.identity_arguments})"

    @property
    def code(self) -> str | None:
        """The body as code: for SQL-standard bodies the part after BEGIN ATOMIC / RETURN."""
        if self.body is None or not self.sql_standard_body:
            return self.body
        return _standard_body(self.body)


_ATOMIC = re.compile(r"^\s*BEGIN\s+ATOMIC\b(.*)\bEND\s*;?\s*$", re.S | re.M | re.I)
_RETURN = re.compile(r"^\s*RETURN\b(.*)$", re.S | re.M | re.I)


def _standard_body(definition: str) -> str:
    """The statements of a SQL-standard body, from pg_get_functiondef() text."""
    m = _ATOMIC.search(definition)
    if m:
        return m.group(1)
    m = _RETURN.search(definition)
    if m:
        return "SELECT " + m.group(1).strip().rstrip(";")
    return definition


@dataclass(frozen=True)
class Catalog:
    """One read of a database's catalogs, with the look-ups the graph needs."""

    server: Server
    tables: tuple[Table, ...]
    columns: tuple[Column, ...]
    constraints: tuple[Constraint, ...]
    indexes: tuple[Index, ...]
    sequences: tuple[Sequence, ...]
    dependents: tuple[Dependent, ...]
    views: tuple[View, ...] = ()
    policies: tuple[Policy, ...] = ()
    uuidpk_tables: frozenset[str] = frozenset()  # what the tool's schema already holds
    tool_schema: ToolSchema = ToolSchema.ABSENT
    schema_oids: tuple[int, ...] = ()  # the user's schemas (schemas.sql): the one filter
    functions: tuple[Function, ...] = ()  # read in the same snapshot as everything else
    _table_by_oid: dict[int, Table] = field(default_factory=dict, compare=False, repr=False)
    _column: dict[tuple[int, int], Column] = field(default_factory=dict, compare=False, repr=False)
    _by_table: dict[int, list[Column]] = field(default_factory=dict, compare=False, repr=False)
    _constraints: dict[int, list[Constraint]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _indexes: dict[int, list[Index]] = field(default_factory=dict, compare=False, repr=False)
    _sequences: dict[tuple[int, int], Sequence] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        # Look-ups built once: with thousands of tables, scanning per table is quadratic.
        self._table_by_oid.update((t.oid, t) for t in self.tables)
        self._column.update(((c.table_oid, c.attnum), c) for c in self.columns)
        for c in self.columns:
            self._by_table.setdefault(c.table_oid, []).append(c)
        for con in self.constraints:
            self._constraints.setdefault(con.table_oid, []).append(con)
        for index in self.indexes:
            self._indexes.setdefault(index.table_oid, []).append(index)
        for seq in self.sequences:
            if seq.owner is not None:
                self._sequences.setdefault(seq.owner, seq)
            for user in seq.used_by:
                self._sequences[user] = seq  # the default's sequence wins over ownership

    def constraints_of(self, table_oid: int) -> list[Constraint]:
        return self._constraints.get(table_oid, [])

    def indexes_of(self, table_oid: int) -> list[Index]:
        return self._indexes.get(table_oid, [])

    def sequence_of(self, table_oid: int, attnum: int) -> Sequence | None:
        """The sequence a column's default draws from, else the one it owns."""
        return self._sequences.get((table_oid, attnum))

    def table(self, oid: int) -> Table:
        return self._table_by_oid[oid]

    def has_table(self, oid: int) -> bool:
        return oid in self._table_by_oid

    def column(self, table_oid: int, attnum: int) -> Column:
        return self._column[(table_oid, attnum)]

    def columns_of(self, table_oid: int) -> list[Column]:
        return list(self._by_table.get(table_oid, ()))

    def column_named(self, table_oid: int, name: str) -> Column | None:
        for c in self._by_table.get(table_oid, ()):
            if c.name == name:
                return c
        return None

    def find_tables(self, schema: str | None, name: str) -> list[Table]:
        return [t for t in self.tables if t.name == name and (schema is None or t.schema == schema)]
