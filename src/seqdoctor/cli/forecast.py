"""``seqdoctor forecast``: when each column's range runs out."""

from __future__ import annotations

import sys
from typing import Any

import click

from seqdoctor.auditing import audit
from seqdoctor.cli.check import check
from seqdoctor.cli.options import CONTEXT, _history, _shared


@click.command(context_settings=CONTEXT)
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
