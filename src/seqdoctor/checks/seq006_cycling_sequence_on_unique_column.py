"""SEQ006 cycling-sequence-on-unique-column: a CYCLE sequence will wrap around into existing keys.

What it checks
    Sequences declared ``CYCLE`` that feed a column with a unique index.

Why it matters
    At its limit a cycling sequence starts again at MINVALUE (MAXVALUE when
    descending), and hands out values the column already holds: every insert
    then fails with a duplicate-key error until the old rows are gone. A
    cycling sequence is right for ring buffers and rotating ids, rarely for a
    primary key.

How to fix
    Stop it cycling, and widen it if it is near its limit::

        ALTER SEQUENCE public.events_id_seq NO CYCLE;

Fix safety
    Display only: whether wrapping around is intended is a design decision;
    seqdoctor never changes it.

References
    https://www.postgresql.org/docs/current/sql-createsequence.html
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from seqdoctor.catalog.model import SequenceState, Snapshot
from seqdoctor.checks.base import Check, Finding, Settings, Severity, Unit, number


def _calls_before_wrapping(sequence: SequenceState) -> int | None:
    """How many nextval() calls return values before the sequence starts again."""
    if sequence.last_value is None or not sequence.position_known:
        return None
    step = sequence.last_value + sequence.increment_by
    wraps_next = sequence.is_called and not sequence.min_value <= step <= sequence.max_value
    return 0 if wraps_next else sequence.calls_left(sequence.limit)


def run(snapshot: Snapshot, settings: Settings) -> Iterator[Finding]:
    for sequence, use in snapshot.pairs:
        if not sequence.cycle or not use.has_unique_index:
            continue
        bound = "MAXVALUE" if sequence.ascending else "MINVALUE"
        yield CHECK.finding(
            f"sequence {sequence.qualified} cycles: after its {bound} "
            f"{number(sequence.limit)} it starts again at {number(sequence.origin)} and "
            f"hands out keys {use.qualified} already holds",
            sequence=sequence,
            column=use,
            limit=sequence.limit,
            restarts_at=sequence.origin,
            values_left=_calls_before_wrapping(sequence),
        )


CHECK = Check(
    code="SEQ006",
    name="cycling-sequence-on-unique-column",
    severity=Severity.WARNING,
    summary="a CYCLE sequence will wrap around into existing keys",
    run=run,
    module=sys.modules[__name__],
    judges_each=Unit.PAIR,
)
