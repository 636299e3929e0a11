"""SEQ005 referencing-column-narrower: a foreign key narrower than the sequence-fed key it names."""

from __future__ import annotations

from dataclasses import replace

import pytest

from seqdoctor.checks import Severity
from seqdoctor.checks.base import ColumnRef, SequenceRef
from seqdoctor.checks.seq005_referencing_column_narrower import CHECK
from tests.unit.factories import (
    INT4_MAX,
    INT4_MIN,
    column,
    findings,
    foreign_key,
    sequence,
    snapshot,
)


def test_finding_for_an_integer_foreign_key_to_a_bigint_key() -> None:
    orders_seq = sequence("orders_id_seq", type_name="int8", last_value=1000)
    orders_id = column("orders", "id", fed_by=orders_seq)
    order_id = foreign_key("order_items", "order_id", references=orders_id, type_name="int4")

    (finding,) = findings(CHECK, snapshot(orders_seq, orders_id, order_id))

    assert finding.message == (
        "public.order_items.order_id (integer) references public.orders.id (bigint) through "
        "order_items_order_id_fkey: it breaks at 2,147,483,647, before the key does; "
        "the key's sequence has used 0% of integer"
    )
    assert finding.severity is Severity.WARNING
    assert finding.sequence == SequenceRef("public", "orders_id_seq")
    assert finding.column == ColumnRef("public", "orders", "id")
    assert finding.details == {
        "referencing_column": {"schema": "public", "table": "order_items", "column": "order_id"},
        "referencing_type": "integer",
        "constraint": "order_items_order_id_fkey",
        "used_ratio": 0.0,
        "limit": INT4_MAX,
    }


def test_finding_is_critical_once_the_sequence_passed_the_critical_share_of_the_narrow_type() -> (
    None
):
    # 2,000,000,000 is 0.00002 % of bigint, but 93 % of integer.
    orders_seq = sequence("orders_id_seq", type_name="int8", last_value=2_000_000_000)
    orders_id = column("orders", "id", fed_by=orders_seq)
    order_id = foreign_key("order_items", "order_id", references=orders_id, type_name="int4")

    (finding,) = findings(CHECK, snapshot(orders_seq, orders_id, order_id))

    assert finding.severity is Severity.CRITICAL
    assert finding.message.endswith("the key's sequence has used 93% of integer")
    assert finding.details["used_ratio"] == 0.931323


@pytest.mark.parametrize(
    ("last_value", "severity"),
    [(1_932_735_282, Severity.WARNING), (1_932_735_283, Severity.CRITICAL)],
    ids=["just-below-90%", "just-past-90%"],
)
def test_finding_severity_turns_at_the_critical_ratio(last_value: int, severity: Severity) -> None:
    orders_seq = sequence("orders_id_seq", type_name="int8", last_value=last_value)
    orders_id = column("orders", "id", fed_by=orders_seq)
    order_id = foreign_key("order_items", "order_id", references=orders_id, type_name="int4")

    (finding,) = findings(CHECK, snapshot(orders_seq, orders_id, order_id))

    assert finding.severity is severity


def test_finding_for_a_descending_key_breaks_at_the_narrow_minimum() -> None:
    credits_seq = sequence(
        "credits_id_seq", type_name="int8", increment=-1, last_value=-2_000_000_000
    )
    credits_id = column("credits", "id", fed_by=credits_seq)
    credit_id = foreign_key("refunds", "credit_id", references=credits_id, type_name="int4")

    (finding,) = findings(CHECK, snapshot(credits_seq, credits_id, credit_id))

    assert finding.message == (
        "public.refunds.credit_id (integer) references public.credits.id (bigint) through "
        "refunds_credit_id_fkey: it breaks at -2,147,483,648, before the key does; "
        "the key's sequence has used 93% of integer"
    )
    assert finding.severity is Severity.CRITICAL
    assert finding.details["limit"] == INT4_MIN


def test_finding_for_a_smallint_foreign_key_to_an_integer_key() -> None:
    orders_seq = sequence("orders_id_seq", type_name="int4", last_value=30_000)
    orders_id = column("orders", "id", fed_by=orders_seq)
    order_id = foreign_key("order_items", "order_id", references=orders_id, type_name="int2")

    (finding,) = findings(CHECK, snapshot(orders_seq, orders_id, order_id))

    assert finding.message == (
        "public.order_items.order_id (smallint) references public.orders.id (integer) through "
        "order_items_order_id_fkey: it breaks at 32,767, before the key does; "
        "the key's sequence has used 91% of smallint"
    )
    assert finding.severity is Severity.CRITICAL


def test_finding_for_each_narrow_foreign_key_to_the_same_key() -> None:
    orders_seq = sequence("orders_id_seq", type_name="int8", last_value=1000)
    orders_id = column("orders", "id", fed_by=orders_seq)
    items = foreign_key("order_items", "order_id", references=orders_id, type_name="int4")
    refunds = foreign_key("refunds", "order_id", references=orders_id, type_name="int4")
    notes = foreign_key("order_notes", "order_id", references=orders_id, type_name="int8")

    found = findings(CHECK, snapshot(orders_seq, orders_id, items, refunds, notes))

    assert [f.details["constraint"] for f in found] == [
        "order_items_order_id_fkey",
        "refunds_order_id_fkey",
    ]


@pytest.mark.parametrize(
    ("key_type", "foreign_key_type"), [("int8", "int8"), ("int4", "int4"), ("int4", "int8")]
)
def test_ok_when_the_foreign_key_is_as_wide_as_the_key(
    key_type: str, foreign_key_type: str
) -> None:
    orders_seq = sequence("orders_id_seq", type_name=key_type, last_value=2_000_000_000)
    orders_id = column("orders", "id", fed_by=orders_seq)
    order_id = foreign_key(
        "order_items", "order_id", references=orders_id, type_name=foreign_key_type
    )

    assert findings(CHECK, snapshot(orders_seq, orders_id, order_id)) == []


def test_ok_when_the_foreign_key_references_a_column_no_sequence_feeds() -> None:
    orders_seq = sequence("orders_id_seq", type_name="int8")
    orders_id = column("orders", "id", fed_by=orders_seq)
    to_id = foreign_key("shipments", "order_no", references=orders_id, type_name="int4")
    to_order_no = replace(to_id, referenced_attnum=2)  # orders.order_no: a plain bigint

    assert findings(CHECK, snapshot(orders_seq, orders_id, to_order_no)) == []


def test_ok_when_the_key_is_of_no_integer_type() -> None:
    orders_seq = sequence("orders_id_seq", type_name="int8")
    orders_id = column("orders", "id", fed_by=orders_seq, type_name="numeric")
    order_id = foreign_key("order_items", "order_id", references=orders_id, type_name="int4")

    assert findings(CHECK, snapshot(orders_seq, orders_id, order_id)) == []


def test_finding_does_not_report_an_unknown_position_as_zero_percent() -> None:
    orders_seq = sequence("orders_id_seq", type_name="int8", readable=False)
    orders_id = column("orders", "id", fed_by=orders_seq)
    order_id = foreign_key("order_items", "order_id", references=orders_id, type_name="int4")

    (finding,) = findings(CHECK, snapshot(orders_seq, orders_id, order_id))

    assert finding.message == (
        "public.order_items.order_id (integer) references public.orders.id (bigint) through "
        "order_items_order_id_fkey: it breaks at 2,147,483,647, before the key does; "
        "the key's sequence has used an unknown share of integer"
    )
    assert finding.severity is Severity.WARNING
    assert finding.details["used_ratio"] is None


def test_finding_counts_the_narrow_range_from_the_start_value() -> None:
    # START 1,000,000,000: 1,000,000,000 to 2,147,483,647 is what the integer key can take,
    # and 1,900,000,000 has used 78 % of it (88 % had it counted from 1).
    orders_seq = sequence(
        "orders_id_seq", type_name="int8", start=1_000_000_000, last_value=1_900_000_000
    )
    orders_id = column("orders", "id", fed_by=orders_seq)
    order_id = foreign_key("order_items", "order_id", references=orders_id, type_name="int4")

    (finding,) = findings(CHECK, snapshot(orders_seq, orders_id, order_id))

    assert finding.message.endswith("the key's sequence has used 78% of integer")
    assert finding.details["used_ratio"] == 0.784325
    assert finding.severity is Severity.WARNING
