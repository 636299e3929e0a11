"""``seqdoctor forecast``: when each column (or sequence feeding none) runs out, soonest first."""

from __future__ import annotations

from collections import Counter
from typing import TextIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from seqdoctor.catalog.model import quote_ident
from seqdoctor.checks.base import percent, plural
from seqdoctor.checks.seq011_exhaustion_forecast import (
    MIN_SPAN,
    Basis,
    Forecast,
    by_days_left,
    in_days,
    judged,
    per_day,
    short_duration,
)
from seqdoctor.render.table import STATUS_STYLES, bar, print_to, shown
from seqdoctor.report import Report


def render(report: Report, out: TextIO) -> None:
    print_to(out, lambda console: _write(report, console))


def _write(report: Report, console: Console) -> None:
    rows = by_days_left(judged(report.snapshot))
    dated = [f for f in rows if f.exhausted_at is not None]
    server = report.snapshot.server
    console.print(
        Text.assemble(
            ("seqdoctor forecast", "bold"),
            " · database ",
            (quote_ident(server.database), "bold"),
            f" · {report.checked_at:%Y-%m-%d %H:%M} UTC",
        )
    )
    if dated:
        settings = report.settings
        table = Table(box=box.SIMPLE_HEAD, expand=False)
        table.add_column("column or sequence", overflow="fold", min_width=16)
        table.add_column("type", overflow="fold")
        table.add_column("used", no_wrap=True)
        table.add_column("", justify="right", no_wrap=True)
        table.add_column("values a day", justify="right", no_wrap=True)
        table.add_column("runs out", no_wrap=True)
        table.add_column("basis", overflow="fold", ratio=1)
        for forecast in dated:
            rate, when, days = forecast.rate, forecast.exhausted_at, forecast.days_left
            if rate is None or when is None or days is None:
                continue
            table.add_row(
                shown(forecast.subject),
                shown(
                    forecast.column.column_type if forecast.column else forecast.sequence.data_type
                ),
                bar(forecast.used_ratio, settings.warning_ratio, settings.critical_ratio),
                percent(forecast.used_ratio),
                per_day(rate.per_day),
                f"{when:%Y-%m-%d} ({in_days(days)})",
                rate.describe(),
            )
        console.print(table)
    undated = Counter(_why_undated(f) for f in rows if f.exhausted_at is None)
    if undated:
        noun = "other" if dated else "column or sequence"
        console.print(
            "No date for "
            + "; ".join(f"{plural(n, noun, noun + 's')}: {why}" for why, n in undated.items())
        )
    console.print(Text(report.headline(), style=STATUS_STYLES[report.status]))


def _why_undated(forecast: Forecast) -> str:
    if forecast.wraps:
        return "cycles before any limit"
    if forecast.values_left == 0:
        return "already exhausted"
    short = _short_history(forecast)
    if forecast.rate is None:
        return (
            short or "no history and no insert counters (record one with seqdoctor check --record)"
        )
    if forecast.running_out:
        return "runs out after the year 9999"
    if forecast.rate.basis is Basis.ESTIMATE:
        why = "no rows inserted since the statistics started counting"
        return f"{why}; {short}" if short else why
    return "not moving forward"


def _short_history(forecast: Forecast) -> str:
    """What history there is, when there is some but too little to measure a rate; else ''."""
    recorded = forecast.history[:-1]  # the last is the current position
    if not recorded or (forecast.rate is not None and forecast.rate.basis is Basis.HISTORY):
        return ""
    span = forecast.history[-1].at - recorded[0].at
    return (
        f"a history too short to measure: {plural(len(recorded), 'recorded position')} over"
        f" {short_duration(span)}, and a rate needs positions at least"
        f" {short_duration(MIN_SPAN)} apart (record again later with seqdoctor check --record)"
    )
