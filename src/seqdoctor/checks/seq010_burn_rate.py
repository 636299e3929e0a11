"""SEQ010 burn-rate: a sequence is far past its START for the rows its tables hold.

What it checks
    For every sequence that feeds columns, how far its position is from its
    START, in values, against the rows its tables hold (the planner's
    estimate, ``pg_class.reltuples``; a partitioned table's partitions
    summed). A finding when the values are at least twice the rows, and at
    least 10,000. Sequences that cycle, and tables never analyzed, are left
    out.

    The position alone does not say how the sequence got there. When the
    history ``seqdoctor check --record`` keeps shows the sequence moving
    (the measured rate of SEQ011), the finding gives that rate too.

Why it matters
    The values between START and the position that no row holds count
    towards the sequence's limit all the same. Some were handed out and
    lost: ``nextval()`` is never undone, so a rolled-back insert, an
    ``INSERT ... ON CONFLICT`` that finds a conflict (the value was drawn
    before the conflict was seen), a bulk load retried, and rows deleted
    since all leave values no row holds. Others were never handed out: a
    ``setval()`` past sparse explicit ids (a ``pg_dump`` restore, a script
    resetting sequences, ``seqdoctor fix``) or an ``ALTER SEQUENCE ...
    RESTART`` skips them at once. Only the first is a rate at which the range
    is being used up; a history of positions tells them apart, the audit of
    one moment cannot. Either way the range runs out with the values, not
    with the rows, which is why the exhaustion forecast (SEQ011) counts
    values.

How to fix
    Nothing is broken yet. Check the column has room for the values (SEQ002
    and SEQ011 say how long); if it does not, widen it::

        ALTER SEQUENCE public.events_id_seq AS bigint;
        ALTER TABLE public.events ALTER COLUMN id TYPE bigint;

    When values are being drawn and lost, an upsert that usually conflicts
    uses fewer when it first looks for the row (``SELECT``, then ``INSERT``
    only when missing), or through ``MERGE`` on PostgreSQL 15 and later,
    which draws a value only for rows it inserts.

Fix safety
    Display only: whether the gap matters depends on the range left.
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
from seqdoctor.checks.seq011_exhaustion_forecast import Basis, per_day, rate_of

BURN_RATIO = 2  # values handed out per row from which values are "far more" than rows
MIN_VALUES = 10_000  # below this, nobody minds a few gaps


def values_used(sequence: SequenceState) -> int | None:
    """How many values lie from START to the sequence's position; None when unknown.

    Values handed out and values a ``setval()`` skipped alike: both are used
    up, as far as the limit is concerned.

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
        if sequence.cycle:
            continue
        used = values_used(sequence)
        if used is None or used < MIN_VALUES:
            continue  # most sequences: their columns not even looked up
        uses = snapshot.uses_of(sequence)
        if not uses:
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
        rate = rate_of(sequence, snapshot)
        if rate is not None and (rate.basis is not Basis.HISTORY or rate.per_day <= 0):
            rate = None  # no nextval() traffic measured: an estimate counts rows, not values
        message = (
            f"sequence {sequence.qualified} is {plural(used, 'value')} past its START for about "
            f"{plural(rows, 'row')} in {names} ({cost}): the values no row holds, left unused "
            "by rollbacks, INSERT ... ON CONFLICT or deleted rows, or skipped by a setval() (a "
            "restore, a script, seqdoctor fix), still count towards its limit"
        )
        if rate is not None:
            message += (
                f"; its history shows {per_day(rate.per_day)} values handed out a day "
                f"({rate.describe()})"
            )
        yield CHECK.finding(
            message,
            sequence=sequence,
            column=uses[0] if len(uses) == 1 else None,
            values_used=used,
            row_estimate=rows,
            values_per_row=per_row,
            values_without_row=used - rows,
            values_per_day=round(float(rate.per_day), 1) if rate is not None else None,
        )


CHECK = Check(
    code="SEQ010",
    name="burn-rate",
    severity=Severity.INFO,
    summary="a sequence is far past its START for the rows its tables hold",
    run=run,
    module=sys.modules[__name__],
    reads_activity=True,
)
