"""Judging a snapshot again when little changed since the last: ``serve``'s rounds.

A :class:`Judge` is :func:`~seqdoctor.checks.run_checks` with a memory. The
checks whose findings are each about one unit (``Check.judges_each``: a
(sequence, column) pair, or a sequence) are run again only over the units
whose inputs differ from those of its last call: a sequence that moved, a
column read again, a column or sequence new or changed in the catalog. The
other units keep the findings they had. The checks that read the snapshot as
a whole (foreign keys, unused sequences, forecasts from the history, what
could not be read) are run whole every time.

The findings are those :func:`~seqdoctor.checks.run_checks` returns, in the
same order: a unit's findings are a function of its inputs and the settings,
which are compared by value, so a unit whose inputs are equal has the same
findings; and they are put together in the order the checks would have
yielded them, then sorted as run_checks sorts them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from seqdoctor.catalog.model import ColumnUse, SequenceState, Snapshot
from seqdoctor.checks import REGISTRY, in_order
from seqdoctor.checks.base import (
    EARLIER,
    Check,
    ColumnRef,
    Finding,
    SequenceRef,
    Settings,
    Unit,
)

Key = tuple[int, int, int]
# Per unit: what its findings were judged from, and its findings, one tuple per check.
Judged = tuple[tuple[Any, ...], tuple[tuple[Finding, ...], ...]]
Unit_ = TypeVar("Unit_", Key, int)


class Judge:
    """Runs the checks over snapshots of one database, each time judging again only the
    units whose inputs changed since its last call (see the module's docstring).

    Not for two threads at once: an exporter keeps one per target.
    """

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._checks: tuple[str, ...] = ()
        self._pairs: dict[Key, Judged] = {}
        self._sequences: dict[int, Judged] = {}
        # What the checks derived from the last snapshot (Snapshot.derived), which they
        # find under EARLIER in the next one's.
        self._derived: dict[str, Any] = {}

    def __call__(
        self, snapshot: Snapshot, settings: Settings, checks: Iterable[Check] = REGISTRY
    ) -> list[Finding]:
        checks = list(checks)
        if settings != self._settings or tuple(c.code for c in checks) != self._checks:
            self._pairs, self._sequences, self._derived = {}, {}, {}
            self._settings, self._checks = settings, tuple(c.code for c in checks)
        snapshot.derived[EARLIER] = self._derived
        try:
            found = self._judge(snapshot, settings, checks)
        finally:
            del snapshot.derived[EARLIER]  # one snapshot back, never a chain of them
        self._derived = snapshot.derived
        return found

    def _judge(
        self, snapshot: Snapshot, settings: Settings, checks: Sequence[Check]
    ) -> list[Finding]:
        by_pair = [c for c in checks if c.judges_each is Unit.PAIR]
        by_sequence = [c for c in checks if c.judges_each is Unit.SEQUENCE]
        pairs = self._judge_pairs(snapshot, settings, by_pair)
        sequences = self._judge_sequences(snapshot, settings, by_sequence)
        # In the order run_checks() gathers them: check by check, each in its own order.
        gathered: list[Finding] = []
        for check in checks:
            if check.judges_each is Unit.PAIR:
                at = by_pair.index(check)
                for _, found in pairs:
                    gathered += found[at]
            elif check.judges_each is Unit.SEQUENCE:
                at = by_sequence.index(check)
                for _, found in sequences:
                    gathered += found[at]
            else:
                gathered += check.run(snapshot, settings)
        return in_order(gathered)

    def _judge_pairs(
        self, snapshot: Snapshot, settings: Settings, checks: Sequence[Check]
    ) -> list[Judged]:
        """Each pair's inputs and findings, in the order of ``snapshot.pairs``."""
        extents, statistics, earlier = snapshot.extents, snapshot.statistics, self._pairs
        judged: dict[Key, Judged] = {}
        changed: list[tuple[SequenceState, ColumnUse, tuple[Any, ...]]] = []
        for sequence, use in snapshot.pairs:
            key = use.key
            inputs = (sequence, use, extents.get(key), statistics.get(key))
            before = earlier.get(key)
            if before is not None and before[0] == inputs:
                judged[key] = before
            else:
                judged[key] = (inputs, ())  # judged below
                changed.append((sequence, use, inputs))
        if changed:
            self._judge_changed_pairs(snapshot, settings, checks, changed, judged)
        self._pairs = judged  # once complete: a check that raised leaves the memory as it was
        return list(judged.values())

    @staticmethod
    def _judge_changed_pairs(
        snapshot: Snapshot,
        settings: Settings,
        checks: Sequence[Check],
        changed: Sequence[tuple[SequenceState, ColumnUse, tuple[Any, ...]]],
        judged: dict[Key, Judged],
    ) -> None:
        # The changed pairs alone, each with the extents and statistics of its key.
        part = replace(
            snapshot,
            sequences=tuple({s.oid: s for s, _, _ in changed}.values()),
            uses=tuple(use for _, use, _ in changed),
        )
        found = _by_unit(
            checks,
            part,
            settings,
            {(ColumnRef.of(use), SequenceRef.of(s)): use.key for s, use, _ in changed},
            lambda f: (f.column, f.sequence),
        )
        for _, use, inputs in changed:
            key = use.key
            judged[key] = (inputs, found.get(key, _none(checks)))

    def _judge_sequences(
        self, snapshot: Snapshot, settings: Settings, checks: Sequence[Check]
    ) -> list[Judged]:
        """Each sequence's inputs and findings, in the order of ``snapshot.sequences``."""
        judged: dict[int, Judged] = {}
        changed: list[SequenceState] = []
        for sequence in snapshot.sequences:
            before = self._sequences.get(sequence.oid)
            if before is not None and before[0] == (sequence,):
                judged[sequence.oid] = before
            else:
                judged[sequence.oid] = ((sequence,), ())  # judged below
                changed.append(sequence)
        if changed:
            part = replace(snapshot, sequences=tuple(changed), uses=())
            found = _by_unit(
                checks,
                part,
                settings,
                {SequenceRef.of(s): s.oid for s in changed},
                lambda f: f.sequence,
            )
            for sequence in changed:
                judged[sequence.oid] = ((sequence,), found.get(sequence.oid, _none(checks)))
        self._sequences = judged
        return list(judged.values())


def _by_unit(
    checks: Sequence[Check],
    snapshot: Snapshot,
    settings: Settings,
    units: dict[Any, Unit_],
    unit_of: Callable[[Finding], Any],
) -> dict[Unit_, tuple[tuple[Finding, ...], ...]]:
    """Each unit's findings on *snapshot*, one tuple per check: *unit_of* says which
    of *units* a finding is about."""
    found: dict[Unit_, list[list[Finding]]] = {}
    for at, check in enumerate(checks):
        for finding in check.run(snapshot, settings):
            unit = units.get(unit_of(finding))
            if unit is None:
                raise ValueError(f"{check.code} judges each {check.judges_each}: {finding}")
            found.setdefault(unit, [[] for _ in checks])[at].append(finding)
    return {unit: tuple(map(tuple, lists)) for unit, lists in found.items()}


def _none(checks: Sequence[Check]) -> tuple[tuple[Finding, ...], ...]:
    return tuple(() for _ in checks)
