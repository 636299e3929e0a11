"""One guard for several test processes on one database: pytest-xdist workers sharing it.

Each worker that uses the database joins when it starts and leaves when it
ends; the first to join installs the guard, the last to leave audits the
database and removes the guard, if a worker of the run installed it. Who
is in is counted by the server, with advisory locks on one connection per
worker (advisory locks belong to the database they are taken in):

- ``TURN``, exclusive: one worker at a time joins or leaves, so two never
  race to create the guard's schema;
- ``MEMBER``, shared by every worker in: a worker that can take it
  exclusively is alone;
- ``OURS``, shared by every worker in while the guard is one a worker of the
  run installed: a worker joining while it is held shares it, so the last
  to leave knows whether to remove the guard, whoever installed it.

A worker that dies ends its session, and the server releases its locks: the
count never stays up. Waiting for ``TURN`` is bounded by the lock timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from seqdoctor.catalog.connection import connect

# pg_advisory_lock(int4, int4): the first key is seqdoctor's ('SD^' and 1), the second the lock's.
_KEY = 0x5344_5E01
TURN, MEMBER, OURS = 1, 2, 3


@dataclass
class Membership:
    """A worker's place in the count, and whether the guard is one the run installed."""

    conn: psycopg.Connection[Any]
    ours: bool = False
    last: bool = False


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


def join(conninfo: str, install: Callable[[], bool] | None, lock_timeout: float) -> Membership:
    """Join the workers using *conninfo*'s database; *install* runs in turn, and says whether
    it created the guard (None: no guard wanted)."""
    conn = connect(conninfo)
    conn.execute(
        sql.SQL("SELECT pg_catalog.set_config('lock_timeout', {}, false)").format(
            sql.Literal(f"{round(lock_timeout * 1000)}ms")
        )
    )
    member = Membership(conn)
    try:
        _call(conn, "pg_advisory_lock", TURN)
        others_installed = not _alone(conn, OURS)
        created = install() if install is not None else False
        member.ours = created or others_installed
        _call(conn, "pg_advisory_lock_shared", MEMBER)
        if member.ours:
            _call(conn, "pg_advisory_lock_shared", OURS)
        _call(conn, "pg_advisory_unlock", TURN)
    except BaseException:
        conn.close()
        raise
    return member


def leave(member: Membership, last: Callable[[bool], None]) -> None:
    """Leave the count; when this worker is the last, *last* runs in turn, told whether the
    guard is the run's to remove. The connection is closed, which lets go of every lock."""
    conn = member.conn
    try:
        _call(conn, "pg_advisory_lock", TURN)
        _call(conn, "pg_advisory_unlock_shared", MEMBER)
        member.last = _alone(conn, MEMBER)
        if member.last:
            last(member.ours)
    finally:
        conn.close()
