"""``seqdoctor guard``: install, remove and inspect the triggers that catch ids ahead."""

from __future__ import annotations

from typing import Any

import click

from seqdoctor.cli.options import CONTEXT, Command, _seconds
from seqdoctor.errors import ExitStatus


@click.group(context_settings=CONTEXT)
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
