"""The terminal report: findings grouped by severity, then a capacity bar per column."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from typing import TextIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from seqdoctor.catalog.display import printable
from seqdoctor.catalog.model import quote_ident
from seqdoctor.checks import Finding, Severity
from seqdoctor.checks.base import number, percent, plural
from seqdoctor.fleet import FleetReport
from seqdoctor.render.capacity import capacities
from seqdoctor.report import Report, Status

SEVERITY_ORDER = (Severity.CRITICAL, Severity.UNKNOWN, Severity.WARNING, Severity.INFO)
STYLES = {
    Severity.CRITICAL: "bold red",
    Severity.UNKNOWN: "bold magenta",
    Severity.WARNING: "bold yellow",
    Severity.INFO: "cyan",
}
STATUS_STYLES = {
    Status.OK: "bold green",
    Status.WARNING: STYLES[Severity.WARNING],
    Status.CRITICAL: STYLES[Severity.CRITICAL],
    Status.UNKNOWN: STYLES[Severity.UNKNOWN],
}
# What an audit of a hot standby can say, under its header.
STANDBY_NOTE = (
    "Hot standby: each sequence's position is its primary's as written to the WAL, up to 32"
    " nextval() calls (plus CACHE - 1) ahead of the primary's own. Collisions are looked for"
    " from the primary's earliest possible position, capacity from the latest."
)
BAR_WIDTH = 20
CAPACITY_ROWS = 30


def bar(ratio: float, warning: float, critical: float) -> Text:
    """A capacity bar, coloured by the thresholds.

    >>> bar(0.5, 0.75, 0.9).plain
    '██████████░░░░░░░░░░'
    """
    filled = int(ratio * BAR_WIDTH)  # rounded down: a full bar means exhausted
    style = "red" if ratio >= critical else "yellow" if ratio >= warning else "green"
    return Text("█" * filled, style=style) + Text("░" * (BAR_WIDTH - filled), style="dim")


def compact(value: int) -> str:
    """A count short enough for a table cell.

    >>> compact(483_642), compact(2_147_483_647), compact(9_223_372_036_854_775_807)
    ('483,642', '2,147,483,647', '9.2e18')
    """
    if value < 10**13:
        return number(value)
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def shown(text: str, style: str = "") -> Text:
    r"""Free text for the console: escaped by :func:`printable`, and never read as Rich markup.

    Every name, message and error a renderer prints goes through it, so that a
    name holding escape sequences reaches the terminal as visible characters.

    >>> shown("[bold]t\x1b[2J").plain
    '[bold]t\\x1b[2J'
    """
    return Text(printable(text), style=style)


def _object(finding: Finding) -> Text:
    if finding.column is not None:
        return shown(str(finding.column))
    return shown(str(finding.sequence) if finding.sequence is not None else "")


def _finding(finding: Finding) -> Text:
    """The message, and the statement that would let seqdoctor judge an unknown (SEQ900)."""
    text = shown(finding.message)
    remedy = finding.details.get("remedy")
    if remedy:
        text.append("\n")
        text.append_text(shown(f"Fix: {remedy}", style="cyan"))
    return text


def render(report: Report, out: TextIO) -> None:
    print_to(out, lambda console: _write(report, console))


def render_fleet(fleet: FleetReport, out: TextIO) -> None:
    """One line per database, then each database's report."""

    def write(console: Console) -> None:
        summary = Table(title="Databases", title_justify="left", box=box.SIMPLE_HEAD, expand=False)
        for heading in ("database", "PostgreSQL", "status", *(str(s) for s in SEVERITY_ORDER)):
            summary.add_column(heading, overflow="fold")
        for result in fleet.results:
            status = Text(result.status.name, style=STATUS_STYLES[result.status])
            name = shown(result.target.name)
            if result.report is None:
                summary.add_row(name, "-", status, *("-" for _ in SEVERITY_ORDER))
                continue
            counts = result.report.counts()
            summary.add_row(
                name,
                result.report.snapshot.server.server_version,
                status,
                *(str(counts[str(s)]) for s in SEVERITY_ORDER),
            )
        console.print(summary)
        for result in fleet.results:
            if result.error is not None:
                console.print(shown(f"{result.target.name}: {result.error}", style="magenta"))
        for result in fleet.results:
            if result.report is not None:
                console.rule(shown(result.target.name), align="left")
                _write(result.report, console)
        console.print(Text(fleet.headline(), style=STATUS_STYLES[fleet.status]))

    print_to(out, write)


def print_to(out: TextIO, write: Callable[[Console], None]) -> None:
    """What *write* prints on a Rich console, written to *out* without trailing blanks."""
    # Rich pads table rows to the full width; drop the padding so that the
    # text pasted into a ticket or diffed in a golden file has no trailing blanks.
    buffer = io.StringIO()
    terminal = out.isatty()
    console = Console(
        file=buffer,
        highlight=False,
        force_terminal=terminal,
        width=shutil.get_terminal_size().columns if terminal else None,
    )
    write(console)
    out.writelines(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def _write(report: Report, console: Console) -> None:
    snapshot = report.snapshot
    console.print(
        Text.assemble(
            (f"seqdoctor {report.tool_version}", "bold"),
            " · database ",
            (quote_ident(snapshot.server.database), "bold"),
            f" · PostgreSQL {snapshot.server.server_version}"
            f" · {plural(len(snapshot.sequences), 'sequence')}, "
            f"{plural(len(snapshot.uses), 'column')}"
            f" · {report.duration_seconds:.2f} s",
        )
    )
    if snapshot.server.in_recovery:
        console.print(STANDBY_NOTE)
    for severity in SEVERITY_ORDER:
        findings = [f for f in report.findings if f.severity is severity]
        if not findings:
            continue
        table = Table(
            title=Text(f"{severity.upper()} ({len(findings)})", style=STYLES[severity]),
            title_justify="left",
            box=box.SIMPLE_HEAD,
            expand=False,
        )
        table.add_column("code", no_wrap=True)
        table.add_column("object", overflow="fold", ratio=1)
        table.add_column("finding", overflow="fold", ratio=3)
        for finding in findings:
            table.add_row(finding.code, _object(finding), _finding(finding))
        console.print(table)

    rows = capacities(report)
    if rows:
        settings = report.settings
        table = Table(
            title="Capacity: share of each column's range used",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            expand=False,
        )
        table.add_column("column", overflow="fold", min_width=16)
        table.add_column("type", overflow="fold")
        table.add_column("used", no_wrap=True)
        table.add_column("", justify="right", no_wrap=True)
        table.add_column("values left", justify="right", no_wrap=True)
        for row in rows[:CAPACITY_ROWS]:
            table.add_row(
                shown(row.column),
                shown(row.column_type),
                bar(row.ratio, settings.warning_ratio, settings.critical_ratio),
                percent(row.ratio),
                compact(row.values_left),
            )
        console.print(table)
        if len(rows) > CAPACITY_ROWS:
            console.print(
                f"… and {plural(len(rows) - CAPACITY_ROWS, 'more column')}, "
                f"all at or below {percent(rows[CAPACITY_ROWS].ratio)}"
            )
    console.print(Text(report.headline(), style=STATUS_STYLES[report.status]))
