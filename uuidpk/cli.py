"""The command line: parse, call the core, format output, map errors to exit codes.

Exit codes: 0 success, 1 an error the user can act on (one line on stderr), 2 usage error.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
import psycopg

from . import __version__
from .catalog import read_catalog
from .connection import connect, redact
from .derive import derive_uuid, new_key, read_key
from .errors import UuidpkError
from .executor import apply_offline
from .graph import Graph, Key, split_name
from .planner import Options, Plan, plan_conversion, require_runnable
from .render import script
from .report import inspect_document, inspect_text

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


def _keys(graph: Graph, tables: tuple[str, ...], all_tables: bool) -> list[Key]:
    if not tables and not all_tables:
        raise click.UsageError("name at least one --table, or --all")
    keys: list[Key] = []
    if all_tables:
        keys.extend(graph.all_keys())
    for spec in tables:
        key = graph.key_of(graph.find_table(spec))
        if key not in keys:
            keys.append(key)
    return keys


def _plan(
    conn: psycopg.Connection, tables: tuple[str, ...], all_tables: bool, options: Options
) -> tuple[Graph, Plan]:
    graph = Graph(read_catalog(conn))
    keys = _keys(graph, tables, all_tables)
    if graph.catalog.server.has_uuidv7 and options.uuid_default == "gen_random_uuid()":
        options = Options(**{**options.__dict__, "uuid_default": "uuidv7()"})
    plan = plan_conversion(graph, keys, options)
    require_runnable(plan)
    return graph, plan


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
    return func


def _options(key_file: str | None, keep_old_id: str | None, mapping_table: bool) -> Options:
    return Options(key=read_key(key_file), keep_old_id=keep_old_id, mapping_table=mapping_table)


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
@friendly_errors
def inspect(dsn: str | None, tables: tuple[str, ...], all_tables: bool, fmt: str) -> None:
    """Show each key's closure, what PostgreSQL will refuse and what may break.

    Example:

        uuidpk inspect --dsn postgresql:///shop --table order_order

        uuidpk inspect --all --format json > closures.json
    """
    with connect(dsn) as conn:
        graph = Graph(read_catalog(conn))
        keys = _keys(graph, tables, all_tables)
        document = inspect_document(graph, keys)
    if fmt == "json":
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(inspect_text(document), nl=False)


@main.command()
@dsn_option
@table_option
@all_option
@conversion_options
@friendly_errors
def generate(
    dsn: str | None,
    tables: tuple[str, ...],
    all_tables: bool,
    key_file: str | None,
    keep_old_id: str | None,
    mapping_table: bool,
) -> None:
    """Print the conversion as a psql script (one transaction, stops at the first error).

    Example:

        uuidpk generate --dsn postgresql:///shop --table order_order > migrate.sql

        psql -d shop -f migrate.sql
    """
    options = _options(key_file, keep_old_id, mapping_table)
    with connect(dsn) as conn:
        _, plan = _plan(conn, tables, all_tables, options)
        header = [
            f"uuidpk {__version__}: convert {len(plan.keys)} key(s), "
            f"{sum(len(c.nodes) for c in plan.closures)} column(s), to uuid",
            "run with: psql -d DATABASE -f THIS_FILE",
        ]
        text = script(plan, conn, header)
    click.echo(text, nl=False)


@main.command()
@dsn_option
@table_option
@all_option
@conversion_options
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Run everything, then roll back.")
@friendly_errors
def apply(
    dsn: str | None,
    tables: tuple[str, ...],
    all_tables: bool,
    key_file: str | None,
    keep_old_id: str | None,
    mapping_table: bool,
    yes: bool,
    dry_run: bool,
) -> None:
    """Convert the keys in one transaction: all of it happens, or none of it.

    Example:

        uuidpk apply --dsn postgresql:///shop --table order_order --yes

        uuidpk apply --dsn postgresql:///shop --all --dry-run
    """
    options = _options(key_file, keep_old_id, mapping_table)
    with connect(dsn) as conn:
        graph, plan = _plan(conn, tables, all_tables, options)
        columns = sum(len(c.nodes) for c in plan.closures)
        summary = (
            f"{len(plan.keys)} key(s), {columns} column(s) in "
            f"{len({t for c in plan.closures for t in c.tables})} table(s)"
        )
        if not yes and not dry_run:
            if not sys.stdin.isatty():
                raise click.UsageError("not a terminal: pass --yes to apply without asking")
            click.confirm(
                f"Convert {summary} in {graph.catalog.server.database}?", abort=True, err=True
            )
        timings = apply_offline(
            conn,
            plan,
            dry_run=dry_run,
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
