"""SEQ900 not-checked: something the audit could not read, and so could not judge."""

from __future__ import annotations

from dataclasses import replace

from seqdoctor.catalog.model import Reason, StatisticsSample, Unreadable
from seqdoctor.checks import Severity
from seqdoctor.checks.base import ColumnRef, SequenceRef
from seqdoctor.checks.seq900_not_checked import CHECK
from tests.unit.factories import column, findings, sequence, snapshot


def test_finding_for_a_sequence_the_role_may_not_read() -> None:
    invoices_seq = sequence("invoices_id_seq", schema="billing", readable=False)
    remedy = (
        "GRANT USAGE ON SCHEMA billing TO monitoring; "
        "GRANT SELECT ON SEQUENCE billing.invoices_id_seq TO monitoring;"
    )
    denied = Unreadable(
        Reason.PRIVILEGE,
        "role monitoring may not read sequence billing.invoices_id_seq",
        sequence_oid=invoices_seq.oid,
        remedy=remedy,
    )

    (finding,) = findings(CHECK, snapshot(invoices_seq, unreadable=[denied]))

    assert (
        finding.message
        == "not checked: role monitoring may not read sequence billing.invoices_id_seq"
    )
    assert finding.severity is Severity.UNKNOWN
    assert finding.sequence == SequenceRef("billing", "invoices_id_seq")
    assert finding.column is None
    assert finding.details == {"reason": "privilege", "remedy": remedy}


def test_finding_for_a_column_names_the_column_and_its_sequence() -> None:
    orders_seq = sequence("orders_id_seq", last_value=10)
    orders_id = column("orders", "id", fed_by=orders_seq)
    timed_out = Unreadable(
        Reason.LOCK_TIMEOUT,
        "column public.orders.id: canceling statement due to lock timeout",
        column_key=orders_id.key,
    )

    (finding,) = findings(CHECK, snapshot(orders_seq, orders_id, unreadable=[timed_out]))

    assert finding.message == (
        "not checked: column public.orders.id: canceling statement due to lock timeout"
    )
    assert finding.sequence == SequenceRef("public", "orders_id_seq")
    assert finding.column == ColumnRef("public", "orders", "id")
    assert finding.details == {"reason": "lock-timeout", "remedy": None}


def test_finding_for_each_thing_not_read() -> None:
    orders_seq = sequence("orders_id_seq", readable=False)
    orders_id = column("orders", "id", fed_by=orders_seq, row_security=True)
    entries = [
        Unreadable(
            Reason.PRIVILEGE,
            "role monitoring may not read sequence public.orders_id_seq",
            sequence_oid=orders_seq.oid,
        ),
        Unreadable(
            Reason.ROW_SECURITY,
            "row-level security hides rows of public.orders",
            column_key=orders_id.key,
        ),
    ]

    found = findings(CHECK, snapshot(orders_seq, orders_id, unreadable=entries))

    assert [f.details["reason"] for f in found] == ["privilege", "row-security"]


def test_finding_about_nothing_in_particular() -> None:
    failed = Unreadable(Reason.ERROR, "could not list foreign keys: permission denied")

    (finding,) = findings(CHECK, snapshot(unreadable=[failed]))

    assert finding.message == "not checked: could not list foreign keys: permission denied"
    assert (finding.sequence, finding.column) == (None, None)


def test_ok_when_everything_was_read() -> None:
    orders_seq = sequence("orders_id_seq")
    orders_id = column("orders", "id", fed_by=orders_seq)

    assert findings(CHECK, snapshot(orders_seq, orders_id)) == []


def test_a_column_judged_from_statistics_says_what_they_showed() -> None:
    seq = sequence("payment_payment_id_seq", last_value=1000)
    payment_id = column("payment", "payment_id", fed_by=seq, indexed=False, relkind="p")
    no_index = Unreadable(
        Reason.NO_INDEX,
        "no btree index leads with public.payment.payment_id",
        column_key=payment_id.key,
    )
    sample = StatisticsSample("public", "payment", None, (1, 1000))
    snap = snapshot(seq, payment_id, unreadable=[no_index])

    (unread,) = findings(CHECK, snap)
    (judged,) = findings(CHECK, replace(snap, statistics={payment_id.key: (sample,)}))
    (none_yet,) = findings(CHECK, replace(snap, statistics={payment_id.key: ()}))

    assert "statistics" not in unread.details
    assert judged.details["statistics"] == [
        {
            "schema": "public",
            "table": "payment",
            "analyzed_at": None,
            "sampled_min": 1,
            "sampled_max": 1000,
        }
    ]
    assert none_yet.details["statistics"] == []
