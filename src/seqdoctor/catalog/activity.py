"""Reading how fast the sequences' tables grow: insert counters, row estimates, and who we are.

Read after the snapshot, and only when a check needs it
(``Check.reads_activity``) or a history is being recorded: one short READ
ONLY transaction, no table lock (see ``get_statistics_start.sql`` and
``list_table_changes.sql``, whose counters ``serve``'s rounds read with the
tables' marks, before the snapshot's columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from seqdoctor.catalog.connection import SET_TIMEOUTS, Timeouts
from seqdoctor.catalog.model import Activity, Snapshot
from seqdoctor.catalog.reading import load_query, oid_array

Connection = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True)
class StatisticsStart:
    database_reset: datetime | None
    server_reset: datetime | None
    system_identifier: int | None


def read_activity(
    conn: Connection, snapshot: Snapshot, timeouts: Timeouts, now: datetime
) -> tuple[Activity, str]:
    """The insert counters and row estimates of the tables *snapshot* has columns of, and
    a key naming this database across connections: ``<system identifier>/<database>``.

    The activity's ``history`` is left empty: the history store fills it.
    When the role may not call ``pg_control_system()``, the server's host and
    port stand in for the identifier in the key: the same database reached by
    another address then keeps a history of its own.
    """
    oids = sorted({use.table_oid for use in snapshot.uses})
    # Read with the change marks (serve's rounds), else here, in the same query.
    counted = snapshot.table_activity if oids and snapshot.table_activity else None
    with (
        conn.cursor(row_factory=class_row(StatisticsStart)) as start_cursor,
        conn.cursor() as tables_cursor,
    ):
        try:
            # The transaction read_only_transaction() opens, sent as one pipeline: one
            # round trip rather than five, as the audit's cost is counted in them.
            with conn.pipeline():
                conn.execute(b"BEGIN READ ONLY")
                conn.execute(SET_TIMEOUTS, timeouts.settings())
                start_cursor.execute(load_query("get_statistics_start").encode())
                if counted is None:
                    tables_cursor.execute(
                        load_query("list_table_changes").encode(), {"oids": oid_array(oids)}
                    )
                conn.execute(b"COMMIT")
        except psycopg.Error:
            if conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
                conn.execute(b"ROLLBACK")
            raise
        (start,) = start_cursor.fetchall()
        if counted is None:
            counted = {oid: (inserted, estimate) for oid, _, inserted, estimate in tables_cursor}
    cluster = (
        str(start.system_identifier)
        if start.system_identifier is not None
        else f"{conn.info.host}:{conn.info.port}"
    )
    activity = Activity(
        now=now,
        rows_inserted={oid: inserted for oid, (inserted, _) in counted.items()},
        row_estimates={oid: estimate for oid, (_, estimate) in counted.items()},
        counted_since=start.database_reset or start.server_reset,
        counters_reset=start.database_reset is not None,
    )
    return activity, f"{cluster}/{snapshot.server.database}"
