"""The command line's shared parts: the options several commands take, how they become a
Selection and Options for the application layer, how errors become messages and exit codes, and
how messages reach the terminal (always through safe_text). cli.py holds the commands."""

from __future__ import annotations

import functools
import getpass
import json
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click
import psycopg

from . import durations, pipeline, sizes
from .connection import redact, with_parameters
from .derive import read_key
from .errors import RefusedAll, UsageProblem, UuidpkError, primary_message
from .online import Settings as OnlineSettings
from .online_progress import OnlineProgress
from .ops import Options, Phase
from .report import left_out_lines
from .safe_text import for_terminal

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Turn anything a user can cause into one line on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UsageProblem as exc:
            raise click.UsageError(str(exc)) from None
        except RefusedAll as exc:
            for line in exc.lines[:-1]:
                report("error", redact(line))
            fail("error", redact(exc.lines[-1]))
        except UuidpkError as exc:
            fail("error", redact(str(exc)))
        except psycopg.Error as exc:
            fail("database error", redact(primary_message(exc)))
        except KeyboardInterrupt:
            click.echo("uuidpk: interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def fail(kind: str, message: str) -> NoReturn:
    """One line on stderr and exit 1."""
    report(kind, message)
    sys.exit(1)


def report(kind: str, message: str) -> None:
    """One line on stderr: a JSON object under --log-format json (automation reads every line
    of stderr as JSON there), else text."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.params.get("log_format") == "json":
        click.echo(json.dumps({"event": "error", "kind": kind, "message": message}), err=True)
    else:
        click.echo(for_terminal(f"uuidpk: {kind}: {message}"), err=True)


def dsn_option(func: F) -> F:
    """--dsn and psql's own connection flags (-h, -p, -U, -d, -W), folded into one `dsn`
    argument before the command runs: a command only ever sees `dsn`."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        dsn: str | None,
        host: str | None,
        port: str | None,
        username: str | None,
        dbname: str | None,
        ask_password: bool,
        **kwargs: Any,
    ) -> Any:
        return func(
            *args, dsn=connection_string(dsn, host, port, username, dbname, ask_password), **kwargs
        )

    options = [
        click.option(
            "--dsn",
            envvar="DATABASE_URL",
            show_envvar=True,
            metavar="DSN|DBNAME",
            help="libpq connection string, URL or a bare database name; else DATABASE_URL; "
            "else the PG* variables. The flags below override its parts, as in psql.",
        ),
        click.option("-h", "--host", metavar="HOST", help="Server host or socket directory."),
        click.option("-p", "--port", metavar="PORT", help="Server port."),
        click.option("-U", "--username", metavar="USER", help="Database user name."),
        click.option("-d", "--dbname", metavar="DBNAME", help="Database name."),
        click.option(
            "-W",
            "--password",
            "ask_password",
            is_flag=True,
            help="Ask for the password (never take it on the command line).",
        ),
    ]
    decorated: Any = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]


def connection_string(
    dsn: str | None,
    host: str | None,
    port: str | None,
    username: str | None,
    dbname: str | None,
    ask_password: bool,
) -> str:
    password = None
    if ask_password:
        who = username or os.environ.get("PGUSER") or getpass.getuser()
        password = click.prompt(f"Password for user {who}", hide_input=True, err=True)
    try:
        return with_parameters(
            dsn, host=host, port=port, user=username, dbname=dbname, password=password
        )
    except UuidpkError as exc:
        click.echo(for_terminal(f"uuidpk: error: {redact(str(exc))}"), err=True)
        sys.exit(1)


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
    help="Every table in the user's schemas whose primary key, partition key columns set "
    "aside, is one smallint/integer/bigint column.",
)


exclude_option = click.option(
    "--exclude",
    "exclude",
    multiple=True,
    metavar="[SCHEMA.]TABLE",
    help="Leave this table's key as it is, with every key of its closure (repeatable).",
)
skip_blocked_option = click.option(
    "--skip-blocked",
    is_flag=True,
    help="Leave out every key whose closure something blocks, saying which and why, and "
    "convert the rest (else one blocker refuses everything).",
)


def selection_options(func: F) -> F:
    """--table, --all, --exclude and --skip-blocked: which keys."""
    for option in (skip_blocked_option, exclude_option, all_option, table_option):
        func = option(func)
    return func


text_keys_option = click.option(
    "--allow-text-keys",
    is_flag=True,
    help="Also convert a --table whose key is text or char (a natural key: its values are "
    "kept in old_id, or the --keep-old-id column). --all never takes one.",
)


def selection_from(
    tables: tuple[str, ...],
    all_tables: bool,
    soft_refs: tuple[str, ...] = (),
    no_generic: bool = False,
    allow_text_keys: bool = False,
    exclude: tuple[str, ...] = (),
    skip_blocked: bool = False,
) -> pipeline.Selection:
    if not tables and not all_tables:
        raise click.UsageError("name at least one --table, or --all")
    return pipeline.Selection(
        tables,
        all_tables,
        soft_refs,
        generic=not no_generic,
        allow_text_keys=allow_text_keys,
        exclude=exclude,
        skip_blocked=skip_blocked,
    )


def say(message: str) -> None:
    """One line on stderr. Messages carry catalog names, deparsed definitions and server
    errors, any of which may hold newlines or terminal escapes: all go through for_terminal."""
    click.echo(for_terminal(f"uuidpk: {message}"), err=True)


rehearse_option = click.option(
    "--rehearse",
    is_flag=True,
    help="First run the plan on a schema-only copy (pg_dump | psql into a scratch database, "
    "dropped after) and report what PostgreSQL says.",
)

soft_ref = click.option(
    "--soft-ref",
    "soft_refs",
    multiple=True,
    metavar="TABLE.COLUMN[=TARGET]",
    help="A column holding a key's values with no foreign key: convert it with that key.",
)
no_generic_option = click.option(
    "--no-generic",
    is_flag=True,
    help="In a Django database, leave generic relations (content type + object id) as they are.",
)


def soft_ref_option(func: F) -> F:
    return soft_ref(no_generic_option(func))


def say_django(conversion: pipeline.Conversion) -> None:
    """What Django knowledge decided (generic relations found), one line each; then the keys
    the selection leaves out: one line per blocked key, one per other reason."""
    for note in conversion.analysis.notes:
        say(note)
    for line in left_out_lines([e.to_json() for e in conversion.analysis.left_out], brief=True):
        say(line)


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
        help="Give up (and roll back) when a table's lock cannot be had in this time "
        "(10s, 500ms, 2min; a bare number is seconds); 0 waits.",
    )(func)
    func = click.option(
        "--maintenance-work-mem",
        default=Options.maintenance_work_mem,
        show_default=True,
        metavar="SIZE",
        help="Memory for each index build of the rewrites and for the fingerprint's joins "
        "(256MB, 1GB; a bare number is MB).",
    )(func)
    func = click.option(
        "--parallel-maintenance-workers",
        type=click.IntRange(min=0, max=1024),
        default=Options.parallel_maintenance_workers,
        show_default=True,
        help="Parallel workers per index build (PostgreSQL's max_parallel_maintenance_workers;"
        " 0: none).",
    )(func)
    func = click.option(
        "--order-by",
        metavar="COLUMN",
        help="With --uuid v7: the root tables' creation timestamp column (else old id order).",
    )(func)
    return func


def progress_options(func: F) -> F:
    func = click.option(
        "--quiet", "-q", is_flag=True, help="No progress and no notes: warnings and errors only."
    )(func)
    func = click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="text: a live line on a terminal, plain lines otherwise. json: one JSON object "
        "per line on stderr, for automation.",
    )(func)
    return func


def options_from(
    key_file: str | None,
    keep_old_id: str | None,
    mapping_table: bool,
    uuid_version: str,
    order_by: str | None,
    lock_timeout: str,
    maintenance_work_mem: str = Options.maintenance_work_mem,
    parallel_maintenance_workers: int = Options.parallel_maintenance_workers,
) -> Options:
    if order_by and uuid_version != "v7":
        raise click.UsageError("--order-by needs --uuid v7")
    return Options(
        key=read_key(key_file),
        keep_old_id=keep_old_id,
        mapping_table=mapping_table,
        uuid_version=7 if uuid_version == "v7" else 8,
        order_by=order_by,
        lock_timeout=durations.setting(lock_timeout, "--lock-timeout"),
        maintenance_work_mem=sizes.setting(maintenance_work_mem, "--maintenance-work-mem"),
        parallel_maintenance_workers=parallel_maintenance_workers,
    )


def inspect_online_option(func: F) -> F:
    return click.option(
        "--online",
        is_flag=True,
        help="Also what apply --online would refuse or run into here and now (long "
        "transactions, NOT VALID checks, publications, ...) and the disk and WAL it would take.",
    )(func)


def online_options(func: F) -> F:
    func = click.option(
        "--online",
        is_flag=True,
        help="Convert while the application keeps writing: expand, backfill, prepare, cutover "
        "(one short lock), contract. Resumable: run the same command again.",
    )(func)
    func = click.option(
        "--until",
        type=click.Choice([str(p) for p in Phase if p is not Phase.OFFLINE]),
        help="With --online: stop after this phase (e.g. prepare, to time the cutover).",
    )(func)
    func = click.option(
        "--batch-size",
        type=click.IntRange(min=1),
        help="With --online: rows per backfill batch (default: sized to take about 100 ms).",
    )(func)
    func = click.option(
        "--pause",
        default="0s",
        show_default=True,
        metavar="DURATION",
        help="With --online: wait this long between backfill batches.",
    )(func)
    func = click.option(
        "--max-rate",
        type=click.FloatRange(min=1),
        metavar="ROWS",
        help="With --online: backfill at most this many rows per second.",
    )(func)
    func = click.option(
        "--cutover-timeout",
        default="60s",
        show_default=True,
        metavar="DURATION",
        help="With --online: give up taking a step's locks (retried with short lock timeouts) "
        "after this long.",
    )(func)
    return func


def online_settings_from(
    until: str | None,
    batch_size: int | None,
    pause: str,
    max_rate: float | None,
    cutover_timeout: str,
    quiet: bool = False,
) -> OnlineSettings:
    """The online executor's settings from apply's --online options; progress on stderr, unless
    quiet (errors and the final line stay)."""
    return OnlineSettings(
        until=Phase(until) if until else None,
        batch_size=batch_size,
        pause=durations.milliseconds(pause, "--pause") / 1000,
        max_rate=max_rate,
        cutover_timeout=durations.milliseconds(cutover_timeout, "--cutover-timeout") / 1000,
        progress=None if quiet else OnlineProgress(sys.stderr.isatty()),
    )
