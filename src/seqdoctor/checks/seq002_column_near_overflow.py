"""SEQ002 column-near-overflow: a sequence-fed column is running out of values.

What it checks
    For every integer column a sequence feeds, how much of its range is used.
    The column runs out at the smaller of two limits: the largest value its
    type holds (2,147,483,647 for ``integer``) and the sequence's own MAXVALUE
    (MINVALUE when descending). Warning at 75 % used, critical at 90 %
    (``--warning`` and ``--critical`` change them).

Why it matters
    When an ``integer`` column is fed by a ``bigint`` sequence, the insert after
    2,147,483,647 fails with ``integer out of range`` - and the error does not
    say which column. When the sequence's own limit comes first, inserts fail
    with ``nextval: reached maximum value of sequence``. Either way every
    insert into the table fails until someone widens the column, which
    rewrites the table under an ACCESS EXCLUSIVE lock: weeks of warning are
    needed, not minutes. Note that widening a serial column to ``bigint``
    leaves its sequence ``AS integer``, still capped at 2,147,483,647.

How to fix
    Widen the column and every foreign-key column that references it, and the
    sequence with it::

        ALTER SEQUENCE public.orders_id_seq AS bigint;
        ALTER TABLE public.orders ALTER COLUMN id TYPE bigint;

    On a large table prefer an online conversion (a new column filled in
    batches, then swapped) to the rewrite.

Fix safety
    Unsafe: ``ALTER TABLE ... TYPE bigint`` rewrites the table and its indexes
    under an ACCESS EXCLUSIVE lock; ``ALTER SEQUENCE ... AS bigint`` alone is
    instant.

References
    https://www.postgresql.org/docs/current/datatype-numeric.html#DATATYPE-INT
    https://www.postgresql.org/docs/current/sql-altersequence.html
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from seqdoctor.catalog.model import TYPE_NAMES, ColumnUse, SequenceState, Snapshot
from seqdoctor.checks.base import Check, Finding, Settings, Severity, Unit, number, percent, plural


def column_range(sequence: SequenceState, use: ColumnUse) -> tuple[int, int, str] | None:
    """Where the column's values start and stop, and what stops them.

    Returns (origin, limit, limited_by), in the sequence's direction, or None
    for a column that is not of an integer type.
    """
    if use.type_range is None:
        return None
    low, high = use.type_range
    if sequence.ascending:
        origin, type_limit = max(sequence.start_value, low), high
        limit = min(sequence.max_value, type_limit)
    else:
        origin, type_limit = min(sequence.start_value, high), low
        limit = max(sequence.min_value, type_limit)
    if sequence.limit == type_limit:
        limited_by = "column type and sequence"
    else:
        limited_by = "column type" if limit == type_limit else "sequence"
    return origin, limit, limited_by


def range_name(use: ColumnUse | None, limited_by: str) -> str:
    """What runs out, in words: the column's type, or its sequence's own range."""
    if use is not None and limited_by != "sequence":
        return TYPE_NAMES[use.type_name]
    return "its sequence's range"


def run(snapshot: Snapshot, settings: Settings) -> Iterator[Finding]:
    for sequence, use in snapshot.pairs:
        bounds = column_range(sequence, use)
        if bounds is None or not sequence.position_known:
            continue
        origin, limit, limited_by = bounds
        if sequence.cycle and limited_by != "column type":
            continue  # it wraps around before the type overflows: SEQ006's concern
        ratio = sequence.used_ratio(limit, origin)
        severity = settings.severity_for(ratio)
        if severity is None:
            continue
        left = sequence.calls_left(limit)
        following = sequence.next_value
        at = "exhausted" if following is None else f"next value {number(following)}"
        what = range_name(use, limited_by)
        yield CHECK.finding(
            f"{use.qualified} has used {percent(ratio)} of {what} "
            f"({at}, limit {number(limit)}): {plural(left, 'value')} left",
            severity=severity,
            sequence=sequence,
            column=use,
            used_ratio=round(ratio, 6),
            values_left=left,
            limit=limit,
            limited_by=limited_by,
            last_value=sequence.last_value,
            column_type=use.column_type,
        )


CHECK = Check(
    code="SEQ002",
    name="column-near-overflow",
    severity=Severity.WARNING,
    summary="a sequence-fed column will run out at its type's or its sequence's limit",
    run=run,
    module=sys.modules[__name__],
    judges_each=Unit.PAIR,
)
