"""SEQ002 column-near-overflow: a sequence-fed column is running out of values."""

from __future__ import annotations

import pytest

from seqdoctor.checks import Settings, Severity
from seqdoctor.checks.base import ColumnRef, SequenceRef
from seqdoctor.checks.seq002_column_near_overflow import CHECK, column_range
from tests.unit.factories import INT4_MAX, INT4_MIN, INT8_MAX, column, findings, sequence, snapshot


def test_finding_when_an_integer_column_nears_its_type_limit() -> None:
    # A bigint sequence (made before PostgreSQL 10) feeding an integer column.
    orders_seq = sequence("orders_id_seq", type_name="int8", last_value=2_000_000_000)
    orders_id = column("orders", "id", fed_by=orders_seq, type_name="int4")

    (finding,) = findings(CHECK, snapshot(orders_seq, orders_id))

    assert finding.message == (
        "public.orders.id has used 93% of integer "
        "(next value 2,000,000,001, limit 2,147,483,647): 147,483,647 values left"
    )
    assert finding.severity is Severity.CRITICAL
    assert finding.sequence == SequenceRef("public", "orders_id_seq")
    assert finding.column == ColumnRef("public", "orders", "id")
    assert finding.details == {
        "used_ratio": 0.931323,
        "values_left": 147_483_647,
        "limit": INT4_MAX,
        "limited_by": "column type",
        "last_value": 2_000_000_000,
        "column_type": "integer",
    }


def test_finding_when_column_and_sequence_share_the_limit() -> None:
    orders_seq = sequence("orders_id_seq", last_value=1_800_000_000)
    orders_id = column("orders", "id", fed_by=orders_seq)

    (finding,) = findings(CHECK, snapshot(orders_seq, orders_id))

    assert finding.message == (
        "public.orders.id has used 83% of integer "
        "(next value 1,800,000,001, limit 2,147,483,647): 347,483,647 values left"
    )
    assert finding.severity is Severity.WARNING
    assert finding.details["limited_by"] == "column type and sequence"


def test_finding_for_a_widened_serial_whose_sequence_is_still_integer() -> None:
    # ALTER TABLE orders ALTER COLUMN id TYPE bigint leaves orders_id_seq AS integer.
    orders_seq = sequence("orders_id_seq", type_name="int4", last_value=2_000_000_000)
    orders_id = column("orders", "id", fed_by=orders_seq, type_name="int8")

    (finding,) = findings(CHECK, snapshot(orders_seq, orders_id))

    assert finding.message == (
        "public.orders.id has used 93% of its sequence's range "
        "(next value 2,000,000,001, limit 2,147,483,647): 147,483,647 values left"
    )
    assert finding.severity is Severity.CRITICAL
    assert finding.details["limited_by"] == "sequence"
    assert finding.details["limit"] == INT4_MAX
    assert finding.details["column_type"] == "bigint"


def test_finding_for_a_descending_sequence_counts_towards_the_type_minimum() -> None:
    credits_seq = sequence("credits_id_seq", increment=-1, last_value=-2_000_000_000)
    credits_id = column("credits", "id", fed_by=credits_seq)

    (finding,) = findings(CHECK, snapshot(credits_seq, credits_id))

    assert finding.message == (
        "public.credits.id has used 93% of integer "
        "(next value -2,000,000,001, limit -2,147,483,648): 147,483,648 values left"
    )
    assert finding.details["limit"] == INT4_MIN
    assert finding.details["limited_by"] == "column type and sequence"


@pytest.mark.parametrize(
    ("last_value", "severity"),
    [
        (749, None),
        (750, Severity.WARNING),  # exactly 75 %
        (899, Severity.WARNING),
        (900, Severity.CRITICAL),  # exactly 90 %
        (1000, Severity.CRITICAL),
    ],
)
def test_finding_at_exactly_the_thresholds(last_value: int, severity: Severity | None) -> None:
    invoices_seq = sequence("invoices_id_seq", max_value=1000, last_value=last_value)
    invoices_id = column("invoices", "id", fed_by=invoices_seq)

    found = findings(CHECK, snapshot(invoices_seq, invoices_id))

    assert [f.severity for f in found] == ([severity] if severity else [])


def test_finding_at_exactly_75_percent_of_a_type() -> None:
    # smallint from 0: 32,768 values, of which 0 to 24,575 (24,576) are used.
    tags_seq = sequence("tags_id_seq", type_name="int2", min_value=0, last_value=24_575)
    tags_id = column("tags", "id", fed_by=tags_seq)

    (finding,) = findings(CHECK, snapshot(tags_seq, tags_id))

    assert finding.message == (
        "public.tags.id has used 75% of smallint (next value 24,576, limit 32,767): "
        "8,192 values left"
    )
    assert finding.severity is Severity.WARNING
    assert finding.details["used_ratio"] == 0.75


def test_finding_message_for_a_limit_the_sequence_sets() -> None:
    invoices_seq = sequence("invoices_id_seq", max_value=1000, last_value=750)
    invoices_id = column("invoices", "id", fed_by=invoices_seq)

    (finding,) = findings(CHECK, snapshot(invoices_seq, invoices_id))

    assert finding.message == (
        "public.invoices.id has used 75% of its sequence's range (next value 751, limit 1,000): "
        "250 values left"
    )
    assert finding.details == {
        "used_ratio": 0.75,
        "values_left": 250,
        "limit": 1000,
        "limited_by": "sequence",
        "last_value": 750,
        "column_type": "integer",
    }


def test_finding_when_the_column_is_full() -> None:
    invoices_seq = sequence("invoices_id_seq", max_value=1000, last_value=1000)
    invoices_id = column("invoices", "id", fed_by=invoices_seq)

    (finding,) = findings(CHECK, snapshot(invoices_seq, invoices_id))

    assert finding.message.endswith("(exhausted, limit 1,000): 0 values left")
    assert finding.message.startswith("public.invoices.id has used 100% of")
    assert finding.details["used_ratio"] == 1.0


def test_finding_with_one_value_left_says_so_in_the_singular() -> None:
    invoices_seq = sequence("invoices_id_seq", max_value=1000, last_value=999)
    invoices_id = column("invoices", "id", fed_by=invoices_seq)

    (finding,) = findings(CHECK, snapshot(invoices_seq, invoices_id))

    assert finding.message == (
        "public.invoices.id has used 99% of its sequence's range (next value 1,000, limit 1,000): "
        "1 value left"
    )
    assert finding.details["values_left"] == 1


def test_finding_when_a_wider_sequence_has_passed_the_column_limit() -> None:
    # nextval() still succeeds, but the value does not fit the integer column.
    orders_seq = sequence("orders_id_seq", type_name="int8", last_value=3_000_000_000)
    orders_id = column("orders", "id", fed_by=orders_seq, type_name="int4")

    (finding,) = findings(CHECK, snapshot(orders_seq, orders_id))

    assert finding.message == (
        "public.orders.id has used 100% of integer "
        "(next value 3,000,000,001, limit 2,147,483,647): 0 values left"
    )
    assert finding.severity is Severity.CRITICAL


def test_finding_counts_from_the_start_value_not_from_minvalue() -> None:
    # START 1,000,000,000: the ids below were never this sequence's to hand out, so
    # 1,000,000,000 to 2,147,483,647 is its range, and 1,900,000,000 has used 78 % of it.
    orders_seq = sequence("orders_id_seq", start=1_000_000_000, last_value=1_900_000_000)
    orders_id = column("orders", "id", fed_by=orders_seq)

    (finding,) = findings(CHECK, snapshot(orders_seq, orders_id))

    assert finding.message == (
        "public.orders.id has used 78% of integer "
        "(next value 1,900,000,001, limit 2,147,483,647): 247,483,647 values left"
    )
    assert finding.details["used_ratio"] == 0.784325
    assert finding.severity is Severity.WARNING


def test_ok_for_a_sequence_started_high_that_has_not_been_called() -> None:
    # A reserved block from 2,000,000,000 has used nothing before its first call, although
    # 2,000,000,000 is 93 % of the way to the integer limit.
    reserved = sequence("reserved_id_seq", start=2_000_000_000)
    reserved_id = column("reserved", "id", fed_by=reserved)

    assert findings(CHECK, snapshot(reserved, reserved_id)) == []


def test_finding_with_increment_10_counts_the_calls_left() -> None:
    # 1, 11, ..., 901 handed out; 911 to 991 left: nine calls, 91 % of 1,000 used.
    tens = sequence("tens", increment=10, max_value=1000, last_value=901)
    tens_id = column("things", "id", fed_by=tens)

    (finding,) = findings(CHECK, snapshot(tens, tens_id))

    assert finding.message == (
        "public.things.id has used 91% of its sequence's range (next value 911, limit 1,000): "
        "9 values left"
    )
    assert finding.severity is Severity.CRITICAL


def test_finding_only_for_the_narrow_column_of_a_shared_sequence() -> None:
    shared = sequence("order_ids", type_name="int8", last_value=2_000_000_000)
    legacy = column("legacy_orders", "id", fed_by=shared, type_name="int4")
    current = column("orders", "id", fed_by=shared, type_name="int8")

    (finding,) = findings(CHECK, snapshot(shared, legacy, current))

    assert finding.column == ColumnRef("public", "legacy_orders", "id")


def test_finding_for_a_cycling_sequence_that_overflows_the_column_before_it_wraps() -> None:
    # The bigint sequence would wrap at 9.2e18; the integer column breaks at 2.1e9.
    events_seq = sequence("events_id_seq", type_name="int8", cycle=True, last_value=2_000_000_000)
    events_id = column("events", "id", fed_by=events_seq, type_name="int4")

    (finding,) = findings(CHECK, snapshot(events_seq, events_id))

    assert finding.details["limited_by"] == "column type"


def test_finding_quotes_names_that_need_it() -> None:
    lines_seq = sequence("Order Lines_id_seq", last_value=2_000_000_000)
    lines_id = column("Order Lines", "id", fed_by=lines_seq)

    (finding,) = findings(CHECK, snapshot(lines_seq, lines_id))

    assert finding.message.startswith('public."Order Lines".id has used 93% of integer')


def test_finding_follows_the_thresholds_given() -> None:
    invoices_seq = sequence("invoices_id_seq", max_value=1000, last_value=550)
    invoices_id = column("invoices", "id", fed_by=invoices_seq)
    snap = snapshot(invoices_seq, invoices_id)

    (finding,) = findings(CHECK, snap, Settings(warning_ratio=0.5, critical_ratio=0.6))

    assert finding.severity is Severity.WARNING


def test_ok_below_the_warning_threshold() -> None:
    orders_seq = sequence("orders_id_seq", last_value=1_000_000)
    orders_id = column("orders", "id", fed_by=orders_seq)

    assert findings(CHECK, snapshot(orders_seq, orders_id)) == []


@pytest.mark.parametrize("max_value", [INT4_MAX, 1000])
def test_ok_for_a_cycling_sequence_that_wraps_before_the_column_overflows(max_value: int) -> None:
    ring_seq = sequence("ring_id_seq", max_value=max_value, cycle=True, last_value=max_value - 1)
    ring_id = column("ring", "id", fed_by=ring_seq)

    assert findings(CHECK, snapshot(ring_seq, ring_id)) == []


@pytest.mark.parametrize("type_name", ["numeric", "text"])
def test_ok_for_a_column_of_no_integer_type(type_name: str) -> None:
    # numeric(20) and text have no fixed limit seqdoctor could measure against.
    orders_seq = sequence("orders_id_seq", type_name="int8", last_value=INT8_MAX - 1)
    orders_id = column("orders", "id", fed_by=orders_seq, type_name=type_name)

    assert findings(CHECK, snapshot(orders_seq, orders_id)) == []


def test_ok_when_the_sequence_position_is_unknown() -> None:
    # SEQ900 reports the sequence as not checked.
    hidden = sequence("hidden_id_seq", readable=False)
    hidden_id = column("hidden", "id", fed_by=hidden)

    assert findings(CHECK, snapshot(hidden, hidden_id)) == []


@pytest.mark.parametrize(
    ("sequence_type", "column_type", "max_value", "limit", "limited_by"),
    [
        ("int4", "int4", None, INT4_MAX, "column type and sequence"),
        ("int8", "int4", None, INT4_MAX, "column type"),
        ("int4", "int8", None, INT4_MAX, "sequence"),
        ("int8", "int4", 1000, 1000, "sequence"),
        ("int8", "int4", INT4_MAX, INT4_MAX, "column type and sequence"),
    ],
)
def test_column_range_names_what_stops_the_column(
    sequence_type: str, column_type: str, max_value: int | None, limit: int, limited_by: str
) -> None:
    seq = sequence(type_name=sequence_type, max_value=max_value)
    use = column(fed_by=seq, type_name=column_type)

    assert column_range(seq, use) == (1, limit, limited_by)


def test_column_range_of_a_descending_sequence_runs_from_its_start_down() -> None:
    seq = sequence(type_name="int8", increment=-1)

    assert column_range(seq, column(fed_by=seq, type_name="int4")) == (-1, INT4_MIN, "column type")


def test_column_range_starts_at_the_start_value() -> None:
    seq = sequence(min_value=1, start=1000)

    assert column_range(seq, column(fed_by=seq)) == (1000, INT4_MAX, "column type and sequence")


def test_column_range_starts_no_lower_than_the_column_type_holds() -> None:
    seq = sequence(type_name="int8", min_value=-(2**40), start=-(2**40))

    assert column_range(seq, column(fed_by=seq, type_name="int4")) == (
        INT4_MIN,
        INT4_MAX,
        "column type",
    )


def test_column_range_of_a_descending_sequence_starts_no_higher_than_the_type_holds() -> None:
    seq = sequence(type_name="int8", increment=-1, max_value=2**40, start=2**40)

    assert column_range(seq, column(fed_by=seq, type_name="int4")) == (
        INT4_MAX,
        INT4_MIN,
        "column type",
    )
