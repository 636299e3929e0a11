"""How full each sequence-fed column is: what the terminal and Nagios renderers show and graph.

Apart from the terminal renderer so that the Nagios one, run by a monitor
every minute, does not load Rich.
"""

from __future__ import annotations

from dataclasses import dataclass

from seqdoctor.checks.seq002_column_near_overflow import column_range
from seqdoctor.report import Report


@dataclass(frozen=True)
class Capacity:
    """How full one sequence-fed integer column is."""

    column: str
    column_type: str
    sequence: str
    ratio: float
    values_left: int


def capacities(report: Report) -> list[Capacity]:
    """Every integer column whose sequence position is known, fullest first."""
    rows = []
    for sequence, use in report.snapshot.pairs:
        bounds = column_range(sequence, use)
        if bounds is None or not sequence.position_known:
            continue
        origin, limit, _ = bounds
        rows.append(
            Capacity(
                column=use.qualified,
                column_type=use.column_type,
                sequence=sequence.qualified,
                ratio=sequence.used_ratio(limit, origin),
                values_left=sequence.calls_left(limit),
            )
        )
    return sorted(rows, key=lambda c: (-c.ratio, c.column))
