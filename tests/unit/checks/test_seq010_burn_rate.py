"""SEQ010 burn-rate: a sequence has handed out far more values than its tables have rows."""

from __future__ import annotations

from seqdoctor.checks import Severity
from seqdoctor.checks.base import ColumnRef, SequenceRef
from seqdoctor.checks.seq010_burn_rate import CHECK, values_used
from tests.unit.activity import DAY, NOW, with_activity
from tests.unit.factories import column, findings, sequence, snapshot


def test_finding_when_values_far_outnumber_rows() -> None:
    # An upsert that mostly conflicts: 1,000,000 values drawn, 10,000 rows kept.
    events_seq = sequence("events_id_seq", type_name="int8", last_value=1_000_000)
    events_id = column("events", "id", fed_by=events_seq)
    snap = with_activity(snapshot(events_seq, events_id), row_estimates={events_id: 10_000})

    (finding,) = findings(CHECK, snap)

    assert finding.message == (
        "sequence public.events_id_seq is 1,000,000 values past its START for about 10,000 rows"
        " in public.events (100.0 values per row): the values no row holds, left unused by "
        "rollbacks, INSERT ... ON CONFLICT or deleted rows, or skipped by a setval() (a restore,"
        " a script, seqdoctor fix), still count towards its limit"
    )
    assert finding.severity is Severity.INFO
    assert finding.sequence == SequenceRef("public", "events_id_seq")
    assert finding.column == ColumnRef("public", "events", "id")
    assert finding.details == {
        "values_used": 1_000_000,
        "row_estimate": 10_000,
        "values_per_row": 100.0,
        "values_without_row": 990_000,
        "values_per_day": None,
    }


def test_a_history_of_nextval_traffic_gives_the_rate() -> None:
    events_seq = sequence("events_id_seq", type_name="int8", last_value=1_000_000)
    events_id = column("events", "id", fed_by=events_seq)
    snap = with_activity(
        snapshot(events_seq, events_id),
        row_estimates={events_id: 10_000},
        history={events_seq: [(NOW - 10 * DAY, 900_000)]},
    )

    (finding,) = findings(CHECK, snap)

    assert finding.message.endswith(
        "still count towards its limit; its history shows 10,000 values handed out a day "
        "(least squares over 2 positions in 10 days)"
    )
    assert finding.details["values_per_day"] == 10_000.0


def test_no_rate_from_a_history_that_does_not_move_or_from_insert_counters() -> None:
    # A setval() from 3 to 100,000,010 before the history began: the position stands still.
    jumped = sequence("t_id_seq", type_name="int8", last_value=100_000_010)
    t_id = column("t", "id", fed_by=jumped)
    still = with_activity(
        snapshot(jumped, t_id),
        row_estimates={t_id: 3},
        history={jumped: [(NOW - 2 * DAY, 100_000_010)]},
    )
    counted = with_activity(
        snapshot(jumped, t_id),
        row_estimates={t_id: 3},
        rows_inserted={t_id: 3},
        counted_since=NOW - 30 * DAY,
    )

    for snap in (still, counted):
        (finding,) = findings(CHECK, snap)
        assert "history shows" not in finding.message
        assert "burn" not in finding.message
        assert finding.details["values_per_day"] is None


def test_finding_at_exactly_twice_as_many_values_as_rows() -> None:
    seq = sequence("things_id_seq", last_value=20_000)
    use = column("things", "id", fed_by=seq)

    (finding,) = findings(CHECK, with_activity(snapshot(seq, use), row_estimates={use: 10_000}))

    assert finding.details["values_per_row"] == 2.0


def test_finding_for_an_emptied_queue_table() -> None:
    jobs_seq = sequence("jobs_id_seq", last_value=50_000)
    jobs_id = column("jobs", "id", fed_by=jobs_seq)

    (finding,) = findings(
        CHECK, with_activity(snapshot(jobs_seq, jobs_id), row_estimates={jobs_id: 0})
    )

    assert "(no row left)" in finding.message
    assert finding.details["values_per_row"] is None


def test_finding_for_a_shared_sequence_counts_the_rows_of_every_table() -> None:
    shared = sequence("ids", type_name="int8", last_value=100_000)
    cards = column("gift_cards", "id", fed_by=shared)
    vouchers = column("vouchers", "id", fed_by=shared)
    snap = with_activity(
        snapshot(shared, cards, vouchers), row_estimates={cards: 20_000, vouchers: 20_000}
    )

    (finding,) = findings(CHECK, snap)

    assert finding.column is None
    assert finding.details["row_estimate"] == 40_000
    assert "public.gift_cards, public.vouchers" in finding.message


def test_ok_when_rows_keep_most_values() -> None:
    seq = sequence("orders_id_seq", last_value=19_999)
    use = column("orders", "id", fed_by=seq)

    assert findings(CHECK, with_activity(snapshot(seq, use), row_estimates={use: 10_000})) == []


def test_ok_below_ten_thousand_values() -> None:
    seq = sequence("tags_id_seq", last_value=9_999)
    use = column("tags", "id", fed_by=seq)

    assert findings(CHECK, with_activity(snapshot(seq, use), row_estimates={use: 1})) == []


def test_ok_for_a_table_never_analyzed() -> None:
    seq = sequence("orders_id_seq", last_value=1_000_000)
    use = column("orders", "id", fed_by=seq)

    assert findings(CHECK, with_activity(snapshot(seq, use), row_estimates={use: -1})) == []


def test_ok_without_activity_or_for_cycling_and_unused_sequences() -> None:
    seq = sequence("orders_id_seq", last_value=1_000_000)
    use = column("orders", "id", fed_by=seq)
    ring = sequence("ring_id_seq", cycle=True, last_value=1_000_000)
    ring_id = column("ring", "id", fed_by=ring)
    orphan = sequence("invoice_no", last_value=1_000_000)

    assert findings(CHECK, snapshot(seq, use)) == []
    snap = with_activity(snapshot(ring, ring_id, orphan), row_estimates={ring_id: 10})
    assert findings(CHECK, snap) == []


def test_values_used_counts_from_start_in_the_sequence_direction() -> None:
    assert values_used(sequence(start=100, last_value=199)) == 100
    assert values_used(sequence(increment=10, max_value=1000, last_value=91)) == 10
    assert values_used(sequence(increment=-1, last_value=-50)) == 50
    assert values_used(sequence()) == 0
    assert values_used(sequence(readable=False)) is None
