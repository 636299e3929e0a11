"""Explicit ids on purpose: the guard off for one block of one transaction, for a fixture load.

A fixture load (Django's ``loaddata``, a ``TestCase.fixtures`` list, a seed
script) writes rows with their primary keys and moves the sequences past
them right after: a legitimate explicit-id writer, which the guard would
stop at its first row. :func:`allow_explicit_ids` lets it through::

    with seqdoctor.allow_explicit_ids(conn):
        load_the_fixtures(conn)   # then setval() past them, as loaddata does

and, after the block, a hard-coded id (``FrobFactory(id=123)``) is caught again.

How, and why it cannot make the guard laxer for anyone else: inside a
savepoint of the caller's transaction it runs ``ALTER TABLE ... DISABLE
TRIGGER`` on every guard trigger that fires, and enables them again before
the block ends (a failure in the block rolls the savepoint back, which
enables them too). That statement needs ownership of the table: only a role
that could already drop the guard, or write past it with its own DDL, can
use it. No setting, no table and no argument of the guard's function is
consulted, so there is nothing a writer could set to be let through: issue
15 took out exactly such a setting. DDL is transactional, so other sessions
never see the triggers disabled; they wait instead, behind the ALTER TABLE's
SHARE ROW EXCLUSIVE lock, to write those tables until the caller's
transaction ends (a Django ``TestCase`` holds it for the class). The lock is
waited for at most *lock_timeout* seconds.

Any DB-API connection inside a transaction works (psycopg 2, Django's);
a psycopg 3 connection and Django's connection get a transaction of their
own when they have none (``conn.transaction()``, ``transaction.atomic()``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from seqdoctor.guard.ids import execute, pinned, rows
from seqdoctor.guard.plan import load_sql

SAVEPOINT = sql.Identifier("seqdoctor_allow_explicit_ids")


@contextmanager
def allow_explicit_ids(conn: Any, *, lock_timeout: float = 10.0) -> Iterator[None]:
    """The guard's triggers off in *conn*'s transaction for the block, then on again.

    *conn* is a psycopg 3 connection, Django's connection
    (``django.db.connection``, or ``connections[alias]``), or a DB-API
    connection inside a transaction (psycopg 2 with autocommit off).
    Raises psycopg's (or the driver's) ``InsufficientPrivilege`` when its role
    does not own a guarded table: see the module's docstring.
    """
    if isinstance(conn, psycopg.Connection):
        with conn.transaction(), _guards_off(conn, lock_timeout):
            yield
    elif hasattr(conn, "settings_dict") and hasattr(conn, "alias"):  # Django's DatabaseWrapper
        from django.db import transaction  # noqa: PLC0415 - only Django users have it

        with transaction.atomic(using=conn.alias), _guards_off(conn, lock_timeout):
            yield
    elif callable(getattr(conn, "cursor", None)) and getattr(conn, "autocommit", None) is False:
        with _guards_off(conn, lock_timeout):
            yield
    else:
        raise TypeError(
            "allow_explicit_ids() takes a psycopg connection, Django's connection, or a DB-API "
            f"connection inside a transaction (autocommit off), not {type(conn).__name__}"
        )


@contextmanager
def _guards_off(conn: Any, lock_timeout: float) -> Iterator[None]:
    execute(conn, sql.SQL("SAVEPOINT {}").format(SAVEPOINT).as_string())
    try:
        with pinned(conn, lock_timeout=lock_timeout):
            triggers = rows(conn, load_sql("list_enabled_guard_triggers"))
            _switch(conn, triggers, "DISABLE")
        yield
        with pinned(conn, lock_timeout=lock_timeout):
            _switch(conn, triggers, "ENABLE")
    except BaseException:
        # Undoes the block's writes, which are failing anyway, and enables the triggers again.
        execute(conn, sql.SQL("ROLLBACK TO SAVEPOINT {}").format(SAVEPOINT).as_string())
        execute(conn, sql.SQL("RELEASE SAVEPOINT {}").format(SAVEPOINT).as_string())
        raise
    execute(conn, sql.SQL("RELEASE SAVEPOINT {}").format(SAVEPOINT).as_string())


def _switch(conn: Any, triggers: list[dict[str, Any]], how: str) -> None:
    if not triggers:
        return
    statements = sql.SQL("; ").join(
        sql.SQL("ALTER TABLE ONLY {} {} TRIGGER {}").format(
            sql.Identifier(t["schema"], t["table"]), sql.SQL(how), sql.Identifier(t["name"])
        )
        for t in triggers
    )
    execute(conn, statements.as_string())
