"""SEQ006 cycling-sequence-on-unique-column: a CYCLE sequence wraps around into existing keys."""

from __future__ import annotations

from seqdoctor.checks import Severity
from seqdoctor.checks.base import ColumnRef, SequenceRef
from seqdoctor.checks.seq006_cycling_sequence_on_unique_column import CHECK
from tests.unit.factories import INT4_MAX, column, findings, sequence, snapshot


def test_finding_for_a_cycling_sequence_feeding_a_primary_key() -> None:
    events_seq = sequence("events_id_seq", cycle=True, last_value=1000)
    events_id = column("events", "id", fed_by=events_seq)

    (finding,) = findings(CHECK, snapshot(events_seq, events_id))

    assert finding.message == (
        "sequence public.events_id_seq cycles: after its MAXVALUE 2,147,483,647 it starts again "
        "at 1 and hands out keys public.events.id already holds"
    )
    assert finding.severity is Severity.WARNING
    assert finding.sequence == SequenceRef("public", "events_id_seq")
    assert finding.column == ColumnRef("public", "events", "id")
    assert finding.details == {
        "limit": INT4_MAX,
        "restarts_at": 1,
        "values_left": INT4_MAX - 1000,
    }


def test_finding_names_a_custom_range() -> None:
    tickets = sequence("ticket_no", min_value=1000, max_value=9999, cycle=True, last_value=9990)
    tickets_no = column("tickets", "no", fed_by=tickets)

    (finding,) = findings(CHECK, snapshot(tickets, tickets_no))

    assert "after its MAXVALUE 9,999 it starts again at 1,000" in finding.message
    assert finding.details["values_left"] == 9


def test_finding_for_a_descending_sequence_restarts_at_maxvalue() -> None:
    countdown = sequence("countdown", increment=-1, cycle=True)
    slots_id = column("slots", "id", fed_by=countdown)

    (finding,) = findings(CHECK, snapshot(countdown, slots_id))

    assert finding.message == (
        "sequence public.countdown cycles: after its MINVALUE -2,147,483,648 it starts again "
        "at -1 and hands out keys public.slots.id already holds"
    )
    assert finding.details["restarts_at"] == -1


def test_finding_has_no_values_left_when_the_next_call_starts_again() -> None:
    # At MAXVALUE the next nextval() returns MINVALUE: not one more value before the wrap.
    ring = sequence("ring_id_seq", max_value=1000, cycle=True, last_value=1000)
    ring_id = column("ring", "id", fed_by=ring)

    (finding,) = findings(CHECK, snapshot(ring, ring_id))

    assert finding.details["values_left"] == 0


def test_finding_counts_the_values_left_with_increment_10() -> None:
    # 91, then 101 is past MAXVALUE 100: one value before the wrap.
    ring = sequence("ring_id_seq", increment=10, max_value=100, cycle=True, last_value=81)
    ring_id = column("ring", "id", fed_by=ring)

    (finding,) = findings(CHECK, snapshot(ring, ring_id))

    assert finding.details["values_left"] == 1


def test_finding_has_no_values_left_when_the_next_step_overshoots_and_starts_again() -> None:
    # 91 + 10 = 101 is past MAXVALUE 100: the next nextval() returns 1.
    ring = sequence("ring_id_seq", increment=10, max_value=100, cycle=True, last_value=91)
    ring_id = column("ring", "id", fed_by=ring)

    (finding,) = findings(CHECK, snapshot(ring, ring_id))

    assert ring.next_value == 1
    assert finding.details["values_left"] == 0


def test_finding_has_no_values_left_when_the_position_is_unknown() -> None:
    hidden = sequence("hidden_id_seq", cycle=True, readable=False)
    hidden_id = column("hidden", "id", fed_by=hidden)

    (finding,) = findings(CHECK, snapshot(hidden, hidden_id))

    assert finding.details["values_left"] is None


def test_finding_for_each_unique_column_of_a_shared_sequence() -> None:
    shared = sequence("card_ids", cycle=True)
    gift_cards = column("gift_cards", "id", fed_by=shared)
    vouchers = column("vouchers", "id", fed_by=shared)
    log = column("card_log", "card_id", fed_by=shared, unique=False)

    found = findings(CHECK, snapshot(shared, gift_cards, vouchers, log))

    assert [f.column for f in found] == [
        ColumnRef("public", "gift_cards", "id"),
        ColumnRef("public", "vouchers", "id"),
    ]


def test_ok_for_a_sequence_that_does_not_cycle() -> None:
    orders_seq = sequence("orders_id_seq", last_value=INT4_MAX)
    orders_id = column("orders", "id", fed_by=orders_seq)

    assert findings(CHECK, snapshot(orders_seq, orders_id)) == []


def test_ok_for_a_ring_buffer_without_a_unique_index() -> None:
    ring = sequence("ring_slot", max_value=1000, cycle=True)
    slot = column("ring", "slot", fed_by=ring, unique=False)

    assert findings(CHECK, snapshot(ring, slot)) == []
