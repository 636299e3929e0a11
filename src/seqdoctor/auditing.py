"""The audit as a library call: connect, read a snapshot, run the checks, return a report."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime

import psycopg

from seqdoctor._version import __version__
from seqdoctor.catalog.connection import Timeouts, audit_session, connect, opened, stopped
from seqdoctor.catalog.filters import Filters, patterns
from seqdoctor.catalog.model import Snapshot
from seqdoctor.catalog.read import ReadOptions, read_snapshot
from seqdoctor.checks import REGISTRY, Check, Settings, run_checks
from seqdoctor.errors import ConnectionFailed, UsageError
from seqdoctor.history import History, with_activity
from seqdoctor.report import Report

_pause_lock = threading.Lock()
_pauses = 0  # audits running with the collector paused, in any thread (a fleet runs several)
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while an audit builds its objects.

    An audit of 100,000 tables keeps hundreds of thousands of small objects
    alive, none of them in a reference cycle; each full pass of the collector
    walks them all, and those passes took a third of the audit's time (see
    bench/RESULTS.md). Reference counting still frees everything not in a
    cycle. The collector resumes, as it was, when the last audit ends: a
    caller that goes on to write the report (the CLI) keeps it paused till then.
    """
    global _pauses, _was_enabled  # noqa: PLW0603 - one collector per process
    with _pause_lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()


def _more(conninfo: str, count: int) -> list[psycopg.Connection[tuple[object, ...]]]:
    """Up to *count* more connections; fewer when the server has no room for them."""
    opened = []
    for _ in range(count):
        try:
            opened.append(connect(conninfo))
        except ConnectionFailed:
            break  # e.g. max_connections reached: read with what we have
    return opened


def audit(
    target: str | psycopg.Connection[tuple[object, ...]] = "",
    *,
    schemas: str | Sequence[str] = (),
    exclude_schemas: str | Sequence[str] = (),
    tables: str | Sequence[str] = (),
    select: str | Sequence[str] = (),
    ignore: str | Sequence[str] = (),
    warning: float = 0.75,
    critical: float = 0.90,
    warning_days: float = 90.0,
    critical_days: float = 30.0,
    lock_timeout: float = 2.0,
    statement_timeout: float = 30.0,
    allow_seqscan: bool = False,
    batch_size: int = 200,
    connections: int = 2,
    progress: Callable[[str, int, int], None] | None = None,
    history: History | None = None,
    now: datetime | None = None,
    mark_changes: bool = False,
    earlier: Snapshot | None = None,
) -> Report:
    """Audit every sequence of one database and return the report.

    *target* is a libpq connection string (URI, ``key=value``, ``service=``;
    empty means the PG* environment) or an open psycopg connection, which is
    left open and as it was. Thresholds are fractions (0.75 is 75 %).

    Tables are read in batches of *batch_size*, over up to *connections*
    connections in parallel (a connection given as *target* is used alone);
    *progress* is told ``(phase, done, total)`` after each batch.

    *history* is where sequence positions are recorded and loaded from for the
    forecast (SEQ011), which counts from *now* (the current time by default).

    With *mark_changes*, the report's snapshot holds a mark of each table's
    write counters, and the catalog inventory with the catalog's mark; given
    back as *earlier* to a later audit of the same database, the columns of
    tables whose mark has not moved are not read again: their values are
    carried from it (``snapshot.carried`` names them), and so is the inventory
    while the catalog's mark has not moved (``snapshot.inventory_carried``).
    Writes reach the counters late (see catalog/queries/list_table_changes.sql),
    so the caller should also audit without *earlier* now and then.
    """
    if connections < 1:
        raise UsageError("connections must be at least 1")
    settings = Settings(warning, critical, warning_days, critical_days)
    checks = REGISTRY.select(patterns(select), patterns(ignore))
    filters = Filters.of(schemas, exclude_schemas, tables)
    options = ReadOptions(
        Timeouts(lock_timeout, statement_timeout),
        filters,
        allow_seqscan,
        batch_size,
        read_columns=any(check.reads_columns for check in checks),
        progress=progress,
        mark_changes=mark_changes,
        earlier=earlier,
    )
    started = time.monotonic()
    checked_at = now or datetime.now(UTC)
    with collector_paused():
        snapshot = _read(target, options, connections, checks, history, checked_at)
        if filters.active and not snapshot.sequences and not snapshot.uses:
            raise UsageError(f"nothing matches {filters.describe()}")
        findings = tuple(run_checks(snapshot, settings, checks))
    return Report(
        tool_version=__version__,
        checked_at=checked_at,
        duration_seconds=time.monotonic() - started,
        snapshot=snapshot,
        findings=findings,
        settings=settings,
        checks=tuple(c.code for c in checks),
    )


def _read(  # noqa: PLR0917 - audit()'s options, passed on
    target: str | psycopg.Connection[tuple[object, ...]],
    options: ReadOptions,
    connections: int,
    checks: Sequence[Check],
    history: History | None,
    checked_at: datetime,
) -> Snapshot:
    """The snapshot, read over *target* and the connections opened beside it."""
    with ExitStack() as stack:
        conn = opened(target, stack)
        # More connections read positions and tables in parallel; with filters and
        # no table to read, there is nothing for them to do.
        more = []
        if isinstance(target, str) and (options.read_columns or not options.filters.active):
            more = _more(target, connections - 1)
        for extra in more:
            stack.enter_context(extra)
            stack.enter_context(audit_session(extra))
        try:
            with audit_session(conn):
                snapshot = read_snapshot(conn, options, more)
                if any(u.guard_function is not None for u in snapshot.uses):
                    # Only where a guard is installed: the guard's SQL is not loaded otherwise.
                    from seqdoctor.guard.database import untrusted_guards  # noqa: PLC0415

                    snapshot = untrusted_guards(snapshot, options.timeouts, conn)
                if any(c.reads_activity for c in checks) or (history and history.record):
                    snapshot = with_activity(conn, snapshot, options.timeouts, checked_at, history)
        except psycopg.Error as error:
            # Objects that cannot be read become findings inside read_snapshot();
            # what reaches here stopped the whole audit.
            raise stopped("could not read the catalog", error, conn) from None
    return snapshot
