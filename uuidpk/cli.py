"""The command line: parse, call the core, format output, map errors to exit codes.

Exit codes: 0 success, 1 an error the user can act on (one line on stderr), 2 usage error.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import click
import psycopg

from . import __version__
from .catalog import read_catalog
from .connection import connect, redact
from .derive import derive_uuid, new_key, read_key
from .errors import Refused, TableNotFound, UuidpkError, VerificationFailed
from .executor import apply_offline
from .functions import read_functions
from .graph import WARNING, Graph, Key, Problem, SoftEdge, split_name
from .model import Catalog
from .planner import (
    GenericReference,
    Options,
    Plan,
    closures_for,
    plan_conversion,
    require_runnable,
)
from .render import script
from .report import inspect_document, inspect_text
from .risks import RISKS, problems_by_closure, suspect_problems
from .softrefs import (
    generic_targets,
    map_content_types,
    read_content_types,
    soft_reference_suspects,
)
from .verify import (
    display_name,
    fingerprint_spec,
    fix_sequences,
    read_sequence_positions,
    record_fingerprint,
    verify,
)

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Turn anything a user can cause into one line on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UuidpkError as exc:
            click.echo(f"uuidpk: error: {redact(str(exc))}", err=True)
            sys.exit(1)
        except psycopg.Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            click.echo(f"uuidpk: database error: {redact(first)}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("uuidpk: interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


dsn_option = click.option(
    "--dsn",
    envvar="DATABASE_URL",
    show_envvar=True,
    help="libpq connection string or URL; else DATABASE_URL; else the PG* variables.",
)
table_option = click.option(
    "--table",
    "tables",
    multiple=True,
    metavar="[SCHEMA.]TABLE",
    help='A table whose primary key to convert (repeatable). Quote odd names: \'"Order ""x"""\'.',
)
all_option = click.option(
    "--all",
    "all_tables",
    is_flag=True,
    help="Every table in the user's schemas with a single smallint/integer/bigint primary key.",
)


def _require_selection(tables: tuple[str, ...], all_tables: bool) -> None:
    if not tables and not all_tables:
        raise click.UsageError("name at least one --table, or --all")


def _keys(graph: Graph, tables: tuple[str, ...], all_tables: bool) -> list[Key]:
    _require_selection(tables, all_tables)
    keys: list[Key] = []
    if all_tables:
        keys.extend(graph.all_keys())
    for spec in tables:
        key = graph.key_of(graph.find_table(spec))
        if key not in keys:
            keys.append(key)
    return keys


def _soft_refs(
    conn: psycopg.Connection, catalog: Catalog, specs: tuple[str, ...]
) -> tuple[tuple[SoftEdge, ...], tuple[GenericReference, ...]]:
    """--soft-ref TABLE.COLUMN[=TARGET]: the column holds TARGET's key values (TARGET may be
    left out when the column's name says it, e.g. order_id beside a converted order table).
    A Django generic relation (an object id beside a content type) needs no TARGET: each row's
    target table is read from its content type."""
    if not specs:
        return (), ()  # finding the suspects means every closure: only when asked
    plain = Graph(catalog)
    everything = [plain.closure((k.table.oid, k.column.attnum)) for k in plain.all_keys()]
    suspects = {
        (r.table_oid, r.attnum): r for r in soft_reference_suspects(catalog, plain, everything)
    }
    edges: list[SoftEdge] = []
    generics: list[GenericReference] = []
    for spec in specs:
        reference, _, target_spec = spec.partition("=")
        table_spec, dot, column_name = reference.rpartition(".")
        if not dot or not table_spec or not column_name:
            raise click.UsageError(f"--soft-ref {spec}: write TABLE.COLUMN[=TARGET]")
        table = plain.find_table(table_spec)
        column = catalog.column_named(table.oid, column_name.strip('"'))
        if column is None:
            raise TableNotFound(f"--soft-ref {spec}: {table.qname} has no column {column_name}")
        suspect = suspects.get((table.oid, column.attnum))
        if target_spec:
            target = plain.key_of(plain.find_table(target_spec))
        elif suspect is not None and suspect.content_type_attnum is not None:
            content_type = catalog.column(table.oid, suspect.content_type_attnum).name
            usage = generic_targets(conn, table.qname, content_type, column.name)
            tables = map_content_types(read_content_types(conn, catalog), catalog)
            generics.append(
                GenericReference(
                    (table.oid, column.attnum),
                    content_type,
                    tuple((ct, tables.get(ct), rows) for ct, rows in sorted(usage.items())),
                )
            )
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


def _plan(
    conn: psycopg.Connection,
    tables: tuple[str, ...],
    all_tables: bool,
    options: Options,
    soft_refs: tuple[str, ...] = (),
) -> tuple[Graph, Plan]:
    catalog = read_catalog(conn)
    soft, generic = _soft_refs(conn, catalog, soft_refs)
    graph = Graph(catalog, soft)
    keys = _keys(graph, tables, all_tables)
    options = replace(
        options,
        native_uuidv7=catalog.server.has_uuidv7,
        utf8=catalog.server.encoding == "UTF8",
        generic=generic,
    )
    plan = plan_conversion(graph, keys, options)
    declared = frozenset(e.child for e in soft) | frozenset(g.column for g in generic)
    extra = suspect_problems(graph, plan.closures, read_functions(conn), declared)
    plan = replace(plan, problems=plan.problems + tuple(extra))
    require_runnable(plan)
    return graph, plan


def _risks(plan: Plan) -> list[Problem]:
    return [p for p in plan.problems if p.severity == WARNING and p.what in RISKS]


soft_ref_option = click.option(
    "--soft-ref",
    "soft_refs",
    multiple=True,
    metavar="TABLE.COLUMN[=TARGET]",
    help="A column holding a key's values with no foreign key: convert it with that key.",
)


def conversion_options(func: F) -> F:
    func = click.option(
        "--key-file",
        type=click.Path(dir_okay=False),
        help="Keep this key (hex) so old ids can be mapped later; default: a random key "
        "made inside the server and never stored. Also UUIDPK_KEY.",
    )(func)
    func = click.option(
        "--keep-old-id",
        is_flag=False,
        flag_value="old_id",
        default=None,
        metavar="[COLUMN]",
        help="Keep each root table's old key in a column (default name old_id).",
    )(func)
    func = click.option(
        "--mapping-table",
        is_flag=True,
        help="Write (old_value, new_value) per root table into uuidpk.map_<schema>_<table>.",
    )(func)
    func = click.option(
        "--uuid",
        "uuid_version",
        type=click.Choice(["v8", "v7"]),
        default="v8",
        show_default=True,
        help="v8: keyed hash, random order. v7: time-ordered, keeps the rows' creation order.",
    )(func)
    func = click.option(
        "--lock-timeout",
        default="10s",
        show_default=True,
        metavar="DURATION",
        help="Give up (and roll back) when a table's lock cannot be had in this time; 0 waits.",
    )(func)
    func = click.option(
        "--order-by",
        metavar="COLUMN",
        help="With --uuid v7: the root tables' creation timestamp column (else old id order).",
    )(func)
    return func


def _options(
    key_file: str | None,
    keep_old_id: str | None,
    mapping_table: bool,
    uuid_version: str,
    order_by: str | None,
    lock_timeout: str,
) -> Options:
    if order_by and uuid_version != "v7":
        raise click.UsageError("--order-by needs --uuid v7")
    return Options(
        key=read_key(key_file),
        keep_old_id=keep_old_id,
        mapping_table=mapping_table,
        uuid_version=7 if uuid_version == "v7" else 8,
        order_by=order_by,
        lock_timeout=lock_timeout,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="uuidpk")
def main() -> None:
    """Move PostgreSQL integer primary keys to UUIDs, with every relation intact."""


@main.command()
@dsn_option
@table_option
@all_option
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@soft_ref_option
@friendly_errors
def inspect(
    dsn: str | None, tables: tuple[str, ...], all_tables: bool, fmt: str, soft_refs: tuple[str, ...]
) -> None:
    """Show each key's closure, what PostgreSQL will refuse and what may break.

    Example:

        uuidpk inspect --dsn postgresql:///shop --table order_order

        uuidpk inspect --all --format json > closures.json
    """
    _require_selection(tables, all_tables)
    with connect(dsn) as conn:
        catalog = read_catalog(conn)
        soft, generic = _soft_refs(conn, catalog, soft_refs)
        graph = Graph(catalog, soft)
        keys = _keys(graph, tables, all_tables)
        functions = read_functions(conn)
        declared = frozenset(e.child for e in soft) | frozenset(g.column for g in generic)
        closures = closures_for(graph, keys)
        per_closure, database_wide = problems_by_closure(graph, closures, functions, declared)
        document = inspect_document(graph, keys, lambda c: per_closure.get(c.root, []))
        document["problems"] = [
            {"severity": p.severity, "what": p.what, "name": p.name, "reason": p.reason}
            for p in database_wide
        ]
    if fmt == "json":
        # No indent: the C encoder is several times faster on thousands of keys (pipe to jq).
        click.echo(json.dumps(document))
    else:
        click.echo(inspect_text(document), nl=False)


@main.command()
@dsn_option
@table_option
@all_option
@conversion_options
@soft_ref_option
@friendly_errors
def generate(
    dsn: str | None,
    tables: tuple[str, ...],
    all_tables: bool,
    soft_refs: tuple[str, ...],
    **conversion: Any,
) -> None:
    """Print the conversion as a psql script (one transaction, stops at the first error).

    Example:

        uuidpk generate --dsn postgresql:///shop --table order_order > migrate.sql

        uuidpk generate --all --uuid v7 --order-by created_at > migrate.sql

        psql -d shop -f migrate.sql
    """
    _require_selection(tables, all_tables)
    options = _options(**conversion)
    with connect(dsn) as conn:
        _, plan = _plan(conn, tables, all_tables, options, soft_refs)
        if plan.is_empty:
            click.echo("uuidpk: nothing to convert", err=True)
            return
        header = [
            f"uuidpk {__version__}: convert {len(plan.keys)} key(s), "
            f"{sum(len(c.nodes) for c in plan.closures)} column(s), to uuid",
            "run with: psql -d DATABASE -f THIS_FILE",
        ]
        for risk in _risks(plan):
            header.append(f"WARNING {risk.what} {risk.name}: {risk.reason}")
            _say_risk(risk)
        text = script(plan, conn, header)
    click.echo(text, nl=False)


def _say_risk(problem: Problem) -> None:
    click.echo(f"uuidpk: warning: {problem.what} {problem.name}: {problem.reason}", err=True)


@main.command()
@dsn_option
@table_option
@all_option
@conversion_options
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Run everything, then roll back.")
@click.option(
    "--verify",
    "verify_first",
    is_flag=True,
    help="Also compare with the fingerprint before committing; a difference rolls back.",
)
@click.option(
    "--accept-risks",
    is_flag=True,
    help="Go on despite functions that will fail and soft references left as they are.",
)
@soft_ref_option
@friendly_errors
def apply(
    dsn: str | None,
    tables: tuple[str, ...],
    all_tables: bool,
    yes: bool,
    dry_run: bool,
    verify_first: bool,
    accept_risks: bool,
    soft_refs: tuple[str, ...],
    **conversion: Any,
) -> None:
    """Convert the keys in one transaction: all of it happens, or none of it.

    Example:

        uuidpk apply --dsn postgresql:///shop --table order_order --yes

        uuidpk apply --dsn postgresql:///shop --all --dry-run
    """
    _require_selection(tables, all_tables)
    options = _options(**conversion)
    with connect(dsn) as conn:
        graph, plan = _plan(conn, tables, all_tables, options, soft_refs)
        if plan.is_empty:
            click.echo("uuidpk: nothing to convert", err=True)
            return
        columns = sum(len(c.nodes) for c in plan.closures)
        summary = (
            f"{len(plan.keys)} key(s), {columns} column(s) in "
            f"{len({t for c in plan.closures for t in c.tables})} table(s)"
        )
        risks = _risks(plan)
        for risk in risks:
            _say_risk(risk)
        if risks and not accept_risks and not dry_run:
            if not sys.stdin.isatty():
                raise Refused(
                    f"{len(risks)} warning(s) above: functions that will fail or references "
                    "without a foreign key; pass --accept-risks to go on, or --soft-ref"
                )
            click.confirm(f"Go on despite {len(risks)} warning(s)?", abort=True, err=True)
        if not yes and not dry_run:
            if not sys.stdin.isatty():
                raise click.UsageError("not a terminal: pass --yes to apply without asking")
            click.confirm(
                f"Convert {summary} in {graph.catalog.server.database}?", abort=True, err=True
            )
        before, after = _fingerprint_hooks(graph, plan, verify_first)
        timings = apply_offline(
            conn,
            plan,
            dry_run=dry_run,
            before=before,
            after=after,
            progress=lambda message: click.echo(f"uuidpk: {message}", err=True),
        )
    total = sum(t.seconds for t in timings)
    verb = "dry run: would convert" if dry_run else "converted"
    click.echo(f"uuidpk: {verb} {summary} in {total:.2f} s", err=True)


@main.command("map")
@click.option(
    "--table",
    "root",
    required=True,
    metavar="SCHEMA.TABLE",
    help="The root table whose key was converted (children share its values).",
)
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False),
    help="The key used for the conversion (hex). Also UUIDPK_KEY.",
)
@click.argument("old_ids", nargs=-1, required=True)
@friendly_errors
def map_ids(root: str, key_file: str | None, old_ids: tuple[str, ...]) -> None:
    """Print the UUID each old id became (needs the key the conversion kept).

    Example:

        uuidpk map --key-file key.hex --table public.order_order 42 43
    """
    key = read_key(key_file)
    if key is None:
        raise click.UsageError("map needs the kept key: --key-file or UUIDPK_KEY")
    schema, table = split_name(root)
    name = f"{schema or 'public'}.{table}"
    for old in old_ids:
        click.echo(f"{old}\t{derive_uuid(key, name, old)}")


@main.command()
def keygen() -> None:
    """Print a new random key (hex) for --key-file.

    Example:

        uuidpk keygen > key.hex && chmod 600 key.hex
    """
    click.echo(new_key().hex())


Hook = Callable[[psycopg.Connection], None]


def _fingerprint_hooks(graph: Graph, plan: Plan, check: bool) -> tuple[Hook, Hook | None]:
    """apply's hooks: take the fingerprint inside the migration's transaction before anything
    changes (after the plan's locks, so no write slips in between); with check, compare before
    commit and raise VerificationFailed, which rolls the whole migration back."""
    spec = fingerprint_spec(graph, plan.closures, plan.text_columns)
    runs: list[int] = []

    def say(message: str) -> None:
        click.echo(f"uuidpk: {message}", err=True)

    def before(conn: psycopg.Connection) -> None:
        started = time.perf_counter()
        run = record_fingerprint(conn, spec)
        runs.append(run.id)
        say(
            f"fingerprint run {run.id}: {len(spec.tables)} table(s), "
            f"{len(spec.foreign_keys)} foreign key(s) in {time.perf_counter() - started:.2f} s"
        )

    def after(conn: psycopg.Connection) -> None:
        started = time.perf_counter()
        outcome = verify(conn, runs[-1], check_sequences=False)
        for note in outcome.notes:
            say(f"note: {note}")
        if not outcome.ok:
            for difference in outcome.differences:
                click.echo(f"uuidpk: {difference}", err=True)
            raise VerificationFailed(
                f"{len(outcome.differences)} difference(s) from the fingerprint; "
                "rolled back, nothing changed"
            )
        say(f"verified {outcome.summary()} in {time.perf_counter() - started:.2f} s")

    return before, after if check else None


@main.command("verify")
@dsn_option
@click.option("--run", "run_id", type=int, help="The fingerprint run to verify; default: latest.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@friendly_errors
def verify_command(dsn: str | None, run_id: int | None, fmt: str) -> None:
    """Prove nothing was lost: compare the database with the fingerprint apply took before the
    change (rows per table, pairs per foreign key), and check what a DBA would: no orphaned
    references, foreign keys validated as before, converted columns uuid with no sequence left,
    and every sequence-fed column's sequence past the column's maximum.

    Exit 0 when all holds; else one line per difference on stderr and exit 1.

    Example:

        uuidpk apply --dsn postgresql:///shop --table order_order --yes

        uuidpk verify --dsn postgresql:///shop
    """
    with connect(dsn) as conn:
        outcome = verify(conn, run_id)
    if fmt == "json":
        click.echo(json.dumps(outcome.to_json(), indent=2))
    for note in outcome.notes:
        click.echo(f"uuidpk: note: {note}", err=True)
    if outcome.ok:
        if fmt == "text":
            click.echo(f"uuidpk: {outcome.summary()}")
        return
    for difference in outcome.differences:
        click.echo(f"uuidpk: {difference}", err=True)
    click.echo(f"uuidpk: {outcome.summary()}", err=True)
    sys.exit(1)


@main.command()
@dsn_option
@click.option("--fix", is_flag=True, help="Move each lagging sequence past its column (setval).")
@friendly_errors
def sequences(dsn: str | None, fix: bool) -> None:
    """List sequences that lag behind the columns they feed (serial defaults and identity
    columns, across the database): the next nextval() would collide with a stored value.

    Example:

        uuidpk sequences --dsn postgresql:///shop

        uuidpk sequences --dsn postgresql:///shop --fix
    """
    with connect(dsn) as conn:
        positions = read_sequence_positions(conn)
        lagging = [p for p in positions if p.lagging]
        for p in lagging:
            click.echo(f"{display_name(p.sequence)}\t{p.column_name}\t{p.describe()}")
        fixes = fix_sequences(conn, lagging) if fix else []
    for done in fixes:
        p = done.position
        click.echo(
            f"uuidpk: setval {display_name(p.sequence)} to {done.value}: "
            f"next value {done.value + p.increment}, past {p.column_name}",
            err=True,
        )
    state = "fixed" if fix else "lagging"
    click.echo(
        f"uuidpk: {len(lagging)} of {len(positions)} sequence-fed column(s) {state}", err=True
    )
