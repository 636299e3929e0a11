"""The Nagios/Icinga plugin output, by the Monitoring Plugins development guidelines.

The first line is the status a monitor shows and graphs::

    SEQDOCTOR CRITICAL: <the worst finding>; <counts> | 'used_max'=93.1%;75;90;0;100 ...

then one finding per line (the long output). Performance data is bounded
whatever the size of the database: aggregates, then the used share and the
values left of the :data:`TOP_COLUMNS` fullest columns. Every label is
quoted, a quote in it doubled; text is escaped for a terminal as in every
other renderer, and never holds a ``|``, which would start performance data.
The labels are documented in docs/nagios.md.
https://www.monitoring-plugins.org/doc/guidelines.html#AEN200
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TextIO

from seqdoctor.catalog.display import printable
from seqdoctor.checks import Finding, Settings
from seqdoctor.fleet import FleetReport
from seqdoctor.render.capacity import capacities
from seqdoctor.report import Report, Status

SERVICE = "SEQDOCTOR"
TOP_COLUMNS = 5  # columns whose own used share and values left are graphed
BEHIND = "SEQ001"  # sequence-behind-data: a column its sequence will collide with


def text(message: str) -> str:
    r"""Free text for plugin output: escaped for a terminal, its ``|`` too (perfdata starts there).

    >>> text("t|x\n\x1b[2J")
    't\\x7cx\\n\\x1b[2J'
    """
    return printable(message).replace("|", "\\x7c")


def label(name: str) -> str:
    r"""A perfdata label: quoted, a quote doubled, and ``=`` (which ends a label) escaped.

    >>> print(label("public.\"it's\".id used"), label("a=b"))
    'public."it''s".id used' 'a\x3db'
    """
    return "'" + text(name).replace("=", "\\x3d").replace("'", "''") + "'"


def value(number: float) -> str:
    """A perfdata value: digits and a point, never an exponent.

    >>> value(91.234567), value(0.0), value(2_147_483_647), value(1e-9), value(3.0)
    ('91.2346', '0', '2147483647', '0', '3')
    """
    if isinstance(number, int):
        return str(number)
    return f"{number:.4f}".rstrip("0").rstrip(".") or "0"


def used(ratio: float) -> float:
    """A used ratio in percent, to the 4 decimals shown, never rounded up to 100 before it is.

    >>> used(0.9999999), used(0.57), used(1.0)
    (99.9999, 57.0, 100.0)
    """
    # 0.57 * 100 is 56.99999999999999: round away the float error before flooring.
    return math.floor(round(ratio * 100, 9) * 10_000) / 10_000


@dataclass(frozen=True)
class Metric:
    """One perfdata item: ``'label'=value[UOM];[warn];[crit];[min];[max]``."""

    name: str
    amount: float
    unit: str = ""
    warning: float | None = None
    critical: float | None = None
    minimum: float | None = 0
    maximum: float | None = None

    def __str__(self) -> str:
        fields = (self.warning, self.critical, self.minimum, self.maximum)
        tail = ";".join("" if f is None else value(f) for f in fields).rstrip(";")
        return f"{label(self.name)}={value(self.amount)}{self.unit}" + (f";{tail}" if tail else "")


def metrics(reports: Iterable[tuple[str, Report]], settings: Settings) -> list[Metric]:
    """Aggregates over *reports*, then the fullest columns' own; each column named after its
    database's prefix (empty for one database)."""
    reports = list(reports)
    columns = sorted(
        ((prefix + c.column, c) for prefix, report in reports for c in capacities(report)),
        key=lambda pair: (-pair[1].ratio, pair[0]),
    )
    behind = {
        (prefix, str(f.column)) for prefix, r in reports for f in r.findings if f.code == BEHIND
    }
    warn, crit = settings.warning_ratio * 100, settings.critical_ratio * 100
    found = {s: sum(r.counts()[s] for _, r in reports) for s in ("critical", "unknown", "warning")}
    aggregates = [
        Metric("used_max", used(columns[0][1].ratio) if columns else 0, "%", warn, crit, 0, 100),
        Metric("columns_warning", sum(c.ratio >= settings.warning_ratio for _, c in columns)),
        Metric("columns_critical", sum(c.ratio >= settings.critical_ratio for _, c in columns)),
        Metric("columns_behind", len(behind), critical=0),
        *(Metric(f"findings_{severity}", count) for severity, count in found.items()),
        Metric("sequences", sum(len(r.snapshot.sequences) for _, r in reports)),
        Metric("columns", sum(len(r.snapshot.uses) for _, r in reports)),
    ]
    for name, column in columns[:TOP_COLUMNS]:
        aggregates.append(Metric(f"{name} used", used(column.ratio), "%", warn, crit, 0, 100))
        aggregates.append(Metric(f"{name} left", column.values_left))
    return aggregates


def perfdata(items: Iterable[Metric]) -> str:
    return " ".join(map(str, items))


def worst(findings: Iterable[Finding]) -> Finding | None:
    """The first of the most severe findings, in the report's order."""
    return max(findings, key=lambda f: f.severity.rank, default=None)


def status_line(report: Report) -> str:
    """The first line, also all that ``check -q`` prints."""
    chosen = worst(report.findings)
    about = f"{text(chosen.message)}; " if chosen and report.status is not Status.OK else ""
    duration = Metric("duration", report.duration_seconds, "s")
    data = perfdata([*metrics([("", report)], report.settings), duration])
    return f"{SERVICE} {report.status.name}: {about}{text(report.summary())} | {data}"


def render(report: Report, out: TextIO) -> None:
    out.write(status_line(report) + "\n")
    out.writelines(f"{line}\n" for line in _long_output(report.findings))


def _long_output(findings: Iterable[Finding], prefix: str = "") -> Iterator[str]:
    """One finding per line, the most severe first."""
    for finding in sorted(findings, key=lambda f: -f.severity.rank):
        yield f"{prefix}{finding.severity.name} {finding.code} {text(finding.message)}"


def fleet_status_line(fleet: FleetReport) -> str:
    """The first line for many databases: the worst database's worst finding (or error)."""
    about = ""
    if fleet.status is not Status.OK:
        result = max(fleet.results, key=lambda r: r.status.rank)
        chosen = worst(result.report.findings) if result.report else None
        why = chosen.message if chosen else result.error or ""
        about = f"{text(f'{result.target.name}: {why}')}; "
    reports = [(f"{r.target.name} ", r.report) for r in fleet.results if r.report]
    settings = reports[0][1].settings if reports else Settings()
    duration = Metric("duration", fleet.duration_seconds, "s")
    data = perfdata(
        [Metric("databases", len(fleet.results)), *metrics(reports, settings), duration]
    )
    return f"{SERVICE} {fleet.status.name}: {about}{text(fleet.summary())} | {data}"


def render_fleet(fleet: FleetReport, out: TextIO) -> None:
    """The first line, then each database's status and findings, a line each."""
    out.write(fleet_status_line(fleet) + "\n")
    for result in fleet.results:
        name = text(result.target.name)
        said = result.report.summary() if result.report else result.error or ""
        out.write(f"{name}: {result.status.name}: {text(said)}\n")
        if result.report:
            out.writelines(
                f"{line}\n" for line in _long_output(result.report.findings, f"{name}: ")
            )


def unknown_line(message: str) -> str:
    """What a monitor reads when there is no report: bad arguments, no connection, no time."""
    return f"{SERVICE} UNKNOWN: {text(message)}"
