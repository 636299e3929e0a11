"""SEQ008 no-unique-index: a sequence-fed column without a unique index.

What it checks
    Columns taking values from a sequence with no unique index on the column
    alone (a primary key, a unique constraint, or a unique index, not
    partial). A unique index that holds the column together with other
    columns does not make it unique: the finding then names them. That is
    the case of every partitioned table not partitioned by the id itself,
    since PostgreSQL requires a unique index there to hold the partition key:
    pagila's ``payment``, ``PRIMARY KEY (payment_date, payment_id)``, accepts
    the same ``payment_id`` twice with different dates.

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

    A partitioned table cannot have a unique index on the id alone (unless
    partitioned by it): keep its sequence ahead of the data instead, with
    ``seqdoctor guard``, which catches explicit ids ahead of the sequence as
    they are inserted, and an index led by the id, so that the audit reads its
    ``max()``::

        CREATE INDEX ON public.payment (payment_id);

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
from seqdoctor.checks.base import Check, Finding, Settings, Severity, Unit


def run(snapshot: Snapshot, settings: Settings) -> Iterator[Finding]:
    for sequence, use in snapshot.pairs:
        # has_unique_index admits a partitioned table's partition key beside
        # the column; unique_with names whatever else the unique index holds.
        if (use.has_unique_index and use.unique_with is None) or use.relkind == "f":
            continue
        drift_checked = use.key in snapshot.extents
        tail = ""
        if not drift_checked:
            why = "it could not be read" if use.has_probe_index else "no index to read max() from"
            tail = f"; drift not checked ({why})"
        what = "has no unique index: duplicate ids go unnoticed"
        if use.unique_with is not None:
            what = (
                f"is unique only together with {use.unique_with}: the same id can be "
                f"inserted again with another {use.unique_with}, and duplicate ids go unnoticed"
            )
        yield CHECK.finding(
            f"{use.qualified} takes ids from {sequence.qualified} but {what}{tail}",
            sequence=sequence,
            column=use,
            drift_checked=drift_checked,
            has_index=use.has_probe_index,
            unique_with=use.unique_with,
        )


CHECK = Check(
    code="SEQ008",
    name="no-unique-index",
    severity=Severity.WARNING,
    summary="a sequence-fed column without a unique index",
    run=run,
    module=sys.modules[__name__],
    judges_each=Unit.PAIR,
    reads_columns=True,
)
