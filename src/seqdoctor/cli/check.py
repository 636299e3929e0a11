"""``seqdoctor check``: audit one database, or many."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import psycopg

from seqdoctor._version import __version__
from seqdoctor.auditing import audit, collector_paused
from seqdoctor.catalog.connection import Timeouts, audit_session, connect, error_message
from seqdoctor.cli.deadline import Deadline
from seqdoctor.cli.failure import fail
from seqdoctor.cli.options import (
    CONTEXT,
    _check_codes,
    _days,
    _history,
    _number,
    _seconds,
    _threshold,
)
from seqdoctor.errors import SeqdoctorError
from seqdoctor.fleet import (
    DEFAULT_JOBS,
    SECONDS,
    Target,
    TargetResult,
    audit_fleet,
    load_targets,
    unique_targets,
)
from seqdoctor.fleet import all_databases as expand_databases
from seqdoctor.history import DEFAULT_SCHEMA
from seqdoctor.render import Format, nagios, render, render_fleet
from seqdoctor.report import Report

if TYPE_CHECKING:
    from seqdoctor.repairs import Plan


@click.command(context_settings=CONTEXT)
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
@click.option(
    "--select",
    multiple=True,
    metavar="CODE",
    shell_complete=_check_codes,
    help="Run only these checks.",
)
@click.option(
    "--ignore",
    multiple=True,
    metavar="CODE",
    shell_complete=_check_codes,
    help="Skip these checks.",
)
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
@click.option(
    "-q", "--quiet", is_flag=True, help="Print only the one-line status (Nagios's first line)."
)
@click.option(
    "-t",
    "--timeout",
    type=click.FloatRange(min=SECONDS[0], max=SECONDS[1]),
    callback=_number,
    metavar="SECONDS",
    help="Bound on the whole run, connecting included: when it passes, exit 3 (unknown), "
    "saying how far it got.",
)
@click.version_option(__version__, "-V", "--version", message="%(prog)s %(version)s")
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
    timeout: float | None,
    **options: Any,
) -> None:
    """Audit every sequence of a database, or of many. Only reads.

    CONNINFO is anything libpq accepts: a postgresql:// URI, key=value pairs,
    service=NAME; when none is given, the PG* environment variables (and
    .pgpass) say where to connect, as with psql. Several CONNINFOs, --targets
    or --all-databases audit many databases at once: one summary line each,
    then each report; the exit status is the worst.
    """
    plugin = quiet or output_format == Format.NAGIOS
    with Deadline(timeout, for_monitor=plugin) as deadline, collector_paused():
        # The collector stays paused till the report is written: see collector_paused.
        if timeout is not None:  # the server's work ends by then too
            for bound in ("lock_timeout", "statement_timeout"):
                options[bound] = min(options[bound], timeout)
        options = _history(options)
        if len(conninfos) > 1 or targets_file or all_databases:
            targets = [Target.of(c) for c in conninfos]
            if targets_file:
                targets += load_targets(targets_file)
            if all_databases:
                targets = [
                    db for t in targets or [Target.of("")] for db in expand_databases(t.conninfo)
                ]
            targets = unique_targets(targets)
            audited: list[TargetResult] = []

            def audited_one(result: TargetResult) -> None:
                audited.append(result)
                deadline.known = f"{len(audited)} of {len(targets)} databases audited"

            fleet = audit_fleet(targets, jobs=jobs, on_result=audited_one, **options)
            deadline.settle()
            if quiet:
                click.echo(nagios.fleet_status_line(fleet))
            else:
                render_fleet(fleet, Format(output_format), sys.stdout)
            ctx.exit(fleet.status.exit_status)
        conninfo = conninfos[0] if conninfos else ""
        bar: AbstractContextManager[Callable[[str, int, int], None] | None] = nullcontext()
        if output_format == Format.TABLE and not quiet:
            # Imported here, like the demo below: Rich costs a JSON scrape a tenth of a second.
            from seqdoctor.render.progress import TerminalProgress  # noqa: PLC0415

            bar = TerminalProgress()
        with bar as shown:

            def progress(phase: str, done: int, total: int) -> None:
                deadline.progress(phase, done, total)
                if shown is not None:
                    shown(phase, done, total)

            report = audit(conninfo, progress=progress, **options)
        if output_format == Format.HTML and not quiet:
            # Imported here, like the progress bar: the planner and Rich cost a JSON scrape.
            from seqdoctor.render import html  # noqa: PLC0415

            plans = _repairs(conninfo, report, options)
            deadline.settle()
            html.render(report, sys.stdout, plans)
            ctx.exit(report.exit_status)
        deadline.settle()
        if quiet:
            click.echo(nagios.status_line(report))
        else:
            render(report, Format(output_format), sys.stdout)
        ctx.exit(report.exit_status)


def _repairs(conninfo: str, report: Report, options: dict[str, Any]) -> tuple[Plan, ...] | None:
    """The repairs ``seqdoctor fix`` would plan for *report*'s findings, for the HTML report.

    Planning reads more than the audit (every column the flagged sequences
    feed, the views on a column to widen, table sizes): only here, for the
    HTML format and repairable findings, in a read-only session of its own.
    When that cannot be read, stderr says why and the report plans from the
    audit alone, saying so.
    """
    from seqdoctor.repairs import REPAIRABLE, plan_repairs, read_context  # noqa: PLC0415

    if not any(f.code in REPAIRABLE for f in report.findings):
        return ()
    timeouts = Timeouts(options["lock_timeout"], options["statement_timeout"])
    try:
        with connect(conninfo) as conn, audit_session(conn):
            context = read_context(conn, report, timeouts)
    except (SeqdoctorError, psycopg.Error) as error:
        reason = error_message(error) if isinstance(error, psycopg.Error) else str(error)
        fail(f"the report's repairs are planned from the audit alone: {reason}", for_monitor=False)
        return None
    return plan_repairs(report, context)
