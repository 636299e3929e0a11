"""``seqdoctor fix``: plan the repairs of what the audit finds, and apply them on request."""

from __future__ import annotations

import sys
from contextlib import closing
from typing import TYPE_CHECKING, Any

import click

from seqdoctor.cli.check import check
from seqdoctor.cli.options import CONTEXT, _check_codes, _confirmed, _number, _seconds, _shared
from seqdoctor.fleet import SECONDS

if TYPE_CHECKING:
    from seqdoctor.repairs.online import OnlineOptions

# The options of --online alone, by OnlineOptions field: taken out of those plan_fix gets.
ONLINE = {
    "swap_lock_timeout": "lock_timeout",
    "swap_deadline": "lock_deadline",
    "batch_seconds": "batch_seconds",
    "max_batch": "max_batch",
    "batch_pause": "pause",
    "jobs": "jobs",
    "max_replica_lag": "max_replica_lag",
    "max_slot_lag": "max_slot_lag",
    "max_wal_rate": "max_wal_rate",
    "allow_user_triggers": "allow_user_triggers",
    "allow_replication": "allow_replication",
}


def _bytes(_ctx: click.Context, _param: click.Parameter, value: str) -> int:
    from seqdoctor.repairs.model import parse_size  # noqa: PLC0415 - see check

    try:
        return parse_size(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _bytes_or_none(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    return None if value is None else _bytes(ctx, param, value)


def _online_options(
    ctx: click.Context, online_: bool, options: dict[str, Any]
) -> OnlineOptions | None:
    """The --online options, taken out of *options*; refused when given without --online,
    and None then (the online module, slow to import, is not loaded for a plain fix)."""
    given = {name: options.pop(name) for name in ONLINE}
    if not online_:
        for name in given:
            if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT:
                raise click.BadParameter(f"--{name.replace('_', '-')} goes with --online")
        return None
    from seqdoctor.repairs.online import OnlineOptions  # noqa: PLC0415 - see check

    chosen = {ONLINE[name]: value for name, value in given.items()}
    # A largest batch under the default first one starts there.
    first = min(OnlineOptions.first_batch, chosen["max_batch"])
    return OnlineOptions(first_batch=first, **chosen)


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
@_seconds(
    "--swap-lock-timeout",
    0.5,
    "With --online: one try at the ACCESS EXCLUSIVE lock of a table (to add the shadow "
    "columns, swap, clean up); tried again, jittered, until --swap-deadline.",
)
@_seconds(
    "--swap-deadline",
    60.0,
    "With --online: give up those locks after this long, with nothing half-done.",
)
@_seconds(
    "--batch-seconds", 0.2, "With --online: the time a backfill batch aims at (its size adapts)."
)
@click.option(
    "--max-batch",
    type=click.IntRange(min=1, max=2**31 - 1),
    default=1_000_000,
    show_default=True,
    metavar="ROWS",
    help="With --online: the largest backfill batch.",
)
@click.option(
    "--batch-pause",
    type=click.FloatRange(0, SECONDS[1]),
    default=0.0,
    show_default=True,
    callback=_number,
    metavar="SECONDS",
    help="With --online: a pause after each backfill batch.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="N",
    help="With --online: sessions backfilling and verifying at once, each table cut in N slices.",
)
@click.option(
    "--max-replica-lag",
    default="256MB",
    show_default=True,
    metavar="SIZE",
    callback=_bytes,
    help="With --online: pause the backfill while a standby replays this far behind.",
)
@click.option(
    "--max-slot-lag",
    default="1GB",
    show_default=True,
    metavar="SIZE",
    callback=_bytes,
    help="With --online: pause the backfill while a replication slot holds back this much WAL.",
)
@click.option(
    "--max-wal-rate",
    metavar="SIZE",
    callback=_bytes_or_none,
    help="With --online: pause the backfill to keep the server's WAL under SIZE a second.",
)
@click.option(
    "--allow-user-triggers",
    is_flag=True,
    help="With --online: backfill a table whose own triggers fire on every UPDATE.",
)
@click.option(
    "--allow-replication",
    is_flag=True,
    help="With --online: widen published or subscribed tables (you handle the subscribers).",
)
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

    Prints, for each finding it can repair, the SQL it would run (past 200
    repairs, --format sql prints it), why, and what it locks. Nothing changes
    without --apply, which asks first on a terminal. Each repair runs in its
    own transaction under the lock and statement timeouts, is tried again when
    its locks are not granted, and the first failure stops the run; running
    fix again picks up where it stopped. By default --apply runs only urgent
    repairs: of findings at warning or critical, and a table rewrite only when
    a column it changes is running out; the others (SEQ004 ...) are shown and
    run when asked for with --code. Table rewrites over --rewrite-threshold,
    and repairs that are a design decision, are only shown.

    Exit status: 0 nothing to repair (info findings aside), or every repair
    applied and checked again; 1 repairs waiting (not applied, held back, or
    declined); 2 a repair failed or did not take; 3 bad arguments, no
    connection, or the connection lost while applying.
    """
    from seqdoctor.auditing import KeptConnections, collector_paused  # noqa: PLC0415 - see check
    from seqdoctor.render.plan import (  # noqa: PLC0415 - see check
        PlanFormat,
        render_plan,
        render_result,
        step_line,
    )
    from seqdoctor.repairs import Retries, apply_fix, plan_fix  # noqa: PLC0415 - see check

    if (revert or cleanup) and not online_:
        raise click.BadParameter("--revert and --cleanup go with --online")
    online_options = _online_options(ctx, online_, options)
    if online_options is not None:
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
                online_options,
            )
        )
    chosen = PlanFormat(output_format)
    if apply_ and chosen is PlanFormat.SQL:
        raise click.BadParameter("--format sql prints a script for psql: use it or --apply")
    # The collector stays paused till the result is written, as for check: the
    # plans, like the audit, are many small objects in no reference cycle.
    # The audit's connections, kept for applying: their server processes have
    # every table, index and sequence open already (a new one opens them again).
    with collector_paused(), closing(KeptConnections()) as kept:
        planned = plan_fix(conninfo, **options, kept=kept)
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
            kept=kept,
        )
        render_result(result, chosen, sys.stdout)
    ctx.exit(result.exit_status)


fix.params.extend(_shared(check, "schemas", "exclude_schemas", "tables", "allow_seqscan"))
