"""SEQ003 sequence-near-limit: a sequence is near or at its own MAXVALUE (MINVALUE descending).

What it checks
    For every sequence that does not cycle, how much of the range between its
    MINVALUE and MAXVALUE is used, counted in its own direction. Warning at
    75 %, critical at 90 % (``--warning``, ``--critical``); a sequence whose
    next ``nextval()`` would fail is reported as reached.

Why it matters
    At its limit ``nextval()`` fails with
    ``nextval: reached maximum value of sequence "..."`` (or minimum), and so
    does every insert relying on it. Sequences created by ``serial`` or an
    ``integer`` identity column are ``AS integer``: they stop at 2,147,483,647
    even after the column has been widened to ``bigint``. Sequences used only
    by application code (``nextval()`` in a query) are covered too.

How to fix
    Raise the limit, widening the type when the limit is the type's::

        ALTER SEQUENCE public.orders_id_seq AS bigint;           -- also raises MAXVALUE
        ALTER SEQUENCE public.invoice_no MAXVALUE 99999999;       -- an explicit limit

    Make sure every column it feeds can hold the new values (SEQ002, SEQ004).

Fix safety
    Safe for the sequence itself: ``ALTER SEQUENCE`` is instant. Check the
    columns it feeds before letting it past their type.

References
    https://www.postgresql.org/docs/current/sql-altersequence.html
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from seqdoctor.catalog.model import Snapshot
from seqdoctor.checks.base import Check, Finding, Settings, Severity, Unit, number, percent, plural


def run(snapshot: Snapshot, settings: Settings) -> Iterator[Finding]:
    for sequence in snapshot.sequences:
        if sequence.cycle or not sequence.position_known:
            continue
        ratio = sequence.used_ratio(sequence.limit)
        severity = settings.severity_for(ratio)
        if severity is None:
            continue
        bound = "MAXVALUE" if sequence.ascending else "MINVALUE"
        left = sequence.calls_left(sequence.limit)
        name = sequence.qualified
        if sequence.exhausted:
            message = (
                f"sequence {name} has reached its {bound} {number(sequence.limit)}: "
                "the next nextval() fails"
            )
        else:
            message = (
                f"sequence {name} has used {percent(ratio)} of its range "
                f"({bound} {number(sequence.limit)}): {plural(left, 'nextval() call')} left"
            )
        yield CHECK.finding(
            message,
            severity=severity,
            sequence=sequence,
            used_ratio=round(ratio, 6),
            values_left=left,
            limit=sequence.limit,
            last_value=sequence.last_value,
            data_type=sequence.data_type,
        )


CHECK = Check(
    code="SEQ003",
    name="sequence-near-limit",
    severity=Severity.WARNING,
    summary="a sequence is near or at its own MAXVALUE (MINVALUE when descending)",
    run=run,
    module=sys.modules[__name__],
    judges_each=Unit.SEQUENCE,
)
