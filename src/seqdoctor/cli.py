"""The command line: arguments in, exit status out. Everything else is the library's.

Exit statuses follow Nagios plugins: 0 ok (info findings only), 1 warning,
2 critical, 3 unknown - also for bad arguments and connection failures, which
print one line on stderr and no traceback.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO, TypeVar, cast

import click
import psycopg

from seqdoctor._version import __version__
from seqdoctor.auditing import audit, collector_paused
from seqdoctor.catalog.connection import error_message
from seqdoctor.catalog.display import printable
from seqdoctor.checks import REGISTRY
from seqdoctor.errors import ExitStatus, SeqdoctorError
from seqdoctor.fleet import (
    DEFAULT_JOBS,
    MAX_DAYS,
    SECONDS,
    Target,
    audit_fleet,
    load_targets,
    unique_targets,
)
from seqdoctor.fleet import all_databases as expand_databases
from seqdoctor.history import DEFAULT_SCHEMA, History, open_store
from seqdoctor.render import Format, render, render_fleet

Command = TypeVar("Command", bound=Callable[..., Any])
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, message="%(prog)s %(version)s")
def cli() -> None:
    """Find and fix PostgreSQL sequence problems before they page anyone."""


def _percent(_ctx: click.Context, _param: click.Parameter, value: float) -> float:
    if not 0 < value <= 100:
        raise click.BadParameter("must be a percentage between 0 and 100")
    return value / 100


def _threshold(name: str, default: float, meaning: str) -> Callable[[Command], Command]:
    return click.option(
        name,
        type=float,
        default=default,
        show_default=True,
        callback=_percent,
        help=f"Percent of a range used that {meaning}.",
    )


def _number(_ctx: click.Context, _param: click.Parameter, value: float) -> float:
    # FloatRange lets nan through: no comparison with it is ever true.
    if math.isnan(value):
        raise click.BadParameter("must be a number, not nan")
    return value


def _seconds(name: str, default: float, meaning: str) -> Callable[[Command], Command]:
    return click.option(
        name,
        type=click.FloatRange(*SECONDS),
        default=default,
        show_default=True,
        callback=_number,
        metavar="SECONDS",
        help=meaning,
    )


def _days(name: str, default: float, meaning: str) -> Callable[[Command], Command]:
    return click.option(
        name,
        type=click.FloatRange(min=0, min_open=True, max=MAX_DAYS),
        default=default,
        show_default=True,
        callback=_number,
        metavar="DAYS",
        help=meaning,
    )


def _history(options: dict[str, Any]) -> dict[str, Any]:
    """The history options as audit() takes them: one History."""
    location = options.pop("history_location")
    history = History(
        open_store(location, schema=options.pop("history_schema")),
        window=timedelta(days=options.pop("window")),
        retention=timedelta(days=options.pop("retention", 90)),
        record=options.pop("record", False),
    )
    return {**options, "history": history}


def _shared(command: click.Command, *names: str) -> list[click.Parameter]:
    """Options declared once, on *command*, for another command to take as they are."""
    return [next(p for p in command.params if p.name == name) for name in names]


@cli.command(context_settings=CONTEXT)
@click.argument("conninfos", nargs=-1, metavar="[CONNINFO]...")
@click.option(
    "--targets",
    "targets_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A TOML file of [[target]] entries: name, conninfo, and their own options.",
)
@click.option(
    "--all-databases",
    is_flag=True,
    help="Audit every database of the server(s) that accepts connections.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=DEFAULT_JOBS,
    show_default=True,
    help="Databases audited at once.",
)
@click.option("--schema", "schemas", multiple=True, metavar="GLOB", help="Only these schemas.")
@click.option(
    "--exclude-schema", "exclude_schemas", multiple=True, metavar="GLOB", help="Not these schemas."
)
@click.option(
    "--table",
    "tables",
    multiple=True,
    metavar="GLOB",
    help="Only these tables (name, or schema.name when the pattern has a dot).",
)
@click.option("--select", multiple=True, metavar="CODE", help="Run only these checks.")
@click.option("--ignore", multiple=True, metavar="CODE", help="Skip these checks.")
@_threshold("--warning", 75.0, "warns")
@_threshold("--critical", 90.0, "is critical")
@_seconds("--lock-timeout", 2.0, "Longest wait for a lock; a table locked longer is not checked.")
@_seconds("--statement-timeout", 30.0, "Longest any one query may run.")
@click.option(
    "--allow-seqscan",
    is_flag=True,
    help="Read max() of columns without an index by scanning their tables.",
)
@click.option(
    "--connections",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Connections to each database: its tables are read in parallel batches.",
)
@_days("--warning-days", 90.0, "A forecast exhaustion this close warns (SEQ011).")
@_days("--critical-days", 30.0, "A forecast exhaustion this close is critical (SEQ011).")
@click.option("--record", is_flag=True, help="Keep the sequences' positions in the history.")
@click.option(
    "--history",
    "history_location",
    metavar="PATH|CONNINFO",
    help="History store: an SQLite file, or a PostgreSQL database (default: "
    "history.sqlite3 in the user's state directory).",
)
@click.option(
    "--history-schema",
    default=DEFAULT_SCHEMA,
    show_default=True,
    metavar="NAME",
    help="Schema of the history table in a PostgreSQL store.",
)
@_days("--window", 30.0, "History the forecast measures the rate over.")
@_days("--retention", 90.0, "Samples older than this are deleted when recording.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice([f.value for f in Format]),
    default=Format.TABLE.value,
    show_default=True,
)
@click.option("-q", "--quiet", is_flag=True, help="Print only the one-line status.")
@click.pass_context
def check(
    ctx: click.Context,
    /,
    *,
    conninfos: tuple[str, ...],
    targets_file: Path | None,
    all_databases: bool,
    jobs: int,
    output_format: str,
    quiet: bool,
    **options: Any,
) -> None:
    """Audit every sequence of a database, or of many. Only reads.

    CONNINFO is anything libpq accepts: a postgresql:// URI, key=value pairs,
    service=NAME; when none is given, the PG* environment variables (and
    .pgpass) say where to connect, as with psql. Several CONNINFOs, --targets
    or --all-databases audit many databases at once: one summary line each,
    then each report; the exit status is the worst.
    """
    with collector_paused():  # till the report is written: see collector_paused
        options = _history(options)
        if len(conninfos) > 1 or targets_file or all_databases:
            targets = [Target.of(c) for c in conninfos]
            if targets_file:
                targets += load_targets(targets_file)
            if all_databases:
                targets = [
                    db for t in targets or [Target.of("")] for db in expand_databases(t.conninfo)
                ]
            fleet = audit_fleet(unique_targets(targets), jobs=jobs, **options)
            if quiet:
                click.echo(fleet.headline())
            else:
                render_fleet(fleet, Format(output_format), sys.stdout)
            ctx.exit(fleet.status.exit_status)
        conninfo = conninfos[0] if conninfos else ""
        bar: AbstractContextManager[Callable[[str, int, int], None] | None] = nullcontext()
        if output_format == Format.TABLE and not quiet:
            # Imported here, like the demo below: Rich costs a JSON scrape a tenth of a second.
            from seqdoctor.render.progress import TerminalProgress  # noqa: PLC0415

            bar = TerminalProgress()
        with bar as progress:
            report = audit(conninfo, progress=progress, **options)
        if quiet:
            click.echo(report.headline())
        else:
            render(report, Format(output_format), sys.stdout)
        ctx.exit(report.exit_status)


@cli.command(context_settings=CONTEXT)
@click.argument("code", required=False)
def explain(code: str | None) -> None:
    """Explain a check (by code or name), or list them all."""
    if code is None:
        for known in REGISTRY:
            click.echo(f"{known.code}  {known.name:<36} {known.severity:<9} {known.summary}")
        return
    chosen = REGISTRY.get(code)
    click.echo(f"{chosen.code} {chosen.name} ({chosen.severity})\n")
    click.echo(chosen.documentation.split("\n", 1)[1].strip())


def _bytes(_ctx: click.Context, _param: click.Parameter, value: str) -> int:
    from seqdoctor.repairs.model import parse_size  # noqa: PLC0415 - see check

    try:
        return parse_size(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@cli.command(context_settings=CONTEXT)
@click.argument("conninfo", default="", metavar="[CONNINFO]")
@click.option(
    "--code",
    "codes",
    multiple=True,
    metavar="CODE",
    help="Repair only findings of these checks, and apply them even if not urgent.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "sql", "json"]),
    default="table",
    show_default=True,
    help="sql: a psql script of exactly what --apply runs.",
)
@click.option("--apply", "apply_", is_flag=True, help="Apply the repairs (asks first).")
@click.option("-y", "--yes", is_flag=True, help="Apply without asking.")
@click.option(
    "--lock",
    is_flag=True,
    help="Lock a sequence's tables (SHARE ROW EXCLUSIVE) while moving it past their data.",
)
@click.option(
    "--allow-rewrite", is_flag=True, help="Apply table rewrites over --rewrite-threshold too."
)
@click.option(
    "--rewrite-threshold",
    default="1GB",
    show_default=True,
    metavar="SIZE",
    callback=_bytes,
    help="Largest rewrite --apply runs without --allow-rewrite.",
)
@_seconds("--lock-timeout", 2.0, "Longest wait for a lock, reading or applying.")
@_seconds("--statement-timeout", 30.0, "Longest any one statement may run.")
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Times a repair whose locks were not granted (or that deadlocked) is tried again, "
    "waiting longer each time.",
)
@click.option(
    "--online",
    "online_",
    is_flag=True,
    help="Widen keys online (expand, backfill, swap) instead of one ALTER: docs/fix.md.",
)
@click.option("--revert", is_flag=True, help="With --online: undo a widening not cleaned up.")
@click.option("--cleanup", is_flag=True, help="With --online: drop the old columns after the swap.")
@click.pass_context
def fix(
    ctx: click.Context,
    /,
    *,
    conninfo: str,
    output_format: str,
    apply_: bool,
    yes: bool,
    retries: int,
    online_: bool,
    revert: bool,
    cleanup: bool,
    **options: Any,
) -> None:
    """Plan repairs for what the audit finds, and apply them with --apply.

    Prints, for each finding it can repair, the SQL it would run, why, and
    what it locks. Nothing changes without --apply, which asks first on a
    terminal. Each repair runs in its own transaction under the lock and
    statement timeouts, is tried again when its locks are not granted, and the
    first failure stops the run; running fix again picks up where it stopped.
    By default --apply runs only urgent repairs: of findings at warning or
    critical, and a table rewrite only when a column it changes is running
    out; the others (SEQ004 ...) are shown and run when asked for with
    --code. Table rewrites over --rewrite-threshold, and repairs that are a
    design decision, are only shown.

    Exit status: 0 nothing to repair (info findings aside), or every repair
    applied and checked again; 1 repairs waiting (not applied, held back, or
    declined); 2 a repair failed or did not take; 3 bad arguments, no
    connection, or the connection lost while applying.
    """
    from seqdoctor.render.plan import (  # noqa: PLC0415 - see check
        PlanFormat,
        render_plan,
        render_result,
        step_line,
    )
    from seqdoctor.repairs import Retries, apply_fix, plan_fix  # noqa: PLC0415 - see check

    if (revert or cleanup) and not online_:
        raise click.BadParameter("--revert and --cleanup go with --online")
    if online_:
        from seqdoctor.render.online import fix_online  # noqa: PLC0415 - see check

        ctx.exit(
            fix_online(
                conninfo,
                output_format,
                apply_,
                revert,
                cleanup,
                lambda question: _confirmed(yes, question),
                options,
            )
        )
    chosen = PlanFormat(output_format)
    if apply_ and chosen is PlanFormat.SQL:
        raise click.BadParameter("--format sql prints a script for psql: use it or --apply")
    planned = plan_fix(conninfo, **options)
    if not apply_ or not any(p.applies for p in planned.plans):
        render_plan(planned, chosen, sys.stdout)
        ctx.exit(planned.exit_status)
    if chosen is PlanFormat.TABLE:
        render_plan(planned, chosen, sys.stdout, applying=yes)
    count = sum(p.applies for p in planned.plans)
    database = planned.report.snapshot.server.database
    if not _confirmed(yes, f"Apply {count} repairs to database {database}?"):
        ctx.exit(planned.exit_status)
    result = apply_fix(
        conninfo,
        planned,
        retries=Retries(retries),
        log=lambda step: click.echo(step_line(step), err=True),
    )
    render_result(result, chosen, sys.stdout)
    ctx.exit(result.exit_status)


def _confirmed(yes: bool, question: str) -> bool:
    """Whether --apply may go ahead: --yes, or a person at the terminal says so."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise click.UsageError("--apply asks before changing anything: pass --yes to skip")
    if click.confirm(question, err=True):
        return True
    click.echo("Nothing was changed.", err=True)
    return False


@cli.command(context_settings=CONTEXT)
@click.argument("source", metavar="SOURCE")
@click.argument("target", metavar="TARGET")
@click.option(
    "--margin",
    default="0",
    show_default=True,
    metavar="N|P%",
    help="Values kept free past the source's position: a count, or a percent of the range left.",
)
@click.option(
    "--verify",
    is_flag=True,
    help="Only judge the target: exit 2 if a sequence is behind the source or its data.",
)
@click.pass_context
def sync(
    ctx: click.Context,
    /,
    *,
    source: str,
    target: str,
    verify: bool,
    output_format: str,
    apply_: bool,
    yes: bool,
    retries: int,
    **options: Any,
) -> None:
    """Carry sequence positions from SOURCE to TARGET, forward only (docs/sync.md).

    For a cutover after logical replication or a data-only copy: sequences
    are matched by schema and name, and each target sequence must be at or
    past the source's next value plus --margin, and past its own data.
    Prints the moves; --apply runs them on TARGET (asking first on a
    terminal), each in its own transaction as fix runs its repairs.

    Exit status: 0 nothing to move, or every move applied and checked again;
    1 moves waiting, or sequences missing on the target; 2 a move failed, or
    (--verify) a target sequence is behind; 3 bad arguments, no connection,
    or (--verify) a position that could not be read.
    """
    from seqdoctor.render.plan import PlanFormat, step_line  # noqa: PLC0415 - see check
    from seqdoctor.render.sync import render_sync, render_sync_result  # noqa: PLC0415
    from seqdoctor.repairs import Retries  # noqa: PLC0415 - see check
    from seqdoctor.sync import apply_sync, plan_sync  # noqa: PLC0415 - see check

    chosen = PlanFormat(output_format)
    if chosen is PlanFormat.SQL and (apply_ or verify):
        raise click.BadParameter("--format sql prints a script: not with --apply or --verify")
    if apply_ and verify:
        raise click.BadParameter("--verify only reads: use it after --apply, not with it")
    planned = plan_sync(source, target, **options)
    if verify:
        render_sync(planned, chosen, sys.stdout, verify=True)
        ctx.exit(planned.verdict)
    if not apply_ or not any(p.applies for p in planned.plans):
        render_sync(planned, chosen, sys.stdout)
        ctx.exit(planned.exit_status)
    if chosen is PlanFormat.TABLE:
        render_sync(planned, chosen, sys.stdout, applying=yes)
    database = planned.target.snapshot.server.database
    count = sum(p.applies for p in planned.plans)  # held-back moves are not made
    question = f"Move {count} sequences of database {database}?"
    if not _confirmed(yes, question):
        ctx.exit(planned.exit_status)
    result = apply_sync(
        target,
        planned,
        retries=Retries(retries),
        log=lambda step: click.echo(step_line(step), err=True),
    )
    render_sync_result(result, chosen, sys.stdout)
    ctx.exit(result.exit_status)


fix.params.extend(_shared(check, "schemas", "exclude_schemas", "tables", "allow_seqscan"))


sync.params.extend(
    _shared(
        fix,
        "schemas",
        "exclude_schemas",
        "tables",
        "output_format",
        "apply_",
        "yes",
        "lock",
        "lock_timeout",
        "statement_timeout",
        "retries",
        "allow_seqscan",
    )
)


@cli.command(context_settings=CONTEXT)
@click.argument("conninfo", default="", metavar="[CONNINFO]")
@click.pass_context
def forecast(ctx: click.Context, /, conninfo: str, **options: Any) -> None:
    """When each column's range runs out at the rate its sequence uses values, soonest first.

    The rate is measured from the history check --record keeps or, without
    one, estimated from the rows inserted since the statistics started
    counting. The exit status is check's, for the forecast alone (SEQ011).
    """
    from seqdoctor.render.forecast import render as render_forecast  # noqa: PLC0415 - see check

    report = audit(conninfo, select="SEQ011", **_history(options))
    render_forecast(report, sys.stdout)
    ctx.exit(report.exit_status)


forecast.params.extend(
    _shared(
        check,
        "schemas",
        "exclude_schemas",
        "tables",
        "warning_days",
        "critical_days",
        "history_location",
        "history_schema",
        "window",
        "lock_timeout",
        "statement_timeout",
    )
)


@cli.command(context_settings=CONTEXT)
@click.argument("conninfos", nargs=-1, metavar="[CONNINFO]...")
@click.option(
    "--listen",
    default="127.0.0.1:9187",
    show_default=True,
    metavar="HOST:PORT",
    help="Where to serve /metrics and /healthz ([::1]:PORT for IPv6, :PORT for every address).",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=1, max=SECONDS[1]),
    default=60.0,
    show_default=True,
    callback=_number,
    metavar="SECONDS",
    help="Time between the starts of two rounds of audits.",
)
def serve(
    conninfos: tuple[str, ...],
    listen: str,
    interval: float,
    targets_file: Path | None,
    jobs: int,
    **options: Any,
) -> None:
    """Serve Prometheus metrics on the sequences of one database or many.

    Every target is audited in the background every --interval seconds; a
    scrape gets the results of the last round and never waits on, or adds
    load to, a database. Runs until interrupted. The metrics, and alerting
    rules: docs/prometheus.md.
    """
    from seqdoctor.exporter import Exporter, parse_listen  # noqa: PLC0415 - see check

    targets = [Target.of(c) for c in conninfos or ([] if targets_file else [""])]
    if targets_file:
        targets += load_targets(targets_file)
    exporter = Exporter(
        unique_targets(targets),
        listen=parse_listen(listen),
        interval=interval,
        jobs=jobs,
        options=_history(options),
        log=lambda line: click.echo(f"seqdoctor: {printable(line)}", err=True),
    )
    with exporter:
        click.echo(f"seqdoctor: serving {exporter.url}", err=True)
        exporter.wait()


serve.params.extend(
    _shared(
        check,
        "targets_file",
        "jobs",
        "schemas",
        "exclude_schemas",
        "tables",
        "select",
        "ignore",
        "warning",
        "critical",
        "warning_days",
        "critical_days",
        "history_location",
        "history_schema",
        "window",
        "lock_timeout",
        "statement_timeout",
        "allow_seqscan",
        "connections",
    )
)


@cli.command(context_settings=CONTEXT)
def demo() -> None:
    """Build a shop with every problem on a throwaway server, audit it, and repair it."""
    from seqdoctor.demo import run_demo  # noqa: PLC0415 - see check

    run_demo(sys.stdout)


@cli.group(context_settings=CONTEXT)
def guard() -> None:
    """Triggers that stop ids written ahead of their sequence (see docs/guard.md)."""


def _guard_options(command: Command) -> Command:
    """What guard install, status and remove share: where, which tables, which schema."""
    for option in reversed(
        [
            click.argument("conninfo", default="", metavar="[CONNINFO]"),
            click.option(
                "--schema", "schemas", multiple=True, metavar="GLOB", help="Only these schemas."
            ),
            click.option(
                "--exclude-schema",
                "exclude_schemas",
                multiple=True,
                metavar="GLOB",
                help="Not these schemas.",
            ),
            click.option(
                "--table",
                "tables",
                multiple=True,
                metavar="GLOB",
                help="Only these tables (name, or schema.name when the pattern has a dot).",
            ),
            click.option(
                "--schema-name",
                default="seqdoctor",
                show_default=True,
                metavar="NAME",
                help="The schema that holds the guard's functions.",
            ),
            _seconds("--lock-timeout", 2.0, "Longest wait for a table's lock."),
            _seconds("--statement-timeout", 30.0, "Longest any one statement may run."),
        ]
    ):
        command = option(command)
    return command


_DRY_RUN = click.option(
    "--dry-run", is_flag=True, help="Print the SQL as a psql script; change nothing."
)


@guard.command("install", context_settings=CONTEXT)
@_guard_options
@click.option(
    "--mode",
    type=click.Choice(["raise", "heal", "warn"]),
    default="raise",
    show_default=True,
    help="raise: the write fails; heal: the sequence moves past the value; warn: a WARNING.",
)
@_DRY_RUN
@click.pass_context
def guard_install(ctx: click.Context, /, *, conninfo: str, dry_run: bool, **options: Any) -> None:
    """Catch values written ahead of their sequence, column by column.

    Each sequence-fed column gets an INSERT and an UPDATE trigger (COPY included), whose
    function lives in its own schema. Running it again changes only what
    differs. Exit status: 0 done, 1 some tables could not be guarded, 3 bad
    arguments, no connection, or the functions could not be created.
    """
    from seqdoctor import guard as guarding  # noqa: PLC0415 - see check

    _guard_result(ctx, guarding.install(conninfo, dry_run=dry_run, **options), dry_run, options)


@guard.command("remove", context_settings=CONTEXT)
@_guard_options
@_DRY_RUN
@click.pass_context
def guard_remove(ctx: click.Context, /, *, conninfo: str, dry_run: bool, **options: Any) -> None:
    """Take the guard off; leaves nothing of it behind.

    Without --schema or --table, its function and schema go too. Exit status
    as for install.
    """
    from seqdoctor import guard as guarding  # noqa: PLC0415 - see check

    _guard_result(ctx, guarding.remove(conninfo, dry_run=dry_run, **options), dry_run, options)


def _guard_result(ctx: click.Context, result: Any, dry_run: bool, options: dict[str, Any]) -> None:
    from seqdoctor.catalog.connection import Timeouts  # noqa: PLC0415 - see check, error_message
    from seqdoctor.guard import text  # noqa: PLC0415 - see check

    if dry_run:
        timeouts = Timeouts(options["lock_timeout"], options["statement_timeout"])
        click.echo(text.script(result.plan, timeouts), nl=False)
        return
    click.echo(text.outcome(result), nl=False)
    if not result.ok:
        # Without its functions the guard cannot work at all: as bad as no connection.
        functions_failed = any(
            r.step.kind == "functions" and r.outcome == "failed" for r in result.results
        )
        ctx.exit(ExitStatus.UNKNOWN if functions_failed else ExitStatus.WARNING)


@guard.command("status", context_settings=CONTEXT)
@_guard_options
@click.pass_context
def guard_status(ctx: click.Context, /, conninfo: str, **options: Any) -> None:
    """Show which sequence-fed columns are guarded, and how. Only reads.

    Exit status: 0 every guard as installed (unguarded columns are a choice);
    1 a guard disabled, stale or stray; 2 a guard whose function or condition
    is not seqdoctor's (tampered); 3 bad arguments or no connection.
    """
    from seqdoctor import guard as guarding  # noqa: PLC0415 - see check
    from seqdoctor.guard import text  # noqa: PLC0415 - see check

    report = guarding.status(conninfo, **options)
    click.echo(text.status(report), nl=False)
    ctx.exit(report.exit_status)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status; only :func:`run` exits."""
    # psycopg logs the errors it ignores while rolling back after one we report ourselves:
    # without a handler, Python would print them on stderr, in psycopg's words.
    logging.getLogger("psycopg").addHandler(_QUIET)
    try:
        status = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="seqdoctor",
            standalone_mode=False,
        )
    except click.ClickException as error:
        _fail(error.format_message())
        return ExitStatus.UNKNOWN
    except click.Abort:
        _fail("aborted")
        return ExitStatus.UNKNOWN
    except SeqdoctorError as error:
        _fail(str(error))
        return error.exit_status
    except psycopg.Error as error:
        _fail(f"database error: {error_message(error)}")
        return ExitStatus.UNKNOWN
    except OSError as error:  # a file named on the command line, that cannot be used
        where = f"{error.filename}: " if error.filename is not None else ""
        _fail(f"{where}{error.strerror or error}")
        return ExitStatus.UNKNOWN
    # Without standalone mode Click returns ctx.exit()'s status, or the command's None.
    return status if isinstance(status, int) else ExitStatus.OK


_QUIET = logging.NullHandler()


def _fail(message: str) -> None:
    # One line, shown escaped: a file name or an argument may hold a line break or ESC.
    click.echo(f"seqdoctor: {printable(message)}", err=True)


class _ReaderMayStop:
    """Standard output whose reader may stop early (``| head``): the rest goes nowhere.

    The command goes on, and its exit status stays its verdict. Left to Click,
    the broken pipe would end any command with status 1, a warning, whatever
    the audit or the repairs came to. (Click's PacifyFlushWrapper does this for
    flush() only; a report larger than the buffer breaks in write().)
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._discard()
            return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._discard()

    def _discard(self) -> None:
        # What is still buffered, and all that follows, goes to /dev/null.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def __getattr__(self, name: str) -> Any:  # isatty(), encoding, fileno(): the stream's own
        return getattr(self._stream, name)


def run() -> None:
    """The console-script entry point: :func:`main`, then the process ends at once."""
    sys.stdout = cast(TextIO, _ReaderMayStop(sys.stdout))
    status = main()
    # main() closed everything it opened (connections, files, threads); what is
    # left is the interpreter's teardown, which frees every module and object
    # one by one and passes the cyclic collector over them: 7 ms of the 0.2 s an
    # audit of 1,000 tables takes, and more with every object the audit made.
    # Only what is still buffered needs writing out.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
