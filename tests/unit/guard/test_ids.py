"""Deterministic ids: where a sequence restarts for a test, and where it goes back after."""

from __future__ import annotations

from seqdoctor.guard.ids import FedSequence, IdStrategy, Observed, Position, restarts, restore
from tests.unit.factories import column, sequence

SEQ = sequence("frobs_id_seq")
FED = FedSequence(SEQ, (column("frobs", fed_by=SEQ),))
TENS = sequence("tens_seq", increment=10, start=5)
TENS_FED = FedSequence(TENS, (column("tens", fed_by=TENS),))


def seen(fed: FedSequence, last: int, called: bool, edge: int | None) -> Observed:
    return Observed(fed, Position(last, called), edge)


def test_restart_past_the_data_or_at_start_and_only_when_needed() -> None:
    burnt_empty = seen(FED, 122, True, None)
    at_start = seen(FED, 1, False, None)
    past_rows = seen(FED, 40, True, 40)  # rows 1..40 loaded with generated ids
    burnt_rows = seen(FED, 90, True, 40)
    behind = seen(FED, 3, True, 40)  # ids copied in ahead of it
    stepped = seen(TENS_FED, 95, True, 31)

    assert [(o.position, value) for o, value in restarts([burnt_empty, at_start, past_rows])] == [
        (Position(122, True), 1)
    ]
    assert [value for _, value in restarts([burnt_rows, behind, stepped])] == [41, 41, 35]


def test_restore_puts_back_what_a_test_moved_but_never_behind_committed_rows() -> None:
    before = seen(FED, 40, True, 40)

    assert restore(before, seen(FED, 40, True, 40)) is None  # rolled back: nothing moved
    assert restore(before, seen(FED, 55, True, 40)) == Position(40, True)  # burnt, no rows kept
    assert restore(before, seen(FED, 43, True, 43)) is None  # committed rows: it stays past them
    assert restore(before, seen(FED, 60, True, 43)) == Position(44, False)  # ... just past them


def test_offset_gives_each_sequence_its_own_range_by_name_and_beyond_int_passes_integer() -> None:
    widgets = sequence("widgets_id_seq", type_name="int8")
    widgets_fed = FedSequence(widgets, (column("widgets", fed_by=widgets),))
    frobs, wide = seen(FED, 1, False, None), seen(widgets_fed, 1, False, None)

    # Named in order: frobs_id_seq first, wherever the catalog lists it.
    assert [v for _, v in restarts([wide, frobs], IdStrategy.OFFSET)] == [200_001, 100_001]
    # Past data already in the range: just past it, as restart does.
    assert [v for _, v in restarts([seen(FED, 1, False, 100_041)], IdStrategy.OFFSET)] == [100_042]
    # An integer sequence cannot go past integer's range: it starts at START.
    assert [v for _, v in restarts([wide, frobs], IdStrategy.BEYOND_INT)] == [2_147_483_648]
