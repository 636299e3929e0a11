"""SEQ007 unused-sequence: a sequence that feeds no column."""

from __future__ import annotations

from seqdoctor.catalog.model import ColumnKind
from seqdoctor.checks import Severity
from seqdoctor.checks.base import SequenceRef
from seqdoctor.checks.seq007_unused_sequence import CHECK
from tests.unit.factories import column, findings, sequence, snapshot


def test_finding_for_a_sequence_no_column_takes_values_from() -> None:
    invoice_no = sequence("invoice_no", schema="billing", last_value=1234)

    (finding,) = findings(CHECK, snapshot(invoice_no))

    assert finding.message == (
        "sequence billing.invoice_no feeds no column "
        "(fine if the application calls nextval() on it)"
    )
    assert finding.severity is Severity.INFO
    assert finding.sequence == SequenceRef("billing", "invoice_no")
    assert finding.column is None
    assert finding.details == {"last_value": 1234, "is_called": True}


def test_finding_for_a_fresh_orphan_left_by_a_dropped_default() -> None:
    orphan = sequence("old_things_id_seq")

    (finding,) = findings(CHECK, snapshot(orphan))

    assert finding.details == {"last_value": 1, "is_called": False}


def test_finding_for_an_unreadable_orphan_has_no_position() -> None:
    hidden = sequence("hidden", readable=False)

    (finding,) = findings(CHECK, snapshot(hidden))

    assert finding.details == {"last_value": None, "is_called": None}


def test_finding_only_for_the_unused_sequence() -> None:
    orders_seq = sequence("orders_id_seq")
    orders_id = column("orders", "id", fed_by=orders_seq)
    orphan = sequence("old_orders_id_seq")

    (finding,) = findings(CHECK, snapshot(orders_seq, orders_id, orphan))

    assert finding.sequence == SequenceRef("public", "old_orders_id_seq")


def test_ok_for_a_sequence_shared_by_two_columns() -> None:
    shared = sequence("card_ids")
    gift_cards = column("gift_cards", "id", fed_by=shared)
    vouchers = column("vouchers", "id", fed_by=shared)

    assert findings(CHECK, snapshot(shared, gift_cards, vouchers)) == []


def test_ok_for_a_sequence_feeding_a_plain_default() -> None:
    # DEFAULT nextval('order_numbers'), a sequence the column does not own.
    numbers = sequence("order_numbers")
    order_no = column("orders", "no", fed_by=numbers, kind=ColumnKind.DEFAULT)

    assert findings(CHECK, snapshot(numbers, order_no)) == []
