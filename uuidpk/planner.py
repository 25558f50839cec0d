"""Graph + options -> Plan. Pure: no I/O, no SQL text (render.py writes the SQL).

The offline plan runs in one transaction, in this order, for reasons PostgreSQL imposes:
1. lock every table of every closure, parents first (no deadlock half-way);
2. make the derivation function (the key lives only inside it, in pg_temp);
3. write mapping tables while the old values still exist;
4. drop the closure's foreign keys: while one side is integer and the other uuid, PostgreSQL
   cannot keep them (their operators would not match);
5. drop identity (PostgreSQL will not change an identity column's type), keep old values;
6. one ALTER TABLE per table: drop the sequence default, change every closure column of that
   table with USING f(col), set the UUID default -- one rewrite, indexes rebuilt with their names;
7. restore the foreign keys with their exact names, actions, deferrability and comments;
8. drop the sequences that served only converted keys; forget the derivation function.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from .errors import Refused
from .graph import (
    BLOCKER,
    REFUSED,
    Affected,
    Closure,
    Graph,
    Key,
    Problem,
    affected_objects,
    closure_problems,
    key_problems,
)
from .model import FK_ACTIONS, MATCH_TYPES, Catalog, Constraint, Grant, QualifiedName
from .model import Sequence as DbSequence

Node = tuple[int, int]


# -- operations: the plan as data ---------------------------------------------------------
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
    new_default: str | None  # random, uuidv7 or uuidv7_emulated (render's default_*.sql)


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
)


@dataclass(frozen=True)
class Step:
    """A group of operations with one purpose; the unit the executor reports progress on."""

    name: str
    ops: tuple[Op, ...]
    lock: str = "ACCESS EXCLUSIVE"
    transactional: bool = True

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
    maintenance_work_mem: str = "1GB"
    lock_timeout: str = "10s"
    uuid_version: int = 8  # 7: time-ordered values
    order_by: str | None = None  # v7: the roots' timestamp column (else old id order)
    generic: tuple[GenericReference, ...] = ()


@dataclass(frozen=True)
class Plan:
    keys: tuple[Key, ...]
    closures: tuple[Closure, ...]
    problems: tuple[Problem, ...]
    steps: tuple[Step, ...] = field(default=())
    text_columns: frozenset[Node] = frozenset()  # converted values that stay text (generic)

    @property
    def blocking(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity in (BLOCKER, REFUSED))

    @property
    def is_empty(self) -> bool:
        return not self.closures


def mapping_names(
    tables: Sequence[QualifiedName], existing: frozenset[str] = frozenset()
) -> dict[QualifiedName, str]:
    """uuidpk.map_<schema>_<table> per root table. PostgreSQL cuts names at 63 bytes, a_b.c and
    a.b_c read alike, and an earlier run may hold the name: then a short hash of the real name
    takes the place of the end."""
    plain = {t: f"map_{t.schema}_{t.name}" for t in tables}
    taken = Counter(plain.values())
    result = {}
    for table, name in plain.items():
        if taken[name] > 1 or len(name.encode()) > 63 or name in existing:
            digest = hashlib.sha256(f"{table.schema}\0{table.name}".encode()).hexdigest()[:8]
            name = name.encode()[:54].decode(errors="ignore") + "_" + digest
        result[table] = name
    return result


def closures_for(graph: Graph, keys: Sequence[Key]) -> list[Closure]:
    """One closure per distinct component, in a stable order (by root name)."""
    seen: dict[tuple[Node, ...], Closure] = {}
    for key in keys:
        closure = graph.closure((key.table.oid, key.column.attnum))
        seen.setdefault(closure.nodes, closure)
    return sorted(seen.values(), key=lambda c: graph.sort_key(c.root))


def plan_conversion(graph: Graph, keys: Sequence[Key], options: Options) -> Plan:
    """The offline plan for the given keys. Problems are in the plan; a plan with blocking
    problems has no steps."""
    closures = closures_for(graph, keys)
    problems: list[Problem] = []
    for key in keys:
        problems.extend(key_problems(key))
    for closure in closures:
        problems.extend(closure_problems(graph, closure))
    for generic in options.generic:
        closure, found = _generic_closure(graph, closures, generic, options)
        problems.extend(found)
        closures.append(closure)
    texts = frozenset(g.column for g in options.generic if graph.catalog.column(*g.column).is_text)
    plan = Plan(tuple(keys), tuple(closures), tuple(problems), text_columns=texts)
    if plan.blocking or not closures:
        return plan
    return replace(plan, steps=tuple(_steps(graph, closures, options)))


def require_runnable(plan: Plan) -> None:
    """Refused naming the first blocking problems, when the plan cannot run."""
    if plan.blocking:
        first = plan.blocking[0]
        more = len(plan.blocking) - 1
        extra = f" (and {more} more: see uuidpk inspect)" if more else ""
        raise Refused(f"{first.what} {first.name}: {first.reason}{extra}")


def _steps(graph: Graph, closures: Sequence[Closure], options: Options) -> Iterable[Step]:
    catalog = graph.catalog
    nodes = {n: c for c in closures for n in c.nodes}
    tables = sorted({n[0] for n in nodes}, key=lambda t: catalog.table(t).qname)
    foreign_keys = _foreign_keys(graph, closures)
    sequences = _sequences(catalog, nodes)

    order_maps, derivations = _derivations(graph, closures, options)
    yield Step(
        "prepare",
        (
            SetLocal("maintenance_work_mem", options.maintenance_work_mem),
            # A queued ACCESS EXCLUSIVE request blocks every later reader of the table: give
            # up (and roll back) rather than stall the application behind a long transaction.
            SetLocal("lock_timeout", options.lock_timeout),
            LockTables(tuple(catalog.table(t).qname for t in _parents_first(graph, tables))),
            CreateKeyFunction(
                options.key, time_ordered=options.uuid_version == 7, utf8=options.utf8
            ),
            *order_maps,
        ),
    )
    if options.mapping_table:
        mappings: list[Op] = [CreateSchema()]
        roots = _key_roots(graph, closures)
        names = mapping_names([catalog.table(r[0]).qname for r in roots], catalog.uuidpk_tables)
        for root in roots:
            table = catalog.table(root[0])
            column = catalog.column(*root)
            mappings.append(
                WriteMapping(
                    QualifiedName("uuidpk", names[table.qname]),
                    table.qname,
                    column.name,
                    column.type,
                    derivations[root],
                )
            )
        yield Step("write mapping tables", tuple(mappings))
    affected = affected_objects(graph, list(closures))
    drops = _drop_dependents(graph, affected) + tuple(
        DropConstraint(catalog.table(c.table_oid).qname, c.name) for c in affected.dropped_checks
    )
    if drops:
        yield Step("drop views, policies, triggers and rules on the keys", drops)
    yield Step(
        "drop foreign keys",
        tuple(DropConstraint(catalog.table(fk.table_oid).qname, fk.name) for fk in foreign_keys),
    )
    before: list[Op] = []
    for node in sorted(nodes, key=graph.sort_key):
        column = catalog.column(*node)
        if column.identity:
            before.append(DropIdentity(catalog.table(node[0]).qname, column.name))
    if options.keep_old_id:
        for root in _key_roots(graph, closures):
            column = catalog.column(*root)
            before.append(
                KeepOldId(
                    catalog.table(root[0]).qname, column.name, options.keep_old_id, column.type
                )
            )
    if before:
        yield Step("drop identity, keep old values", tuple(before))
    alters = []
    for table_oid in tables:
        changes = []
        for column in catalog.columns_of(table_oid):
            node = (table_oid, column.attnum)
            if node not in nodes:
                continue
            had_generator = bool(column.identity) or node in sequences
            changes.append(
                ColumnChange(
                    column.name,
                    derivations[node],
                    "text" if derivations[node].as_text else "uuid",
                    drop_default=column.default_expr is not None,
                    new_default=_default(options) if had_generator else None,
                )
            )
        generated = tuple(
            GeneratedColumn(
                dep.name,
                catalog.column_named(table_oid, dep.name).type,  # type: ignore[union-attr]
                dep.definition or "",
            )
            for dep in affected.generated
            if dep.relation_oid == table_oid
        )
        alters.append(AlterColumns(catalog.table(table_oid).qname, tuple(changes), generated))
    yield Step("convert columns", tuple(alters))
    yield Step("restore foreign keys", tuple(_add_foreign_key(catalog, fk) for fk in foreign_keys))
    restores = _restore_dependents(graph, affected)
    if restores:
        yield Step("restore views, policies, triggers and rules", restores)
    finish: list[Op] = []
    for seq in sorted(set(sequences.values()), key=lambda s: s.qname):
        if seq.is_identity or seq.owner is None:
            continue  # DROP IDENTITY took it; a sequence nobody owns may serve the application
        users = set(seq.used_by) | {seq.owner}
        if all(graph.canon(u) in nodes for u in users):
            finish.append(DropSequence(seq.qname))
        elif graph.canon(seq.owner) in nodes:
            finish.append(DisownSequence(seq.qname))
    finish.append(DropKeyFunction(options.uuid_version == 7, tuple(m.function for m in order_maps)))
    yield Step("drop sequences, forget the key", tuple(finish))


def _key_roots(graph: Graph, closures: Sequence[Closure]) -> list[Node]:
    """The closures' roots that are primary keys: where old values start (a generic
    relation's column is a closure of its own, but no key)."""
    return [
        root
        for closure in closures
        for root in closure.roots
        if (pk := graph.primary_key(root[0])) is not None and root[1] in pk.columns
    ]


def _foreign_keys(graph: Graph, closures: Sequence[Closure]) -> list[Constraint]:
    found = {e.constraint.oid: e.constraint for c in closures for e in c.edges}
    return sorted(found.values(), key=lambda fk: (graph.catalog.table(fk.table_oid).qname, fk.name))


def _sequences(catalog: Catalog, nodes: dict[Node, Closure]) -> dict[Node, DbSequence]:
    """Closure columns whose default draws from a sequence (serial) or that own one."""
    result: dict[Node, DbSequence] = {}
    for seq in catalog.sequences:
        for user in seq.used_by:
            if user in nodes:
                result[user] = seq
        if seq.owner in nodes and not seq.is_identity:
            result.setdefault(seq.owner, seq)
    return result


def _add_foreign_key(catalog: Catalog, fk: Constraint) -> AddForeignKey:
    assert fk.ref_table_oid is not None

    def names(table_oid: int, attnums: tuple[int, ...]) -> tuple[str, ...]:
        return tuple(catalog.column(table_oid, a).name for a in attnums)

    return AddForeignKey(
        table=catalog.table(fk.table_oid).qname,
        name=fk.name,
        columns=names(fk.table_oid, fk.columns),
        ref_table=catalog.table(fk.ref_table_oid).qname,
        ref_columns=names(fk.ref_table_oid, fk.ref_columns),
        match=MATCH_TYPES[fk.match_type],
        on_update=FK_ACTIONS[fk.on_update],
        on_delete=FK_ACTIONS[fk.on_delete],
        deferrable=fk.deferrable,
        deferred=fk.deferred,
        validated=fk.validated,
        comment=fk.comment,
    )


def _parents_first(graph: Graph, tables: Sequence[int]) -> list[int]:
    """Tables ordered so a referenced table comes before the tables referencing it; cycles
    (and self references) are broken by name, each ready batch sorted for determinism."""
    wanted = set(tables)
    parents: dict[int, set[int]] = {t: set() for t in tables}
    for fk in graph.foreign_keys:
        child = graph.canon((fk.table_oid, fk.columns[0]))[0]
        assert fk.ref_table_oid is not None
        parent = graph.canon((fk.ref_table_oid, fk.ref_columns[0]))[0]
        if child in wanted and parent in wanted and child != parent:
            parents.setdefault(child, set()).add(parent)
    order: list[int] = []
    done: set[int] = set()
    name = graph.catalog.table
    while len(order) < len(parents):
        ready = sorted(
            (t for t in parents if t not in done and parents[t] <= done),
            key=lambda t: name(t).qname,
        )
        if not ready:  # a cycle: take the first remaining table by name
            ready = [min((t for t in parents if t not in done), key=lambda t: name(t).qname)]
        order.extend(ready)
        done.update(ready)
    return order


def _drop_dependents(graph: Graph, affected: Affected) -> tuple[Op, ...]:
    name = graph.catalog.table
    ops: list[Op] = [
        DropView(r.view.qname, r.view.is_materialized) for r in reversed(affected.views)
    ]
    ops += [DropPolicy(p.table, p.policy.name) for p in affected.policies]
    ops += [
        DropTrigger(name(t.relation_oid).qname, t.name)  # type: ignore[arg-type]
        for t in affected.triggers
    ]
    ops += [
        DropRule(name(r.relation_oid).qname, r.name)  # type: ignore[arg-type]
        for r in affected.rules
    ]
    return tuple(ops)


def _restore_dependents(graph: Graph, affected: Affected) -> tuple[Op, ...]:
    ops: list[Op] = []
    for restored in affected.views:
        view = restored.view
        indexes = sorted(graph.catalog.indexes_of(view.oid), key=lambda i: i.name)
        ops.append(
            CreateView(
                view.qname,
                view.is_materialized,
                restored.definition.strip().rstrip(";"),
                view.options,
                view.populated,
                view.owner,
                view.grants,
                view.comment,
                view.column_comments,
                tuple(i.definition for i in indexes) + view.triggers + view.rules,
            )
        )
    for restored_policy in affected.policies:
        policy = restored_policy.policy
        ops.append(
            CreatePolicy(
                restored_policy.table,
                policy.name,
                policy.permissive,
                policy.command,
                policy.roles,
                restored_policy.using_expr,
                restored_policy.check_expr,
            )
        )
    ops += [CatalogStatement(r.definition or "") for r in affected.rules]
    ops += [CatalogStatement(t.definition or "") for t in affected.triggers]
    return tuple(ops)


def _derivations(
    graph: Graph, closures: Sequence[Closure], options: Options
) -> tuple[tuple[BuildOrderMap, ...], dict[Node, Derivation]]:
    """Per closure column, how its new values are computed; plus the order maps v7 needs."""
    catalog = graph.catalog
    maps: list[BuildOrderMap] = []
    result: dict[Node, Derivation] = {}
    generic = {g.column: g for g in options.generic}
    for closure in closures:
        root = str(closure.root_name)
        if closure.root in generic:
            result[closure.root] = _generic_derivation(
                graph, closures, generic[closure.root], options
            )
            continue
        if options.uuid_version != 7:
            result.update((n, Derivation(root)) for n in closure.nodes)
            continue
        order = (
            catalog.column_named(closure.root[0], options.order_by) if options.order_by else None
        )
        if order is None:
            result.update((n, Derivation(root, 7)) for n in closure.nodes)
            continue
        n = len(maps) + 1
        maps.append(
            BuildOrderMap(
                catalog.table(closure.root[0]).qname,
                catalog.column(*closure.root).name,
                order.name,
                f"uuidpk_ms_{n}",
                f"uuidpk_ms_{n}",
                not order.not_null,
            )
        )
        for node in closure.nodes:
            if node == closure.root:
                result[node] = Derivation(root, 7, "column", order.name, not order.not_null)
            else:
                result[node] = Derivation(root, 7, "lookup", f"uuidpk_ms_{n}")
    for node, derivation in result.items():
        if graph.catalog.column(*node).is_integer:
            result[node] = replace(derivation, integer=True)
    if options.order_by and not maps:
        raise Refused(f"--order-by {options.order_by}: no root table has a column of that name")
    return tuple(maps), result


def _default(options: Options) -> str:
    """New rows' key: random, unless the values keep creation order (v7) or the server has
    uuidv7() anyway."""
    if options.native_uuidv7:
        return "uuidv7"
    return "uuidv7_emulated" if options.uuid_version == 7 else "random"


def _target_closure(graph: Graph, closures: Sequence[Closure], table_oid: int) -> Closure | None:
    pk = graph.primary_key(table_oid)
    if pk is None or len(pk.columns) != 1:
        return None
    node = graph.canon((table_oid, pk.columns[0]))
    return next((c for c in closures if node in c.nodes), None)


def _generic_closure(
    graph: Graph, closures: Sequence[Closure], generic: GenericReference, options: Options
) -> tuple[Closure, list[Problem]]:
    """A generic relation's column as a closure of its own, and what stands in its way: rows
    whose content type names no table, or a table whose key is not being converted."""
    catalog = graph.catalog
    node = generic.column
    table = catalog.table(node[0])
    name = f"{table.qname}.{catalog.column(*node).name}"
    problems = list(closure_problems(graph, Closure(node, (node,), (node,), (), table.qname)))
    for content_type, target, rows in generic.usage:
        if target is None:
            problems.append(
                Problem(
                    BLOCKER,
                    "soft reference",
                    name,
                    f"{rows} row(s) of content type {content_type} name no table",
                )
            )
        elif _target_closure(graph, closures, target) is None:
            problems.append(
                Problem(
                    BLOCKER,
                    "soft reference",
                    name,
                    f"{rows} row(s) point at {catalog.table(target).qname}, whose key is not "
                    "converted: add it with --table",
                )
            )
    if options.order_by:
        problems.append(
            Problem(
                BLOCKER, "soft reference", name, "generic relations cannot follow --order-by yet"
            )
        )
    return Closure(node, (node,), (node,), (), table.qname), problems


def _generic_derivation(
    graph: Graph, closures: Sequence[Closure], generic: GenericReference, options: Options
) -> Derivation:
    cases = []
    for content_type, target, _ in generic.usage:
        closure = _target_closure(graph, closures, target) if target is not None else None
        if closure is not None:
            cases.append((content_type, str(closure.root_name)))
    column = graph.catalog.column(*generic.column)
    return Derivation(
        "",
        options.uuid_version,
        cases=tuple(cases),
        case_column=generic.content_type_column,
        as_text=column.is_text,
    )
