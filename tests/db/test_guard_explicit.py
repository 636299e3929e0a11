"""allow_explicit_ids(): a fixture load past the guard, for its owner only, for one block;
and the workers' count (guard/shared.py) that installs and removes one guard for many."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import psycopg2
import pytest
from psycopg import errors, sql

from seqdoctor import allow_explicit_ids, guard
from seqdoctor.guard import shared

Connection = psycopg.Connection[tuple[Any, ...]]


@pytest.fixture
def guarded(conn: Connection, dsn: str) -> str:
    conn.execute("CREATE TABLE frobs (id serial PRIMARY KEY)")
    assert guard.install(dsn, mode="raise").ok
    return dsn


def enabled(conn: Connection) -> list[tuple[str, str]]:
    return conn.execute(
        "SELECT tgname, tgenabled::text FROM pg_trigger WHERE tgname LIKE 'seqdoctor_guard%'"
        " ORDER BY tgname"
    ).fetchall()


def rejected(conn: Connection, value: int) -> psycopg.Error:
    """The guard's error for an explicit *value* (SQLSTATE SD001), rolled back after."""
    with pytest.raises(psycopg.Error) as raised:
        conn.execute(sql.SQL("INSERT INTO frobs (id) VALUES ({})").format(value))
    conn.rollback()
    assert raised.value.sqlstate == guard.SQLSTATE, raised.value
    return raised.value


ON = [("seqdoctor_guard_insert_1", "O"), ("seqdoctor_guard_update_1", "O")]


def test_the_owner_loads_explicit_ids_in_the_block_and_is_caught_after_it(
    guarded: str, conn: Connection
) -> None:
    with psycopg.connect(guarded) as loader:
        with allow_explicit_ids(loader):
            loader.execute("INSERT INTO frobs (id) VALUES (50), (51)")
            # Other sessions never see the guard off: the DDL is the block's own.
            assert enabled(conn) == ON
            loader.execute("SELECT setval('frobs_id_seq', 51)")  # as loaddata does
        assert enabled(loader) == ON
        assert "frobs.id = 123 is ahead" in str(rejected(loader, 123))
    assert conn.execute("SELECT count(*) FROM frobs").fetchone() == (2,)
    assert enabled(conn) == ON


def test_a_failure_in_the_block_rolls_it_back_and_the_guard_is_on(
    guarded: str, conn: Connection
) -> None:
    with psycopg.connect(guarded) as loader:
        loader.execute("INSERT INTO frobs DEFAULT VALUES")

        def load_then_fail() -> None:
            with allow_explicit_ids(loader):
                loader.execute("INSERT INTO frobs (id) VALUES (50)")
                _ = 1 / 0

        with pytest.raises(ZeroDivisionError):
            load_then_fail()
        assert enabled(loader) == ON
        # The caller's transaction goes on, with what it wrote before the block.
        assert loader.execute("SELECT array_agg(id) FROM frobs").fetchone() == ([1],)
        rejected(loader, 50)


def test_a_writer_that_does_not_own_the_table_cannot_use_it(
    guarded: str, conn: Connection, server: Any
) -> None:
    role = f"writer_{conn.info.backend_pid}"
    conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        conn.execute(sql.SQL("GRANT INSERT, SELECT ON frobs TO {}").format(sql.Identifier(role)))
        conn.execute(
            sql.SQL("GRANT USAGE, SELECT ON SEQUENCE frobs_id_seq TO {}").format(
                sql.Identifier(role)
            )
        )
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA seqdoctor TO {}").format(sql.Identifier(role)))
        with psycopg.connect(guarded, user=role) as writer:
            with (
                pytest.raises(errors.InsufficientPrivilege, match="must be owner"),
                allow_explicit_ids(writer),
            ):
                writer.execute("INSERT INTO frobs (id) VALUES (50)")
            rejected(writer, 50)
    finally:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    assert enabled(conn) == ON


def test_a_psycopg2_connection_in_a_transaction(guarded: str, conn: Connection) -> None:
    loader = psycopg2.connect(guarded)
    try:
        with allow_explicit_ids(loader), loader.cursor() as cursor:
            cursor.execute("INSERT INTO frobs (id) VALUES (50)")
        loader.commit()
        loader.autocommit = True
        with pytest.raises(TypeError, match="inside a transaction"), allow_explicit_ids(loader):
            pass
    finally:
        loader.close()
    assert conn.execute("SELECT count(*) FROM frobs").fetchone() == (1,)
    assert enabled(conn) == ON


def test_workers_install_the_guard_in_turn_and_the_last_removes_it(
    conn: Connection, dsn: str
) -> None:
    conn.execute("CREATE TABLE frobs (id serial PRIMARY KEY)")
    lasts: list[bool] = []

    def install() -> bool:
        result = guard.install(dsn, mode="raise")
        assert result.ok
        return result.plan.creates_schema

    first = shared.join(dsn, lock_timeout=10)
    second = shared.join(dsn, lock_timeout=10)
    assert first.ours  # no guard when the run began
    assert second.ours
    assert [shared.in_turn(second, install), shared.in_turn(first, install)] == [True, False]
    shared.leave(second, lasts.append)  # not the last, though it installed it: nothing happens
    assert lasts == []
    third = shared.join(dsn, lock_timeout=10)  # joins while the guard is the run's
    shared.leave(first, lasts.append)
    assert lasts == []
    assert enabled(conn) == ON
    shared.leave(third, lasts.append)
    assert lasts == [True]  # the last, and the guard is the run's to remove


def test_a_guard_that_was_there_before_is_not_the_runs(conn: Connection, dsn: str) -> None:
    conn.execute("CREATE TABLE frobs (id serial PRIMARY KEY)")
    assert guard.install(dsn, mode="raise").ok
    lasts: list[bool] = []
    member = shared.join(dsn, lock_timeout=10)
    assert not member.ours
    shared.leave(member, lasts.append)
    assert lasts == [False]


def test_a_worker_that_died_leaves_the_count(conn: Connection, dsn: str) -> None:
    lasts: list[bool] = []
    dead = shared.join(dsn, lock_timeout=10)
    alive = shared.join(dsn, lock_timeout=10)
    pid = dead.conn.info.backend_pid
    dead.conn.close()  # as a crashed worker's session ends: its locks go with it
    deadline = time.monotonic() + 10
    while conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]
    ).fetchone() != (0,):
        assert time.monotonic() < deadline, "the closed session did not end"
        time.sleep(0.01)
    shared.leave(alive, lasts.append)
    assert lasts == [True]  # no guard here when it began
