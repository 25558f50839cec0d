"""The command line: parse, call the application layer (pipeline.py), format, map errors.

Exit codes: 0 success, 1 an error the user can act on (one line on stderr), 2 usage error.
Nothing here knows graphs, plans or fingerprints: it only calls uuidpk.pipeline.
"""

from __future__ import annotations

import functools
import getpass
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
import psycopg

from . import __version__, config, durations, pipeline, progress
from .advisory import migration_lock
from .catalog import require_tool_schema
from .connection import connect, redact, with_parameters
from .derive import map_old_id, new_key, read_key
from .errors import Refused, UsageProblem, UuidpkError, primary_message
from .formats import pictures
from .graph import split_name
from .naming import display_name
from .online import Settings as OnlineSettings
from .online_progress import OnlineProgress
from .ops import Options, Phase
from .rehearsal import rehearse as rehearse_plan
from .report import inspect_text
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
        except UuidpkError as exc:
            _fail("error", redact(str(exc)))
        except psycopg.Error as exc:
            _fail("database error", redact(primary_message(exc)))
        except KeyboardInterrupt:
            click.echo("uuidpk: interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def _fail(kind: str, message: str) -> NoReturn:
    """One line on stderr and exit 1: a JSON object under --log-format json (automation reads
    every line of stderr as JSON there), else text."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.params.get("log_format") == "json":
        click.echo(json.dumps({"event": "error", "kind": kind, "message": message}), err=True)
    else:
        click.echo(for_terminal(f"uuidpk: {kind}: {message}"), err=True)
    sys.exit(1)


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
            *args, dsn=_connection_string(dsn, host, port, username, dbname, ask_password), **kwargs
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


def _connection_string(
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


text_keys_option = click.option(
    "--allow-text-keys",
    is_flag=True,
    help="Also convert a --table whose key is text or char (a natural key: its values are "
    "kept in old_id, or the --keep-old-id column). --all never takes one.",
)


def _selection(
    tables: tuple[str, ...],
    all_tables: bool,
    soft_refs: tuple[str, ...] = (),
    no_generic: bool = False,
    allow_text_keys: bool = False,
) -> pipeline.Selection:
    if not tables and not all_tables:
        raise click.UsageError("name at least one --table, or --all")
    return pipeline.Selection(
        tables, all_tables, soft_refs, generic=not no_generic, allow_text_keys=allow_text_keys
    )


def _say(message: str) -> None:
    """One line on stderr. Messages carry catalog names, deparsed definitions and server
    errors, any of which may hold newlines or terminal escapes: all go through for_terminal."""
    click.echo(for_terminal(f"uuidpk: {message}"), err=True)


rehearse_option = click.option(
    "--rehearse",
    is_flag=True,
    help="First run the plan on a schema-only copy (pg_dump | psql into a scratch database, "
    "dropped after) and report what PostgreSQL says.",
)

_soft_ref = click.option(
    "--soft-ref",
    "soft_refs",
    multiple=True,
    metavar="TABLE.COLUMN[=TARGET]",
    help="A column holding a key's values with no foreign key: convert it with that key.",
)
_no_generic = click.option(
    "--no-generic",
    is_flag=True,
    help="In a Django database, leave generic relations (content type + object id) as they are.",
)


def soft_ref_option(func: F) -> F:
    return _soft_ref(_no_generic(func))


def _say_django(conversion: pipeline.Conversion) -> None:
    """What Django knowledge decided (keys left out, generic relations found), one line each."""
    for note in conversion.analysis.notes:
        _say(note)


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
        "--order-by",
        metavar="COLUMN",
        help="With --uuid v7: the root tables' creation timestamp column (else old id order).",
    )(func)
    return func


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
        lock_timeout=durations.setting(lock_timeout, "--lock-timeout"),
    )


# --help only: -h is the host, as in psql, pg_dump and every PostgreSQL tool.
@click.group(context_settings={"help_option_names": ["--help"]})
@click.version_option(__version__, prog_name="uuidpk")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help=f"Options from this file; default: ./{config.FILE_NAME}, else [tool.uuidpk] in "
    "./pyproject.toml. Flags on the command line win.",
)
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Move PostgreSQL integer primary keys to UUIDs, with every relation intact.

    \b
    Example:
        uuidpk inspect -d shop --table order_order
        uuidpk apply -h db.internal -U admin -W -d shop --table order_order

    Shell completion (bash; zsh and fish alike, see the README):

    \b
        eval "$(_UUIDPK_COMPLETE=bash_source uuidpk)"
    """
    try:
        found = config.find(config_path, Path.cwd())
    except UsageProblem as exc:
        raise click.UsageError(str(exc)) from None
    if found is not None and isinstance(ctx.command, click.Group):
        path, settings = found
        try:
            ctx.default_map = config.default_map(ctx.command, settings, path)
        except UsageProblem as exc:
            raise click.UsageError(str(exc)) from None


@main.command()
@dsn_option
@table_option
@all_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "mermaid", "dot"]),
    default="text",
    show_default=True,
    help="mermaid and dot draw the closures (tables, key columns, relations, blockers).",
)
@soft_ref_option
@conversion_options
@text_keys_option
@rehearse_option
@friendly_errors
def inspect(
    dsn: str | None,
    tables: tuple[str, ...],
    all_tables: bool,
    fmt: str,
    soft_refs: tuple[str, ...],
    no_generic: bool,
    allow_text_keys: bool,
    rehearse: bool,
    **conversion: Any,
) -> None:
    """Show each key's closure, what PostgreSQL will refuse and what may break; with the
    conversion options, also what they would run into (and always: the role's privileges).

    \b
    Example:
        uuidpk inspect -d shop --table order_order
        uuidpk inspect --all --format json > closures.json
        uuidpk inspect -d shop --table order_order --format dot | dot -Tsvg > closure.svg
        uuidpk inspect -d shop --all --rehearse
    """
    selection = _selection(tables, all_tables, soft_refs, no_generic, allow_text_keys)
    options = _options(**conversion)
    rehearsal = None
    with connect(dsn) as conn:
        document = pipeline.inspect(conn, selection, options)
        if rehearse:
            # Past the blockers: which of them PostgreSQL itself refuses, and what else.
            rehearsal = rehearse_plan(conn, selection, options, ignore_blockers=True)
            document["rehearsal"] = {
                "ok": rehearsal.ok,
                "error": rehearsal.error,
                "views_read": rehearsal.views_read,
                "seconds": round(rehearsal.seconds, 2),
            }
    for note in document["notes"]:
        _say(note)
    if fmt == "json":
        # No indent: the C encoder is several times faster on thousands of keys (pipe to jq).
        click.echo(json.dumps(document))
    elif fmt == "mermaid":
        click.echo(pictures.mermaid(document), nl=False)
    elif fmt == "dot":
        click.echo(pictures.dot(document), nl=False)
    else:
        click.echo(inspect_text(document), nl=False)
    if rehearsal is not None:
        _say(rehearsal.summary())
    stopping = pipeline.blocking_count(document) + (rehearsal is not None and not rehearsal.ok)
    if stopping:
        # A CI job gates on this: the plan would be refused as it stands.
        _say(f"{stopping} blocker(s) or refused key(s): nothing would run (exit 1)")
        sys.exit(1)


def _say_risks(conversion: pipeline.Conversion) -> None:
    for risk in conversion.risks:
        _say(f"warning: {risk.what} {risk.name}: {risk.reason}")


@main.command()
@dsn_option
@table_option
@all_option
@conversion_options
@soft_ref_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["sql", "django"]),
    default="sql",
    show_default=True,
    help="sql: a psql script. django: a migration module (RunSQL + the model state).",
)
@click.option("--app", metavar="APP_LABEL", help="--format django: the app the migration is for.")
@click.option(
    "--name",
    metavar="NAME",
    help="--format django: the migration's name, saved as NNNN_NAME.py (default uuid_keys).",
)
@click.option(
    "--state-only",
    is_flag=True,
    help="--format django: only the model state (the database is converted another way).",
)
@text_keys_option
@friendly_errors
def generate(
    dsn: str | None,
    tables: tuple[str, ...],
    all_tables: bool,
    soft_refs: tuple[str, ...],
    no_generic: bool,
    fmt: str,
    app: str | None,
    name: str | None,
    state_only: bool,
    allow_text_keys: bool,
    **conversion: Any,
) -> None:
    """Print the conversion as a psql script (one transaction, stops at the first error), or
    as a Django migration module (--format django).

    \b
    Example:
        uuidpk generate -d shop --table order_order > migrate.sql
        uuidpk generate --all --uuid v7 --order-by created_at > migrate.sql
        psql -d shop -f migrate.sql

        uuidpk generate --format django --table shop_order > shop/migrations/0042_uuid_keys.py
    """
    if fmt != "django" and (app or name or state_only):
        raise click.UsageError("--app, --name and --state-only go with --format django")
    selection = _selection(tables, all_tables, soft_refs, no_generic, allow_text_keys)
    options = _options(**conversion)
    with connect(dsn) as conn:
        if state_only:
            # No plan: the keys may be uuid already (after an online run).
            click.echo(pipeline.render_django_state(conn, selection, app=app, name=name), nl=False)
            return
        planned = pipeline.plan(conn, selection, options)
        _say_django(planned)
        if planned.is_empty:
            _say("nothing to convert")
            return
        _say_risks(planned)
        if fmt == "django":
            text = pipeline.render_django_migration(conn, planned, app=app, name=name)
        else:
            text = pipeline.render_script(conn, planned)
    click.echo(text, nl=False)


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
@progress_options
@text_keys_option
@rehearse_option
@online_options
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
    log_format: str,
    quiet: bool,
    no_generic: bool,
    allow_text_keys: bool,
    rehearse: bool,
    online: bool,
    until: str | None,
    batch_size: int | None,
    pause: str,
    max_rate: float | None,
    cutover_timeout: str,
    **conversion: Any,
) -> None:
    """Convert the keys in one transaction: all of it happens, or none of it. With --online,
    in phases while the application keeps writing; run the same command again to continue.

    \b
    Example:
        uuidpk apply -d shop --table order_order --yes
        uuidpk apply -d shop --all --dry-run
        uuidpk apply -d shop --all --rehearse --yes
        uuidpk apply -d shop --table order_order --online --until prepare --yes
    """
    selection = _selection(tables, all_tables, soft_refs, no_generic, allow_text_keys)
    options = _options(**conversion)
    if online:
        if dry_run or verify_first or rehearse:
            raise click.UsageError(
                "--online cannot be combined with --dry-run, --verify or --rehearse"
            )
        settings = OnlineSettings(
            until=Phase(until) if until else None,
            batch_size=batch_size,
            pause=durations.milliseconds(pause, "--pause") / 1000,
            max_rate=max_rate,
            cutover_timeout=durations.milliseconds(cutover_timeout, "--cutover-timeout") / 1000,
            progress=OnlineProgress(sys.stderr.isatty()),
        )
        _apply_online(dsn, selection, options, settings, yes=yes, accept_risks=accept_risks)
        return
    if until or batch_size or max_rate:
        raise click.UsageError("--until, --batch-size and --max-rate need --online")
    with connect(dsn) as conn, migration_lock(conn):
        planned = pipeline.plan(conn, selection, options)
        require_tool_schema(planned.analysis.catalog)  # before prompts: apply writes there
        _say_django(planned)
        if planned.is_empty:
            _say("nothing to convert")
            return
        _say_risks(planned)
        if rehearse:
            rehearsal = rehearse_plan(conn, selection, options, say=_say)
            _say(rehearsal.summary())
            if not rehearsal.ok:
                raise Refused("the rehearsal failed (see above): nothing changed")
        risks = len(planned.risks)
        if risks and not accept_risks and not dry_run:
            if not sys.stdin.isatty():
                raise Refused(
                    f"{risks} warning(s) above: functions that will fail or references "
                    "without a foreign key; pass --accept-risks to go on, or --soft-ref"
                )
            click.confirm(f"Go on despite {risks} warning(s)?", abort=True, err=True)
        if not yes and not dry_run:
            if not sys.stdin.isatty():
                raise click.UsageError("not a terminal: pass --yes to apply without asking")
            question = for_terminal(f"Convert {planned.summary} in {planned.database}?")
            click.confirm(question, abort=True, err=True)
        reporter = progress.reporter(log_format, quiet, sys.stderr)
        reporter.watch(progress.ServerProgress(lambda: connect(dsn), conn.info.backend_pid))
        try:
            result = pipeline.apply(
                conn,
                planned,
                accept_risks=True,
                dry_run=dry_run,
                verify=verify_first,
                say=reporter.note,
                listener=reporter,
            )
            verb = "dry run: would convert" if dry_run else "converted"
            # The whole apply: fingerprint, conversion, check and commit.
            done = f"{verb} {planned.summary} in {result.seconds:.2f} s"
            reporter(progress.Event("done", seconds=result.seconds, message=done))
        finally:
            reporter.close()


def _apply_online(
    dsn: str | None,
    selection: pipeline.Selection,
    options: Options,
    settings: OnlineSettings,
    *,
    yes: bool,
    accept_risks: bool,
) -> None:
    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError("not a terminal: pass --yes to apply without asking")
        click.confirm("Convert online (or continue the conversion running)?", abort=True, err=True)
    with connect(dsn) as conn:
        outcome = pipeline.apply_online(
            conn, selection, options, settings, accept_risks=accept_risks
        )
    if outcome is None:
        _say("nothing to convert")
    elif outcome.finished:
        held = outcome.cutover_lock_seconds
        extra = f"; the cutover held its locks {held * 1000:.0f} ms" if held is not None else ""
        _say(f"online conversion {outcome.migration} done{extra}")
    else:
        _say(
            f"stopped after {outcome.stopped_after}: run the same command again to continue "
            "(uuidpk status shows where it stands)"
        )


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
@click.option(
    "--uuid",
    "uuid_version",
    type=click.Choice(["v8", "v7"]),
    default="v8",
    show_default=True,
    help="The --uuid the conversion used. v7 with --order-by: write each id as ID@TIMESTAMP.",
)
@click.argument("old_ids", nargs=-1, required=True)
@friendly_errors
def map_ids(root: str, key_file: str | None, uuid_version: str, old_ids: tuple[str, ...]) -> None:
    """Print the UUID each old id became (needs the key the conversion kept).

    \b
    Example:
        uuidpk map --key-file key.hex --table public.order_order 42 43
        uuidpk map --key-file key.hex --uuid v7 --table order_order 42@2024-05-01T10:00:00Z
    """
    key = read_key(key_file)
    if key is None:
        raise click.UsageError("map needs the kept key: --key-file or UUIDPK_KEY")
    schema, table = split_name(root)
    name = f"{schema or 'public'}.{table}"
    for old in old_ids:
        click.echo(f"{old}\t{map_old_id(key, name, old, uuid_version == 'v7')}")


@main.command()
def keygen() -> None:
    """Print a new random key (hex) for --key-file.

    \b
    Example:
        uuidpk keygen > key.hex && chmod 600 key.hex
    """
    click.echo(new_key().hex())


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

    \b
    Example:
        uuidpk apply -d shop --table order_order --yes
        uuidpk verify -d shop
    """
    with connect(dsn) as conn:
        outcome = pipeline.verify(conn, run_id)
    if fmt == "json":
        click.echo(json.dumps(outcome.to_json(), indent=2))
    for note in outcome.notes:
        _say(f"note: {note}")
    if outcome.ok:
        if fmt == "text":
            click.echo(for_terminal(f"uuidpk: {outcome.summary()}"))
        return
    for difference in outcome.differences:
        _say(str(difference))
    _say(outcome.summary())
    sys.exit(1)


@main.command()
@dsn_option
@click.option("--fix", is_flag=True, help="Move each lagging sequence past its column (setval).")
@friendly_errors
def sequences(dsn: str | None, fix: bool) -> None:
    """List sequences that lag behind the columns they feed (serial defaults and identity
    columns, across the database): the next nextval() would collide with a stored value.

    \b
    Example:
        uuidpk sequences -d shop
        uuidpk sequences -d shop --fix
    """
    with connect(dsn) as conn:
        report = pipeline.sequences(conn, fix=fix)
    for p in report.lagging:
        fields = (display_name(p.sequence), p.column_name, p.describe())
        click.echo("\t".join(map(for_terminal, fields)))
    for done in report.fixes:
        p = done.position
        _say(
            f"setval {display_name(p.sequence)} to {done.value}: "
            f"next value {done.value + p.increment}, past {p.column_name}"
        )
    state = "fixed" if fix else "lagging"
    _say(f"{len(report.lagging)} of {len(report.positions)} sequence-fed column(s) {state}")
    if report.lagging and not fix:
        sys.exit(1)  # a CI job gates on this: the next nextval() would collide
