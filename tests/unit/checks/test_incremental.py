"""A Judge finds what run_checks() finds, in the same order, judging again only what changed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

import pytest

from seqdoctor.catalog.model import (
    ColumnKind,
    ColumnUse,
    Reason,
    SequenceState,
    Snapshot,
    StatisticsSample,
    Unreadable,
)
from seqdoctor.checks import REGISTRY, Check, Finding, Settings, incremental, run_checks
from seqdoctor.checks import seq011_exhaustion_forecast as seq011
from seqdoctor.checks.base import ColumnRef, Unit
from seqdoctor.checks.incremental import Judge
from seqdoctor.checks.seq011_exhaustion_forecast import forecasts
from tests.unit.activity import DAY, NOW, with_activity
from tests.unit.factories import column, foreign_key, holding, sequence, snapshot

ORDERS_SEQ = sequence("orders_id_seq", last_value=100)
ORDERS = column("orders", fed_by=ORDERS_SEQ)
SHARED_SEQ = sequence("shared_seq", type_name="int8", last_value=5_000)
LEFT = column("left", fed_by=SHARED_SEQ, type_name="int4", kind=ColumnKind.DEFAULT)
RIGHT = column("right", fed_by=SHARED_SEQ, unique=False)
SMALL_SEQ = sequence("small_id_seq", type_name="int2", last_value=10)
SMALL = column("small", fed_by=SMALL_SEQ, indexed=False)
SPARE = sequence("spare", last_value=3)
LINES_ORDER = foreign_key("lines", "order_id", references=ORDERS, type_name="int2")


def first() -> Snapshot:
    snap = snapshot(
        ORDERS_SEQ,
        ORDERS,
        SHARED_SEQ,
        LEFT,
        RIGHT,
        SMALL_SEQ,
        SMALL,
        SPARE,
        LINES_ORDER,
        extents={ORDERS: holding(1, 100), LEFT: holding(1, 4_000), RIGHT: holding(5, 4_999)},
    )
    stats = {SMALL.key: (StatisticsSample("public", "small", None, (1, 5, 10)),)}
    return with_activity(
        replace(snap, statistics=stats),
        history={ORDERS_SEQ: [(NOW - 10 * DAY, 1), (NOW - 5 * DAY, 50)]},
        row_estimates={ORDERS: 100, LEFT: 10, RIGHT: 10, SMALL: 5},
    )


def moved(snap: Snapshot, name: str, **position: object) -> Snapshot:
    """*snap* with the sequence *name* changed as *position* says."""
    return replace(
        snap,
        sequences=tuple(replace(s, **position) if s.name == name else s for s in snap.sequences),
    )


def changes(snap: Snapshot) -> Iterator[tuple[str, Snapshot]]:
    """Snapshots of the same database after one change each, cumulated."""

    snap = replace(snap, sequences=tuple(replace(s) for s in snap.sequences))  # equal, not the same
    yield "nothing (equal objects)", snap
    snap = moved(snap, "orders_id_seq", last_value=150)
    yield "a sequence moved", snap
    snap = moved(snap, "orders_id_seq", last_value=20)
    yield "a sequence moved behind its column", snap
    snap = replace(snap, extents={**snap.extents, ORDERS.key: holding(1, 500, first_collision=21)})
    yield "an id written ahead, read", snap
    snap = moved(snap, "small_id_seq", last_value=32_000)
    yield "a column near overflow", snap
    snap = moved(snap, "shared_seq", max_value=6_000)
    yield "a sequence altered", snap
    new_seq = sequence("new_id_seq", last_value=7)
    new = column("new", fed_by=new_seq, kind=ColumnKind.IDENTITY)
    snap = replace(
        snap,
        sequences=(*snap.sequences, new_seq),
        uses=(*snap.uses, new),
        extents={**snap.extents, new.key: holding(1, 9, first_collision=8)},
    )
    yield "a table created", snap
    snap = replace(
        snap,
        sequences=tuple(s for s in snap.sequences if s.oid != SMALL_SEQ.oid),
        uses=tuple(u for u in snap.uses if u.key != SMALL.key),
    )
    yield "a table dropped", snap
    snap = replace(snap, uses=tuple(replace(u, has_unique_index=True) for u in snap.uses))
    yield "a unique index created", snap
    unread = Unreadable(Reason.PRIVILEGE, "permission denied", column_key=RIGHT.key)
    extents = {k: v for k, v in snap.extents.items() if k != RIGHT.key}
    snap = replace(snap, unreadable=(unread,), extents=extents)
    yield "a column no longer readable", snap
    assert snap.activity is not None
    snap = replace(snap, activity=replace(snap.activity, now=NOW + DAY))
    yield "a day later", snap


def signature(findings: list[Finding]) -> list[tuple[object, ...]]:
    return [
        (f.code, f.severity, f.message, f.sequence, f.column, dict(f.details)) for f in findings
    ]


def test_each_judgement_is_run_checks_finding_by_finding() -> None:
    judge, settings = Judge(), Settings()
    start = first()
    assert judge(start, settings) == run_checks(start, settings)
    for name, snap in changes(start):
        assert signature(judge(snap, settings)) == signature(run_checks(snap, settings)), name


def test_other_settings_or_checks_judge_everything_again() -> None:
    judge, snap = Judge(), first()
    judge(snap, Settings())
    tighter = Settings(warning_ratio=0.0001, critical_ratio=0.0002)
    assert judge(snap, tighter) == run_checks(snap, tighter)
    some = REGISTRY.select(["SEQ002", "SEQ009"])
    assert judge(snap, tighter, some) == run_checks(snap, tighter, some)


def counting(calls: list[int]) -> list[Check]:
    """The registry's checks, each counting the units it is given."""

    def counted(check: Check) -> Check:
        def run(snap: Snapshot, settings: Settings) -> Iterator[Finding]:
            calls.append(len(snap.uses) if check.judges_each is Unit.PAIR else len(snap.sequences))
            yield from check.run(snap, settings)

        return replace(check, run=run)

    return [counted(check) for check in REGISTRY if check.judges_each is not None]


def test_only_the_units_whose_inputs_changed_are_judged_again() -> None:
    calls: list[int] = []
    checks, judge, settings = counting(calls), Judge(), Settings()
    snap = first()
    judge(snap, settings, checks)
    assert calls
    assert all(calls)
    calls.clear()

    judge(replace(snap, sequences=tuple(replace(s) for s in snap.sequences)), settings, checks)
    assert calls == []

    moved = tuple(replace(s, last_value=101) if s == ORDERS_SEQ else s for s in snap.sequences)
    judge(replace(snap, sequences=moved), settings, checks)
    # One pair (orders) for each check by pair, one sequence for each check by sequence.
    assert set(calls) == {1}


def test_a_check_said_to_judge_each_pair_must_say_which() -> None:
    about_nothing = replace(
        REGISTRY.get("SEQ009"),
        run=lambda snap, settings: iter(
            [REGISTRY.get("SEQ009").finding("a finding about nothing")]
        ),
    )
    with pytest.raises(ValueError, match="SEQ009 judges each pair"):
        Judge()(first(), Settings(), [about_nothing])


def no_history(snap: Snapshot) -> Snapshot:
    """*snap* with no position recorded: no forecast has a rate (the statistics are new)."""
    assert snap.activity is not None
    return replace(snap, activity=replace(snap.activity, history={}))


@pytest.mark.parametrize("recorded", [True, False], ids=["history", "no rate"])
def test_the_forecasts_of_each_judgement_are_those_of_its_snapshot_alone(recorded: bool) -> None:
    """A judgement takes the forecasts' parts of a sequence that did not change from the
    last one (SEQ011), and with no rate at all the forecasts whole: the forecasts, which
    the exposition shows, are those made afresh."""
    judge, settings = Judge(), Settings()
    start = first() if recorded else no_history(first())
    judge(start, settings)
    for name, snap in changes(start):
        judge(snap, settings)
        assert list(forecasts(snap)) == list(forecasts(replace(snap))), name
        assert recorded or all(f.rate is None for f in forecasts(snap))


def test_a_judgement_makes_again_only_the_forecasts_parts_of_what_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[str] = []
    parts = seq011._parts

    def counted(sequence: SequenceState, uses: Iterable[ColumnUse]) -> object:
        made.append(sequence.name)
        return parts(sequence, uses)

    monkeypatch.setattr(seq011, "_parts", counted)
    judge, settings, snap = Judge(), Settings(), first()
    judge(snap, settings)
    made.clear()
    moved = tuple(replace(s, last_value=101) if s == ORDERS_SEQ else s for s in snap.sequences)
    judge(replace(snap, sequences=moved), settings)

    assert made == ["orders_id_seq"]


def test_findings_kept_in_order_from_the_last_judgement_are_run_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where the units are the same, the last judgement's findings in order are kept,
    those of the units whose findings changed taken out and their new ones put in at
    their places: never sorted again, and a finding whose cause is fixed is gone."""
    sorts: list[int] = []
    in_order = incremental.in_order

    def counted(findings: Iterable[Finding]) -> list[Finding]:
        found = in_order(findings)
        sorts.append(len(found))
        return found

    monkeypatch.setattr(incremental, "in_order", counted)
    judge, settings, snap = Judge(), Settings(), first()
    judge(snap, settings)
    behind = moved(snap, "orders_id_seq", last_value=20)
    behind = replace(
        behind, extents={**snap.extents, ORDERS.key: holding(1, 100, first_collision=21)}
    )
    ahead = replace(moved(behind, "orders_id_seq", last_value=200), extents=snap.extents)
    assert ahead.activity is not None
    later = replace(ahead, activity=replace(ahead.activity, now=NOW + DAY))
    for name, state in (
        ("nothing", snap),
        ("behind its column", behind),
        ("fixed", ahead),
        ("a day later", later),
    ):
        sorts.clear()
        assert signature(judge(state, settings)) == signature(run_checks(state, settings)), name
        assert sorts == [], name
    behind_found = {f.code for f in judge(behind, settings) if f.column == ColumnRef.of(ORDERS)}
    assert "SEQ001" in behind_found
    assert "SEQ001" not in {f.code for f in judge(ahead, settings)}


def test_a_finding_that_ties_with_another_sorts_them_all_again() -> None:
    """Two findings in the same place in the order are in the order they were gathered in,
    which only gathering them all again gives."""

    def tied(snap: Snapshot, settings: Settings) -> Iterator[Finding]:
        assert snap.activity is not None
        day = snap.activity.now.toordinal()
        check = REGISTRY.get("SEQ900")
        found = [check.finding(f"{what} on day {day}") for what in ("one", "two")]
        yield from found if day % 2 else reversed(found)

    checks = [*REGISTRY, replace(REGISTRY.get("SEQ900"), code="SEQ999", run=tied)]
    judge, settings, snap = Judge(), Settings(), first()
    assert snap.activity is not None
    later = replace(snap, activity=replace(snap.activity, now=NOW + DAY))
    for state in (snap, later, snap):
        assert signature(judge(state, settings, checks)) == signature(
            run_checks(state, settings, checks)
        )


def test_a_judgement_a_check_stopped_leaves_the_memory_as_it_was() -> None:
    """Nothing of a judgement that raised is kept: the next judges what changed since the
    last complete one, not since the one that stopped."""
    stop = [False]
    seq900 = REGISTRY.get("SEQ900")

    def stopping(snap: Snapshot, settings: Settings) -> Iterable[Finding]:
        if stop[0]:
            raise RuntimeError("stopped")
        return seq900.run(snap, settings)

    checks = [replace(c, run=stopping) if c is seq900 else c for c in REGISTRY]
    judge, settings, snap = Judge(), Settings(), first()
    judge(snap, settings, checks)
    behind = moved(snap, "orders_id_seq", last_value=20)
    stop[0] = True
    with pytest.raises(RuntimeError, match="stopped"):
        judge(behind, settings, checks)
    stop[0] = False
    for state in (behind, snap):
        assert signature(judge(state, settings, checks)) == signature(
            run_checks(state, settings, checks)
        )
