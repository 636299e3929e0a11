"""What the history store keeps: one sample per sequence per recording."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from seqdoctor.catalog.model import Position, Snapshot


@dataclass(frozen=True, slots=True)
class ColumnSample:
    """A column the sequence fed when the sample was taken."""

    schema: str
    table: str
    column: str
    max_value: int | None  # its maximum, read through its index; None unread or empty
    row_estimate: int  # reltuples, partitions summed; -1 never analyzed


@dataclass(frozen=True, slots=True)
class Sample:
    """A sequence's position at one moment, and the columns it fed then."""

    taken_at: datetime
    schema: str
    sequence: str
    last_value: int
    is_called: bool
    increment_by: int
    columns: tuple[ColumnSample, ...] = ()

    @property
    def position(self) -> Position:
        return Position.of(self.taken_at, self.last_value, self.is_called, self.increment_by)


def samples_of(snapshot: Snapshot, taken_at: datetime) -> list[Sample]:
    """One sample for each sequence of *snapshot* whose position was read."""
    estimates = snapshot.activity.row_estimates if snapshot.activity else {}
    samples = []
    for sequence in snapshot.sequences:
        if sequence.last_value is None or sequence.is_called is None:
            continue
        columns = tuple(
            ColumnSample(
                use.schema,
                use.table,
                use.column,
                extent.max_value if (extent := snapshot.extents.get(use.key)) else None,
                estimates.get(use.table_oid, use.row_estimate),
            )
            for use in snapshot.uses_of(sequence)
        )
        samples.append(
            Sample(
                taken_at,
                sequence.schema,
                sequence.name,
                sequence.last_value,
                sequence.is_called,
                sequence.increment_by,
                columns,
            )
        )
    return samples


def positions(snapshot: Snapshot, samples: Iterable[Sample]) -> Mapping[int, tuple[Position, ...]]:
    """The samples' positions by the oid of the sequence of that name, oldest first.

    Samples are matched by schema and name, not by oid: a database restored
    from a dump keeps its history.
    """
    oids = {(s.schema, s.name): s.oid for s in snapshot.sequences}
    found: dict[int, list[Position]] = {}
    for sample in samples:
        oid = oids.get((sample.schema, sample.sequence))
        if oid is not None:
            found.setdefault(oid, []).append(sample.position)
    return {oid: tuple(sorted(p, key=lambda p: p.at)) for oid, p in found.items()}
