"""The Prometheus exposition at scale: aggregates always, per-column series for a bounded set."""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from seqdoctor.checks import Settings, run_checks
from seqdoctor.checks.incremental import Judge
from seqdoctor.checks.seq011_exhaustion_forecast import forecasts
from seqdoctor.render.prometheus import DEFAULT_TOP, ColumnSeries, render
from seqdoctor.report import Report
from tests.unit.activity import NOW, with_activity
from tests.unit.factories import column, holding, sequence, snapshot

INT4_MAX = 2**31 - 1
HOUR = timedelta(hours=1)


def tenant_report(healthy: int) -> Report:
    """*healthy* integer ids at 1 % to 50 % of their range, one behind its data, one at 95 %."""
    objects = []
    extents = {}
    for i in range(healthy):
        seq = sequence(f"t{i}_id_seq", last_value=INT4_MAX // 100 * (1 + i % 50))
        use = column(f"t{i}", "id", fed_by=seq)
        objects += [seq, use]
        extents[use] = holding(1, seq.last_value)
    behind_seq = sequence("behind_id_seq", last_value=10)
    behind = column("behind", "id", fed_by=behind_seq)
    full_seq = sequence("full_id_seq", last_value=INT4_MAX // 100 * 95)
    full = column("full", "id", fed_by=full_seq)
    extents[behind] = holding(1, 1_000, first_collision=11)
    extents[full] = holding(1, full_seq.last_value)
    snap = snapshot(*objects, behind_seq, behind, full_seq, full, extents=extents)
    settings = Settings()
    return Report(
        tool_version="0.1.0",
        checked_at=NOW,
        duration_seconds=1.0,
        snapshot=snap,
        findings=tuple(run_checks(snap, settings)),
        settings=settings,
        checks=("SEQ001", "SEQ002"),
    )


def scraped(report: Report, top: int | None = DEFAULT_TOP) -> dict[str, list[dict[str, str]]]:
    out = io.StringIO()
    render(report, out, top=top)
    found: dict[str, list[dict[str, str]]] = {}
    for family in text_string_to_metric_families(out.getvalue()):
        for sample in family.samples:
            found.setdefault(sample.name, []).append({**sample.labels, "value": str(sample.value)})
    return found


def test_series_per_scrape_do_not_grow_with_the_columns() -> None:
    small, large = scraped(tenant_report(50)), scraped(tenant_report(2_000))

    assert Counter({k: len(v) for k, v in small.items()}) == Counter(
        {k: len(v) for k, v in large.items()}
    )
    assert sum(len(v) for v in large.values()) < 150


def test_columns_past_a_threshold_and_the_fullest_others_get_series() -> None:
    found = scraped(tenant_report(200), top=3)

    tables = {s["table"] for s in found["seqdoctor_column_used_ratio"]}
    # Past a threshold: behind its data, 95 % used; then the three fullest (50 % used) others.
    assert tables == {"behind", "full", "t49", "t99", "t149"}
    assert {s["table"] for s in found["seqdoctor_column_guard_info"]} == tables
    assert {s["sequence"] for s in found["seqdoctor_sequence_used_ratio"]} == {
        f"{t}_id_seq" for t in tables
    }


def test_all_writes_every_column() -> None:
    found = scraped(tenant_report(200), top=None)

    assert len(found["seqdoctor_column_used_ratio"]) == 202
    assert len(found["seqdoctor_sequence_next_value"]) == 202


def test_the_aggregates_sum_up_every_column_whatever_is_shown() -> None:
    found = scraped(tenant_report(200), top=0)

    def one(name: str, **labels: str) -> float:
        (sample,) = [s for s in found[name] if labels.items() <= s.items()]
        return float(sample["value"])

    assert {s["table"] for s in found["seqdoctor_column_used_ratio"]} == {"behind", "full"}
    assert one("seqdoctor_database_columns") == 202
    assert one("seqdoctor_database_sequences") == 202
    assert one("seqdoctor_database_max_used_ratio") == pytest.approx(0.95, abs=0.001)
    assert one("seqdoctor_database_min_values_left") == INT4_MAX - INT4_MAX // 100 * 95
    assert one("seqdoctor_database_columns_over_threshold", threshold="warning") == 1
    assert one("seqdoctor_database_columns_over_threshold", threshold="critical") == 1
    assert one("seqdoctor_database_columns_behind") == 1
    assert one("seqdoctor_audit_full_timestamp_seconds") == NOW.timestamp()
    assert one("seqdoctor_audit_columns_carried") == 0
    assert "seqdoctor_database_time_to_exhaustion_seconds" not in found  # no activity, no rate


def test_a_database_whose_positions_could_not_be_read_has_no_fullest_column() -> None:
    hidden = sequence("hidden_id_seq", readable=False)
    snap = snapshot(hidden, column("hidden", "id", fed_by=hidden))
    report = Report(
        tool_version="0.1.0",
        checked_at=NOW,
        duration_seconds=1.0,
        snapshot=snap,
        findings=tuple(run_checks(snap, Settings())),
        settings=Settings(),
        checks=("SEQ002",),
    )
    found = scraped(report)

    assert "seqdoctor_database_max_used_ratio" not in found
    assert "seqdoctor_database_min_values_left" not in found
    assert found["seqdoctor_database_columns"][0]["value"] == "1.0"


def written(report: Report, series: ColumnSeries, top: int | None = DEFAULT_TOP) -> str:
    out = io.StringIO()
    render(report, out, series=series, top=top)
    return out.getvalue()


def test_the_series_of_unchanged_columns_are_given_again_and_never_stale() -> None:
    """serve keeps the columns' series from one round to the next: the same, not made
    again, where they are made of the same objects; made again from anything else."""
    series, report = ColumnSeries(), tenant_report(50)
    first = series(report, DEFAULT_TOP)
    same = replace(report, checked_at=NOW + timedelta(hours=1), duration_seconds=2.0)
    equal = replace(report, snapshot=replace(report.snapshot))  # new objects, equal
    snap = report.snapshot
    written_to = next(use for use in snap.uses if use.table == "t1")
    extents = {**snap.extents, written_to.key: holding(1, 2**30)}
    behind = replace(report, snapshot=replace(snap, extents=extents))
    sequences = tuple(
        replace(s, last_value=10) if s.name == "full_id_seq" else s for s in snap.sequences
    )
    moved = replace(report, snapshot=replace(snap, sequences=sequences))

    assert series(same, DEFAULT_TOP) is first
    assert series(same, None) is not first
    assert series(equal, DEFAULT_TOP) == first
    for changed in (behind, moved, report):
        assert written(changed, series) == written(changed, ColumnSeries())
    assert written(behind, series) != written(report, series)


def test_series_kept_while_the_clock_moves_are_those_made_afresh() -> None:
    """With rates estimated from the inserts, the clock moves every column's date, and takes
    columns out of the warning days (out of those shown, past that threshold, into the
    others, where the fullest are shown): the series kept from the last clock's, judged as
    serve judges, are those made afresh at each clock, and show those columns."""
    report = tenant_report(50)
    snap = report.snapshot
    # Each table's inserts put its column 129.5 to 80.5 days from running out a day after
    # the statistics' start, the fullest the nearest; later, further, all alike.
    days = {use: 129.5 - int(use.table[1:]) for use in snap.uses if use.table.startswith("t")}
    left = {f.column: f.values_left for f in forecasts(snap) if f.column is not None}
    inserted = {use: round(left[use] / days.get(use, 1_000)) for use in snap.uses}
    judge, series = Judge(), ColumnSeries()
    for hours in (24, 25, 28, 36, 24 * 40, 26):  # since the statistics' start
        now = NOW + hours * HOUR
        at = with_activity(snap, now=now, rows_inserted=inserted, counted_since=NOW)
        clocked = replace(
            report, snapshot=at, checked_at=now, findings=tuple(judge(at, Settings()))
        )
        kept = written(clocked, series, top=3)
        near = {i for i in range(50) if (129.5 - i) * hours / 24 <= 90}
        fullest = sorted(set(range(50)) - near, reverse=True)[:3]

        assert kept == written(clocked, ColumnSeries(), top=3), hours
        assert clocked.findings == tuple(run_checks(at, Settings()))
        assert set(re.findall(r'seqdoctor_column_used_ratio\{.*table="(\w+)"', kept)) == {
            "full",
            "behind",
            *(f"t{i}" for i in near | set(fullest)),
        }, hours
