"""SEQ001 sequence-behind-data: the sequence will hand out values its column already holds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from seqdoctor.catalog.model import StatisticsSample
from seqdoctor.checks import Finding, Severity
from seqdoctor.checks.base import ColumnRef, SequenceRef
from seqdoctor.checks.seq001_sequence_behind_data import CHECK
from tests.unit.factories import column, empty, findings, holding, sequence, snapshot


def test_finding_when_the_next_value_is_already_in_the_column() -> None:
    users_seq = sequence("users_id_seq", last_value=41)
    users_id = column("users", "id", fed_by=users_seq)
    snap = snapshot(users_seq, users_id, extents={users_id: holding(1, 100, first_collision=42)})

    (finding,) = findings(CHECK, snap)

    assert finding.message == (
        "sequence public.users_id_seq is behind public.users.id: the next nextval() returns 42, "
        "which the column already holds (column max 100, next value 42)"
    )
    assert finding.severity is Severity.CRITICAL
    assert (finding.code, finding.check) == ("SEQ001", "sequence-behind-data")
    assert finding.sequence == SequenceRef("public", "users_id_seq")
    assert finding.column == ColumnRef("public", "users", "id")
    assert finding.details == {
        "next_value": 42,
        "column_max": 100,
        "column_min": 1,
        "first_collision": 42,
        "nextval_calls_before_collision": 0,
        "evidence": "index",
    }


def test_finding_counts_the_calls_that_still_land_in_holes() -> None:
    # Rows 1,000,001 to 1,999,999 were deleted: inserts succeed until 2,000,000.
    users_seq = sequence("users_id_seq", type_name="int8", last_value=1_000_000)
    users_id = column("users", "id", fed_by=users_seq)
    extent = holding(1, 2_500_000, first_collision=2_000_000)
    snap = snapshot(users_seq, users_id, extents={users_id: extent})

    (finding,) = findings(CHECK, snap)

    assert finding.message == (
        "sequence public.users_id_seq is behind public.users.id: 999,999 nextval() calls "
        "succeed, then it returns 2,000,000, which the column already holds "
        "(column max 2,500,000, next value 1,000,001)"
    )
    assert finding.details["nextval_calls_before_collision"] == 999_999


def test_finding_for_a_fresh_sequence_after_a_data_only_restore() -> None:
    users_seq = sequence("users_id_seq")  # never called: nextval() returns 1
    users_id = column("users", "id", fed_by=users_seq)
    snap = snapshot(users_seq, users_id, extents={users_id: holding(1, 500, first_collision=1)})

    (finding,) = findings(CHECK, snap)

    assert "the next nextval() returns 1, which the column already holds" in finding.message
    assert finding.details["next_value"] == 1


def test_finding_for_a_descending_sequence_names_the_column_min() -> None:
    credits_seq = sequence("credits_id_seq", increment=-1, last_value=-41)
    credits_id = column("credits", "id", fed_by=credits_seq)
    extent = holding(-100, -1, first_collision=-50)
    snap = snapshot(credits_seq, credits_id, extents={credits_id: extent})

    (finding,) = findings(CHECK, snap)

    assert finding.message == (
        "sequence public.credits_id_seq is behind public.credits.id: 8 nextval() calls "
        "succeed, then it returns -50, which the column already holds "
        "(column min -100, next value -42)"
    )
    assert finding.details["nextval_calls_before_collision"] == 8


def test_finding_with_increment_10_counts_calls_not_values() -> None:
    # Next values 31, 41, 51, 61, then 71, which the column holds.
    tens = sequence("tens", increment=10, last_value=21)
    tens_id = column("things", "id", fed_by=tens)
    snap = snapshot(tens, tens_id, extents={tens_id: holding(1, 75, first_collision=71)})

    (finding,) = findings(CHECK, snap)

    assert "4 nextval() calls succeed, then it returns 71" in finding.message
    assert finding.details["nextval_calls_before_collision"] == 4


def test_finding_with_one_call_before_the_collision_says_so_in_the_singular() -> None:
    users_seq = sequence("users_id_seq", last_value=41)
    users_id = column("users", "id", fed_by=users_seq)
    snap = snapshot(users_seq, users_id, extents={users_id: holding(1, 100, first_collision=43)})

    (finding,) = findings(CHECK, snap)

    assert finding.message == (
        "sequence public.users_id_seq is behind public.users.id: 1 nextval() call succeeds, "
        "then it returns 43, which the column already holds (column max 100, next value 42)"
    )
    assert finding.details["nextval_calls_before_collision"] == 1


def test_finding_only_for_the_column_of_a_shared_sequence_that_is_ahead() -> None:
    shared = sequence("card_ids", last_value=100)
    gift_cards = column("gift_cards", "id", fed_by=shared)
    vouchers = column("vouchers", "id", fed_by=shared)
    snap = snapshot(
        shared,
        gift_cards,
        vouchers,
        extents={gift_cards: holding(1, 99), vouchers: holding(2, 150, first_collision=101)},
    )

    (finding,) = findings(CHECK, snap)

    assert finding.column == ColumnRef("public", "vouchers", "id")
    assert finding.message.startswith("sequence public.card_ids is behind public.vouchers.id:")


def test_ok_when_the_sequence_is_past_the_data() -> None:
    users_seq = sequence("users_id_seq", last_value=100)
    users_id = column("users", "id", fed_by=users_seq)
    snap = snapshot(users_seq, users_id, extents={users_id: holding(1, 100)})

    assert findings(CHECK, snap) == []


def test_ok_when_the_column_is_empty() -> None:
    users_seq = sequence("users_id_seq")
    users_id = column("users", "id", fed_by=users_seq)
    snap = snapshot(users_seq, users_id, extents={users_id: empty()})

    assert findings(CHECK, snap) == []


def test_ok_when_the_column_was_not_probed() -> None:
    # SEQ900 or SEQ008 says why; SEQ001 cannot judge without the column's extent.
    users_seq = sequence("users_id_seq")
    users_id = column("users", "id", fed_by=users_seq, indexed=False)

    assert findings(CHECK, snapshot(users_seq, users_id)) == []


def test_ok_when_the_sequence_is_exhausted() -> None:
    # nextval() fails at MAXVALUE before it can collide: SEQ003's finding, not this one.
    full = sequence("full_seq", max_value=100, last_value=100)
    full_id = column("things", "id", fed_by=full)
    snap = snapshot(full, full_id, extents={full_id: holding(1, 100, first_collision=100)})

    assert findings(CHECK, snap) == []


def on_standby(last_value: int, high: int, first_collision: int) -> list[Finding]:
    """SEQ001 on a hot standby that read *last_value* (bigint, step 1, called), 32 calls ahead."""
    seq = sequence("users_id_seq", type_name="int8", last_value=last_value).replayed()
    users_id = column("users", "id", fed_by=seq)
    extent = holding(1, high, first_collision=first_collision)
    return findings(CHECK, snapshot(seq, users_id, extents={users_id: extent}))


def test_on_a_standby_data_between_the_bounds_cannot_be_judged() -> None:
    (finding,) = on_standby(133, 120, first_collision=102)

    assert finding.severity is Severity.UNKNOWN
    assert finding.message == (
        "sequence public.users_id_seq may be behind public.users.id: on a hot standby, the "
        "primary's next value is between 102 and 134, and the column holds values in that range"
        " (the first 102, column max 120): only the primary's position tells whether nextval()"
        " will return them; check on the primary"
    )
    assert finding.details["next_value"] == 102
    assert finding.details["latest_next_value"] == 134


def test_on_a_standby_data_past_its_position_is_critical() -> None:
    (finding,) = on_standby(133, 500, first_collision=110)

    assert finding.severity is Severity.CRITICAL
    assert finding.message == (
        "sequence public.users_id_seq is behind public.users.id: the column holds 500, which "
        "nextval() will return wherever the primary is; on a hot standby, the primary's next "
        "value is between 102 and 134; from the earliest, 8 nextval() calls succeed, then it "
        "returns 110"
    )


def test_on_a_standby_data_behind_the_earliest_position_is_fine() -> None:
    # The probe finds no collision from the earliest position: nothing to say.
    seq = sequence("users_id_seq", type_name="int8", last_value=1_000).replayed()
    users_id = column("users", "id", fed_by=seq)
    assert findings(CHECK, snapshot(seq, users_id, extents={users_id: holding(1, 900)})) == []


def test_a_cache_widens_the_standby_bounds() -> None:
    seq = replace(sequence("s", type_name="int8", last_value=1_000), cache_size=20).replayed()
    assert seq.ahead_by == 32 + 19
    assert seq.earliest.next_value == 1_000 - 51 + 1


ANALYZED = datetime(2026, 12, 3, 0, 53, 31, tzinfo=UTC)


def test_statistics_showing_a_value_ahead_say_the_sequence_is_likely_behind() -> None:
    # Increment 2 from 11: 12 is off its step, 500 past its MAXVALUE, 13 is handed out.
    seq = sequence("payment_payment_id_seq", increment=2, max_value=100, last_value=9)
    payment_id = column("payment", "payment_id", fed_by=seq, indexed=False, relkind="p")
    sample = StatisticsSample("public", "payment_p2022_02", ANALYZED, (3, 10, 12, 13, 500))
    snap = replace(snapshot(seq, payment_id), statistics={payment_id.key: (sample,)})

    (finding,) = findings(CHECK, snap)

    assert finding.severity is Severity.CRITICAL
    assert finding.message == (
        "sequence public.payment_payment_id_seq is likely behind public.payment.payment_id: "
        "the planner's statistics of public.payment_p2022_02 (analyzed 2026-12-03 00:53:31 "
        "UTC) show the column held 13 (sampled max 500), and 1 nextval() call succeeds, then "
        "it returns 13 (next value 11), unless a value the sample missed comes first; no index "
        "leads with the column, so its max() was not read (--allow-seqscan reads it)"
    )
    assert finding.details["evidence"] == "statistics"
    assert finding.details["first_collision"] == 13
    assert finding.details["column_max"] is None
    assert finding.details["statistics"] == [
        {
            "schema": "public",
            "table": "payment_p2022_02",
            "analyzed_at": "2026-12-03T00:53:31+00:00",
            "sampled_min": 3,
            "sampled_max": 500,
        }
    ]


def test_statistics_showing_nothing_ahead_raise_nothing_here() -> None:
    seq = sequence("payment_payment_id_seq", last_value=1000)
    payment_id = column("payment", "payment_id", fed_by=seq, indexed=False)
    sample = StatisticsSample("public", "payment", None, (1, 500, 1000))
    snap = replace(snapshot(seq, payment_id), statistics={payment_id.key: (sample,)})

    assert findings(CHECK, snap) == []


def test_a_value_read_by_scanning_says_so() -> None:
    seq = sequence("log_id_seq", last_value=41)
    log_id = column("log", "id", fed_by=seq, unique=False, indexed=False)
    snap = snapshot(seq, log_id, extents={log_id: holding(1, 100, first_collision=42)})

    (finding,) = findings(CHECK, snap)

    assert "(column max 100, read by scanning the table, next value 42)" in finding.message
    assert finding.details["evidence"] == "scan"


def test_on_a_standby_statistics_between_the_bounds_cannot_be_judged() -> None:
    seq = sequence("users_id_seq", type_name="int8", last_value=133).replayed()
    users_id = column("users", "id", fed_by=seq, indexed=False)
    between = StatisticsSample("public", "users", None, (1, 110))
    past = StatisticsSample("public", "users", None, (1, 110, 500))

    (unsure,) = findings(
        CHECK, replace(snapshot(seq, users_id), statistics={users_id.key: (between,)})
    )
    (sure,) = findings(CHECK, replace(snapshot(seq, users_id), statistics={users_id.key: (past,)}))

    assert unsure.severity is Severity.UNKNOWN
    assert unsure.message.endswith("only the primary's position tells whether it will")
    assert unsure.details["latest_next_value"] == 134
    assert sure.severity is Severity.CRITICAL
    assert sure.details["first_collision"] == 110
