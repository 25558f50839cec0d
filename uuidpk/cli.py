"""The command line's commands: parse, call the application layer (pipeline.py), format.
The options they share, and how errors become exit codes, are in cli_options.py.

Exit codes: 0 success, 1 an error the user can act on (one line on stderr), 2 usage error.
Nothing here knows graphs, plans or fingerprints: it only calls uuidpk.pipeline.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from . import __version__, config, pipeline, pipeline_online, progress
from .advisory import migration_lock
from .catalog import require_tool_schema
from .cli_options import (
    conversion_options,
    dsn_option,
    friendly_errors,
    inspect_online_option,
    online_options,
    online_settings_from,
    options_from,
    progress_options,
    rehearse_option,
    say,
    say_django,
    selection_from,
    selection_options,
    soft_ref_option,
    text_keys_option,
)
from .connection import connect
from .derive import map_old_id, new_key, read_key
from .errors import Refused, UsageProblem
from .formats import pictures
from .formats.online_script import PHASES as ONLINE_PHASES
from .graph import split_name
from .naming import display_name
from .online import Settings as OnlineSettings
from .ops import Options, Phase
from .rehearsal import rehearse as rehearse_plan
from .report import inspect_text
from .safe_text import for_terminal


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
@selection_options
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
@inspect_online_option
@friendly_errors
def inspect(
    dsn: str | None,
    tables: tuple[str, ...],
    all_tables: bool,
    exclude: tuple[str, ...],
    skip_blocked: bool,
    fmt: str,
    soft_refs: tuple[str, ...],
    no_generic: bool,
    allow_text_keys: bool,
    rehearse: bool,
    online: bool,
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
        uuidpk inspect -d shop --table order_order --online
    """
    selection = selection_from(
        tables, all_tables, soft_refs, no_generic, allow_text_keys, exclude, skip_blocked
    )
    options = options_from(**conversion)
    rehearsal = None
    with connect(dsn) as conn:
        inspect_with = pipeline_online.inspect_online if online else pipeline.inspect
        document = inspect_with(conn, selection, options)
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
        say(note)
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
        say(rehearsal.summary())
    stopping = pipeline.blocking_count(document) + (rehearsal is not None and not rehearsal.ok)
    if stopping:
        # A CI job gates on this: the plan would be refused as it stands.
        say(f"{stopping} blocker(s) or refused key(s): nothing would run (exit 1)")
        sys.exit(1)


def say_risks(conversion: pipeline.Conversion) -> None:
    for risk in conversion.risks:
        say(f"warning: {risk.what} {risk.name}: {risk.reason}")


@main.command()
@dsn_option
@selection_options
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
@click.option(
    "--online",
    is_flag=True,
    help="The phases of apply --online as one psql script (psql -f, not in one transaction).",
)
@click.option(
    "--until",
    type=click.Choice([str(p) for p in ONLINE_PHASES]),
    help="With --online: the script stops after this phase.",
)
@friendly_errors
def generate(
    dsn: str | None,
    tables: tuple[str, ...],
    all_tables: bool,
    exclude: tuple[str, ...],
    skip_blocked: bool,
    soft_refs: tuple[str, ...],
    no_generic: bool,
    fmt: str,
    app: str | None,
    name: str | None,
    state_only: bool,
    allow_text_keys: bool,
    online: bool,
    until: str | None,
    **conversion: Any,
) -> None:
    """Print the conversion as a psql script (one transaction, stops at the first error), or
    as a Django migration module (--format django). With --online, the phases `apply --online`
    runs, as one psql script (--key-file: the key is in it; keep it secret).

    \b
    Example:
        uuidpk generate -d shop --table order_order > migrate.sql
        uuidpk generate --all --uuid v7 --order-by created_at > migrate.sql
        psql -d shop -f migrate.sql

        uuidpk generate --format django --table shop_order > shop/migrations/0042_uuid_keys.py
        uuidpk generate -d shop --table order_order --online > online.sql
    """
    if fmt != "django" and (app or name or state_only):
        raise click.UsageError("--app, --name and --state-only go with --format django")
    if until and not online:
        raise click.UsageError("--until goes with --online")
    if online and fmt != "sql":
        raise click.UsageError("--online writes a psql script (--format sql)")
    selection = selection_from(
        tables, all_tables, soft_refs, no_generic, allow_text_keys, exclude, skip_blocked
    )
    options = options_from(**conversion)
    with connect(dsn) as conn:
        if state_only:
            # No plan: the keys may be uuid already (after an online run).
            click.echo(pipeline.render_django_state(conn, selection, app=app, name=name), nl=False)
            return
        # The psql script records a fingerprint; a Django migration and online mode do not.
        planned = pipeline.plan(conn, selection, options, fingerprint=fmt == "sql" and not online)
        say_django(planned)
        if planned.is_empty:
            say("nothing to convert")
            return
        say_risks(planned)
        if online:
            # The warnings are printed above; a script runs nothing, the DBA decides.
            phase = Phase(until) if until else None
            text = pipeline_online.render_online_script(conn, selection, options, phase)
        elif fmt == "django":
            text = pipeline.render_django_migration(conn, planned, app=app, name=name)
        else:
            text = pipeline.render_script(conn, planned)
    click.echo(text, nl=False)


@main.command()
@dsn_option
@selection_options
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
    exclude: tuple[str, ...],
    skip_blocked: bool,
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
    selection = selection_from(
        tables, all_tables, soft_refs, no_generic, allow_text_keys, exclude, skip_blocked
    )
    options = options_from(**conversion)
    if online:
        if dry_run or verify_first or rehearse:
            raise click.UsageError(
                "--online cannot be combined with --dry-run, --verify or --rehearse"
            )
        settings = online_settings_from(until, batch_size, pause, max_rate, cutover_timeout, quiet)
        _apply_online(dsn, selection, options, settings, yes=yes, accept_risks=accept_risks)
        return
    if until or batch_size or max_rate:
        raise click.UsageError("--until, --batch-size and --max-rate need --online")
    with connect(dsn) as conn, migration_lock(conn):
        planned = pipeline.plan(conn, selection, options)
        require_tool_schema(planned.analysis.catalog)  # before prompts: apply writes there
        say_django(planned)
        if planned.is_empty:
            say("nothing to convert")
            return
        say_risks(planned)
        if rehearse:
            rehearsal = rehearse_plan(conn, selection, options, say=say)
            say(rehearsal.summary())
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
        outcome = pipeline_online.apply_online(
            conn, selection, options, settings, accept_risks=accept_risks, warn=say
        )
    if outcome is None:
        say("nothing to convert")
    elif outcome.finished:
        held = outcome.cutover_lock_seconds
        extra = f"; the cutover held its locks {held * 1000:.0f} ms" if held is not None else ""
        say(f"online conversion {outcome.migration} done{extra}")
    else:
        say(
            f"stopped after {outcome.stopped_after}: run the same command again to continue "
            "(uuidpk status shows where it stands)"
        )


@main.command()
@dsn_option
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@friendly_errors
def status(dsn: str | None, fmt: str) -> None:
    """Where the latest online conversion stands: its phase, the next step, and each table's
    backfill (rows done of the rows there were when it started). Exit 0 also when none ran.

    \b
    Example:
        uuidpk status -d shop
        uuidpk status -d shop --format json
    """
    with connect(dsn) as conn:
        found = pipeline_online.online_status(conn)
    if found is None:
        if fmt == "json":
            click.echo(json.dumps(None))
        say("no online conversion has run in this database")
        return
    tables = [
        {
            "step": t.step,
            "rows_done": t.rows_done,
            "rows_total": t.rows_total,
            "batches": t.batches,
            "done": t.done,
        }
        for t in found.backfills
    ]
    if fmt == "json":
        document = {
            "migration": found.migration,
            "state": found.state,
            "phase": None if found.phase is None else str(found.phase),
            "next_step": found.next_step,
            "steps_done": found.steps_done,
            "steps_total": found.steps_total,
            "backfills": tables,
            "fingerprint": found.fingerprint and found.fingerprint.to_json(),
        }
        click.echo(json.dumps(document, indent=2))
        return
    where = f", phase {found.phase}, next: {found.next_step}" if found.phase is not None else ""
    click.echo(
        for_terminal(
            f"online conversion {found.migration}: {found.state}{where} "
            f"({found.steps_done} of {found.steps_total} steps done)"
        )
    )
    for t in found.backfills:
        share = 100.0 if not t.rows_total else 100.0 * t.rows_done / t.rows_total
        state = "done" if t.done else f"{share:.0f} %"
        click.echo(
            for_terminal(
                f"  {t.step}: {t.rows_done} of {t.rows_total} rows "
                f"in {t.batches} batch(es), {state}"
            )
        )
    if found.fingerprint is not None:
        click.echo(for_terminal(f"  {found.fingerprint.describe()}"))


@main.command()
@dsn_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@friendly_errors
def abort(dsn: str | None, yes: bool) -> None:
    """Undo the online conversion in progress, before its cutover: every trigger, function,
    index, constraint and shadow column it added goes, in reverse order. After the cutover it
    refuses and says what going back would take.

    \b
    Example:
        uuidpk abort -d shop --yes
    """
    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError("not a terminal: pass --yes to abort without asking")
        click.confirm("Undo the online conversion in progress?", abort=True, err=True)
    with connect(dsn) as conn:
        migration = pipeline_online.abort_online(conn)
    say(f"online conversion {migration} aborted: the database is as it was before it")


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
        say(f"note: {note}")
    if outcome.ok:
        if fmt == "text":
            click.echo(for_terminal(f"uuidpk: {outcome.summary()}"))
        return
    for difference in outcome.differences:
        say(str(difference))
    say(outcome.summary())
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
        say(
            f"setval {display_name(p.sequence)} to {done.value}: "
            f"next value {done.value + p.increment}, past {p.column_name}"
        )
    state = "fixed" if fix else "lagging"
    say(f"{len(report.lagging)} of {len(report.positions)} sequence-fed column(s) {state}")
    if report.lagging and not fix:
        sys.exit(1)  # a CI job gates on this: the next nextval() would collide
