"""SEQ900 not-checked: something the audit could not read, and so could not judge.

What it checks
    Sequences and columns the audit could not read: a role without privilege
    on a sequence, a table, a column or its schema; row-level security hiding
    rows (``max()`` would be wrong); a lock held by another session past
    ``--lock-timeout``; a probe past ``--statement-timeout``; a unique column
    with no index to read its maximum from (``--allow-seqscan`` reads it
    anyway). Such a column is judged from the planner's statistics when they
    show a value its sequence will hand out (SEQ001, "likely"); when they show
    none it stays not checked, and the finding says what they showed, or that
    there are none yet (``ANALYZE`` gathers them): a sample that holds no
    value ahead of the sequence does not prove the column holds none.

Why it matters
    An object that cannot be read is not healthy, it is unknown. Monitoring
    that shows an unreadable sequence as 0 % used, or skips it in silence,
    hides exactly the sequences nobody looks at. The finding names the object,
    the reason, and the statement that lets the audit read it.

How to fix
    Run the remedy the finding gives, for example::

        GRANT USAGE ON SCHEMA billing TO monitoring;
        GRANT SELECT ON SEQUENCE billing.invoices_id_seq TO monitoring;

    or grant the predefined role ``pg_read_all_data`` (PostgreSQL 14 and
    later). For lock and statement timeouts, run the audit again, or raise
    ``--lock-timeout``; the audit never waits longer than it, so it never
    blocks production.

Fix safety
    Display only.

References
    https://www.postgresql.org/docs/current/sql-grant.html
    https://www.postgresql.org/docs/current/predefined-roles.html
    https://www.postgresql.org/docs/current/ddl-rowsecurity.html
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from seqdoctor.catalog.model import Snapshot
from seqdoctor.checks.base import Check, Finding, Settings, Severity, statistics_details


def run(snapshot: Snapshot, settings: Settings) -> Iterator[Finding]:
    for entry in snapshot.unreadable:
        use = snapshot.use(entry.column_key) if entry.column_key else None
        oid = use.sequence_oid if use else entry.sequence_oid
        # A column whose planner statistics were looked at: what they showed.
        samples = snapshot.statistics.get(entry.column_key) if entry.column_key else None
        seen: dict[str, Any] = {}
        if samples is not None:
            seen["statistics"] = statistics_details(samples)
        yield CHECK.finding(
            f"not checked: {entry.detail}",
            sequence=snapshot.sequence(oid) if oid is not None else None,
            column=use,
            reason=str(entry.reason),
            remedy=entry.remedy,
            **seen,
        )


CHECK = Check(
    code="SEQ900",
    name="not-checked",
    severity=Severity.UNKNOWN,
    summary="an object could not be read, so it was not judged",
    run=run,
    module=sys.modules[__name__],
    reads_columns=True,
)
