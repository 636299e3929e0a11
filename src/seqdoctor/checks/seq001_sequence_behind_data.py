"""SEQ001 sequence-behind-data: the sequence will hand out values its column already holds.

What it checks
    For every column a sequence feeds (serial, identity, or a plain
    ``DEFAULT nextval()``, and every column of a shared sequence), whether the
    column already holds a value the sequence will hand out: the first value at
    or past the sequence's next value, in its direction, that ``nextval()``
    will actually reach (same step as its increment, within its limit). The
    column's maximum (minimum when descending) is read through its index, or
    with ``--allow-seqscan`` by scanning a table no index leads with.

    Without either, the planner's statistics are evidence: the histogram
    bounds and most common values ``ANALYZE`` sampled (``pg_stats``; a
    partitioned table's own and each partition's) are values the column held
    then. One the sequence will hand out means it is likely behind: the
    finding says so, and from the statistics of which table, analyzed when.
    Statistics that show no such value prove nothing (a sample can miss the
    one row ahead, and rows written since are not in it): the column is then
    reported not checked (SEQ900), saying what the statistics showed.

    On a hot standby the sequence's position is the one its primary wrote to
    the WAL, which is up to 32 ``nextval()`` calls ahead of the values handed
    out (plus ``CACHE - 1`` held in the session that made the call): the
    primary may be anywhere in between. Collisions are then looked for from
    the primary's earliest possible position. A value the column holds past
    even the latest position is a certain collision (critical); one only
    between the two may have been handed out by the primary already, or
    written there explicitly, which the standby cannot tell: the finding is
    then ``unknown``, says between which values the primary's next value lies,
    and asks for the audit on the primary.

Why it matters
    Rows copied with their ids (a migration from a legacy database,
    ``pg_dump --data-only``, logical replication, fixtures, ``INSERT`` with
    ``OVERRIDING SYSTEM VALUE``) do not move the sequence. The next INSERT
    that takes a generated id then fails with
    ``duplicate key value violates unique constraint "..._pkey"`` - but only
    sometimes: while ``nextval()`` lands in holes left by deleted rows, inserts
    succeed. The finding says how many ``nextval()`` calls still succeed before
    the first collision, which is why the failures look random.

How to fix
    Move the sequence past the data, in its own direction, and never backwards::

        SELECT setval('public.users_id_seq',
                      greatest(max(id), (SELECT last_value FROM public.users_id_seq)))
        FROM public.users;

    For a shared sequence take the greatest value over every column it feeds.
    ``seqdoctor fix`` plans exactly this, for every affected sequence.

Fix safety
    Safe: ``setval()`` takes no lock on the table and only moves the sequence
    forward. Rows inserted with explicit ids while it runs can slip past it;
    run the audit again afterwards.

References
    https://www.postgresql.org/docs/current/functions-sequence.html
    https://www.postgresql.org/docs/current/datatype-numeric.html#DATATYPE-SERIAL
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from seqdoctor.catalog.model import ColumnUse, SequenceState, Snapshot, analyzed, first_sampled
from seqdoctor.checks.base import (
    Check,
    Finding,
    Settings,
    Severity,
    Unit,
    number,
    plural,
    statistics_details,
)


def run(snapshot: Snapshot, settings: Settings) -> Iterator[Finding]:
    for sequence, use in snapshot.pairs:
        extent = snapshot.extents.get(use.key)
        # On a hot standby, the least advanced position the primary can be at.
        earliest = sequence.earliest
        following = earliest.next_value
        if extent is None:
            yield from _from_statistics(snapshot, sequence, use)
            continue
        if extent.first_collision is None or following is None:
            continue
        first = extent.first_collision
        calls_before = (first - following) // sequence.increment_by
        edge = extent.max_value if sequence.ascending else extent.min_value
        assert edge is not None
        when = _when(calls_before, first)
        edge_name = "max" if sequence.ascending else "min"
        details: dict[str, Any] = {
            "next_value": following,
            "column_max": extent.max_value,
            "column_min": extent.min_value,
            "first_collision": first,
            "nextval_calls_before_collision": calls_before,
            "evidence": "index" if use.has_probe_index else "scan",
        }
        behind = f"sequence {sequence.qualified} is behind {use.qualified}"
        held = f"which the column already holds (column {edge_name} {number(edge)}"
        if not use.has_probe_index:
            held += ", read by scanning the table"
        if not sequence.ahead_by:
            yield CHECK.finding(
                f"{behind}: {when}, {held}, next value {number(following)})",
                sequence=sequence,
                column=use,
                **details,
            )
            continue
        latest = sequence.next_value
        between = (
            f"on a hot standby, the primary's next value is between {number(following)} and "
            + (number(latest) if latest is not None else "its limit")
        )
        if _reached(sequence, edge):
            message = (
                f"{behind}: the column holds {number(edge)}, which nextval() will return "
                f"wherever the primary is; {between}; from the earliest, {when}"
            )
        else:
            # Values between the two bounds may have been handed out by the primary or
            # written there explicitly: only the primary's position tells which.
            message = (
                f"sequence {sequence.qualified} may be behind {use.qualified}: {between}, and "
                f"the column holds values in that range (the first {number(first)}, column "
                f"{edge_name} {number(edge)}): only the primary's position tells whether "
                "nextval() will return them; check on the primary"
            )
        yield CHECK.finding(
            message,
            severity=Severity.CRITICAL if _reached(sequence, edge) else Severity.UNKNOWN,
            sequence=sequence,
            column=use,
            **details,
            latest_next_value=latest,
        )


def _from_statistics(
    snapshot: Snapshot, sequence: SequenceState, use: ColumnUse
) -> Iterator[Finding]:
    """The finding the planner's statistics give for a column whose values were not read."""
    earliest = sequence.earliest
    following = earliest.next_value
    samples = snapshot.statistics.get(use.key, ())
    found = first_sampled(earliest, samples)
    if found is None or following is None:
        return
    first, sample = found
    calls_before = (first - following) // sequence.increment_by
    edge_name, edge = (
        ("max", sample.values[-1]) if sequence.ascending else ("min", sample.values[0])
    )
    # On a hot standby, values only between the primary's possible positions may be
    # ones it handed out already: unknown, as for values read through an index.
    certain = not sequence.ahead_by or any(
        _reached(sequence, value) for s in samples for value in s.values
    )
    message = (
        f"sequence {sequence.qualified} is likely behind {use.qualified}: the planner's "
        f"statistics of {sample.qualified} ({analyzed([sample])}) show the column held "
        f"{number(first)} (sampled {edge_name} {number(edge)}), and {_when(calls_before, first)} "
        f"(next value {number(following)}), "
        "unless a value the sample missed comes first; no index leads with the column, so "
        "its max() was not read (--allow-seqscan reads it)"
    )
    if not certain:
        message += "; on a hot standby: only the primary's position tells whether it will"
    yield CHECK.finding(
        message,
        severity=Severity.CRITICAL if certain else Severity.UNKNOWN,
        sequence=sequence,
        column=use,
        next_value=following,
        column_max=None,
        column_min=None,
        first_collision=first,
        nextval_calls_before_collision=calls_before,
        evidence="statistics",
        statistics=statistics_details((sample,)),
        **({"latest_next_value": sequence.next_value} if sequence.ahead_by else {}),
    )


def _when(calls_before: int, first: int) -> str:
    """When nextval() returns *first*, in words.

    >>> _when(0, 42), _when(3, 45)
    ('the next nextval() returns 42', '3 nextval() calls succeed, then it returns 45')
    """
    if calls_before == 0:
        return f"the next nextval() returns {number(first)}"
    succeed = "succeeds" if calls_before == 1 else "succeed"
    return f"{plural(calls_before, 'nextval() call')} {succeed}, then it returns {number(first)}"


def _reached(sequence: SequenceState, value: int) -> bool:
    """Whether nextval() will return *value* from the sequence's own (latest) position.

    >>> from seqdoctor.catalog.model import SequenceState as S
    >>> s = S(1, "public", "s", "int8", 1, 2, 1, 100, False, 1, True, 33, True, 32)
    >>> _reached(s, 35), _reached(s, 36), _reached(s, 31), _reached(s, 101)
    (True, False, False, False)
    """
    latest = sequence.next_value
    if latest is None or not sequence.min_value <= value <= sequence.max_value:
        return False
    calls, off_step = divmod(value - latest, sequence.increment_by)
    return calls >= 0 and off_step == 0


CHECK = Check(
    code="SEQ001",
    name="sequence-behind-data",
    severity=Severity.CRITICAL,
    summary="values the sequence will hand out already exist in a column it feeds",
    run=run,
    module=sys.modules[__name__],
    judges_each=Unit.PAIR,
    reads_columns=True,
)
