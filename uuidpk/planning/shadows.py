"""What an online migration adds beside the old columns, and every name it gives them: the
shadow columns, the old columns' names after the swap, the twins of indexes and foreign keys,
the NOT NULL checks, the fill functions. Pure: from the graph, the options and the index shapes
the executor reads (sql_templates/online/index_shapes.sql).

A name that is over 63 bytes or already taken gets a short hash of what it names in place of
its end: PostgreSQL would cut it silently, and two cut names could collide.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from psycopg import sql

from .. import templates
from ..errors import Refused
from ..graph import Closure, Graph
from ..model import FK_ACTIONS, MATCH_TYPES, Column, Constraint, Index, QualifiedName
from ..ops import Derivation, Options
from .common import derivations, foreign_keys, parents_first, sequences

Node = tuple[int, int]
MAX_NAME = 63  # NAMEDATALEN - 1: PostgreSQL cuts longer names silently


@dataclass(frozen=True)
class IndexShape:
    """What rebuilding an index on other columns takes (sql_templates/online/index_shapes.sql)."""

    oid: int
    method: str
    key_count: int
    columns: tuple[int, ...]  # keys, then INCLUDE columns
    opclasses: tuple[str, ...]  # per key column; '' for the default
    collations: tuple[str, ...]  # per key column; '' for the column's own
    options: tuple[int, ...]  # per key column: 1 DESC, 2 NULLS FIRST
    predicate: str | None
    expressions: tuple[str, ...] = ()  # per column: the deparsed expression, '' for a column
    nulls_not_distinct: bool = False  # UNIQUE NULLS NOT DISTINCT (PostgreSQL 15+)
    names: tuple[str, ...] = ()  # the index's own attribute names, by position


def template(name: str) -> sql.SQL:
    return templates.statement(f"online/{name}.sql")


def migrate_template(name: str) -> sql.SQL:
    return templates.statement(f"migrate/{name}.sql")


def ident(name: QualifiedName) -> sql.Identifier:
    return sql.Identifier(name.schema, name.name)


def text(statement: sql.Composable) -> str:
    return statement.as_string(None)


def fit_name(base: str, taken: set[str], seed: str) -> str:
    """base, unless it is over 63 bytes or taken: then its first 54 bytes and a short hash of
    seed (the object it names), so the name stays readable and distinct. Adds it to taken."""
    name = base
    salt = 0
    while len(name.encode()) > MAX_NAME or name in taken:
        digest = hashlib.sha256(f"{seed}\0{salt}".encode()).hexdigest()[:8]
        name = base.encode()[:54].decode(errors="ignore") + "_" + digest
        salt += 1
    taken.add(name)
    return name


@dataclass(frozen=True)
class ColumnGrant:
    grantee: str  # a role name, or PUBLIC
    privilege: str  # SELECT, INSERT, UPDATE, REFERENCES
    grantable: bool


@dataclass(frozen=True)
class Extra:
    """What the online plan needs beyond the catalog, read by the executor: index shapes
    (index_shapes.sql), tables whose UPDATE triggers the backfill must not fire, and column
    privileges of closure columns (column_grants.sql)."""

    shapes: Mapping[int, IndexShape] = field(default_factory=dict)
    quiet_tables: frozenset[int] = frozenset()
    grants: Mapping[Node, tuple[ColumnGrant, ...]] = field(default_factory=dict)


# -- the layout: every name the migration adds ---------------------------------------------------
@dataclass(frozen=True)
class ColumnPlan:
    node: Node
    column: Column
    shadow: str
    old_name: str  # what the old column is called between cutover and contract
    derivation: Derivation
    had_generator: bool  # a sequence default or identity: the new column gets a UUID default
    not_null_check: str | None  # the CHECK proving NOT NULL, when the column is NOT NULL


@dataclass(frozen=True)
class IndexTwin:
    index: Index
    name: str  # the twin's name until the cutover gives it the original's
    constraint: Constraint | None  # the primary key or unique constraint it stands for
    statement: str
    # (the twin's attribute name, the original's) for expressions PostgreSQL named after a
    # converted column ((col)::text is named col): the cutover gives them their names back.
    expression_names: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ForeignKeyTwin:
    constraint: Constraint
    table: QualifiedName
    name: str
    statement: str


@dataclass
class Layout:
    graph: Graph
    options: Options
    nodes: dict[Node, Closure]
    tables: list[int]  # parents first
    columns: dict[int, list[ColumnPlan]] = field(default_factory=dict)
    twins: dict[int, list[IndexTwin]] = field(default_factory=dict)
    foreign_keys: list[ForeignKeyTwin] = field(default_factory=list)
    functions: dict[int, QualifiedName] = field(default_factory=dict)
    trigger: str = "uuidpk_online_fill"
    extra: Extra = field(default_factory=Extra)

    def qname(self, table_oid: int) -> QualifiedName:
        return self.graph.catalog.table(table_oid).qname

    def shadow_of(self, table_oid: int, attnum: int) -> str | None:
        for plan in self.columns.get(table_oid, ()):
            if plan.column.attnum == attnum:
                return plan.shadow
        return None


def layout_for(graph: Graph, closures: list[Closure], options: Options, extra: Extra) -> Layout:
    catalog = graph.catalog
    nodes = {n: c for c in closures for n in c.nodes}
    tables = parents_first(graph, sorted({n[0] for n in nodes}))
    _, derived = derivations(graph, closures, options)
    generators = sequences(catalog, nodes)
    layout = Layout(graph, options, nodes, tables, extra=extra)
    relations = {t.qname for t in catalog.tables} | {s.qname for s in catalog.sequences}
    relations |= {QualifiedName(catalog.table(i.table_oid).schema, i.name) for i in catalog.indexes}
    taken_relations: dict[str, set[str]] = {}
    for rel in relations:
        taken_relations.setdefault(rel.schema, set()).add(rel.name)
    functions: set[str] = set()
    for table_oid in tables:
        table = catalog.table(table_oid)
        taken_columns = {c.name for c in catalog.columns_of(table_oid)}
        taken_constraints = {c.name for c in catalog.constraints_of(table_oid)}
        plans = []
        for column in catalog.columns_of(table_oid):
            node = (table_oid, column.attnum)
            if node not in nodes:
                continue
            seed = f"{table.qname}.{column.name}"
            shadow = fit_name(f"{column.name}_uuidpk", taken_columns, seed)
            old = fit_name(f"{column.name}_uuidpk_old", taken_columns, seed)
            check = None
            if column.not_null:
                check = fit_name(f"{table.name}_{column.name}_uuidpk_nn", taken_constraints, seed)
            plans.append(
                ColumnPlan(
                    node,
                    column,
                    shadow,
                    old,
                    derived[node],
                    bool(column.identity) or node in generators,
                    check,
                )
            )
        layout.columns[table_oid] = plans
        fn = fit_name(f"fill_{table.schema}_{table.name}", functions, str(table.qname))
        layout.functions[table_oid] = QualifiedName("uuidpk", fn)
        layout.twins[table_oid] = [
            _index_twin(
                layout, index, extra.shapes, taken_relations.setdefault(table.schema, set())
            )
            for index in sorted(catalog.indexes_of(table_oid), key=lambda i: i.name)
            if (set(index.used_columns) | set(index.key_columns)) & {p.column.attnum for p in plans}
        ]
    taken_fk: dict[int, set[str]] = {}
    for fk in foreign_keys(graph, closures):
        taken = taken_fk.setdefault(
            fk.table_oid, {c.name for c in catalog.constraints_of(fk.table_oid)}
        )
        taken |= {
            p.not_null_check for p in layout.columns.get(fk.table_oid, ()) if p.not_null_check
        }
        layout.foreign_keys.append(_foreign_key_twin(layout, fk, taken))
    return layout


# A deparsed expression's tokens: string literals (skipped whole), quoted identifiers, words.
_TOKEN = re.compile(r"""(?P<literal>[EeBbXxUu]?'(?:[^']|'')*')|"(?P<quoted>(?:[^"]|"")*)"|"""
                    r"""(?P<word>[A-Za-z_][A-Za-z0-9_$]*)""")  # fmt: skip


def rename_columns(expression: str, renames: Mapping[str, str]) -> str:
    """An expression PostgreSQL deparsed (an index predicate) with column references renamed:
    identifiers outside string literals, neither called (a function) nor qualified or cast
    (after `.` or `::`)."""
    out: list[str] = []
    last = 0
    for match in _TOKEN.finditer(expression):
        if match.group("literal") is not None:
            continue
        quoted, word = match.group("quoted"), match.group("word")
        name = quoted.replace('""', '"') if quoted is not None else word.lower()
        before = expression[: match.start()].rstrip()
        after = expression[match.end() :].lstrip()
        if (
            name not in renames
            or before.endswith((".", "::"))
            or after.startswith(("(", "."))
            or (quoted is None and word != word.lower())
        ):
            continue
        out.append(expression[last : match.start()])
        out.append(sql.Identifier(renames[name]).as_string(None))
        last = match.end()
    out.append(expression[last:])
    return "".join(out)


def index_refusal(graph: Graph, index: Index, shape: IndexShape | None) -> str | None:
    """Why online mode cannot build a twin of this index over the shadows, or None."""
    if shape is None:
        return "online mode cannot rebuild it; use offline"
    if shape.method not in ("btree", "hash"):
        return f"online mode cannot rebuild it (a {shape.method} index); use offline"
    constraint = next(
        (c for c in graph.catalog.constraints_of(index.table_oid) if c.oid == index.constraint_oid),
        None,
    )
    if constraint is not None and constraint.kind not in ("p", "u"):
        return "online mode cannot rebuild it (an exclusion constraint); use offline"
    return None


def _index_twin(
    layout: Layout, index: Index, shapes: Mapping[int, IndexShape], taken: set[str]
) -> IndexTwin:
    catalog = layout.graph.catalog
    table = catalog.table(index.table_oid)
    where = f"index {table.schema}.{index.name}"
    renames = {p.column.name: p.shadow for p in layout.columns[index.table_oid]}
    shape = shapes.get(index.oid)
    refusal = index_refusal(layout.graph, index, shape)
    if refusal is not None or shape is None:
        raise Refused(f"{where}: {refusal}")
    constraint = next(
        (c for c in catalog.constraints_of(index.table_oid) if c.oid == index.constraint_oid),
        None,
    )
    keys: list[sql.Composable] = []
    for position, attnum in enumerate(shape.columns[: shape.key_count]):
        shadow = layout.shadow_of(index.table_oid, attnum)
        if attnum == 0:
            # Over the shadow, the expression means what offline's rebuilt index means after
            # ALTER ... TYPE: the same text on the uuid column (the offline plan, which refuses
            # what PostgreSQL would not take for uuid, has been made first).
            expression = rename_columns(shape.expressions[position], renames)
            head: sql.Composable = sql.SQL(f"({expression})")
        else:
            head = sql.Identifier(shadow or catalog.column(index.table_oid, attnum).name)
        part: list[sql.Composable] = [head]
        if shadow is None and shape.collations[position]:
            part.append(sql.SQL("COLLATE " + shape.collations[position]))
        if shadow is None and shape.opclasses[position]:
            part.append(sql.SQL(shape.opclasses[position]))
        option = shape.options[position] if position < len(shape.options) else 0
        if option & 1:
            part.append(sql.SQL("DESC" if option & 2 else "DESC NULLS LAST"))
        elif option & 2:
            part.append(sql.SQL("NULLS FIRST"))
        keys.append(sql.SQL(" ").join(part))
    included = [
        sql.Identifier(
            layout.shadow_of(index.table_oid, a) or catalog.column(index.table_oid, a).name
        )
        for a in shape.columns[shape.key_count :]
    ]
    name = fit_name(f"{index.name}_uuidpk", taken, f"{table.qname}.{index.name}")
    statement = template("index_create").format(
        unique=sql.SQL("UNIQUE " if index.is_unique else ""),
        name=sql.Identifier(name),
        table=ident(table.qname),
        method=sql.SQL(shape.method),
        columns=sql.SQL(", ").join(keys),
        include=sql.SQL(" INCLUDE ({})").format(sql.SQL(", ").join(included))
        if included
        else sql.SQL(""),
        nulls=sql.SQL(" NULLS NOT DISTINCT" if shape.nulls_not_distinct else ""),
        where=sql.SQL(" WHERE " + rename_columns(shape.predicate, renames))
        if shape.predicate
        else sql.SQL(""),
    )
    named = [
        (renames[shape.names[position]], shape.names[position])
        for position, attnum in enumerate(shape.columns)
        if attnum == 0 and position < len(shape.names) and shape.names[position] in renames
    ]
    return IndexTwin(index, name, constraint, text(statement), tuple(named))


def _foreign_key_twin(layout: Layout, fk: Constraint, taken: set[str]) -> ForeignKeyTwin:
    catalog = layout.graph.catalog
    assert fk.ref_table_oid is not None
    table = catalog.table(fk.table_oid).qname

    def columns(table_oid: int, attnums: tuple[int, ...]) -> sql.Composable:
        return sql.SQL(", ").join(
            sql.Identifier(layout.shadow_of(table_oid, a) or catalog.column(table_oid, a).name)
            for a in attnums
        )

    name = fit_name(f"{fk.name}_uuidpk", taken, f"{table}.{fk.name}")
    deferrable = ""
    if fk.deferrable:
        deferrable = " DEFERRABLE INITIALLY " + ("DEFERRED" if fk.deferred else "IMMEDIATE")
    statement = migrate_template("add_foreign_key").format(
        table=ident(table),
        name=sql.Identifier(name),
        columns=columns(fk.table_oid, fk.columns),
        ref_table=ident(catalog.table(fk.ref_table_oid).qname),
        ref_columns=columns(fk.ref_table_oid, fk.ref_columns),
        match=sql.SQL(MATCH_TYPES[fk.match_type]),
        on_update=sql.SQL(FK_ACTIONS[fk.on_update]),
        on_delete=sql.SQL(FK_ACTIONS[fk.on_delete]),
        deferrable=sql.SQL(deferrable),
        not_valid=sql.SQL(" NOT VALID"),
    )
    return ForeignKeyTwin(fk, table, name, text(statement))


# -- the derivation ----------------------------------------------------------------------
DERIVE_FUNCTIONS = (
    "uuidpk.online_uuid(text, text)",
    "uuidpk.online_uuid(text, bigint)",
    "uuidpk.online_uuid_k(bytea, text, text)",
    "uuidpk.online_uuid_k(bytea, text, bigint)",
)
DERIVE_FUNCTIONS_V7 = (
    "uuidpk.online_uuid7(text, text, bigint)",
    "uuidpk.online_uuid7(text, bigint, bigint)",
    "uuidpk.online_uuid7_k(bytea, text, text, bigint)",
    "uuidpk.online_uuid7_k(bytea, text, bigint, bigint)",
)


def derive(
    derivation: Derivation,
    value: sql.Composable,
    *,
    keyed: bool = False,
    ms: sql.Composable | None = None,
) -> sql.Composable:
    """A column's new value from its old value: in the fill triggers (NEW.col) through the
    SECURITY DEFINER function; keyed, in the migrating session's batches and proof (t.col),
    through the inlined function with the key read once per statement. ms: v7's milliseconds
    when they do not come from the old value (planning/values.py)."""
    cast = sql.SQL("{}::bigint" if derivation.integer else "{}::text").format(value)
    root = sql.Literal(derivation.root)
    suffix = "_keyed" if keyed else ""
    if derivation.version == 7:
        if ms is None:
            ms = sql.SQL("{}::bigint").format(value)
        return template(f"derive_call{suffix}_v7").format(root=root, value=cast, ms=ms)
    return template(f"derive_call{suffix}").format(root=root, value=cast)


def derive_function_statements(options: Options) -> list[str]:
    text_bytes = migrate_template("text_bytes_utf8" if options.utf8 else "text_bytes_convert")
    # convert_to() is only STABLE: in a database of another encoding the derivation is too.
    volatility = sql.SQL("IMMUTABLE" if options.utf8 else "STABLE")
    variants = [
        {"value_type": sql.SQL("text"), "value_bytes": text_bytes.format(text=sql.SQL("v"))},
        {
            "value_type": sql.SQL("bigint"),
            "value_bytes": migrate_template("integer_bytes").format(value=sql.SQL("v")),
        },
    ]
    v7 = options.uuid_version == 7
    keyed = ["derive_function"] + (["derive_function_v7"] if v7 else [])
    definers = ["derive_function_definer"] + (["derive_function_definer_v7"] if v7 else [])
    statements = [
        text(
            template(shape).format(
                volatility=volatility,
                root_bytes=text_bytes.format(text=sql.SQL("root")),
                **variant,
            )
        )
        for shape in keyed
        for variant in variants
    ]
    # The definers read a table: STABLE.
    statements += [
        text(template(shape).format(volatility=sql.SQL("STABLE"), value_type=v["value_type"]))
        for shape in definers
        for v in variants
    ]
    return statements


def function_names(options: Options) -> tuple[str, ...]:
    return DERIVE_FUNCTIONS + (DERIVE_FUNCTIONS_V7 if options.uuid_version == 7 else ())
