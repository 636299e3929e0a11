"""SEQ008 no-unique-index: a sequence-fed column without a unique index."""

from __future__ import annotations

from dataclasses import replace

from seqdoctor.catalog.model import Reason, Unreadable
from seqdoctor.checks import Severity
from seqdoctor.checks.base import ColumnRef, SequenceRef
from seqdoctor.checks.seq008_no_unique_index import CHECK
from tests.unit.factories import column, findings, holding, sequence, snapshot


def test_finding_for_an_indexed_column_without_a_unique_index() -> None:
    events_seq = sequence("events_id_seq", last_value=500)
    events_id = column("events", "id", fed_by=events_seq, unique=False, indexed=True)
    snap = snapshot(events_seq, events_id, extents={events_id: holding(1, 500)})

    (finding,) = findings(CHECK, snap)

    assert finding.message == (
        "public.events.id takes ids from public.events_id_seq but has no unique index: "
        "duplicate ids go unnoticed"
    )
    assert finding.severity is Severity.WARNING
    assert finding.sequence == SequenceRef("public", "events_id_seq")
    assert finding.column == ColumnRef("public", "events", "id")
    assert finding.details == {"drift_checked": True, "has_index": True, "unique_with": None}


def test_finding_says_when_drift_could_not_be_checked() -> None:
    events_seq = sequence("events_id_seq", last_value=500)
    events_id = column("events", "id", fed_by=events_seq, unique=False, indexed=False)

    (finding,) = findings(CHECK, snapshot(events_seq, events_id))

    assert finding.message == (
        "public.events.id takes ids from public.events_id_seq but has no unique index: "
        "duplicate ids go unnoticed; drift not checked (no index to read max() from)"
    )
    assert finding.details == {
        "drift_checked": False,
        "has_index": False,
        "unique_with": None,
    }


def test_finding_for_a_partitioned_table() -> None:
    events_seq = sequence("events_id_seq")
    events_id = column("events", "id", fed_by=events_seq, unique=False, relkind="p")

    (finding,) = findings(CHECK, snapshot(events_seq, events_id))

    assert finding.column == ColumnRef("public", "events", "id")


def test_finding_for_each_column_of_a_shared_sequence_without_one() -> None:
    shared = sequence("card_ids")
    gift_cards = column("gift_cards", "id", fed_by=shared)
    log = column("card_log", "card_id", fed_by=shared, unique=False)

    (finding,) = findings(CHECK, snapshot(shared, gift_cards, log))

    assert finding.column == ColumnRef("public", "card_log", "card_id")


def test_ok_for_a_primary_key() -> None:
    orders_seq = sequence("orders_id_seq")
    orders_id = column("orders", "id", fed_by=orders_seq, unique=True)

    assert findings(CHECK, snapshot(orders_seq, orders_id)) == []


def test_ok_for_a_foreign_table() -> None:
    # Its indexes live on the remote server, where seqdoctor cannot see them.
    remote_seq = sequence("remote_id_seq")
    remote_id = column("remote_events", "id", fed_by=remote_seq, unique=False, relkind="f")

    assert findings(CHECK, snapshot(remote_seq, remote_id)) == []


def test_finding_does_not_blame_a_missing_index_when_the_column_has_one() -> None:
    events_seq = sequence("events_id_seq")
    events_id = column(
        "events", "id", fed_by=events_seq, unique=False, indexed=True, readable=False
    )
    denied = Unreadable(
        Reason.PRIVILEGE,
        "role monitoring may not read column public.events.id",
        column_key=events_id.key,
    )

    (finding,) = findings(CHECK, snapshot(events_seq, events_id, unreadable=[denied]))

    assert finding.message == (
        "public.events.id takes ids from public.events_id_seq but has no unique index: "
        "duplicate ids go unnoticed; drift not checked (it could not be read)"
    )
    assert finding.details == {"drift_checked": False, "has_index": True, "unique_with": None}


def test_finding_for_a_column_unique_only_with_the_partition_key() -> None:
    # pagila's payment: PRIMARY KEY (payment_date, payment_id), partitioned by payment_date.
    seq = sequence("payment_payment_id_seq")
    payment_id = replace(
        column("payment", "payment_id", fed_by=seq, indexed=False, relkind="p"),
        unique_with="payment_date",
    )

    (finding,) = findings(CHECK, snapshot(seq, payment_id))

    assert finding.message == (
        "public.payment.payment_id takes ids from public.payment_payment_id_seq but is unique "
        "only together with payment_date: the same id can be inserted again with another "
        "payment_date, and duplicate ids go unnoticed; drift not checked (no index to read "
        "max() from)"
    )
    assert finding.details["unique_with"] == "payment_date"
