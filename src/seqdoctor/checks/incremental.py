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

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from seqdoctor.catalog.model import ColumnUse, SequenceState, Snapshot
from seqdoctor.checks import REGISTRY, finding_order, in_order
from seqdoctor.checks.base import (
    EARLIER,
    Check,
    ColumnRef,
    Finding,
    SequenceRef,
    Settings,
    Unit,
    same_objects,
)

Key = tuple[int, int, int]
# Per unit: what its findings were judged from, and its findings, one tuple per check.
Found = tuple[tuple[Finding, ...], ...]
Judged = tuple[tuple[Any, ...], Found]
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
        # The sequences, columns, extents and statistics the pairs were judged from.
        self._inputs_of_pairs: tuple[Any, ...] = ()
        # The findings of the checks that read the snapshot whole, in the order they gave
        # them, and all the findings in order (None: none judged yet).
        self._whole: list[Finding] = []
        self._found: list[Finding] | None = None
        # What the checks derived from the last snapshot (Snapshot.derived), which they
        # find under EARLIER in the next one's.
        self._derived: dict[str, Any] = {}

    def __call__(
        self, snapshot: Snapshot, settings: Settings, checks: Iterable[Check] = REGISTRY
    ) -> list[Finding]:
        checks = list(checks)
        if settings != self._settings or tuple(c.code for c in checks) != self._checks:
            self._pairs, self._sequences, self._derived = {}, {}, {}
            self._inputs_of_pairs = ()
            self._whole, self._found = [], None
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
        # What every pair is judged from: where it is the same objects as last time (the
        # statistics, few and read again every round, equal), told at once rather than
        # pair by pair, which took a tenth of a round at 100,000 tables, every pair keeps
        # its findings.
        inputs = (snapshot.sequences, snapshot.uses, snapshot.extents, snapshot.statistics)
        last = self._inputs_of_pairs
        changed_pairs: list[Key] = []
        if last and all(map(same_objects, inputs[:3], last[:3])) and inputs[3] == last[3]:
            pairs = self._pairs
        else:
            pairs, changed_pairs = self._judge_pairs(snapshot, settings, by_pair)
        sequences, changed_sequences = self._judge_sequences(snapshot, settings, by_sequence)
        by_check = [
            list(c.run(snapshot, settings)) if c.judges_each is None else [] for c in checks
        ]
        whole = [f for found in by_check for f in found]
        if whole == self._whole:
            whole = self._whole  # the same objects, which the last call's findings hold
        found = self._merged(pairs, changed_pairs, sequences, changed_sequences, whole)
        if found is None:
            # In the order run_checks() gathers them: check by check, each in its own order.
            gathered: list[Finding] = []
            at = {c.code: i for i, c in enumerate(by_pair)}
            at.update((c.code, i) for i, c in enumerate(by_sequence))
            for check, whole_found in zip(checks, by_check, strict=True):
                if check.judges_each is Unit.PAIR:
                    for _, pair_found in pairs.values():
                        gathered += pair_found[at[check.code]]
                elif check.judges_each is Unit.SEQUENCE:
                    for _, sequence_found in sequences.values():
                        gathered += sequence_found[at[check.code]]
                else:
                    gathered += whole_found
            found = in_order(gathered)
        # Once all is judged: a check that raised leaves the memory as it was.
        self._pairs, self._sequences, self._whole, self._found = pairs, sequences, whole, found
        self._inputs_of_pairs = inputs
        return list(found)

    def _merged(
        self,
        pairs: dict[Key, Judged],
        changed_pairs: Sequence[Key],
        sequences: dict[int, Judged],
        changed_sequences: Sequence[int],
        whole: list[Finding],
    ) -> list[Finding] | None:
        """The last call's findings in order, those of the units whose findings changed taken
        out and their new ones put in at their places; None when that cannot give the order
        run_checks() would: the units are not the same, in the same order, or a finding
        put in ties with another (which run_checks() orders by where each was gathered).

        With every finding's place in the order its own, the order does not depend on the
        order they were gathered in; and the findings that stay keep theirs."""
        if self._found is None or list(pairs) != list(self._pairs):
            return None
        if list(sequences) != list(self._sequences):
            return None
        out: list[Finding] = []
        put: list[Finding] = []
        for key in changed_pairs:
            before = self._pairs.get(key)
            if before is not None and before[1] is not pairs[key][1]:
                out += (f for found in before[1] for f in found)
                put += (f for found in pairs[key][1] for f in found)
        for oid in changed_sequences:
            earlier = self._sequences.get(oid)
            if earlier is not None and earlier[1] is not sequences[oid][1]:
                out += (f for found in earlier[1] for f in found)
                put += (f for found in sequences[oid][1] for f in found)
        if whole != self._whole:
            out += self._whole
            put += whole
        if not out and not put:
            return self._found
        taken = {id(f) for f in out}
        found = [f for f in self._found if id(f) not in taken]
        if len(found) != len(self._found) - len(taken):
            return None
        put.sort(key=finding_order)
        for finding in put:
            place = finding_order(finding)
            at = bisect_left(found, place, key=finding_order)
            if at < len(found) and finding_order(found[at]) == place:
                return None  # a tie: its place depends on where it was gathered
            found.insert(at, finding)
        return found

    def _judge_pairs(
        self, snapshot: Snapshot, settings: Settings, checks: Sequence[Check]
    ) -> tuple[dict[Key, Judged], list[Key]]:
        """Each pair's inputs and findings, in the order of ``snapshot.pairs``, and the keys
        of the pairs judged again."""
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
        return judged, [use.key for _, use, _ in changed]

    def _judge_changed_pairs(
        self,
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
            judged[key] = (inputs, _same(self._pairs.get(key), found.get(key, _none(checks))))

    def _judge_sequences(
        self, snapshot: Snapshot, settings: Settings, checks: Sequence[Check]
    ) -> tuple[dict[int, Judged], list[int]]:
        """Each sequence's inputs and findings, in the order of ``snapshot.sequences``, and
        the oids of the sequences judged again."""
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
                now = found.get(sequence.oid, _none(checks))
                judged[sequence.oid] = ((sequence,), _same(self._sequences.get(sequence.oid), now))
        return judged, [s.oid for s in changed]


def _same(before: Judged | None, found: Found) -> Found:
    """*found*, or the findings *before* holds when they are equal: the same objects, which
    the last call's findings in order hold (Judge._merged() takes them out by identity)."""
    return before[1] if before is not None and before[1] == found else found


def _by_unit(
    checks: Sequence[Check],
    snapshot: Snapshot,
    settings: Settings,
    units: dict[Any, Unit_],
    unit_of: Callable[[Finding], Any],
) -> dict[Unit_, Found]:
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


def _none(checks: Sequence[Check]) -> Found:
    return tuple(() for _ in checks)
