"""SEQ004 sequence-wider-than-column: the sequence can hand out values the column cannot hold.

What it checks
    Columns whose type stops before the sequence feeding them does: an
    ``integer`` column fed by a ``bigint`` sequence (every sequence made before
    PostgreSQL 10, and any ``DEFAULT nextval()`` on a sequence created without
    ``AS integer``).

Why it matters
    When the sequence passes the column's limit, the insert fails with
    ``integer out of range``, an error that names neither the column nor the
    sequence, instead of the sequence's own clear error. Monitoring that reads
    only the sequence's MAXVALUE sees it at 0.0000001 % used while the column
    is about to break. seqdoctor measures the column against the smaller of the
    two limits (SEQ002); this finding explains the mismatch.

How to fix
    Either widen the column (SEQ002's fix), or give the sequence the column's
    type so that the limit is explicit::

        ALTER SEQUENCE public.things_id_seq AS integer;

Fix safety
    ``ALTER SEQUENCE ... AS integer`` is instant, and fails harmlessly if the
    sequence is already past the new limit.

References
    https://www.postgresql.org/docs/current/sql-altersequence.html
    https://www.postgresql.org/docs/current/datatype-numeric.html#DATATYPE-INT
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from seqdoctor.catalog.model import TYPE_NAMES, Snapshot
from seqdoctor.checks.base import Check, Finding, Settings, Severity, Unit, number


def run(snapshot: Snapshot, settings: Settings) -> Iterator[Finding]:
    for sequence, use in snapshot.pairs:
        if use.type_range is None:
            continue
        low, high = use.type_range
        column_limit = high if sequence.ascending else low
        if (sequence.limit > high) if sequence.ascending else (sequence.limit < low):
            bound = "MAXVALUE" if sequence.ascending else "MINVALUE"
            yield CHECK.finding(
                f"sequence {sequence.qualified} ({sequence.data_type}, {bound} "
                f"{number(sequence.limit)}) feeds {use.qualified} ({use.column_type}), which "
                f"stops at {number(column_limit)}: past it inserts fail with "
                f"'{TYPE_NAMES[use.type_name]} out of range'",
                sequence=sequence,
                column=use,
                sequence_limit=sequence.limit,
                column_limit=column_limit,
                column_type=use.column_type,
                sequence_type=sequence.data_type,
            )


CHECK = Check(
    code="SEQ004",
    name="sequence-wider-than-column",
    severity=Severity.INFO,
    summary="the sequence can go past what the column holds",
    run=run,
    module=sys.modules[__name__],
    judges_each=Unit.PAIR,
)
