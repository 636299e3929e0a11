"""Reading what planning needs beyond the audit, for the findings of one report."""

from __future__ import annotations

from typing import Any

import psycopg

from seqdoctor.catalog.connection import Timeouts
from seqdoctor.catalog.dependents import (
    list_column_dependents,
    list_fed_columns,
    list_referencing_columns,
    list_table_sizes,
)
from seqdoctor.repairs import widen
from seqdoctor.repairs.model import RepairContext
from seqdoctor.repairs.plan import sequence_findings
from seqdoctor.report import Report


def read_context(
    conn: psycopg.Connection[Any], report: Report, timeouts: Timeouts
) -> RepairContext:
    """Every column the sequences with findings feed, every foreign key, and around the
    columns a widening would change: their dependent views and rules, and table sizes."""
    pairs = list(sequence_findings(report))
    fed = {s.oid for s, _ in pairs}
    # The audit's own listing, before its filters, when it kept it: the same
    # queries, read an instant earlier, and 10,000 columns' worth less to read again.
    inventory = report.snapshot.inventory
    if inventory is not None and inventory.index_facts:
        uses = tuple(use for use in inventory.uses if use.sequence_oid in fed)
        foreign_keys = inventory.foreign_keys
    else:
        uses = list_fed_columns(conn, fed, timeouts)
        foreign_keys = list_referencing_columns(conn, timeouts)
    targets = [t for t in widen.targets(pairs, uses, foreign_keys) if t.altered]
    return RepairContext(
        uses=uses,
        foreign_keys=foreign_keys,
        sizes=list_table_sizes(conn, {oid for t in targets for oid, _ in t.altered}, timeouts),
        dependents={
            t.sequence.oid: list_column_dependents(conn, t.altered, timeouts) for t in targets
        },
    )
