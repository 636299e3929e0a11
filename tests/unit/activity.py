"""Builders for the activity the burn-rate and forecast checks read: history and counters.

::

    snap = with_activity(
        snapshot(orders_seq, orders_id),
        now=NOW,
        history={orders_seq: [(NOW - 10 * DAY, 1_000), (NOW - 5 * DAY, 6_000)]},
        row_estimates={orders_id: 500},
    )
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from seqdoctor.catalog.model import Activity, ColumnUse, Position, SequenceState, Snapshot

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def with_activity(
    snap: Snapshot,
    *,
    now: datetime = NOW,
    history: Mapping[SequenceState, Iterable[tuple[datetime, int]]] | None = None,
    rows_inserted: Mapping[ColumnUse, int] | None = None,
    row_estimates: Mapping[ColumnUse, int] | None = None,
    counted_since: datetime | None = None,
    counters_reset: bool = False,
) -> Snapshot:
    """*snap* with an activity: positions by sequence (the last value handed out), counters
    and estimates by column."""
    return replace(
        snap,
        activity=Activity(
            now=now,
            history={
                seq.oid: tuple(Position(at, value) for at, value in points)
                for seq, points in (history or {}).items()
            },
            rows_inserted={use.table_oid: n for use, n in (rows_inserted or {}).items()},
            row_estimates={use.table_oid: n for use, n in (row_estimates or {}).items()},
            counted_since=counted_since,
            counters_reset=counters_reset,
        ),
    )
