"""SEQ008 no-unique-index: a sequence-fed column without a unique index.

What it checks
    Columns taking values from a sequence with no unique index on the column
    alone (a primary key, a unique constraint, or a unique index, not
    partial). On a partitioned table the index may also hold the partition key
    columns, since PostgreSQL requires them.

Why it matters
    Without a unique index a sequence behind its data goes unnoticed: the
    inserts succeed and the table fills with duplicate ids, which surface later
    as wrong joins and updates that hit two rows. Without any index led by the
    column, drift cannot even be checked cheaply: reading ``max()`` would scan
    the table (the finding says when drift was not checked; ``--allow-seqscan``
    checks it anyway).

How to fix
    Check for duplicates first, then add the constraint without blocking
    writes::

        SELECT id, count(*) FROM public.events GROUP BY id HAVING count(*) > 1;
        CREATE UNIQUE INDEX CONCURRENTLY events_id_key ON public.events (id);
        ALTER TABLE public.events ADD PRIMARY KEY USING INDEX events_id_key;

Fix safety
    Display only: building an index on a large table takes time and I/O, and
    existing duplicates make it fail.

References
    https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from seqdoctor.catalog.model import Snapshot
from seqdoctor.checks.base import Check, Finding, Settings, Severity


def run(snapshot: Snapshot, settings: Settings) -> Iterator[Finding]:
    for sequence, use in snapshot.pairs:
        if use.has_unique_index or use.relkind == "f":
            continue
        drift_checked = use.key in snapshot.extents
        tail = ""
        if not drift_checked:
            why = "it could not be read" if use.has_probe_index else "no index to read max() from"
            tail = f"; drift not checked ({why})"
        yield CHECK.finding(
            f"{use.qualified} takes ids from {sequence.qualified} but has no "
            f"unique index: duplicate ids go unnoticed{tail}",
            sequence=sequence,
            column=use,
            drift_checked=drift_checked,
            has_index=use.has_probe_index,
        )


CHECK = Check(
    code="SEQ008",
    name="no-unique-index",
    severity=Severity.WARNING,
    summary="a sequence-fed column without a unique index",
    run=run,
    module=sys.modules[__name__],
    reads_columns=True,
)
