"""The command line: arguments in, exit status out. Everything else is the library's.

Exit statuses follow Nagios plugins: 0 ok (info findings only), 1 warning,
2 critical, 3 unknown - also for bad arguments and connection failures, which
print one line on stderr and no traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

import click
import psycopg

from seqdoctor._version import __version__
from seqdoctor.audit import audit
from seqdoctor.checks import REGISTRY
from seqdoctor.errors import ExitStatus, SeqdoctorError
from seqdoctor.fleet import DEFAULT_JOBS, Target, audit_fleet, load_targets, unique_targets
from seqdoctor.fleet import all_databases as expand_databases
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


def _seconds(name: str, default: float, meaning: str) -> Callable[[Command], Command]:
    return click.option(
        name,
        type=click.FloatRange(min=0.001),
        default=default,
        show_default=True,
        metavar="SECONDS",
        help=meaning,
    )


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


@cli.command(context_settings=CONTEXT)
def demo() -> None:
    """Build a small shop database with every problem on a throwaway server, and audit it."""
    from seqdoctor.demo import run_demo  # noqa: PLC0415 - see check

    run_demo(sys.stdout)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status; only :func:`run` exits."""
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
        _fail(f"database error: {str(error).strip().splitlines()[0]}")
        return ExitStatus.UNKNOWN
    # Without standalone mode Click returns ctx.exit()'s status, or the command's None.
    return status if isinstance(status, int) else ExitStatus.OK


def _fail(message: str) -> None:
    click.echo(f"seqdoctor: {message}", err=True)


def run() -> None:
    """The console-script entry point."""
    sys.exit(main())
