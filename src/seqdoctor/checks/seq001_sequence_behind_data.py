"""SEQ001 sequence-behind-data: the sequence will hand out values its column already holds.

What it checks
    For every column a sequence feeds (serial, identity, or a plain
    ``DEFAULT nextval()``, and every column of a shared sequence), whether the
    column already holds a value the sequence will hand out: the first value at
    or past the sequence's next value, in its direction, that ``nextval()``
    will actually reach (same step as its increment, within its limit). The
    column's maximum (minimum when descending) is read through its index.

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

from seqdoctor.catalog.model import Snapshot
from seqdoctor.checks.base import Check, Finding, Settings, Severity, number, plural


def run(snapshot: Snapshot, settings: Settings) -> Iterator[Finding]:
    for sequence, use in snapshot.pairs:
        extent = snapshot.extents.get(use.key)
        following = sequence.next_value
        if extent is None or extent.first_collision is None or following is None:
            continue
        first = extent.first_collision
        calls_before = (first - following) // sequence.increment_by
        edge = extent.max_value if sequence.ascending else extent.min_value
        assert edge is not None
        if calls_before == 0:
            when = f"the next nextval() returns {number(first)}"
        else:
            succeed = "succeeds" if calls_before == 1 else "succeed"
            when = (
                f"{plural(calls_before, 'nextval() call')} {succeed}, "
                f"then it returns {number(first)}"
            )
        yield CHECK.finding(
            f"sequence {sequence.qualified} is behind {use.qualified}: {when}, "
            f"which the column already holds (column {'max' if sequence.ascending else 'min'} "
            f"{number(edge)}, next value {number(following)})",
            sequence=sequence,
            column=use,
            next_value=following,
            column_max=extent.max_value,
            column_min=extent.min_value,
            first_collision=first,
            nextval_calls_before_collision=calls_before,
        )


CHECK = Check(
    code="SEQ001",
    name="sequence-behind-data",
    severity=Severity.CRITICAL,
    summary="values the sequence will hand out already exist in a column it feeds",
    run=run,
    module=sys.modules[__name__],
    reads_columns=True,
)
