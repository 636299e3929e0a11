"""The Prometheus and HTML renderers on a report with a history: golden files, names, escaping.

Regenerate the golden files with
``SEQDOCTOR_UPDATE_GOLDEN=1 pytest tests/unit/render/test_monitoring.py`` and review the diff.
"""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
from prometheus_client.parser import text_string_to_metric_families

from seqdoctor.checks import Settings, run_checks
from seqdoctor.checks.seq011_exhaustion_forecast import forecasts
from seqdoctor.fleet import FleetReport, Target, TargetResult
from seqdoctor.render import Format, render, render_fleet
from seqdoctor.render.prometheus import METRICS, values_behind
from seqdoctor.report import Report
from tests.unit.activity import DAY, NOW, with_activity
from tests.unit.factories import column, holding, sequence, snapshot
from tests.unit.golden import assert_golden
from tests.unit.render.sample import sample_report

LABELS = {
    "version",
    "database",
    "schema",
    "table",
    "column",
    "sequence",
    "sequence_schema",
    "check",
    "code",
    "severity",
    "basis",
    "mode",
    "target",
    "threshold",
}


def history_report() -> Report:
    """An integer id 14 days from its end by its history, and a smallint estimated to warn."""
    orders_seq = sequence("orders_id_seq", type_name="int8", last_value=2_000_000_000)
    orders_id = column("orders", "id", fed_by=orders_seq, type_name="int4")
    tags_seq = sequence("tags_id_seq", type_name="int2", last_value=30_000)
    tags_id = column("tags", "id", fed_by=tags_seq)
    snap = with_activity(
        snapshot(
            orders_seq, orders_id, tags_seq, tags_id, extents={orders_id: holding(1, 2_000_000_000)}
        ),
        history={orders_seq: [(NOW - d * DAY, 2_000_000_000 - d * 10_000_000) for d in (10, 5, 1)]},
        rows_inserted={tags_id: 1_000},
        row_estimates={orders_id: 1_000_000, tags_id: 29_000},
        counted_since=NOW - 10 * DAY,
    )
    settings = Settings()
    return Report(
        tool_version="0.1.0",
        checked_at=NOW,
        duration_seconds=0.042,
        snapshot=snap,
        findings=tuple(run_checks(snap, settings)),
        settings=settings,
        checks=("SEQ002", "SEQ010", "SEQ011"),
    )


@pytest.mark.parametrize("output_format", [Format.PROMETHEUS, Format.HTML])
def test_renderer_with_a_history_matches_golden_file(output_format: Format) -> None:
    out = io.StringIO()
    render(history_report(), output_format, out)
    assert_golden(f"report-history.{output_format}.txt", out.getvalue())


@pytest.mark.parametrize("report", [sample_report(), history_report()], ids=["sample", "history"])
def test_prometheus_names_and_labels_follow_the_conventions(report: Report) -> None:
    out = io.StringIO()
    render(report, Format.PROMETHEUS, out)
    families = list(text_string_to_metric_families(out.getvalue()))

    assert families
    for family in families:
        assert family.name in METRICS
        assert re.fullmatch(r"seqdoctor_(build_info|[a-z]+_[a-z_]+)", family.name)
        assert family.type == "gauge"
        for sample in family.samples:
            assert set(sample.labels) <= LABELS
            assert set(sample.labels) == set(METRICS[family.name][1])


def test_prometheus_has_the_forecast_of_the_history() -> None:
    out = io.StringIO()
    render(history_report(), Format.PROMETHEUS, out)
    found = {
        (s.name, s.labels.get("table"), s.labels.get("basis")): s.value
        for f in text_string_to_metric_families(out.getvalue())
        for s in f.samples
    }

    seconds = found["seqdoctor_column_time_to_exhaustion_seconds", "orders", "history"]
    assert seconds == pytest.approx(14.7483647 * 86_400)
    assert found[
        "seqdoctor_column_time_to_exhaustion_seconds", "tags", "estimate"
    ] == pytest.approx(27.67 * 86_400)
    assert found["seqdoctor_column_values_behind", "orders", None] == 0
    assert found["seqdoctor_column_guard_info", "tags", None] == 1


def test_a_fleet_exposition_tells_targets_apart_and_counts_failures() -> None:
    report = sample_report()
    fleet = FleetReport(
        NOW,
        1.0,
        (
            TargetResult(Target("db1:5432/shop", "host=db1 dbname=shop"), report=report),
            TargetResult(Target("db2:5432/shop", "host=db2 dbname=shop"), report=report),
            TargetResult(Target("db3:5432/gone", "host=db3 dbname=gone"), error="cannot connect"),
        ),
    )
    out = io.StringIO()
    render_fleet(fleet, Format.PROMETHEUS, out)
    success = {
        s.labels["target"]: s.value
        for f in text_string_to_metric_families(out.getvalue())
        for s in f.samples
        if s.name == "seqdoctor_audit_success"
    }

    assert success == {"db1:5432/shop": 1, "db2:5432/shop": 1, "db3:5432/gone": 0}


def test_html_escapes_names_and_messages() -> None:
    evil = sequence("<img src=x>_seq", last_value=2_100_000_000)
    evil_id = column("<script>", "id", fed_by=evil)
    snap = snapshot(evil, evil_id)
    report = replace(sample_report(), snapshot=snap, findings=tuple(run_checks(snap, Settings())))
    out = io.StringIO()
    render(report, Format.HTML, out)

    assert out.getvalue().count("<script>") == 1  # the page's own, at the end
    assert "<img" not in out.getvalue()
    assert "&lt;script&gt;" in out.getvalue()


def test_html_of_a_fleet_has_each_database() -> None:
    fleet = FleetReport(
        NOW,
        1.0,
        (
            TargetResult(Target("db1:5432/shop", "host=db1 dbname=shop"), report=history_report()),
            TargetResult(Target("db3:5432/gone", "host=db3 dbname=gone"), error="cannot connect"),
        ),
    )
    out = io.StringIO()
    render_fleet(fleet, Format.HTML, out)

    assert out.getvalue().count("<h2>db1:5432/shop</h2>") == 1
    assert "UNKNOWN: cannot connect" in out.getvalue()
    assert out.getvalue().count('<svg class="chart"') == 1


@pytest.mark.parametrize(
    ("increment", "last_value", "low", "high", "expected"),
    [
        (1, 100, 1, 99, 0),  # its values all before the next one
        (1, 100, 1, 101, 1),  # the next value is held
        (1, 100, 1, 110, 10),
        (3, 100, 1, 102, 0),  # the next value, 103, is past the column's max
        (3, 100, 1, 103, 1),
        (-1, -100, -99, -2, 0),  # descending: its values all before the next one, -101
        (-1, -100, -101, -2, 1),
        (-1, -100, -110, -2, 10),
    ],
)
def test_values_behind_counts_the_calls_up_to_the_columns_edge(
    increment: int, last_value: int, low: int, high: int, expected: int
) -> None:
    seq = sequence(last_value=last_value, increment=increment)
    use = column(fed_by=seq)
    snap = snapshot(seq, use, extents={use: holding(low, high)})
    report = replace(sample_report(), snapshot=snap)
    (forecast,) = (f for f in forecasts(snap) if f.column is not None)

    assert values_behind(report, forecast) == expected
