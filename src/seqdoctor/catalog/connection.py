"""Opening connections the way libpq users expect, and read-only transactions that cannot hurt."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from seqdoctor.catalog.redact import NOT_UTF8, parse_error, scrubbed
from seqdoctor.errors import AuditFailed, ConnectionFailed, SeqdoctorError, UsageError

APPLICATION_NAME = "seqdoctor"


# Run first in every transaction, with Timeouts.settings(): SET LOCAL, so that a
# connection handed to us by a library user keeps its own settings afterwards.
SET_TIMEOUTS = (
    b"SELECT set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)"
)


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


def timeout_statements(timeouts: Timeouts) -> tuple[sql.Composed, sql.Composed]:
    """The timeouts as the first statements of a changing transaction, readable in a psql script.

    >>> [s.as_string() for s in timeout_statements(Timeouts(0.5, 30))]
    ["SET LOCAL lock_timeout = '500ms'", "SET LOCAL statement_timeout = '30000ms'"]
    """
    lock, statement = timeouts.settings()
    return (
        sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(lock)),
        sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(statement)),
    )


def connect(
    conninfo: str = "", *, connect_timeout: int = 10
) -> psycopg.Connection[tuple[object, ...]]:
    """Connect with anything libpq accepts: a URI, ``key=value`` pairs, ``service=``, PG* variables.

    An empty *conninfo* means "whatever the environment says", as with psql.
    Failures become :class:`ConnectionFailed` with libpq's own message.
    """
    try:
        return psycopg.connect(
            conninfo,
            autocommit=True,
            application_name=APPLICATION_NAME,
            connect_timeout=connect_timeout,
        )
    except psycopg.ProgrammingError as error:  # libpq could not parse the conninfo
        raise UsageError(f"invalid connection string: {parse_error(error)}") from None
    except UnicodeDecodeError:  # a percent-encoded value that is not UTF-8
        raise UsageError(f"invalid connection string: {parse_error(NOT_UTF8)}") from None
    except psycopg.OperationalError as error:
        raise ConnectionFailed(f"cannot connect: {scrubbed(first_line(error), conninfo)}") from None


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
    with conn.transaction():
        conn.execute(SET_TIMEOUTS, timeouts.settings())
        yield conn


@contextmanager
def session(
    conn: psycopg.Connection[Any], *, writes: bool, who: str
) -> Iterator[psycopg.Connection[Any]]:
    """Put *conn* in autocommit mode, read-only unless *who* writes, and give it back as it was.

    A connection handed over inside a transaction is refused: what *who* does
    would join that transaction, and its rollback would undo it.
    """
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise UsageError(f"{who} needs a connection that is not inside a transaction")
    saved = (conn.autocommit, conn.read_only)
    conn.autocommit, conn.read_only = True, not writes
    try:
        yield conn
    finally:
        if not conn.closed and not conn.broken:
            conn.autocommit, conn.read_only = saved


def audit_session(conn: psycopg.Connection[Any]) -> AbstractContextManager[psycopg.Connection[Any]]:
    """*conn* in autocommit, read-only mode for the audit, given back as it was afterwards."""
    return session(conn, writes=False, who="the audit")
