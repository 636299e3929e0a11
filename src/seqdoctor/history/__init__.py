"""The history of sequence positions, from which the exhaustion forecast (SEQ011) measures rates.

``seqdoctor check --record`` stores one sample per sequence; later audits load
the samples of the forecast window and hand them to the checks as
``Snapshot.activity.history``. Samples live in an SQLite file under the
user's state directory, or, with ``--history CONNINFO``, in a PostgreSQL
table. Each database's samples are kept under a key naming it across
connections (:func:`seqdoctor.catalog.activity.read_activity`). See
docs/history.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import psycopg

from seqdoctor.catalog.activity import read_activity
from seqdoctor.catalog.connection import Timeouts
from seqdoctor.catalog.model import Snapshot
from seqdoctor.errors import UsageError
from seqdoctor.history.model import ColumnSample, Sample, positions, samples_of
from seqdoctor.history.store import (
    DEFAULT_SCHEMA,
    HistoryError,
    Store,
    default_path,
    open_store,
)

__all__ = [
    "DEFAULT_SCHEMA",
    "ColumnSample",
    "History",
    "HistoryError",
    "Sample",
    "Store",
    "default_path",
    "history_key",
    "open_store",
    "with_activity",
]


@dataclass(frozen=True)
class History:
    """Which store to use, how far back a forecast looks, and whether this audit records.

    *retention*: samples older than this are pruned after each recording.
    """

    store: Store
    window: timedelta = timedelta(days=30)
    retention: timedelta = timedelta(days=90)
    record: bool = False

    def __post_init__(self) -> None:
        if self.window <= timedelta(0):
            raise UsageError("the forecast window must be longer than 0 days")
        if self.retention < self.window:
            raise UsageError("the retention must be at least the forecast window")


def history_key(database: str, *, in_recovery: bool) -> str:
    """The key a database's samples are kept under: a hot standby's are kept apart.

    A standby shares its primary's system identifier, but reads positions up
    to 32 ``nextval()`` calls ahead of the primary's: mixed under one key, the
    two alternate back and forth, and every step back restarts the forecast's
    fit. Apart, each measures its own rate; a standby promoted to primary
    records under the primary's key, whose history it continues.

    >>> history_key("7301/shop", in_recovery=True), history_key("7301/shop", in_recovery=False)
    ('standby:7301/shop', '7301/shop')
    """
    return f"standby:{database}" if in_recovery else database


def with_activity(
    conn: psycopg.Connection[Any],
    snapshot: Snapshot,
    timeouts: Timeouts,
    now: datetime,
    history: History | None = None,
) -> Snapshot:
    """*snapshot* with its activity: the tables' counters, and the history of the window.

    When *history* says so, the snapshot's positions are recorded as of *now*
    (after the window was loaded: the checks see them as the current
    position, not twice), and samples past the retention are pruned.
    """
    activity, database = read_activity(conn, snapshot, timeouts, now)
    database = history_key(database, in_recovery=snapshot.server.in_recovery)
    if history is not None:
        samples = history.store.load(database, now - history.window, now)
        activity = replace(activity, history=positions(snapshot, samples))
    snapshot = replace(snapshot, activity=activity)
    if history is not None and history.record:
        history.store.record(database, samples_of(snapshot, now))
        history.store.prune(now - history.retention)
    return snapshot
