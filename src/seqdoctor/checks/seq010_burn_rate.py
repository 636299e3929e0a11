"""SEQ010 burn-rate: a sequence has handed out far more values than its tables have rows.

What it checks
    For every sequence that feeds columns, the values it has handed out since
    its START, against the rows its tables hold (the planner's estimate,
    ``pg_class.reltuples``; a partitioned table's partitions summed). A
    finding when it has handed out at least twice as many values as there
    are rows, and at least 10,000 of them. Sequences that cycle, and tables
    never analyzed, are left out.

Why it matters
    ``nextval()`` is never undone. A rolled-back insert, an
    ``INSERT ... ON CONFLICT`` that finds a conflict (the value was drawn
    before the conflict was seen), a bulk load retried, and rows deleted
    since all use values that no row holds. A table of a million rows can
    therefore be out of ``integer`` ids: the range runs out at the rate
    values are handed out, not at the rate rows accumulate. The finding says
    how many values each row has cost; the exhaustion forecast (SEQ011)
    counts values, never rows, for this reason.

How to fix
    Nothing is broken yet. Check the column has room for the values (SEQ002
    and SEQ011 say how long); if it does not, widen it::

        ALTER SEQUENCE public.events_id_seq AS bigint;
        ALTER TABLE public.events ALTER COLUMN id TYPE bigint;

    An upsert that usually conflicts burns less when it first looks for the
    row (``SELECT``, then ``INSERT`` only when missing), or through ``MERGE``
    on PostgreSQL 15 and later, which draws a value only for rows it inserts.

Fix safety
    Display only: whether the burn matters depends on the range left.
    Widening a column rewrites its table (see SEQ002).

References
    https://www.postgresql.org/docs/current/functions-sequence.html
    https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT
    https://www.postgresql.org/docs/current/sql-merge.html
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from seqdoctor.catalog.model import SequenceState, Snapshot, handed_out, qualify
from seqdoctor.checks.base import Check, Finding, Settings, Severity, plural

BURN_RATIO = 2  # values handed out per row from which values are "far more" than rows
MIN_VALUES = 10_000  # below this, nobody minds a few gaps


def values_used(sequence: SequenceState) -> int | None:
    """How many ``nextval()`` calls the sequence has answered since START; None when unknown.

    A ``setval()`` past START counts the values it skipped: they are used up all the same.

    >>> from seqdoctor.catalog.model import SequenceState as S
    >>> values_used(S(1, "public", "s", "int4", 1, 1, 1, 100, False, 1, True, 40, True))
    40
    >>> values_used(S(1, "public", "s", "int4", 1, 1, 1, 100, False, 1, True, 1, False))
    0
    >>> values_used(S(1, "public", "s", "int4", -1, -10, -100, -1, False, 1, True, -91, True))
    10
    """
    if sequence.last_value is None or sequence.is_called is None:
        return None
    handed = handed_out(sequence.last_value, sequence.is_called, sequence.increment_by)
    return max((handed - sequence.start_value) // sequence.increment_by + 1, 0)


def run(snapshot: Snapshot, settings: Settings) -> Iterator[Finding]:
    activity = snapshot.activity
    if activity is None:
        return
    for sequence in snapshot.sequences:
        uses = snapshot.uses_of(sequence)
        used = values_used(sequence)
        if not uses or sequence.cycle or used is None or used < MIN_VALUES:
            continue
        tables = {use.table_oid: qualify(use.schema, use.table) for use in uses}
        estimates = [activity.row_estimates.get(oid, -1) for oid in tables]
        if min(estimates) < 0:
            continue  # never analyzed: no idea how many rows
        rows = sum(estimates)
        if used < BURN_RATIO * rows:
            continue
        names = ", ".join(sorted(tables.values()))
        per_row = round(used / rows, 1) if rows else None
        cost = f"{per_row:,} values per row" if per_row is not None else "no row left"
        yield CHECK.finding(
            f"sequence {sequence.qualified} has handed out {plural(used, 'value')} for about "
            f"{plural(rows, 'row')} in {names} ({cost}): rollbacks, INSERT ... ON CONFLICT and "
            "deleted rows burn values that still count towards its limit",
            sequence=sequence,
            column=uses[0] if len(uses) == 1 else None,
            values_used=used,
            row_estimate=rows,
            values_per_row=per_row,
            values_without_row=used - rows,
        )


CHECK = Check(
    code="SEQ010",
    name="burn-rate",
    severity=Severity.INFO,
    summary="a sequence has handed out far more values than its tables have rows",
    run=run,
    module=sys.modules[__name__],
    reads_activity=True,
)
