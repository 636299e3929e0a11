"""The Prometheus text exposition: gauges per sequence and column, finding counts, audit health.

Written by ``seqdoctor check --format prometheus`` for node_exporter's
textfile collector, and served by ``seqdoctor serve``. Names follow
``seqdoctor_<subsystem>_<name>_<unit|ratio>``; labels are identifiers only
(database, schema, table, column, sequence, check, code, severity, and the
bounded ``basis``), never messages. docs/prometheus.md lists every metric.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TextIO

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from seqdoctor._version import __version__
from seqdoctor.catalog.redact import dbname
from seqdoctor.checks import REGISTRY, Severity
from seqdoctor.checks.seq011_exhaustion_forecast import Forecast, forecasts
from seqdoctor.fleet import FleetReport, Target
from seqdoctor.report import Report

SEQUENCE = ("database", "schema", "sequence")
COLUMN = ("database", "schema", "table", "column", "sequence_schema", "sequence")
AUDIT = ("database",)

# name: (help, labels), in the order they are written.
METRICS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "seqdoctor_build_info": ("seqdoctor's version, always 1", ("version",)),
    "seqdoctor_audit_success": ("1 if the last audit completed, 0 if it failed", AUDIT),
    "seqdoctor_audit_status": (
        "Overall status of the last audit: 0 ok, 1 warning, 2 critical, 3 unknown",
        AUDIT,
    ),
    "seqdoctor_audit_duration_seconds": ("How long the last audit took", AUDIT),
    "seqdoctor_audit_timestamp_seconds": ("When the last completed audit started", AUDIT),
    "seqdoctor_audit_findings": (
        "Findings of the last audit, by check and severity",
        ("database", "check", "code", "severity"),
    ),
    "seqdoctor_sequence_next_value": (
        "What the next nextval() returns (absent when it would fail)",
        SEQUENCE,
    ),
    "seqdoctor_sequence_limit": ("The sequence's MAXVALUE (MINVALUE when descending)", SEQUENCE),
    "seqdoctor_sequence_used_ratio": ("Share of the sequence's own range used", SEQUENCE),
    "seqdoctor_sequence_values_left": ("nextval() calls left before its limit", SEQUENCE),
    "seqdoctor_sequence_time_to_exhaustion_seconds": (
        "Time until the sequence reaches its limit at its current rate",
        (*SEQUENCE, "basis"),
    ),
    "seqdoctor_sequence_exhaustion_timestamp_seconds": (
        "When the sequence reaches its limit at its current rate",
        (*SEQUENCE, "basis"),
    ),
    "seqdoctor_column_limit": (
        "The last value the column can take: its type's or its sequence's limit",
        COLUMN,
    ),
    "seqdoctor_column_used_ratio": ("Share of the column's range used", COLUMN),
    "seqdoctor_column_values_left": ("nextval() calls left before the column's limit", COLUMN),
    "seqdoctor_column_values_behind": (
        "nextval() calls the sequence is behind the column's data (0 when ahead)",
        COLUMN,
    ),
    "seqdoctor_column_guard_info": (
        "Always 1: mode is how seqdoctor guard checks the column (raise, heal, warn) or none",
        (*COLUMN, "mode"),
    ),
    "seqdoctor_column_time_to_exhaustion_seconds": (
        "Time until the column's range runs out at its sequence's current rate",
        (*COLUMN, "basis"),
    ),
    "seqdoctor_column_exhaustion_timestamp_seconds": (
        "When the column's range runs out at its sequence's current rate",
        (*COLUMN, "basis"),
    ),
}
PER_TARGET = frozenset(METRICS) - {"seqdoctor_build_info"}


class Exposition:
    """Metric families being filled; a collector for a prometheus_client registry.

    *target_labels* name the labels that tell targets apart when one
    exposition holds many databases (``target``), put first on every metric
    but ``seqdoctor_build_info``.
    """

    def __init__(self, version: str, target_labels: Sequence[str] = ()) -> None:
        self.target_labels = tuple(target_labels)
        self.families = {
            name: GaugeMetricFamily(
                name,
                documentation,
                labels=[*(self.target_labels if name in PER_TARGET else ()), *labels],
            )
            for name, (documentation, labels) in METRICS.items()
        }
        self.add("seqdoctor_build_info", (), (version,), 1)

    def add(self, name: str, target: Sequence[str], labels: Sequence[str], value: float) -> None:
        self.families[name].add_metric([*target, *labels], value)

    def collect(self) -> Iterator[Metric]:
        return (family for family in self.families.values() if family.samples)

    def text(self) -> str:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self)
        return generate_latest(registry).decode()


def add_report(
    exposition: Exposition, report: Report, target: Sequence[str] = (), *, success: bool = True
) -> None:
    """Everything one audit found, under the target's label values.

    *success* false: *report* is the last good one, and the latest audit failed.
    """
    database = report.snapshot.server.database
    add_audit(exposition, target, database, success=success)
    exposition.add("seqdoctor_audit_status", target, (database,), int(report.exit_status))
    exposition.add("seqdoctor_audit_duration_seconds", target, (database,), report.duration_seconds)
    exposition.add(
        "seqdoctor_audit_timestamp_seconds", target, (database,), report.checked_at.timestamp()
    )
    counted = {(f.code, f.severity): 0 for f in report.findings}
    for finding in report.findings:
        counted[finding.code, finding.severity] += 1
    for code in report.checks:
        check = REGISTRY.get(code)
        for severity in Severity:
            count = counted.get((code, severity), 0)
            exposition.add(
                "seqdoctor_audit_findings", target, (database, check.name, code, severity), count
            )
    for forecast in forecasts(report.snapshot):
        _add_forecast(exposition, report, target, forecast)
    for sequence, use in report.snapshot.pairs:
        labels = (database, use.schema, use.table, use.column, sequence.schema, sequence.name)
        mode = use.guard or "none"
        exposition.add("seqdoctor_column_guard_info", target, (*labels, mode), 1)


def add_audit(
    exposition: Exposition, target: Sequence[str], database: str, *, success: bool
) -> None:
    exposition.add("seqdoctor_audit_success", target, (database,), int(success))


def _add_forecast(
    exposition: Exposition, report: Report, target: Sequence[str], forecast: Forecast
) -> None:
    sequence, use = forecast.sequence, forecast.column
    database = report.snapshot.server.database
    if use is None:
        subsystem = "sequence"
        labels: tuple[str, ...] = (database, sequence.schema, sequence.name)
        if sequence.next_value is not None:
            exposition.add("seqdoctor_sequence_next_value", target, labels, sequence.next_value)
    else:
        subsystem = "column"
        labels = (database, use.schema, use.table, use.column, sequence.schema, sequence.name)
        behind = values_behind(report, forecast)
        if behind is not None:
            exposition.add("seqdoctor_column_values_behind", target, labels, behind)
    exposition.add(f"seqdoctor_{subsystem}_limit", target, labels, forecast.limit)
    exposition.add(f"seqdoctor_{subsystem}_used_ratio", target, labels, forecast.used_ratio)
    exposition.add(f"seqdoctor_{subsystem}_values_left", target, labels, forecast.values_left)
    days, when = forecast.days_left, forecast.exhausted_at
    if forecast.rate is not None and days is not None and when is not None:
        labels = (*labels, str(forecast.rate.basis))
        exposition.add(
            f"seqdoctor_{subsystem}_time_to_exhaustion_seconds", target, labels, days * 86_400
        )
        exposition.add(
            f"seqdoctor_{subsystem}_exhaustion_timestamp_seconds", target, labels, when.timestamp()
        )


def values_behind(report: Report, forecast: Forecast) -> int | None:
    """How many nextval() calls the sequence is behind its column's maximum (its minimum
    descending); 0 when ahead, None when the column was not read or the sequence is exhausted."""
    sequence, use = forecast.sequence, forecast.column
    extent = report.snapshot.extents.get(use.key) if use else None
    following = sequence.next_value
    if extent is None or following is None:
        return None
    edge = extent.max_value if sequence.ascending else extent.min_value
    if edge is None:
        return 0  # an empty column
    return sequence.calls_left(edge)


def database_of(target: Target) -> str:
    """The database a target names, for a target whose audit failed: no report says it."""
    return dbname(target.conninfo)


def render(report: Report, out: TextIO) -> None:
    exposition = Exposition(report.tool_version)
    add_report(exposition, report)
    out.write(exposition.text())


def render_fleet(fleet: FleetReport, out: TextIO) -> None:
    """Many databases in one exposition, told apart by a ``target`` label (the target's name)."""
    exposition = Exposition(__version__, ("target",))
    for result in fleet.results:
        if result.report is not None:
            add_report(exposition, result.report, (result.target.name,))
        else:
            add_audit(exposition, (result.target.name,), database_of(result.target), success=False)
    out.write(exposition.text())
