"""One guard for several test processes on one database: pytest-xdist workers sharing it.

Each worker that uses the database joins when its session starts and leaves
when it ends; workers install the guard in turn (the first creates it, the
others find it there), and the last to leave audits the database and removes
the guard, if it was not there when the run began. Who is in is counted by
the server, with advisory locks on one connection per worker (advisory locks
belong to the database they are taken in):

- ``TURN``, exclusive: one worker at a time joins, installs or leaves, so two
  never race to create the guard's schema;
- ``MEMBER``, shared by every worker in: a worker that can take it
  exclusively is alone;
- ``OURS``, shared by every worker in while the guard is the run's: taken by
  the first worker to join when the guard's schema does not exist, and by
  each worker joining while it is held. As long as one worker is in, it is
  held, so the last to leave knows whether to remove the guard, whoever
  installed it.

A worker that dies ends its session, and the server releases its locks: the
count never stays up. Waiting for ``TURN`` is bounded by the lock timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg import sql

from seqdoctor.catalog.connection import connect
from seqdoctor.guard.model import DEFAULT_SCHEMA

# pg_advisory_lock(int4, int4): the first key is seqdoctor's ('SD^' and 1), the second the lock's.
_KEY = 0x5344_5E01
TURN, MEMBER, OURS = 1, 2, 3
T = TypeVar("T")


@dataclass
class Membership:
    """A worker's place in the count, and whether the guard is the run's."""

    conn: psycopg.Connection[Any]
    ours: bool = False


def _call(conn: psycopg.Connection[Any], function: str, lock: int) -> bool:
    row = conn.execute(
        sql.SQL("SELECT pg_catalog.{}({}, {})").format(
            sql.Identifier(function), sql.Literal(_KEY), sql.Literal(lock)
        )
    ).fetchone()
    return row is not None and row[0] is not False


def _alone(conn: psycopg.Connection[Any], lock: int) -> bool:
    """Whether no session holds *lock* (taken exclusively for the test, and let go)."""
    if not _call(conn, "pg_try_advisory_lock", lock):
        return False
    _call(conn, "pg_advisory_unlock", lock)
    return True


def join(conninfo: str, lock_timeout: float, schema_name: str = DEFAULT_SCHEMA) -> Membership:
    """Join the workers using *conninfo*'s database."""
    conn = connect(conninfo)
    try:
        conn.execute(
            sql.SQL("SELECT pg_catalog.set_config('lock_timeout', {}, false)").format(
                sql.Literal(f"{round(lock_timeout * 1000)}ms")
            )
        )
        member = Membership(conn)
        _call(conn, "pg_advisory_lock", TURN)
        if _alone(conn, MEMBER):
            row = conn.execute(
                "SELECT pg_catalog.to_regnamespace(pg_catalog.quote_ident(%s)) IS NULL",
                [schema_name],
            ).fetchone()
            member.ours = bool(row and row[0])
        else:
            member.ours = not _alone(conn, OURS)
        _call(conn, "pg_advisory_lock_shared", MEMBER)
        if member.ours:
            _call(conn, "pg_advisory_lock_shared", OURS)
        _call(conn, "pg_advisory_unlock", TURN)
    except BaseException:
        conn.close()
        raise
    return member


def in_turn(member: Membership, run: Callable[[], T]) -> T:
    """*run*, while no other worker joins, installs or leaves (installing the guard)."""
    _call(member.conn, "pg_advisory_lock", TURN)
    try:
        return run()
    finally:
        _call(member.conn, "pg_advisory_unlock", TURN)


def leave(member: Membership, last: Callable[[bool], None]) -> None:
    """Leave the count; when this worker is the last, *last* runs in turn, told whether the
    guard is the run's to remove. The connection is closed, which lets go of every lock."""
    conn = member.conn
    try:
        _call(conn, "pg_advisory_lock", TURN)
        _call(conn, "pg_advisory_unlock_shared", MEMBER)
        if _alone(conn, MEMBER):
            last(member.ours)
    finally:
        conn.close()
