"""Opening connections the way libpq users expect, and read-only transactions that cannot hurt."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import tuple_row

from seqdoctor.catalog.redact import NOT_UTF8, parse_error, scrubbed
from seqdoctor.errors import AuditFailed, ConnectionFailed, SeqdoctorError, UsageError

APPLICATION_NAME = "seqdoctor"

# Where every name seqdoctor sends resolves: the system catalog, then the
# session's own temporary objects, listed last or they would come first for
# relations (and are never searched for functions and operators). A role that
# may create objects in a schema of the caller's search_path (public, often)
# could otherwise plant an operator such as =(oid, regclass), which matches
# catalog queries more exactly than PostgreSQL's own, and run it as seqdoctor's
# role, a superuser as often as not.
# https://www.postgresql.org/docs/current/ddl-schemas.html#DDL-SCHEMAS-PATTERNS
SEARCH_PATH = "pg_catalog, pg_temp"
PINNED_SEARCH_PATH = sql.Composed([sql.SQL("SET LOCAL search_path = pg_catalog, pg_temp")])

# Run first in every transaction, with Timeouts.settings(): SET LOCAL, so that a
# connection handed to us by a library user keeps its own settings afterwards.
# Qualified: it runs before the search path is pinned.
SET_TIMEOUTS = (
    b"SELECT pg_catalog.set_config('lock_timeout', %s, true),"
    b" pg_catalog.set_config('statement_timeout', %s, true),"
    b" pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true)"
)
# The search path of a session as it was, read as it is pinned for seqdoctor's
# use: one round trip. The target list is evaluated left to right.
_PIN_SEARCH_PATH = (
    b"SELECT pg_catalog.current_setting('search_path'),"
    b" pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false)"
)
_SET_SEARCH_PATH = b"SELECT pg_catalog.set_config('search_path', %s, false)"


@dataclass(frozen=True)
class Timeouts:
    """Bounds on every transaction the audit opens, in seconds."""

    lock: float = 2.0
    statement: float = 30.0

    def settings(self) -> list[str]:
        """The parameters of :data:`SET_TIMEOUTS`: lock, then statement timeout.

        >>> Timeouts(0.5, 30).settings()
        ['500ms', '30000ms']
        """
        return [f"{round(self.lock * 1000)}ms", f"{round(self.statement * 1000)}ms"]

    def __post_init__(self) -> None:
        # PostgreSQL reads 0 as "no limit": a timeout must be a real bound.
        if min(self.lock, self.statement) < 0.001:
            raise UsageError("timeouts must be at least 0.001 seconds (0 would mean no limit)")


@lru_cache(maxsize=16)  # the same for every plan of a fix: 10,000 after a copy
def timeout_statements(timeouts: Timeouts) -> tuple[sql.Composed, ...]:
    """The first statements of a changing transaction, readable in a psql script: the
    timeouts, and the pinned search path, so that a psql user's own search_path
    (~/.psqlrc, ALTER ROLE) binds the names of a printed script as seqdoctor's run does.

    >>> for statement in timeout_statements(Timeouts(0.5, 30)):
    ...     print(statement.as_string())
    SET LOCAL lock_timeout = '500ms'
    SET LOCAL statement_timeout = '30000ms'
    SET LOCAL search_path = pg_catalog, pg_temp
    """
    lock, statement = timeouts.settings()
    return (
        sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(lock)),
        sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(statement)),
        PINNED_SEARCH_PATH,
    )


def connect(conninfo: str = "") -> psycopg.Connection[tuple[object, ...]]:
    """Connect with anything libpq accepts: a URI, ``key=value`` pairs, ``service=``, PG* variables.

    An empty *conninfo* means "whatever the environment says", as with psql.
    Failures become :class:`ConnectionFailed` with libpq's own message. The
    session's search path is pinned (:data:`SEARCH_PATH`) before anything else
    runs, whatever ALTER ROLE or the conninfo's options set.
    """
    try:
        conn = psycopg.connect(
            conninfo,
            autocommit=True,
            application_name=APPLICATION_NAME,
            connect_timeout=_default_connect_timeout(conninfo),
        )
    except psycopg.ProgrammingError as error:  # libpq could not parse the conninfo
        raise UsageError(f"invalid connection string: {parse_error(error)}") from None
    except UnicodeDecodeError:  # a percent-encoded value that is not UTF-8
        raise UsageError(f"invalid connection string: {parse_error(NOT_UTF8)}") from None
    except psycopg.OperationalError as error:
        raise ConnectionFailed(f"cannot connect: {scrubbed(first_line(error), conninfo)}") from None
    try:
        conn.execute(_PIN_SEARCH_PATH)
    except psycopg.Error as error:
        conn.close()
        raise ConnectionFailed(f"cannot connect: {error_message(error)}") from None
    return conn


def _default_connect_timeout(conninfo: str) -> int | None:
    """10 s when neither *conninfo* nor ``PGCONNECT_TIMEOUT`` sets ``connect_timeout``.

    psycopg enforces the timeout itself, per host and address as libpq does,
    reading it from the conninfo and the environment (not from a service
    file); a keyword argument would override both, as a fixed 10 s once did
    where psql gave up after the 2 s the user asked for. Without one, 10 s
    rather than none: a host that drops packets would hold a check for ever.
    """
    if os.environ.get("PGCONNECT_TIMEOUT") or "connect_timeout" in conninfo_to_dict(conninfo):
        return None  # psycopg leaves out a parameter given as None
    return 10


# What commands take to reach a database: a conninfo, or the caller's open connection.
Target = str | psycopg.Connection[Any]


def opened(target: Target, stack: ExitStack) -> psycopg.Connection[Any]:
    """The caller's connection as it is, or one opened from a conninfo and closed by *stack*."""
    if isinstance(target, psycopg.Connection):
        return target
    return stack.enter_context(connect(target))


def error_message(error: psycopg.Error) -> str:
    """The server's reason for *error*, on one line: its primary message, or libpq's words."""
    return error.diag.message_primary or first_line(error)


def stopped(what: str, error: psycopg.Error, conn: psycopg.Connection[Any]) -> SeqdoctorError:
    """A read that stopped a whole command: the connection was lost, or *what* failed."""
    if conn.broken:
        return ConnectionFailed(f"lost the connection: {error_message(error)}")
    return AuditFailed(f"{what}: {error_message(error)}")


def first_line(error: Exception) -> str:
    """libpq's reason on one line.

    >>> first_line(Exception('connection failed: connection to server at "::1", port 1 '
    ...     'failed: Connection refused\\n\\tIs the server running on that host?\\nanother'))
    'connection to server at "::1", port 1 failed: Connection refused'
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    first = lines[0] if lines else type(error).__name__
    return first.removeprefix("connection failed: ")


@contextmanager
def read_only_transaction(
    conn: psycopg.Connection[tuple[object, ...]], timeouts: Timeouts
) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """One short READ ONLY transaction whose locks wait at most ``timeouts.lock``.

    The timeouts are SET LOCAL, so a connection handed to us by a library user
    keeps its own settings once the transaction ends.
    """
    with transaction_block(conn):
        conn.execute(SET_TIMEOUTS, timeouts.settings())
        yield conn


@contextmanager
def transaction_block(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """``conn.transaction()``, ended on the server too whatever happens.

    A SET LOCAL statement_timeout bounds the COMMIT as well. A COMMIT it
    cancels fails and leaves the transaction open and aborted on the server,
    while psycopg takes it for ended: every transaction after it would become
    a savepoint of the failed one, and fail ("savepoint does not exist").
    """
    try:
        with conn.transaction():
            yield
    finally:
        if not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
            conn.rollback()


@contextmanager
def session(
    conn: psycopg.Connection[Any], *, writes: bool, who: str
) -> Iterator[psycopg.Connection[Any]]:
    """Put *conn* in autocommit mode, read-only unless *who* writes, with its search path
    pinned (:data:`SEARCH_PATH`), and give it back as it was.

    A connection handed over inside a transaction is refused: what *who* does
    would join that transaction, and its rollback would undo it.
    """
    status = conn.info.transaction_status
    if status == psycopg.pq.TransactionStatus.UNKNOWN:  # closed, or the server ended it
        raise ConnectionFailed("lost the connection: the server closed it, or it was closed")
    if status != psycopg.pq.TransactionStatus.IDLE:
        raise UsageError(f"{who} needs a connection that is not inside a transaction")
    saved = (conn.autocommit, conn.read_only)
    conn.autocommit, conn.read_only = True, not writes
    try:
        with _pinned_search_path(conn):
            yield conn
    finally:
        if not conn.closed and not conn.broken:
            conn.autocommit, conn.read_only = saved


@contextmanager
def _pinned_search_path(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """*conn*'s search path pinned, then set back as it was (SET, not SET LOCAL: it is idle)."""
    with conn.cursor(row_factory=tuple_row) as cursor:  # whatever the caller's row factory
        row = cursor.execute(_PIN_SEARCH_PATH).fetchone()
    path = row[0] if row else SEARCH_PATH
    try:
        yield
    finally:
        usable = not conn.closed and not conn.broken
        idle = usable and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        if idle and path != SEARCH_PATH:
            conn.execute(_SET_SEARCH_PATH, [path])


def audit_session(conn: psycopg.Connection[Any]) -> AbstractContextManager[psycopg.Connection[Any]]:
    """*conn* in autocommit, read-only mode for the audit, given back as it was afterwards."""
    return session(conn, writes=False, who="the audit")
