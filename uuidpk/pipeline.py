"""The application layer: what a conversion is, without click.

    catalog -> graph -> closures and their problems -> plan -> render -> apply -> verify

Each public function takes an open connection and plain values, and returns data; nothing here
prints, prompts or exits. cli.py parses arguments and formats what these return; a Django
management command or a test calls the same functions (see uuidpk/__init__.py).

    with uuidpk.connect("postgresql:///shop") as conn:
        conversion = uuidpk.plan(conn, uuidpk.Selection(tables=("order_order",)))
        result = uuidpk.apply(conn, conversion, accept_risks=True)
        outcome = uuidpk.verify(conn, result.run_id)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg

from . import __version__, journal
from .advisory import migration_lock
from .blockers import option_name_problems, text_key_problem
from .catalog import read_catalog, require_tool_schema
from .django import generic_rows, map_content_types, read_content_types
from .djangodb import (
    DjangoDatabase,
    converted_keys,
    find_generic_relations,
    read_django,
    refuse_named,
    users_keys,
    uuid_object_ids,
)
from .errors import Refused, TableNotFound, UsageProblem, VerificationFailed
from .executor import StepTiming, apply_offline
from .fingerprint import (
    derived_columns,
    fingerprint_spec,
    fingerprint_sql,
    record_fingerprint,
    record_schema,
    schema_sql,
)
from .formats.django_migration import field_changes, migration_module
from .functions import Function
from .graph import Closure, Graph, Key, SoftEdge
from .leftout import LeftOut, Reason
from .model import Catalog, ToolSchema
from .ops import CreateKeyFunction, GenericReference, Options, Plan
from .planning import closures_for, plan_conversion, require_runnable
from .planning.common import judge, target_closure
from .preflight import closure_preflight, preflight_problems
from .problems import Problem, Severity
from .progress import Event, Listener
from .render import as_text, plan_sql, script
from .report import inspect_document
from .risks import RISKS, problems_by_closure
from .sequences import SequenceFix, SequencePosition, fix_sequences, read_sequence_positions
from .softrefs import soft_reference_suspects as _soft_reference_suspects
from .softrefs import table_is_empty
from .verify import Verification
from .verify import verify as _verify

Node = tuple[int, int]
Say = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class Selection:
    """Which keys to convert: named tables ([schema.]table, quoted as in SQL), or every table
    with a convertible key, plus the columns that hold key values without a foreign key
    (`TABLE.COLUMN[=TARGET]`, as on the command line). A text or char key (a natural key)
    is converted only when named with allow_text_keys; all_tables never takes one."""

    tables: tuple[str, ...] = ()
    all_tables: bool = False
    soft_refs: tuple[str, ...] = ()
    generic: bool = True  # in a Django database, find and convert generic relations
    allow_text_keys: bool = False
    # Keys left as they are (with every key of their closure): [schema.]table, as tables.
    exclude: tuple[str, ...] = ()
    # Leave out every key whose closure something blocks (and say which and why), instead of
    # refusing the whole selection.
    skip_blocked: bool = False

    def require(self) -> None:
        if not self.tables and not self.all_tables:
            raise UsageProblem("name at least one table, or all tables")


@dataclass(frozen=True)
class Analysis:
    """What the catalog says about a selection: its keys and closures, and per closure (by
    root) what stands in the way or may break. inspect shows it; plan builds on it."""

    catalog: Catalog
    graph: Graph
    keys: tuple[Key, ...]
    closures: tuple[Closure, ...]
    problems: dict[Node, list[Problem]]  # per closure root: what blocks, suspects, notes
    database_wide: tuple[Problem, ...]  # generic relations: they belong to no one closure
    generic: tuple[GenericReference, ...]
    functions: tuple[Function, ...]
    django: DjangoDatabase | None = None  # the database's Django models, when it has them
    notes: tuple[str, ...] = ()  # what Django knowledge decided: generic relations found
    left_out: tuple[LeftOut, ...] = ()  # tables the selection leaves as they are, and why

    def problems_of(self, key: Key, closure: Closure) -> list[Problem]:
        """Everything found for one key: its own problems and its closure's."""
        return self.problems.get(closure.root, [])

    def generic_problems(self) -> list[Problem]:
        """What stands in the way of the generic relations (each a closure of its own)."""
        return [p for g in self.generic for p in self.problems.get(g.column, [])]

    def all_problems(self) -> list[Problem]:
        """Every problem once: per closure (its keys' included), per generic relation, and
        database-wide."""
        found = [p for closure in self.closures for p in self.problems.get(closure.root, [])]
        return found + self.generic_problems() + list(self.database_wide)


@dataclass(frozen=True)
class Conversion:
    """A plan ready to render or apply, with the analysis it came from."""

    analysis: Analysis
    plan: Plan
    # The privilege and lock checks covered a fingerprint (its reads of every sequence-fed
    # column, its schema): what apply and the psql script do.
    fingerprint: bool = False
    server_problems: tuple[Problem, ...] = ()  # what those checks found

    @property
    def graph(self) -> Graph:
        return self.analysis.graph

    @property
    def is_empty(self) -> bool:
        return self.plan.is_empty

    @property
    def risks(self) -> list[Problem]:
        """Warnings apply stops at unless the user accepts them (functions that will fail,
        references without a foreign key)."""
        return [p for p in self.plan.problems if p.severity == Severity.WARNING and p.what in RISKS]

    @property
    def columns(self) -> int:
        return sum(len(c.nodes) for c in self.plan.closures)

    @property
    def tables(self) -> int:
        return len({t for c in self.plan.closures for t in c.tables})

    @property
    def database(self) -> str:
        return self.analysis.catalog.server.database

    @property
    def summary(self) -> str:
        return f"{len(self.plan.keys)} key(s), {self.columns} column(s) in {self.tables} table(s)"


@dataclass(frozen=True)
class Applied:
    """What apply did: the steps with their times, the fingerprint run, the check before
    commit (with verify=True), and whether it was a dry run (rolled back)."""

    conversion: Conversion
    timings: tuple[StepTiming, ...]
    run_id: int | None
    verification: Verification | None
    dry_run: bool
    seconds: float = field(default=0.0)  # wall time of the whole apply, fingerprint included
    # From the lock step to the end of the commit: fingerprint, conversion, check and commit,
    # the time the application could neither read nor write the closure's tables.
    locked_seconds: float | None = None

    @property
    def step_seconds(self) -> float:
        return sum(t.seconds for t in self.timings)


@dataclass(frozen=True)
class SequenceReport:
    """Every sequence-fed column of the database, those whose sequence lags behind the
    column's maximum, and the fixes made (with fix=True)."""

    positions: tuple[SequencePosition, ...]
    lagging: tuple[SequencePosition, ...]
    fixes: tuple[SequenceFix, ...]


# -- reading and analysing ----------------------------------------------------------------------
def select_keys(graph: Graph, selection: Selection) -> tuple[list[Key], list[LeftOut]]:
    """The keys a selection names, each once, --all's first; and what --all leaves out (tables
    without a key, keys that are not integers, an extension's tables) and what --exclude does
    (an excluded key with every key of its closure: they convert together or not at all)."""
    selection.require()
    keys: list[Key] = []
    left: list[LeftOut] = []
    if selection.all_tables:
        for found in graph.survey():
            (keys if isinstance(found, Key) else left).append(found)  # type: ignore[arg-type]
    for spec in selection.tables:
        key = graph.key_of(graph.find_table(spec))
        if key not in keys:
            keys.append(key)
    named = {k.table.qname for k in keys}
    left = [entry for entry in left if entry.table not in named]
    excluded: dict[Node, str] = {}  # an excluded key's closure column -> the excluded table
    for spec in selection.exclude:
        table = graph.find_table(spec)  # a name that is no table is an error, not a no-op
        column = graph.key_column(table)
        if column is not None:
            excluded[graph.canon((table.oid, column))] = str(table.qname)
    if not excluded:
        return keys, left
    kept = []
    for key in keys:
        closure = graph.closure((key.table.oid, key.column.attnum))
        by = sorted({excluded[n] for n in closure.nodes if n in excluded})
        if not by:
            kept.append(key)
            continue
        own = str(key.table.qname) in by
        detail = (
            "--exclude"
            if own
            else f"its closure holds the key of {', '.join(by)} (--exclude): they convert "
            "together or not at all"
        )
        left.append(
            LeftOut(key.table.qname, key.column.name, key.column.type, Reason.EXCLUDED, detail)
        )
    return kept, left


def declare_soft_references(
    conn: psycopg.Connection, catalog: Catalog, specs: Sequence[str]
) -> tuple[tuple[SoftEdge, ...], tuple[GenericReference, ...]]:
    """`TABLE.COLUMN[=TARGET]`: the column holds TARGET's key values. TARGET may be left out
    when the column's name says it (order_id beside a converted order table). A Django generic
    relation (an object id beside a content type) needs no TARGET: each row's target table is
    read from its content type."""
    if not specs:
        return (), ()  # finding the suspects means every closure: only when asked
    plain = Graph(catalog)
    everything = [plain.closure((k.table.oid, k.column.attnum)) for k in plain.all_keys()]
    suspects = {
        (r.table_oid, r.attnum): r for r in _soft_reference_suspects(catalog, plain, everything)
    }
    edges: list[SoftEdge] = []
    generics: list[GenericReference] = []
    content_types: dict[int, int | None] | None = None  # read once, at the first generic one
    for spec in specs:
        reference, _, target_spec = spec.partition("=")
        table_spec, dot, column_name = reference.rpartition(".")
        if not dot or not table_spec or not column_name:
            raise UsageProblem(f"--soft-ref {spec}: write TABLE.COLUMN[=TARGET]")
        table = plain.find_table(table_spec)
        column = catalog.column_named(table.oid, column_name.strip('"'))
        if column is None:
            raise TableNotFound(f"--soft-ref {spec}: {table.qname} has no column {column_name}")
        suspect = suspects.get((table.oid, column.attnum))
        if target_spec:
            target = plain.key_of(plain.find_table(target_spec))
        elif suspect is not None and suspect.content_type_attnum is not None:
            content_type = catalog.column(table.oid, suspect.content_type_attnum).name
            if content_types is None:
                content_types = map_content_types(read_content_types(conn, catalog), catalog)
            rows = generic_rows(conn, table.qname, content_type, column.name, content_types)
            generics.append(GenericReference((table.oid, column.attnum), content_type, tuple(rows)))
            continue
        elif suspect is not None and suspect.target_oid is not None:
            target = plain.key_of(catalog.table(suspect.target_oid))
        else:
            raise Refused(
                f"--soft-ref {spec}: cannot tell which table it references; "
                f"write --soft-ref {reference}=TABLE"
            )
        edges.append(SoftEdge((table.oid, column.attnum), (target.table.oid, target.column.attnum)))
    return tuple(edges), tuple(generics)


def analyse(
    conn: psycopg.Connection, selection: Selection, options: Options | None = None
) -> Analysis:
    """Read the catalog once and find the selection's closures and their problems, judged with
    the options given (as the plan will run them). With selection.skip_blocked, every key whose
    closure something blocks is left out (Analysis.left_out says which and why) and the rest
    judged again, until nothing left blocks."""
    return _analyse(conn, selection, options or Options(), _read(conn, selection), {})


@dataclass(frozen=True)
class _Reading:
    """What a selection names, read once: the catalog (in the graph), the keys, what is left
    out of them before any judgement, and the generic relations declared with --soft-ref."""

    graph: Graph
    django: DjangoDatabase | None
    keys: tuple[Key, ...]
    left_out: tuple[LeftOut, ...]
    declared_generic: tuple[GenericReference, ...]


def _read(conn: psycopg.Connection, selection: Selection) -> _Reading:
    selection.require()
    catalog = read_catalog(conn)
    soft, declared_generic = declare_soft_references(conn, catalog, selection.soft_refs)
    graph = Graph(catalog, soft)
    django = read_django(conn, catalog)
    if django is not None:
        refuse_named(django, graph, selection.tables)
    keys, left_out = select_keys(graph, selection)
    if django is not None:
        keys, framework = users_keys(django, graph, keys, selection.tables)
        left_out += framework
    return _Reading(graph, django, tuple(keys), tuple(left_out), declared_generic)


def _analyse(
    conn: psycopg.Connection,
    selection: Selection,
    options: Options,
    reading: _Reading,
    blocked: dict[Node, list[Problem]],
) -> Analysis:
    """Judge the keys read; `blocked`: closures (by root) to leave out from the start (what
    the server's checks block, with --skip-blocked)."""
    graph = reading.graph
    keys = list(reading.keys)
    left_out = list(reading.left_out)
    declared_generic = reading.declared_generic
    set_aside: set[Node] = set()  # generic relations left as they are (--skip-blocked)
    while True:
        for key in keys:
            root = graph.closure((key.table.oid, key.column.attnum)).root
            if root in blocked:
                left_out.append(_left_blocked(key, blocked[root]))
        keys = [
            k for k in keys if graph.closure((k.table.oid, k.column.attnum)).root not in blocked
        ]
        declared_generic = tuple(g for g in declared_generic if g.column not in blocked)
        analysis = _judge(
            conn,
            graph,
            keys,
            selection,
            options,
            declared_generic,
            reading.django,
            frozenset(set_aside),
        )
        blocked = _blocked(analysis) if selection.skip_blocked else {}
        roots = {graph.closure((k.table.oid, k.column.attnum)).root for k in keys}
        aside = {g.column for g in analysis.generic if g.column in blocked}
        if not (roots & set(blocked)) and aside <= set_aside:
            # Nothing left to leave out (what still blocks belongs to no key: it refuses).
            return replace(analysis, left_out=tuple(left_out))
        set_aside |= aside


def _judge(
    conn: psycopg.Connection,
    graph: Graph,
    keys: list[Key],
    selection: Selection,
    options: Options,
    declared_generic: tuple[GenericReference, ...],
    django: DjangoDatabase | None,
    set_aside: frozenset[Node],
) -> Analysis:
    """One judgement of a set of keys: closures, generic relations, every problem."""
    catalog = graph.catalog
    declared = frozenset(e.child for e in graph.soft) | frozenset(
        g.column for g in declared_generic
    )
    closures = closures_for(graph, keys)
    generic = declared_generic
    notes: list[str] = []
    if django is not None and selection.generic:
        found, found_notes = find_generic_relations(
            conn, django, graph, closures, selection.all_tables, declared | set_aside
        )
        generic += tuple(found)
        declared |= frozenset(g.column for g in found)
        notes += found_notes
    per_closure, database_wide = problems_by_closure(
        graph,
        closures,
        catalog.functions,  # read in the catalog's snapshot
        declared | set_aside,
        is_empty=lambda oid: table_is_empty(conn, catalog.table(oid).qname),
    )
    judged = judge(graph, keys, closures, replace(options, generic=generic))
    for root, stands in judged.items():
        # What PostgreSQL would refuse comes first: the same list inspect shows and plan uses.
        per_closure[root] = stands + per_closure.get(root, [])
    if not selection.allow_text_keys:
        for key in keys:
            refused = text_key_problem(key)
            if refused is not None:
                root = graph.closure((key.table.oid, key.column.attnum)).root
                per_closure.setdefault(root, []).append(refused)
    return Analysis(
        catalog=catalog,
        graph=graph,
        keys=tuple(keys),
        closures=tuple(closures),
        problems=per_closure,
        database_wide=tuple(database_wide) + tuple(option_name_problems(options)),
        generic=generic,
        functions=catalog.functions,
        django=django,
        notes=tuple(notes),
    )


def _blocked(analysis: Analysis) -> dict[Node, list[Problem]]:
    """Closures (by root) that something blocks, with what blocks them. A generic relation
    that cannot be converted leaves the keys its rows point at as they are too (their values
    would no longer match), and itself."""
    graph = analysis.graph
    blocked = {
        root: stopping
        for root, found in analysis.problems.items()
        if (stopping := [p for p in found if p.severity.blocks])
    }
    for generic in analysis.generic:
        if generic.column not in blocked:
            continue
        name = graph.describe(generic.column)
        for content_type, target, _ in generic.usage:
            closure = None if target is None else target_closure(graph, analysis.closures, target)
            if closure is not None:
                cascade = Problem(
                    Severity.BLOCKER,
                    "soft reference",
                    name,
                    f"a generic relation that can point at this key (content type "
                    f"{content_type}) cannot be converted, and its integers cannot hold the "
                    "key's new uuids: the key stays as it is",
                )
                blocked.setdefault(closure.root, []).extend([cascade, *blocked[generic.column]])
    return blocked


def _left_blocked(key: Key, problems: list[Problem]) -> LeftOut:
    return LeftOut(
        key.table.qname,
        key.column.name,
        key.column.type,
        Reason.BLOCKED,
        "something blocks its closure (every blocker is listed)",
        tuple(problems),
        (key.table.oid, key.column.attnum),
    )


def inspect(
    conn: psycopg.Connection,
    selection: Selection,
    options: Options | None = None,
    more: Callable[[Analysis, Options], list[Problem]] | None = None,
) -> dict[str, Any]:
    """The document `uuidpk inspect` shows (JSON version 1; fields are only ever added): the
    judgement plan() refuses or runs by (the options given, the current role's privileges,
    the server's lock table), every blocker at once; and more's problems."""
    conversion = _conversion(conn, selection, options, fingerprint=True)
    analysis = conversion.analysis
    document = inspect_document(analysis.graph, list(analysis.keys), analysis.problems_of)
    options = _server_options(analysis, options)
    found = analysis.generic_problems() + list(analysis.database_wide)
    found += conversion.server_problems
    found += more(analysis, options) if more is not None else []
    document["problems"] = [_problem_json(p) for p in found]
    document["notes"] = list(analysis.notes)  # Django: generic relations found
    document["left_out"] = [entry.to_json() for entry in analysis.left_out]
    return document


def blocking_count(document: dict[str, Any]) -> int:
    """How many problems in an inspect document stop a plan (blockers and refused keys)."""
    problems = [p for key in document["keys"] for p in key["problems"]] + document["problems"]
    stopping = {
        (p["what"], p["name"], p["reason"])
        for p in problems
        if p["severity"] in ("blocker", "refused")
    }
    return len(stopping)


def _problem_json(problem: Problem) -> dict[str, str]:
    return {
        "severity": str(problem.severity),
        "what": problem.what,
        "name": problem.name,
        "reason": problem.reason,
    }


# -- planning and rendering ---------------------------------------------------------------------
def plan(
    conn: psycopg.Connection,
    selection: Selection,
    options: Options | None = None,
    *,
    fingerprint: bool = True,
) -> Conversion:
    """The offline plan for a selection. Refused when anything blocks it (nothing changed),
    and while an online conversion is under way (its shadows and triggers are in the tables).
    fingerprint: the plan runs with one, as apply and the psql script do (not a Django
    migration, not online mode), so the role must be able to take it; checked here once."""
    running = journal.current(conn)
    if running is not None:
        keys = ", ".join(running.options.get("keys", []))
        raise Refused(
            f"an online conversion of {keys} is under way: continue it (apply --online with "
            "the same options) or abort it first"
        )
    conversion = _conversion(conn, selection, options, fingerprint=fingerprint)
    if options is not None and options.mapping_table:
        require_tool_schema(conversion.analysis.catalog)  # mapping tables go there
    require_runnable(conversion.plan)
    return conversion


def _conversion(
    conn: psycopg.Connection, selection: Selection, options: Options | None, *, fingerprint: bool
) -> Conversion:
    """The one judgement inspect and plan share: the analysis with the options given, the
    plan, and what the live server says of it (privileges, the lock table), all of it at once:
    the server's checks run on the plan's statements even while other blockers stand. With
    --skip-blocked, a closure those checks block on its own is left out too."""
    reading = _read(conn, selection)
    blocked: dict[Node, list[Problem]] = {}
    while True:
        analysis = _analyse(conn, selection, options or Options(), reading, blocked)
        planned_options = _server_options(analysis, options)
        # Without the tool's schema there is no fingerprint: the script leaves it out, apply
        # refuses.
        with_fingerprint = fingerprint and analysis.catalog.tool_schema is not ToolSchema.FOREIGN
        forced = plan_conversion(
            analysis.graph,
            list(analysis.keys),
            planned_options,
            problems=analysis.all_problems(),
            force=True,
        )
        found = _preflight(conn, analysis.catalog, forced, with_fingerprint)
        if selection.skip_blocked and any(p.severity.blocks for p in found):
            more = _server_blocked(conn, analysis, planned_options, with_fingerprint)
            if more:
                blocked.update(more)
                continue
        planned = replace(forced, problems=forced.problems + found)
        if planned.blocking:
            planned = replace(planned, steps=())
        if selection.skip_blocked:
            # Every blocker of a key left out at once: the server's too, not only the first.
            analysis = _with_server_blockers(conn, analysis, planned_options, with_fingerprint)
        return Conversion(analysis, planned, with_fingerprint, found)


def _server_blocked(
    conn: psycopg.Connection, analysis: Analysis, options: Options, fingerprint: bool
) -> dict[Node, list[Problem]]:
    """The closures (by root) that the server's checks block on their own: each planned alone
    (one privilege query and one lock estimate per closure: only when the whole plan met a
    blocker there, with --skip-blocked)."""
    blocked = {}
    for closure in analysis.closures:
        found = _closure_preflight(conn, analysis, closure, analysis.keys, options, fingerprint)
        if found:
            blocked[closure.root] = found
    return blocked


def _closure_preflight(
    conn: psycopg.Connection,
    analysis: Analysis,
    closure: Closure,
    keys: Sequence[Key],
    options: Options,
    fingerprint: bool,
) -> list[Problem]:
    graph = analysis.graph
    catalog = analysis.catalog
    members = set(closure.nodes)
    own = [k for k in keys if graph.canon((k.table.oid, k.column.attnum)) in members]
    planned = plan_conversion(graph, own, replace(options, generic=()), problems=[], force=True)
    return closure_preflight(
        conn,
        planned,
        catalog.server.current_user,
        fingerprint=fingerprint,
        schemas=catalog.schema_oids,
    )


def _with_server_blockers(
    conn: psycopg.Connection, analysis: Analysis, options: Options, fingerprint: bool
) -> Analysis:
    """The keys left out as blocked by what the catalog shows, with what the server's checks
    would block in them too (each closure planned alone)."""
    graph = analysis.graph
    left = list(analysis.left_out)
    keys = [
        graph.key_of(graph.catalog.table(e.node[0]))
        for e in left
        if e.reason is Reason.BLOCKED and e.node is not None
    ]
    found: dict[Node, list[Problem]] = {}
    for key in keys:
        closure = graph.closure((key.table.oid, key.column.attnum))
        if closure.root not in found:
            found[closure.root] = _closure_preflight(
                conn, analysis, closure, keys, options, fingerprint
            )
    for n, entry in enumerate(left):
        if entry.reason is not Reason.BLOCKED or entry.node is None:
            continue
        more = [p for p in found[graph.closure(entry.node).root] if p not in entry.problems]
        left[n] = replace(entry, problems=entry.problems + tuple(more))
    return replace(analysis, left_out=tuple(left))


def _preflight(
    conn: psycopg.Connection, catalog: Catalog, planned: Plan, fingerprint: bool
) -> tuple[Problem, ...]:
    return tuple(
        preflight_problems(
            conn,
            planned,
            catalog.server.current_user,
            fingerprint=fingerprint,
            schemas=catalog.schema_oids,
        )
    )


def _server_options(analysis: Analysis, options: Options | None) -> Options:
    server = analysis.catalog.server
    return replace(
        options or Options(),
        native_uuidv7=server.has_uuidv7,
        utf8=server.encoding == "UTF8",
        generic=analysis.generic,
    )


def render_script(conn: psycopg.Connection | None, conversion: Conversion) -> str:
    """The plan as a psql script: one transaction that stops at the first error."""
    planned = conversion.plan
    header = [
        f"uuidpk {__version__}: convert {len(planned.keys)} key(s), "
        f"{conversion.columns} column(s), to uuid",
        "run with: psql -d DATABASE -f THIS_FILE",
    ]
    header += [f"WARNING {r.what} {r.name}: {r.reason}" for r in conversion.risks]
    if conversion.analysis.catalog.tool_schema is ToolSchema.FOREIGN:
        header.append("no fingerprint: a schema named uuidpk exists that uuidpk did not make")
        return script(planned, conn, header)
    spec = fingerprint_spec(conversion.graph, planned.closures, planned.text_columns)
    derived = derived_columns(conversion.graph, planned, spec)
    return script(
        planned,
        conn,
        header,
        after_locks=[statement for _, statement in fingerprint_sql(spec, derived)],
        before_commit=schema_sql(spec),
    )


def render_django_migration(
    conn: psycopg.Connection | None,
    conversion: Conversion,
    *,
    app: str | None = None,
    name: str | None = None,
) -> str:
    """The plan as a Django migration module: the script's statements in RunSQL and the
    AlterFields of app's models. Refused outside a Django database."""
    django = _django_of(conversion.analysis)
    planned = conversion.plan
    generic = [g.column for g in conversion.analysis.generic]
    nodes = list(dict.fromkeys(n for c in planned.closures for n in c.nodes if n not in generic))
    changes = field_changes(django, conversion.analysis.catalog, nodes, generic)
    statements = [as_text(s, conn) for _, ss in plan_sql(planned) for s in ss]
    header = [
        f"uuidpk {__version__}: convert {len(planned.keys)} key(s), "
        f"{conversion.columns} column(s), to uuid"
    ]
    header += [f"WARNING {r.what} {r.name}: {r.reason}" for r in conversion.risks]
    if any(isinstance(op, CreateKeyFunction) and op.key for s in planned.steps for op in s.ops):
        header.append("this module holds the kept derivation key (--key-file): keep it secret")
    return migration_module(
        changes, statements, django, app=app, name=name, state_only=False, header=header
    )


def render_django_state(
    conn: psycopg.Connection,
    selection: Selection,
    *,
    app: str | None = None,
    name: str | None = None,
) -> str:
    """A state-only Django migration for app's models: the AlterFields, no SQL. It needs no
    plan, so it works before the conversion (integer keys, for another app's models or ahead
    of an online run) and after it: then --table names keys that are uuid already, and --all
    takes the user's keys that are uuid with a database default (Django never gives a
    UUIDField one: uuidpk did), with the uuid object ids beside a content type."""
    analysis = analyse(conn, selection)
    django = _django_of(analysis)
    graph = analysis.graph
    keys = list(analysis.keys)
    generic = [g.column for g in analysis.generic]
    if selection.all_tables:
        keys += [k for k in converted_keys(django, graph) if k not in keys]
    if selection.generic:
        generic += [n for n in uuid_object_ids(django, graph) if n not in generic]
    closures = closures_for(graph, keys)
    nodes = list(dict.fromkeys(n for c in closures for n in c.nodes if n not in generic))
    changes = field_changes(django, analysis.catalog, nodes, generic)
    header = [f"uuidpk {__version__}: the model state of {len(keys)} key(s) converted to uuid"]
    return migration_module(changes, [], django, app=app, name=name, state_only=True, header=header)


def _django_of(analysis: Analysis) -> DjangoDatabase:
    if analysis.django is None:
        raise Refused("not a Django database: it has no django_content_type table")
    return analysis.django


# -- applying and verifying ---------------------------------------------------------------------
def apply(
    conn: psycopg.Connection,
    conversion: Conversion,
    *,
    accept_risks: bool = False,
    dry_run: bool = False,
    verify: bool = False,
    say: Say = _quiet,
    listener: Listener | None = None,
) -> Applied:
    """Run the plan in one transaction, all or nothing, with a fingerprint taken after the
    plan's locks and before any change. With verify, compare before commit: a difference
    raises VerificationFailed and rolls everything back. Risks (see Conversion.risks) must be
    accepted, except for a dry run, which rolls back anyway. `listener` hears each step and
    table rewrite as it starts (uuidpk.progress); without one, `say` hears each step."""
    if conversion.is_empty:
        raise Refused("nothing to convert")
    require_tool_schema(conversion.analysis.catalog)  # the fingerprint goes there
    if not conversion.fingerprint:  # planned for something else: check what apply does
        missing = _preflight(conn, conversion.analysis.catalog, conversion.plan, True)
        require_runnable(replace(conversion.plan, problems=missing))
    with migration_lock(conn):
        return _apply(conn, conversion, accept_risks, dry_run, verify, say, listener)


def _apply(
    conn: psycopg.Connection,
    conversion: Conversion,
    accept_risks: bool,
    dry_run: bool,
    verify: bool,
    say: Say,
    listener: Listener | None,
) -> Applied:
    risks = conversion.risks
    if risks and not accept_risks and not dry_run:
        raise Refused(
            f"{len(risks)} warning(s): functions that will fail or references without a "
            "foreign key; accept the risks (--accept-risks), or declare them (--soft-ref)"
        )
    spec = fingerprint_spec(
        conversion.graph, conversion.plan.closures, conversion.plan.text_columns
    )
    derived = derived_columns(conversion.graph, conversion.plan, spec)
    runs: list[int] = []
    checked: list[Verification] = []

    def before(conn: psycopg.Connection) -> None:
        started = time.perf_counter()
        run = record_fingerprint(conn, spec, derived)
        runs.append(run.id)
        # Recorded, not yet compared: say so, and what will compare it.
        check = "compared before commit" if verify else "compare with `uuidpk verify`"
        say(
            f"fingerprint run {run.id} recorded ({len(spec.tables)} table(s), "
            f"{len(spec.foreign_keys)} foreign key(s); {check}) "
            f"in {time.perf_counter() - started:.2f} s"
        )

    def after(conn: psycopg.Connection) -> None:
        # The schema as the migration leaves it, for a later verify to compare with.
        record_schema(conn, spec)
        if not verify:
            return
        started = time.perf_counter()
        outcome = _verify(conn, runs[-1], check_sequences=False)
        checked.append(outcome)
        for note in outcome.notes:
            say(f"note: {note}")
        if not outcome.ok:
            for difference in outcome.differences:
                say(str(difference))
            raise VerificationFailed(
                f"{len(outcome.differences)} difference(s) from the fingerprint; "
                "rolled back, nothing changed"
            )
        say(f"verified {outcome.summary()} in {time.perf_counter() - started:.2f} s")

    def steps_to_say(event: Event) -> None:
        if event.kind == "step":
            say(f"{event.step} ({event.statements} statements)")

    catalog = conversion.analysis.catalog
    sizes = {
        t.qname: t.size_bytes for t in (catalog.table(oid) for oid in _plan_tables(conversion))
    }
    started = time.perf_counter()
    execution = apply_offline(
        conn,
        conversion.plan,
        dry_run=dry_run,
        before=before,
        after=after,
        listener=listener or steps_to_say,
        sizes=sizes,
    )
    return Applied(
        conversion=conversion,
        timings=execution.timings,
        run_id=None if dry_run or not runs else runs[-1],
        verification=checked[-1] if checked else None,
        dry_run=dry_run,
        seconds=time.perf_counter() - started,
        locked_seconds=execution.locked_seconds,
    )


def _plan_tables(conversion: Conversion) -> set[int]:
    return {t for c in conversion.plan.closures for t in c.tables}


def verify(
    conn: psycopg.Connection, run_id: int | None = None, *, check_sequences: bool = True
) -> Verification:
    """Compare the database with a fingerprint (the latest when run_id is None) and make the
    checks a DBA would; the outcome lists every difference (empty: nothing was lost)."""
    return _verify(conn, run_id, check_sequences=check_sequences)


def sequences(conn: psycopg.Connection, *, fix: bool = False) -> SequenceReport:
    """Sequences behind the columns they feed (the next nextval() would collide); with fix,
    move each past its column's maximum."""
    positions = tuple(read_sequence_positions(conn))
    lagging = tuple(p for p in positions if p.lagging)
    fixes = tuple(fix_sequences(conn, list(lagging))) if fix else ()
    return SequenceReport(positions, lagging, fixes)
