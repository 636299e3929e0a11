"""``seqdoctor sync``: carry sequence positions from one database to another, forward only."""

from __future__ import annotations

import sys
from typing import Any

import click

from seqdoctor.cli.fix import fix
from seqdoctor.cli.options import CONTEXT, _confirmed, _shared


@click.command(context_settings=CONTEXT)
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
