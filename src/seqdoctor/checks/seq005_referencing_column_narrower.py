"""SEQ005 referencing-column-narrower: a foreign key narrower than the sequence-fed key it names.

What it checks
    Foreign-key columns whose integer type is narrower than the
    sequence-fed column they reference: ``order_items.order_id integer``
    referencing ``orders.id bigint``. Warning; critical once the referenced
    column's sequence has used the critical share (90 % by default) of the
    narrower type's range.

Why it matters
    The referenced key keeps working past 2,147,483,647, but the first child
    row pointing at such a key fails with ``integer out of range``: the
    narrow foreign key breaks first, and monitoring that looks only at
    sequences never sees it. When the key itself is widened, its foreign keys
    must be widened with it.

How to fix
    Widen the referencing column to the referenced column's type::

        ALTER TABLE public.order_items ALTER COLUMN order_id TYPE bigint;

Fix safety
    Unsafe: the ALTER rewrites the referencing table under an ACCESS EXCLUSIVE
    lock and revalidates the foreign key.

References
    https://www.postgresql.org/docs/current/ddl-constraints.html#DDL-CONSTRAINTS-FK
    https://www.postgresql.org/docs/current/datatype-numeric.html#DATATYPE-INT
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from seqdoctor.catalog.model import TYPE_NAMES, TYPE_RANGES, Snapshot
from seqdoctor.checks.base import Check, Finding, Settings, Severity, number, percent


def run(snapshot: Snapshot, settings: Settings) -> Iterator[Finding]:
    for key in snapshot.foreign_keys:
        key_low, key_high = TYPE_RANGES[key.type_name]
        for use in snapshot.uses_of_column(key.referenced_table_oid, key.referenced_attnum):
            if use.type_range is None or key_high >= use.type_range[1]:
                continue
            sequence = snapshot.sequence(use.sequence_oid)
            narrow_limit = key_high if sequence.ascending else key_low
            origin = (
                max(sequence.start_value, key_low)
                if sequence.ascending
                else min(sequence.start_value, key_high)
            )
            ratio = sequence.used_ratio(narrow_limit, origin) if sequence.position_known else None
            severity = Severity.WARNING
            if ratio is not None and ratio >= settings.critical_ratio:
                severity = Severity.CRITICAL
            used = "an unknown share" if ratio is None else percent(ratio)
            yield CHECK.finding(
                f"{key.qualified} ({key.column_type}) references {use.qualified} "
                f"({use.column_type}) through {key.constraint_name}: it breaks at "
                f"{number(narrow_limit)}, before the key does; the key's sequence has used "
                f"{used} of {TYPE_NAMES[key.type_name]}",
                severity=severity,
                sequence=sequence,
                column=use,
                referencing_column={"schema": key.schema, "table": key.table, "column": key.column},
                referencing_type=key.column_type,
                constraint=key.constraint_name,
                used_ratio=None if ratio is None else round(ratio, 6),
                limit=narrow_limit,
            )


CHECK = Check(
    code="SEQ005",
    name="referencing-column-narrower",
    severity=Severity.WARNING,
    summary="a foreign-key column is narrower than the sequence-fed column it references",
    run=run,
    module=sys.modules[__name__],
)
