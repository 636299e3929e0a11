"""``seqdoctor fix``: plan the repairs of what the audit finds, and apply them on request."""

from __future__ import annotations

import sys
from typing import Any

import click

from seqdoctor.cli.check import check
from seqdoctor.cli.options import CONTEXT, _check_codes, _confirmed, _seconds, _shared


def _bytes(_ctx: click.Context, _param: click.Parameter, value: str) -> int:
    from seqdoctor.repairs.model import parse_size  # noqa: PLC0415 - see check

    try:
        return parse_size(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@click.command(context_settings=CONTEXT)
@click.argument("conninfo", default="", metavar="[CONNINFO]")
@click.option(
    "--code",
    "codes",
    multiple=True,
    metavar="CODE",
    shell_complete=_check_codes,
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


fix.params.extend(_shared(check, "schemas", "exclude_schemas", "tables", "allow_seqscan"))
