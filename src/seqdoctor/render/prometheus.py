"""The Prometheus text exposition: per-database aggregates, finding counts, audit health, and
gauges per sequence and column for the columns that matter.

Written by ``seqdoctor check --format prometheus`` for node_exporter's
textfile collector, and served by ``seqdoctor serve``. Names follow
``seqdoctor_<subsystem>_<name>_<unit|ratio>``; labels are identifiers only
(database, schema, table, column, sequence, check, code, severity, and the
bounded ``basis`` and ``threshold``), never messages. docs/prometheus.md lists
every metric.

The series a scrape holds must not grow with the database: every database
gets a fixed set of aggregates (its fullest column, how many columns are past
each threshold or behind their data, its soonest exhaustion), and the
per-column and per-sequence gauges are written only for the columns past a
threshold and the *top* fullest others (:data:`DEFAULT_TOP`); ``top=None``
writes them for every column, as before.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TextIO

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from seqdoctor._version import __version__
from seqdoctor.catalog.model import ColumnUse, SequenceState
from seqdoctor.catalog.redact import dbname
from seqdoctor.checks import REGISTRY, Settings, Severity
from seqdoctor.checks.base import same_objects
from seqdoctor.checks.seq011_exhaustion_forecast import (
    Basis,
    Forecast,
    Outlook,
    judged_of,
    outlook,
    soonest_by_basis,
)
from seqdoctor.fleet import FleetReport, Target
from seqdoctor.report import Report

SEQUENCE = ("database", "schema", "sequence")
COLUMN = ("database", "schema", "table", "column", "sequence_schema", "sequence")
AUDIT = ("database",)
# The columns (and sequences feeding none) that get series of their own beyond those
# past a threshold: the fullest ones, few enough that a scrape stays small.
DEFAULT_TOP = 10

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
    "seqdoctor_audit_full_timestamp_seconds": (
        "When the last audit that read every column started: no value is older",
        AUDIT,
    ),
    "seqdoctor_audit_columns_carried": (
        "Columns whose values the last audit kept from an earlier one, their tables unwritten",
        AUDIT,
    ),
    "seqdoctor_audit_findings": (
        "Findings of the last audit, by check and severity",
        ("database", "check", "code", "severity"),
    ),
    "seqdoctor_database_sequences": ("Sequences audited", AUDIT),
    "seqdoctor_database_columns": ("Columns fed by a sequence", AUDIT),
    "seqdoctor_database_max_used_ratio": (
        "Highest share of its range any column (or sequence feeding none) has used",
        AUDIT,
    ),
    "seqdoctor_database_min_values_left": (
        "Fewest nextval() calls left before any column's (or sequence feeding none) limit",
        AUDIT,
    ),
    "seqdoctor_database_columns_over_threshold": (
        "Columns (and sequences feeding none) that have used at least the warning or critical"
        " share of their range",
        (*AUDIT, "threshold"),
    ),
    "seqdoctor_database_columns_behind": (
        "Columns whose sequence is behind their data: nextval() returns a value they hold",
        AUDIT,
    ),
    "seqdoctor_database_time_to_exhaustion_seconds": (
        "Time until the first column (or sequence feeding none) runs out at its current rate",
        (*AUDIT, "basis"),
    ),
    "seqdoctor_database_exhaustion_timestamp_seconds": (
        "When the first column (or sequence feeding none) runs out at its current rate",
        (*AUDIT, "basis"),
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
    exposition: Exposition,
    report: Report,
    target: Sequence[str] = (),
    *,
    success: bool = True,
    top: int | None = DEFAULT_TOP,
    full_at: datetime | None = None,
    series: ColumnSeries | None = None,
) -> None:
    """Everything one audit found, under the target's label values.

    *success* false: *report* is the last good one, and the latest audit failed.
    Per-column gauges for the columns past a threshold and the *top* fullest
    others; for every column when *top* is None. *full_at*: when the last
    audit that read every column started, if *report* carried some columns
    from earlier ones (:func:`seqdoctor.audit`'s *earlier*). *series*: the series of the
    columns kept from the last report of the same target (:class:`ColumnSeries`).
    """
    database = report.snapshot.server.database
    add_audit(exposition, target, database, success=success)
    exposition.add("seqdoctor_audit_status", target, (database,), int(report.exit_status))
    exposition.add("seqdoctor_audit_duration_seconds", target, (database,), report.duration_seconds)
    exposition.add(
        "seqdoctor_audit_timestamp_seconds", target, (database,), report.checked_at.timestamp()
    )
    full = full_at or report.checked_at
    exposition.add("seqdoctor_audit_full_timestamp_seconds", target, (database,), full.timestamp())
    carried = len(report.snapshot.carried)
    exposition.add("seqdoctor_audit_columns_carried", target, (database,), carried)
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
    for name, labels, value in (series or ColumnSeries())(report, top):
        exposition.add(name, target, labels, value)


# One series: its metric's name, its labels (the target's left out), its value.
Series = tuple[str, tuple[str, ...], float]
Add = Callable[[str, tuple[str, ...], float], None]


class ColumnSeries:
    """The series :func:`add_report` writes of one database's columns and sequences (what
    they add up to, and each one shown), what of them does not depend on the clock kept
    from one report to the next.

    ``serve``'s rounds give one per target: where the series are made of the same
    objects as the last ones (carried from round to round: told at once, never
    compared by value) and the same settings, what the last ones were made of apart
    from the clock is taken again (:class:`_Columns`), and only what the clock moves is
    made: the forecasts that may run out within the warning days (which may be past
    that threshold), the soonest, and those shown (see seq011's ``Outlook``). At
    100,000 tables, making them all took a fifth of a round. Not for two threads at once.
    """

    def __init__(self) -> None:
        self._inputs: tuple[tuple[Any, ...], tuple[Any, ...]] | None = None
        self._columns: _Columns | None = None

    def __call__(self, report: Report, top: int | None) -> list[Series]:
        snapshot = report.snapshot
        found = outlook(snapshot)
        # Everything _Columns reads: the same objects as last time (the forecasts apart from
        # the clock hold the sequences' states and the columns), and equal settings.
        inputs = (found.undated, snapshot.extents, snapshot.uses, snapshot.sequences)
        settings = (snapshot.server.database, report.settings, top)
        last, columns = self._inputs, self._columns
        if not (
            columns and last and all(map(same_objects, inputs, last[0])) and settings == last[1]
        ):
            columns = self._columns = _Columns(report, found.undated, top)
            self._inputs = (inputs, settings)
        return columns.series(report, found)


def _key(forecast: Forecast) -> tuple[int, tuple[int, int, int] | None]:
    """Which forecast it is, at any clock: its sequence's, and its column's."""
    return forecast.sequence.oid, forecast.column.key if forecast.column else None


class _Columns:
    """What the series of one database's columns and sequences are made of apart from the
    clock, from *undated*: every forecast with no rate (seq011's ``Outlook.undated``)."""

    def __init__(self, report: Report, undated: Sequence[Forecast], top: int | None) -> None:
        self.top = top
        judged = judged_of(undated)
        self.behind = {_key(f): values_behind(report, f) for f in judged}
        self.aggregates: list[Series] = []
        _add_aggregates(_adding(self.aggregates), report, judged, self.behind)
        # Past a threshold whatever the clock; the others, fullest first (stable: catalog
        # order breaks ties). Judged once: at 100,000 columns that counts.
        self.past: list[Forecast] = []
        self.others: list[Forecast] = []
        for forecast in judged:
            if _past_threshold(forecast, self.behind[_key(forecast)], report.settings):
                self.past.append(forecast)
            else:
                self.others.append(forecast)
        self.others.sort(key=lambda f: f.used_ratio, reverse=True)
        self.judged = judged
        # Where each column is in the snapshot's, for the columns shown (all: in that order).
        uses = report.snapshot.uses if top is not None else ()
        self.order = {use.key: at for at, use in enumerate(uses)}
        # The last series given, and the forecasts they were made of.
        self._last: tuple[tuple[list[Forecast], ...], list[Series]] | None = None

    def series(self, report: Report, found: Outlook) -> list[Series]:
        """The series at the clock of *report* (whose outlook is *found*): the last ones given
        again when made of the same forecasts (none with a rate among them)."""
        settings = report.settings
        soonest = judged_of(found.soonest())
        # The forecasts within the warning days, which no other can be at this clock.
        near = [
            f
            for f in judged_of(found.within(settings.warning_days))
            if _past_threshold(f, self.behind[_key(f)], settings)
        ]
        if self.top is None:
            shown = self.judged
        else:
            past = {_key(f) for f in near}
            others = (f for f in self.others if _key(f) not in past)
            shown = [*self.past, *near, *itertools.islice(others, self.top)]
        columns = {f.column.key for f in shown if f.column is not None}
        dated = [
            f
            for f in found.of_sequences({f.sequence.oid for f in shown})
            if f.column is None or f.column.key in columns
        ]
        made_of = (soonest, dated)
        if self._last is not None and all(map(same_objects, made_of, self._last[0])):
            return self._last[1]
        series = list(self.aggregates)
        add = _adding(series)
        database = report.snapshot.server.database
        _add_soonest(add, database, soonest)
        for forecast in dated:
            _add_forecast(add, database, forecast, self.behind.get(_key(forecast)))
        # In the order of the columns, a column shown with its sequence.
        if self.top is None:
            pairs: Iterable[tuple[SequenceState, ColumnUse]] = report.snapshot.pairs
        else:
            shown_pairs = ((f.sequence, f.column) for f in dated if f.column is not None)
            pairs = sorted(shown_pairs, key=lambda pair: self.order[pair[1].key])
        for sequence, use in pairs:
            labels = (database, use.schema, use.table, use.column, sequence.schema, sequence.name)
            add("seqdoctor_column_guard_info", (*labels, use.guard or "none"), 1)
        self._last = (made_of, series)
        return series


def _adding(series: list[Series]) -> Add:
    """An :data:`Add` that puts each series at the end of *series*."""

    def add(name: str, labels: tuple[str, ...], value: float) -> None:
        series.append((name, labels, value))

    return add


def _past_threshold(forecast: Forecast, behind: int | None, settings: Settings) -> bool:
    """Worth a series whatever the others: used past the warning threshold, its sequence
    behind its data, or running out within the warning days."""
    days = forecast.days_left
    return (
        forecast.used_ratio >= settings.warning_ratio
        or bool(behind)
        or (days is not None and days <= settings.warning_days)
    )


def _add_aggregates(
    add: Add,
    report: Report,
    judged: Sequence[Forecast],
    behind: Mapping[tuple[int, tuple[int, int, int] | None], int | None],
) -> None:
    """What a database's columns add up to, but their soonest exhaustion (the clock's): a
    fixed number of series, however many there are."""
    snapshot, settings = report.snapshot, report.settings
    database = (snapshot.server.database,)
    add("seqdoctor_database_sequences", database, len(snapshot.sequences))
    add("seqdoctor_database_columns", database, len(snapshot.uses))
    if judged:  # none read: absent, not 0, which would say all is well without knowing
        fullest = max(f.used_ratio for f in judged)
        add("seqdoctor_database_max_used_ratio", database, fullest)
        fewest = min(f.values_left for f in judged)
        add("seqdoctor_database_min_values_left", database, fewest)
    for threshold, ratio in (
        ("warning", settings.warning_ratio),
        ("critical", settings.critical_ratio),
    ):
        over = sum(1 for f in judged if f.used_ratio >= ratio)
        add("seqdoctor_database_columns_over_threshold", (*database, threshold), over)
    count = sum(1 for f in judged if behind[_key(f)])
    add("seqdoctor_database_columns_behind", database, count)


def _add_soonest(add: Add, database: str, judged: Iterable[Forecast]) -> None:
    """The first of *judged* to run out, by the basis of its rate (history, estimate)."""
    soonest = soonest_by_basis(judged)
    for basis in Basis:  # in a fixed order, whichever of them comes first in *judged*
        if (first := soonest.get(basis)) is not None:
            days, when = first.days_left, first.exhausted_at
            assert days is not None  # kept only with both
            assert when is not None
            labels = (database, str(basis))
            add("seqdoctor_database_time_to_exhaustion_seconds", labels, days * 86_400)
            add("seqdoctor_database_exhaustion_timestamp_seconds", labels, when.timestamp())


def add_audit(
    exposition: Exposition, target: Sequence[str], database: str, *, success: bool
) -> None:
    exposition.add("seqdoctor_audit_success", target, (database,), int(success))


def _add_forecast(add: Add, database: str, forecast: Forecast, behind: int | None) -> None:
    """The series of one column, or of a sequence; *behind*: the column's values_behind()."""
    sequence, use = forecast.sequence, forecast.column
    if use is None:
        subsystem = "sequence"
        labels: tuple[str, ...] = (database, sequence.schema, sequence.name)
        if sequence.next_value is not None:
            add("seqdoctor_sequence_next_value", labels, sequence.next_value)
    else:
        subsystem = "column"
        labels = (database, use.schema, use.table, use.column, sequence.schema, sequence.name)
        if behind is not None:
            add("seqdoctor_column_values_behind", labels, behind)
    add(f"seqdoctor_{subsystem}_limit", labels, forecast.limit)
    add(f"seqdoctor_{subsystem}_used_ratio", labels, forecast.used_ratio)
    add(f"seqdoctor_{subsystem}_values_left", labels, forecast.values_left)
    days, when = forecast.days_left, forecast.exhausted_at
    if forecast.rate is not None and days is not None and when is not None:
        labels = (*labels, str(forecast.rate.basis))
        add(f"seqdoctor_{subsystem}_time_to_exhaustion_seconds", labels, days * 86_400)
        add(f"seqdoctor_{subsystem}_exhaustion_timestamp_seconds", labels, when.timestamp())


def values_behind(report: Report, forecast: Forecast) -> int | None:
    """How many nextval() calls the sequence is behind its column's maximum (its minimum
    descending); 0 when ahead, None when the column was not read or the sequence is exhausted."""
    sequence, use = forecast.sequence, forecast.column
    extent = report.snapshot.extents.get(use.key) if use else None
    following = sequence.next_value
    if extent is None or following is None:
        return None
    ascending = sequence.ascending
    edge = extent.max_value if ascending else extent.min_value
    if edge is None or (edge < following if ascending else edge > following):
        return 0  # an empty column, or all its values before the next one: most columns
    return sequence.calls_left(edge)


def database_of(target: Target) -> str:
    """The database a target names, for a target whose audit failed: no report says it."""
    return dbname(target.conninfo)


def render(
    report: Report,
    out: TextIO,
    *,
    top: int | None = DEFAULT_TOP,
    series: ColumnSeries | None = None,
) -> None:
    exposition = Exposition(report.tool_version)
    add_report(exposition, report, top=top, series=series)
    out.write(exposition.text())


def render_fleet(fleet: FleetReport, out: TextIO, *, top: int | None = DEFAULT_TOP) -> None:
    """Many databases in one exposition, told apart by a ``target`` label (the target's name)."""
    exposition = Exposition(__version__, ("target",))
    for result in fleet.results:
        if result.report is not None:
            add_report(exposition, result.report, (result.target.name,), top=top)
        else:
            add_audit(exposition, (result.target.name,), database_of(result.target), success=False)
    out.write(exposition.text())
