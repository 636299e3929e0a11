"""The audit as a library call: connect, read a snapshot, run the checks, return a report."""

from __future__ import annotations

import gc
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from seqdoctor._version import __version__
from seqdoctor.catalog.connection import Timeouts, audit_session, connect, opened, stopped
from seqdoctor.catalog.filters import Filters, patterns
from seqdoctor.catalog.model import Snapshot
from seqdoctor.catalog.read import read_snapshot
from seqdoctor.catalog.reading import ReadOptions
from seqdoctor.checks import REGISTRY, Check, Finding, Settings, run_checks
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


class KeptConnections:
    """Connections to one database kept open from one audit to the next: ``serve``'s rounds,
    and ``fix``'s planning audit, its applying and its re-check.

    A round over connections whose server processes read the same catalogs
    and sequences a minute before finds their caches warm: at 10,000 tables
    the sequences' positions took 0.11 s to read where a new connection took
    0.36 s (bench/results/serve.md). Between audits they are idle, never
    inside a transaction (every read is a transaction of its own, ended before
    the audit returns). An audit that fails closes them all: the next one
    connects afresh, so a connection lost between rounds costs one failed
    round, reported as such, never a healthy one.

    For one audit (or one fix) at a time (an exporter keeps one per target);
    :meth:`close` ends them.
    """

    def __init__(self) -> None:
        self._open: list[psycopg.Connection[tuple[object, ...]]] = []

    def take(self, conninfo: str, count: int) -> list[psycopg.Connection[tuple[object, ...]]]:
        """Up to *count* open connections to *conninfo*, the first one at least: those kept
        and still idle, then new ones (the first may raise ConnectionFailed)."""
        kept = [conn for conn in self._open if _alive(conn)]
        for conn in self._open:
            if conn not in kept:
                conn.close()
        if not kept:
            kept.append(connect(conninfo))
        kept += _more(conninfo, count - len(kept))
        self._open = kept
        return kept[:count]

    def closed_on_failure(self, failed: type[BaseException] | None, *_: object) -> None:
        """An exit callback: all closed if the audit failed (*failed* is its exception's type)."""
        if failed is not None:
            self.close()

    def close(self) -> None:
        for conn in self._open:
            conn.close()
        self._open = []


def _alive(conn: psycopg.Connection[Any]) -> bool:
    """*conn* is idle and its server answers: one round trip, which tells a connection the
    server ended since (a restart, idle_session_timeout) before an audit relies on it."""
    if conn.broken or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        return False
    try:
        conn.execute(b"")
    except psycopg.Error:
        return False
    return True


def audit(
    target: object = "",
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
    judge: Callable[[Snapshot, Settings, Sequence[Check]], Iterable[Finding]] = run_checks,
    kept: KeptConnections | None = None,
) -> Report:
    """Audit every sequence of one database and return the report.

    *target* is a libpq connection string (URI, ``key=value``, ``service=``;
    empty means the PG* environment; a SQLAlchemy URL's ``+psycopg`` is
    dropped), or an open psycopg connection, which is left open and as it
    was: inside a transaction (an Alembic migration's ``op.get_bind()``) it is
    read in that transaction, which sees its uncommitted changes, within a
    savepoint rolled back after. Also a SQLAlchemy ``Engine``, ``URL`` or
    ``Connection`` (its driver's connection), and a psycopg 2 connection
    (see :func:`as_target`). Thresholds are fractions (0.75 is 75 %).

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

    *judge* runs the checks over the snapshot: :func:`~seqdoctor.checks.run_checks`,
    or a :class:`~seqdoctor.checks.incremental.Judge` kept from one audit of the
    database to the next, which judges again only what changed (the same findings).
    """
    if connections < 1:
        raise UsageError("connections must be at least 1")
    settings = Settings(warning, critical, warning_days, critical_days)
    checks = REGISTRY.select(patterns(select), patterns(ignore))
    resolved = as_target(target)
    if _in_transaction(resolved):
        # The tables' counters are read in a transaction of their own (catalog/activity.py):
        # inside the caller's, the checks that need them do not run, and the report's
        # checks say so, rather than judge without them.
        if history is not None:
            raise UsageError("history cannot be recorded inside the caller's transaction")
        checks = [check for check in checks if not check.reads_activity]
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
        snapshot = _read(resolved, options, connections, checks, history, checked_at, kept)
        if filters.active and not snapshot.sequences and not snapshot.uses:
            raise UsageError(f"nothing matches {filters.describe()}")
        findings = tuple(judge(snapshot, settings, checks))
    return Report(
        tool_version=__version__,
        checked_at=checked_at,
        duration_seconds=time.monotonic() - started,
        snapshot=snapshot,
        findings=findings,
        settings=settings,
        checks=tuple(c.code for c in checks),
    )


_DRIVER = re.compile(r"^(postgres(?:ql)?)\+\w+://")


def as_target(target: object) -> str | psycopg.Connection[Any]:
    """What :func:`audit` reads: a conninfo, or a psycopg 3 connection to read over.

    - a string: a conninfo, or a SQLAlchemy URL whose ``+driver`` is dropped;
    - a SQLAlchemy ``URL`` or ``Engine`` (its URL, password included, never shown);
      a SQLAlchemy ``Connection``: the driver's connection it holds, as below;
    - a psycopg 3 connection: read over, in its transaction if it is in one;
    - a psycopg 2 connection: seqdoctor reads with psycopg 3 only, so over a
      connection of its own with the same parameters (``conn.info``). Another
      connection cannot see a transaction's uncommitted changes: a psycopg 2
      connection inside a transaction is refused rather than judged on what
      it would not see.

    >>> as_target("postgresql+psycopg://u@db/shop")
    'postgresql://u@db/shop'
    >>> as_target(42)
    Traceback (most recent call last):
    ...
    TypeError: audit() takes a conninfo, a psycopg connection, a SQLAlchemy engine, connection or URL, or a psycopg2 connection, not int
    """  # noqa: E501 - the doctest's output is one line
    if isinstance(target, psycopg.Connection):
        return target
    if isinstance(target, str):
        return _DRIVER.sub("postgresql://", target)
    package = type(target).__module__.partition(".")[0]
    if package == "sqlalchemy":
        return _from_sqlalchemy(target)
    if package == "psycopg2":
        return _from_psycopg2(target)
    raise TypeError(
        "audit() takes a conninfo, a psycopg connection, a SQLAlchemy engine, connection or "
        f"URL, or a psycopg2 connection, not {type(target).__name__}"
    )


def _from_sqlalchemy(target: Any) -> str | psycopg.Connection[Any]:
    from sqlalchemy.engine import URL, Connection, Engine  # noqa: PLC0415 - its users have it

    if isinstance(target, Connection):
        return as_target(target.connection.dbapi_connection)
    url = target.url if isinstance(target, Engine) else target
    if not isinstance(url, URL) or url.get_backend_name() != "postgresql":
        raise TypeError(f"audit() needs a PostgreSQL database, not {type(target).__name__}")
    return str(url.set(drivername="postgresql").render_as_string(hide_password=False))


def _from_psycopg2(conn: Any) -> str:
    if conn.closed:
        raise ConnectionFailed("the psycopg2 connection is closed")
    if conn.info.transaction_status != 0:  # psycopg2.extensions.TRANSACTION_STATUS_IDLE
        raise UsageError(
            "a psycopg2 connection inside a transaction: seqdoctor reads with psycopg 3, over "
            "a connection of its own that cannot see what the transaction changed. Audit once "
            "it is committed, or use psycopg 3 (SQLAlchemy: postgresql+psycopg://)"
        )
    params = dict(conn.info.dsn_parameters)
    if conn.info.password:
        params["password"] = conn.info.password
    return make_conninfo("", **params)


def _read(  # noqa: PLR0917 - audit()'s options, passed on
    target: str | psycopg.Connection[Any],
    options: ReadOptions,
    connections: int,
    checks: Sequence[Check],
    history: History | None,
    checked_at: datetime,
    kept: KeptConnections | None = None,
) -> Snapshot:
    """The snapshot, read over *target* and the connections opened beside it (or kept)."""
    # More connections read positions and tables in parallel; with filters and
    # no table to read, there is nothing for them to do.
    parallel = isinstance(target, str) and (options.read_columns or not options.filters.active)
    with ExitStack() as stack:
        if isinstance(target, str) and kept is not None:
            conn, *more = kept.take(target, connections if parallel else 1)
            # Whatever stops this audit, the next connects afresh (see KeptConnections).
            stack.push(kept.closed_on_failure)
        else:
            conn = opened(target, stack)
            more = _more(target, connections - 1) if isinstance(target, str) and parallel else []
        for extra in more:
            if kept is None:
                stack.enter_context(extra)
            stack.enter_context(audit_session(extra))
        try:
            with _reading(conn):
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


def _in_transaction(target: str | psycopg.Connection[Any]) -> bool:
    return (
        isinstance(target, psycopg.Connection)
        and target.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    )


def _reading(conn: psycopg.Connection[Any]) -> AbstractContextManager[Any]:
    """How *conn* is read: in autocommit mode, read-only, when it is idle; inside a
    savepoint rolled back after when it is in a transaction, which then sees the
    caller's uncommitted changes and keeps its own settings (every SET LOCAL
    is undone with the savepoint). No SET TRANSACTION: the caller's is as it was."""
    if _in_transaction(conn):
        return conn.transaction(force_rollback=True)
    if conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
        raise UsageError("the connection's transaction has failed: roll it back first")
    return audit_session(conn)
