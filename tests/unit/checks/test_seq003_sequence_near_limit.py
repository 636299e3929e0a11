"""SEQ003 sequence-near-limit: a sequence near or at its own MAXVALUE (MINVALUE descending)."""

from __future__ import annotations

import pytest

from seqdoctor.checks import Severity
from seqdoctor.checks.base import SequenceRef
from seqdoctor.checks.seq003_sequence_near_limit import CHECK
from tests.unit.factories import column, findings, sequence, snapshot


def test_finding_when_a_sequence_has_used_most_of_its_range() -> None:
    invoice_no = sequence("invoice_no", max_value=1000, last_value=750)

    (finding,) = findings(CHECK, snapshot(invoice_no))

    assert finding.message == (
        "sequence public.invoice_no has used 75% of its range (MAXVALUE 1,000): "
        "250 nextval() calls left"
    )
    assert finding.severity is Severity.WARNING
    assert (finding.code, finding.check) == ("SEQ003", "sequence-near-limit")
    assert finding.sequence == SequenceRef("public", "invoice_no")
    assert finding.column is None
    assert finding.details == {
        "used_ratio": 0.75,
        "values_left": 250,
        "limit": 1000,
        "last_value": 750,
        "data_type": "integer",
    }


@pytest.mark.parametrize(
    ("last_value", "severity"),
    [
        (749, None),
        (750, Severity.WARNING),  # exactly 75 %
        (899, Severity.WARNING),
        (900, Severity.CRITICAL),  # exactly 90 %
    ],
)
def test_finding_at_exactly_the_thresholds(last_value: int, severity: Severity | None) -> None:
    invoice_no = sequence("invoice_no", max_value=1000, last_value=last_value)

    found = findings(CHECK, snapshot(invoice_no))

    assert [f.severity for f in found] == ([severity] if severity else [])


def test_finding_when_the_sequence_has_reached_maxvalue() -> None:
    invoice_no = sequence("invoice_no", max_value=1000, last_value=1000)

    (finding,) = findings(CHECK, snapshot(invoice_no))

    assert finding.message == (
        "sequence public.invoice_no has reached its MAXVALUE 1,000: the next nextval() fails"
    )
    assert finding.severity is Severity.CRITICAL
    assert finding.details["used_ratio"] == 1.0
    assert finding.details["values_left"] == 0


def test_finding_when_a_descending_sequence_nears_minvalue() -> None:
    countdown = sequence("countdown", increment=-1, min_value=-1000, last_value=-900)

    (finding,) = findings(CHECK, snapshot(countdown))

    assert finding.message == (
        "sequence public.countdown has used 90% of its range (MINVALUE -1,000): "
        "100 nextval() calls left"
    )
    assert finding.severity is Severity.CRITICAL
    assert finding.details["limit"] == -1000


def test_finding_when_a_descending_sequence_has_reached_minvalue() -> None:
    countdown = sequence("countdown", increment=-1, min_value=-1000, last_value=-1000)

    (finding,) = findings(CHECK, snapshot(countdown))

    assert finding.message == (
        "sequence public.countdown has reached its MINVALUE -1,000: the next nextval() fails"
    )


def test_finding_with_increment_10_counts_calls_left() -> None:
    # 961, 971, 981, 991 are left.
    tens = sequence("tens", increment=10, max_value=1000, last_value=951)

    (finding,) = findings(CHECK, snapshot(tens))

    assert finding.message == (
        "sequence public.tens has used 96% of its range (MAXVALUE 1,000): 4 nextval() calls left"
    )


def test_finding_with_one_call_left_says_so_in_the_singular() -> None:
    invoice_no = sequence("invoice_no", max_value=1000, last_value=999)

    (finding,) = findings(CHECK, snapshot(invoice_no))

    assert finding.message == (
        "sequence public.invoice_no has used 99% of its range (MAXVALUE 1,000): "
        "1 nextval() call left"
    )
    assert finding.details["values_left"] == 1


def test_finding_counts_the_range_from_the_start_value() -> None:
    # START 501: 501 to 1,000 is its range, and 950 has used 90 % of it.
    invoice_no = sequence("invoice_no", max_value=1000, start=501, last_value=950)

    (finding,) = findings(CHECK, snapshot(invoice_no))

    assert finding.message == (
        "sequence public.invoice_no has used 90% of its range (MAXVALUE 1,000): "
        "50 nextval() calls left"
    )
    assert finding.details["used_ratio"] == 0.9


def test_ok_for_a_sequence_started_near_its_limit_that_has_used_little() -> None:
    # START 901: 901 to 950 is half of its range, though 950 is 95 % of the way from 1.
    invoice_no = sequence("invoice_no", max_value=1000, start=901, last_value=950)

    assert findings(CHECK, snapshot(invoice_no)) == []


def test_finding_with_increment_10_reached_when_the_next_step_overshoots() -> None:
    tens = sequence("tens", increment=10, max_value=1000, last_value=991)

    (finding,) = findings(CHECK, snapshot(tens))

    assert finding.message.endswith("has reached its MAXVALUE 1,000: the next nextval() fails")


def test_finding_for_a_widened_serial_whose_sequence_is_still_integer() -> None:
    orders_seq = sequence("orders_id_seq", type_name="int4", last_value=2_000_000_000)
    orders_id = column("orders", "id", fed_by=orders_seq, type_name="int8")

    (finding,) = findings(CHECK, snapshot(orders_seq, orders_id))

    assert finding.message == (
        "sequence public.orders_id_seq has used 93% of its range (MAXVALUE 2,147,483,647): "
        "147,483,647 nextval() calls left"
    )
    assert finding.details["data_type"] == "integer"


def test_finding_once_for_a_shared_sequence() -> None:
    # A shared sequence is one sequence: one finding, whatever it feeds.
    shared = sequence("card_ids", max_value=1000, last_value=950)
    gift_cards = column("gift_cards", "id", fed_by=shared)
    vouchers = column("vouchers", "id", fed_by=shared)

    assert len(findings(CHECK, snapshot(shared, gift_cards, vouchers))) == 1


def test_ok_for_a_fresh_sequence() -> None:
    assert findings(CHECK, snapshot(sequence("orders_id_seq", type_name="int8"))) == []


@pytest.mark.parametrize("last_value", [950, 1000])
def test_ok_for_a_cycling_sequence_even_at_its_limit(last_value: int) -> None:
    ring = sequence("ring", max_value=1000, cycle=True, last_value=last_value)

    assert findings(CHECK, snapshot(ring)) == []


def test_ok_when_the_position_is_unknown() -> None:
    assert findings(CHECK, snapshot(sequence("hidden", readable=False))) == []
