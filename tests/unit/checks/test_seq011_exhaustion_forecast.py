"""SEQ011 exhaustion-forecast: at the rate values are used, a column or sequence runs out soon."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from seqdoctor.catalog.model import Activity, ColumnUse, SequenceState, Snapshot
from seqdoctor.checks import Settings, Severity
from seqdoctor.checks import seq011_exhaustion_forecast as seq011
from seqdoctor.checks.base import ColumnRef
from seqdoctor.checks.incremental import Judge
from seqdoctor.checks.seq011_exhaustion_forecast import (
    CHECK,
    Basis,
    Rate,
    by_days_left,
    forecasts,
    judged,
    judged_of,
    least_squares_slope,
    outlook,
    rate_of,
    soonest_by_basis,
)
from tests.unit.activity import DAY, NOW, with_activity
from tests.unit.factories import column, findings, sequence, snapshot

HOUR = timedelta(hours=1)


def daily(last: int, per_day: int, days: int) -> list[tuple[datetime, int]]:
    """Positions recorded once a day for *days* days, ending at *last* a day before NOW."""
    return [(NOW - d * DAY, last - (d - 1) * per_day) for d in range(days, 0, -1)]


def test_finding_critical_from_the_history_with_the_exact_date() -> None:
    # 10,000,000 values a day; 147,483,647 left before 2,147,483,647: 14.7483647 days.
    orders_seq = sequence("orders_id_seq", type_name="int8", last_value=2_000_000_000)
    orders_id = column("orders", "id", fed_by=orders_seq, type_name="int4")
    snap = with_activity(
        snapshot(orders_seq, orders_id),
        history={orders_seq: daily(1_990_000_000, 10_000_000, 10)},
    )

    (finding,) = findings(CHECK, snap)

    assert finding.message == (
        "public.orders.id runs out of integer in 14 days, on 2026-12-07, at 10,000,000 values a "
        "day (93% used, 147,483,647 values left; least squares over 11 positions in 10 days)"
    )
    assert finding.severity is Severity.CRITICAL
    assert finding.column == ColumnRef("public", "orders", "id")
    assert finding.details == {
        "days_left": 14.7,
        "exhausted_at": "2026-12-07T05:57:38+00:00",
        "values_per_day": 10_000_000.0,
        "values_left": 147_483_647,
        "limit": 2_147_483_647,
        "limited_by": "column type",
        "basis": "history",
        "since": "2026-11-12T12:00:00+00:00",
        "samples": 11,
        "rows_inserted": None,
    }
    (forecast,) = [f for f in judged(snap) if f.column is not None]
    assert forecast.exhausted_at == datetime(2026, 12, 7, 5, 57, 38, 710080, tzinfo=UTC)


def test_finding_warning_between_30_and_90_days() -> None:
    seq = sequence("orders_id_seq", last_value=1_647_483_647)  # 500,000,000 left
    use = column("orders", "id", fed_by=seq)
    snap = with_activity(
        snapshot(seq, use), history={seq: daily(1_647_483_647 - 10_000_000, 10_000_000, 5)}
    )

    (finding,) = findings(CHECK, snap)

    assert finding.severity is Severity.WARNING
    assert finding.details["days_left"] == 50.0


def test_finding_follows_the_day_thresholds_given() -> None:
    seq = sequence("orders_id_seq", last_value=1_647_483_647)
    use = column("orders", "id", fed_by=seq)
    snap = with_activity(
        snapshot(seq, use), history={seq: daily(1_647_483_647 - 10_000_000, 10_000_000, 5)}
    )

    (finding,) = findings(CHECK, snap, Settings(warning_days=180, critical_days=60))

    assert finding.severity is Severity.CRITICAL
    assert findings(CHECK, snap, Settings(warning_days=40, critical_days=20)) == []


def test_finding_from_a_least_squares_line_through_noisy_positions() -> None:
    seq = sequence("tags_id_seq", type_name="int2", last_value=30_000)
    use = column("tags", "id", fed_by=seq)
    noisy = [(NOW - 3 * DAY, 29_700), (NOW - 2 * DAY, 29_810), (NOW - DAY, 29_890)]
    snap = with_activity(snapshot(seq, use), history={seq: noisy})

    rate = rate_of(seq, snap)

    # x in days: 0, 1, 2, 3; y: 0, 110, 190, 300: slope 98, exactly.
    assert rate is not None
    assert rate.per_day == Fraction(98)
    assert rate.basis is Basis.HISTORY
    (finding,) = findings(CHECK, snap)
    assert finding.details["days_left"] == round(2_767 / 98, 1)


def test_finding_for_a_descending_sequence() -> None:
    seq = sequence("credits_id_seq", increment=-1, last_value=-2_100_000_000)
    use = column("credits", "id", fed_by=seq)
    snap = with_activity(snapshot(seq, use), history={seq: daily(-2_099_000_000, -1_000_000, 3)})

    (finding,) = findings(CHECK, snap)

    # 47,483,648 values left to -2,147,483,648 at 1,000,000 a day.
    assert finding.details["days_left"] == 47.5
    assert finding.details["values_per_day"] == 1_000_000.0


def test_finding_for_a_sequence_feeding_no_column_against_its_own_limit() -> None:
    invoice_no = sequence("invoice_no", max_value=100_000, last_value=90_000)
    snap = with_activity(snapshot(invoice_no), history={invoice_no: daily(89_000, 1_000, 2)})

    (finding,) = findings(CHECK, snap)

    assert finding.column is None
    assert finding.details["limited_by"] == "sequence"
    assert finding.message.startswith(
        "public.invoice_no runs out of its sequence's range in 10 days"
    )


def test_finding_estimated_from_inserts_only_warns() -> None:
    # No history: 1,000 rows inserted in the 10 days since the statistics reset.
    tags_seq = sequence("tags_id_seq", type_name="int2", last_value=30_000)
    tags_id = column("tags", "id", fed_by=tags_seq)
    snap = with_activity(
        snapshot(tags_seq, tags_id),
        rows_inserted={tags_id: 1_000},
        counted_since=NOW - 10 * DAY,
        counters_reset=True,
    )

    (finding,) = findings(CHECK, snap)

    assert finding.severity is Severity.WARNING  # 27.67 days: critical, were it measured
    assert finding.message == (
        "public.tags.id may run out of smallint in 27 days, on 2026-12-20, at 100 values a day "
        "(91% used, 2,767 values left; estimate from 1,000 rows inserted in 10 days since the "
        "statistics reset on 2026-11-12; record a history with seqdoctor check --record)"
    )
    assert finding.details["basis"] == "estimate"
    assert finding.details["rows_inserted"] == 1_000
    assert finding.details["samples"] is None


def test_no_estimate_from_a_standby_s_counters() -> None:
    # A hot standby counts only its own inserts: 0, whatever its primary inserts.
    tags_seq = sequence("tags_id_seq", type_name="int2", last_value=30_000)
    tags_id = column("tags", "id", fed_by=tags_seq)
    snap = with_activity(
        snapshot(tags_seq, tags_id), rows_inserted={tags_id: 0}, counted_since=NOW - 10 * DAY
    )
    standby = replace(snap, server=replace(snap.server, in_recovery=True))

    assert rate_of(tags_seq, snap) is not None
    assert rate_of(tags_seq, standby) is None


def test_finding_history_wins_over_the_estimate() -> None:
    seq = sequence("tags_id_seq", type_name="int2", last_value=30_000)
    use = column("tags", "id", fed_by=seq)
    snap = with_activity(
        snapshot(seq, use),
        history={seq: [(NOW - DAY, 29_000)]},
        rows_inserted={use: 1},
        counted_since=NOW - 10 * DAY,
    )

    (finding,) = findings(CHECK, snap)

    assert finding.details["basis"] == "history"
    assert finding.details["values_per_day"] == 1_000.0


def test_finding_counts_only_positions_since_the_sequence_last_moved_backwards() -> None:
    # Restarted two days ago: the positions before mean nothing for today's rate.
    seq = sequence("orders_id_seq", type_name="int2", last_value=30_000)
    use = column("orders", "id", fed_by=seq)
    history = [(NOW - 5 * DAY, 32_000), (NOW - 2 * DAY, 10_000), (NOW - DAY, 20_000)]
    snap = with_activity(snapshot(seq, use), history={seq: history})

    rate = rate_of(seq, snap)

    assert rate is not None
    assert rate.per_day == 10_000
    assert rate.samples == 3


def test_ok_for_a_sequence_that_is_not_moving() -> None:
    seq = sequence("orders_id_seq", last_value=2_000_000_000)
    use = column("orders", "id", fed_by=seq)
    snap = with_activity(snapshot(seq, use), history={seq: daily(2_000_000_000, 0, 5)})

    assert findings(CHECK, snap) == []
    (forecast,) = [f for f in forecasts(snap) if f.column is not None]
    assert forecast.rate is not None
    assert forecast.rate.per_day == 0
    assert forecast.days_left is None


def test_ok_far_from_the_limit() -> None:
    seq = sequence("orders_id_seq", type_name="int8", last_value=1_000_000)
    use = column("orders", "id", fed_by=seq)
    snap = with_activity(snapshot(seq, use), history={seq: daily(900_000, 100_000, 3)})

    assert findings(CHECK, snap) == []


def test_ok_without_history_or_counters() -> None:
    seq = sequence("orders_id_seq", last_value=2_100_000_000)
    use = column("orders", "id", fed_by=seq)

    assert findings(CHECK, snapshot(seq, use)) == []  # the activity was not read
    assert findings(CHECK, with_activity(snapshot(seq, use))) == []


def test_ok_when_the_history_spans_less_than_an_hour() -> None:
    seq = sequence("orders_id_seq", last_value=2_100_000_000)
    use = column("orders", "id", fed_by=seq)
    snap = with_activity(
        snapshot(seq, use),
        history={seq: [(NOW - HOUR / 2, 2_000_000_000)]},
    )

    assert rate_of(seq, snap) is None


def test_ok_for_counters_younger_than_an_hour() -> None:
    seq = sequence("orders_id_seq", last_value=2_100_000_000)
    use = column("orders", "id", fed_by=seq)
    snap = with_activity(
        snapshot(seq, use), rows_inserted={use: 10**9}, counted_since=NOW - HOUR / 2
    )

    assert findings(CHECK, snap) == []


def test_ok_for_an_exhausted_column_which_seq002_reports() -> None:
    seq = sequence("invoices_id_seq", max_value=1000, last_value=1000)
    use = column("invoices", "id", fed_by=seq)
    snap = with_activity(snapshot(seq, use), history={seq: daily(990, 5, 2)})

    assert findings(CHECK, snap) == []


@pytest.mark.parametrize("max_value", [2**31 - 1, 1000])
def test_ok_for_a_cycling_sequence_that_wraps_before_its_column_overflows(max_value: int) -> None:
    ring = sequence("ring_id_seq", max_value=max_value, cycle=True, last_value=max_value - 10)
    ring_id = column("ring", "id", fed_by=ring)
    snap = with_activity(snapshot(ring, ring_id), history={ring: daily(max_value - 20, 10, 1)})

    assert findings(CHECK, snap) == []


def test_forecasts_sort_soonest_first_then_fullest() -> None:
    soon = sequence("soon_seq", last_value=2_140_000_000)
    later = sequence("later_seq", last_value=2_000_000_000)
    still = sequence("still_seq", last_value=1_000_000_000)
    uses = [column(n, "id", fed_by=s) for n, s in (("a", soon), ("b", later), ("c", still))]
    snap = with_activity(
        snapshot(soon, later, still, *uses),
        history={
            soon: daily(2_139_000_000, 1_000_000, 2),
            later: daily(1_999_000_000, 1_000_000, 2),
        },
    )

    ordered = by_days_left(f for f in judged(snap))

    assert [f.subject for f in ordered] == ["public.a.id", "public.b.id", "public.c.id"]


def test_least_squares_slope_is_exact_and_needs_two_times() -> None:
    assert least_squares_slope([(0, 0), (86_400, 10**18)]) == Fraction(10**18, 86_400)
    assert least_squares_slope([(0, 5)]) is None


def test_a_forecast_keeps_the_positions_it_had_too_few_of() -> None:
    # Two audits recorded seconds apart: a history, too short to fit a line through.
    orders_seq = sequence("orders_id_seq", last_value=1_000)
    orders_id = column("orders", "id", fed_by=orders_seq)
    seconds = [(NOW - timedelta(seconds=9), 990), (NOW - timedelta(seconds=4), 995)]
    snap = with_activity(snapshot(orders_seq, orders_id), history={orders_seq: seconds})

    (forecast,) = [f for f in forecasts(snap) if f.column is not None]

    assert forecast.rate is None
    assert [(p.at, p.value) for p in forecast.history] == [*seconds, (NOW, 1_000)]


def many_rates(seed: int) -> Snapshot:
    """Sequences of every kind with rates estimated from their tables' inserts (some with
    none: no row, a table not counted, a sequence feeding none, one that cycles), and a
    few with a history; the counters started a day before NOW."""
    pick = random.Random(seed)
    objects: list[SequenceState | ColumnUse] = []
    inserted: dict[ColumnUse, int] = {}
    history = {}
    for i in range(60):
        type_name = pick.choice(["int2", "int4", "int8"])
        high = {"int2": 2**15 - 1, "int4": 2**31 - 1, "int8": 2**63 - 1}[type_name]
        descending = pick.random() < 0.2
        seq = sequence(
            f"s{i}",
            type_name=type_name,
            increment=-1 if descending else 1,
            cycle=pick.random() < 0.1,
            last_value=(-1 if descending else 1) * pick.randint(1, high // pick.choice([2, 9, 99])),
        )
        objects.append(seq)
        for table in range(pick.choice([0, 1, 1, 1, 2])):
            use = column(f"t{i}_{table}", fed_by=seq, type_name=pick.choice([type_name, "int8"]))
            objects.append(use)
            if pick.random() < 0.95:
                inserted[use] = pick.choice([0, 1, 7, 1_000, 10**6, 10**9])
        if pick.random() < 0.1:
            history[seq] = [(NOW - 2 * DAY, 1), (NOW - DAY, pick.randint(2, 100))]
    return with_activity(
        snapshot(*objects), rows_inserted=inserted, history=history, counted_since=NOW - DAY
    )


@pytest.mark.parametrize("seed", range(5))
def test_an_outlook_tells_which_forecasts_run_out_within_days_as_every_forecast_does(
    seed: int,
) -> None:
    """Within any days, at any clock, in a judgement kept from the last clock's or not:
    the forecasts the outlook gives hold all those of every forecast that run out within
    them, and the first to run out by basis."""
    start = many_rates(seed)
    assert start.activity is not None
    clocks = [replace(start.activity, now=NOW + h * HOUR) for h in (1, 2, 5, 24 * 3, 24 * 400, 3)]
    # Then one table's inserts counted again, the sequences the same.
    inserted = dict(start.activity.rows_inserted)
    inserted[min(inserted)] += 5
    judge, settings = Judge(), Settings()
    for activity in [*clocks, replace(clocks[-1], rows_inserted=inserted)]:
        snap = replace(start, activity=activity)
        judge(snap, settings)  # the outlook taken from the last clock's
        fresh = replace(snap)
        for made in (snap, fresh):
            every = judged(made)
            assert every == judged(fresh)
            found = outlook(made)
            # Each forecast's own days left, the edge of the forecasts within them, among them.
            dated = {f.days_left for f in every if f.days_left is not None}
            for days in sorted({0.0, 1.0, 30.0, 90.0, 10_000.0} | dated):
                within = judged_of(found.within(days))
                assert [f for f in within if (f.days_left or math.inf) <= days] == [
                    f for f in every if (f.days_left or math.inf) <= days
                ], (activity.now, days)
            assert soonest_by_basis(judged_of(found.soonest())) == soonest_by_basis(every)
        assert {f.rate.basis for f in every if f.rate and f.days_left} == set(Basis)


def test_a_judgement_at_a_later_clock_makes_only_the_forecasts_near_running_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An estimated rate's forecasts run out later as the clock moves, all alike: with the
    sequences, columns and inserts the same, a later judgement makes the forecasts of the
    sequence near running out (the soonest too) and no other."""
    estimated: list[int] = []
    estimate = seq011._estimate

    def counted(rows: int, since: datetime, activity: Activity) -> Rate:
        estimated.append(rows)
        return estimate(rows, since, activity)

    near = sequence("near_id_seq", type_name="int2", last_value=30_000)
    objects: list[SequenceState | ColumnUse] = [near, column("near", fed_by=near)]
    for i in range(20):
        far = sequence(f"far{i}_id_seq", last_value=1_000 + i)
        objects += [far, column(f"far{i}", fed_by=far)]
    uses = [o for o in objects if isinstance(o, ColumnUse)]
    first = with_activity(
        snapshot(*objects),
        rows_inserted={use: 100 if use.table == "near" else 1_000 for use in uses},
        counted_since=NOW - DAY,
    )
    assert first.activity is not None
    later = replace(first, activity=replace(first.activity, now=NOW + HOUR))
    judge, settings = Judge(), Settings()
    judge(first, settings)
    monkeypatch.setattr(seq011, "_estimate", counted)
    found = judge(later, settings)

    assert estimated == [100]
    assert [f.column.table for f in found if f.code == "SEQ011" and f.column] == ["near"]
    assert outlook(later).undated is outlook(first).undated
