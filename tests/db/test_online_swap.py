"""Online widening, phases 6-7 on real servers: the swap, the cleanup, crashes and held locks.

The family of test_online_widen (an integer serial key near 2^31, a
self-reference, two children, a composite key from another schema with quoted
names and a grandchild through it, a view over the key, a partial index, a
column grant and comment) widened to the end while sessions insert, update and
delete in every table: the end state must be what the offline ALTER gives,
and every row what the writers wrote.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg
import pytest
from psycopg import sql

from seqdoctor import guard
from seqdoctor.repairs import online
from seqdoctor.repairs.online import OnlineError, OnlineOptions, Phase, run
from tests.db.test_online_widen import FAMILY, FAST, KEY, run_psql, schema_dump
from tests.fix_db import Server, blocked_session

Connection = psycopg.Connection[tuple[Any, ...]]
TABLES = (
    "shop.orders",
    "shop.invoices",
    "shop.shipments",
    '"Other Schema"."Order ""Lines"""',
    "shop.notes",
)
# What the offline repair does to the family: every column ALTERed in one go.
OFFLINE = '''
    DROP VIEW shop.order_ids;
    ALTER TABLE shop.orders ALTER COLUMN id TYPE bigint, ALTER COLUMN parent_id TYPE bigint;
    ALTER TABLE shop.invoices ALTER COLUMN order_id TYPE bigint;
    ALTER TABLE shop.shipments ALTER COLUMN order_id TYPE bigint;
    ALTER TABLE "Other Schema"."Order ""Lines""" ALTER COLUMN "Order Id" TYPE bigint;
    ALTER TABLE shop.notes ALTER COLUMN line_order TYPE bigint;
    ALTER SEQUENCE shop.orders_id_seq AS bigint;
    CREATE VIEW shop.order_ids AS SELECT id, region FROM shop.orders;
'''
_numbers = itertools.count(1)


@contextmanager
def another_database(server: Server) -> Iterator[str]:
    name = f"seqdoctor_offline_{os.getpid()}_{next(_numbers)}"
    with psycopg.connect(server.dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.conninfo(name)
    finally:
        with psycopg.connect(server.dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def normalized(dump: str) -> str:
    """A schema dump with each table's columns sorted (and extended statistics' columns):
    the online swap adds the new column at the end, where the offline ALTER keeps its
    place."""
    out: list[str] = []
    block: list[str] | None = None
    for line in dump.splitlines():
        if block is not None:
            if line.startswith(");"):
                out += sorted(entry.rstrip(",") for entry in block)
                out.append(line)
                block = None
            else:
                block.append(line)
        else:
            # Extended statistics print their columns in column-number order too.
            found = re.match(r"(CREATE STATISTICS .* ON )(.*)( FROM .*)", line)
            out.append(
                found[1] + ", ".join(sorted(found[2].split(", "))) + found[3] if found else line
            )
            if re.match(r"CREATE (UNLOGGED )?TABLE .*\($", line):
                block = []
    return "\n".join(out)


def checksums(conn: Connection) -> dict[str, Any]:
    return {
        table: conn.execute(
            # jsonb: by column name, whatever the columns' order (the swap moves the key last).
            sql.SQL(
                "SELECT md5(string_agg(to_jsonb(t)::text, '|' ORDER BY to_jsonb(t)::text))"
                " FROM {} AS t"
            ).format(sql.SQL(table))
        ).fetchone()
        for table in TABLES
    }


def test_the_family_swaps_and_cleans_up_to_what_the_offline_alter_gives(
    server: Server, dsn: str
) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)
    with another_database(server) as offline:
        with psycopg.connect(offline, autocommit=True) as conn:
            conn.execute(FAMILY)
            conn.execute(OFFLINE)
        expected = normalized(schema_dump(server, offline))

    result = online.advance(dsn, [KEY], until=Phase.SWAPPED, options=FAST)

    assert result.phase is Phase.SWAPPED
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert online.status(conn, [KEY]).phase is Phase.SWAPPED
        (new,) = (
            conn.execute("INSERT INTO shop.orders (region) VALUES (1) RETURNING id").fetchone()
            or ()
        )
        assert conn.execute(
            "SELECT seqdoctor_old_1 FROM shop.orders WHERE id = %s", [new]
        ).fetchone() == (new,)
    online.cleanup(dsn, [KEY], options=FAST)

    assert normalized(schema_dump(server, dsn)) == expected


def widened_both_ways(server: Server, dsn: str, setup: str, offline: str, key: Any) -> None:
    """*setup* widened online to the end, and offline with *offline*: the same schema."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(setup)
    with another_database(server) as other:
        with psycopg.connect(other, autocommit=True) as conn:
            conn.execute(setup)
            conn.execute(offline)
        expected = normalized(schema_dump(server, other))
    online.advance(dsn, [key], until=Phase.CLEANED, options=FAST)
    assert normalized(schema_dump(server, dsn)) == expected


@pytest.mark.parametrize("identity", ["ALWAYS", "BY DEFAULT"])
def test_an_identity_key_keeps_its_kind_options_and_next_value(
    server: Server, dsn: str, identity: str
) -> None:
    name = "Ключ " + "k" * 50  # 63 bytes in UTF-8, with a space: quoted everywhere
    setup = (
        sql.SQL(
            "CREATE TABLE {t} ({c} int GENERATED " + identity + " AS IDENTITY"
            " (START WITH 10 INCREMENT BY 3 CACHE 5) PRIMARY KEY, v int);"
            "CREATE TABLE child (id serial PRIMARY KEY, ref int REFERENCES {t});"
            "INSERT INTO {t} (v) SELECT generate_series(1, 50);"
            "INSERT INTO child (ref) SELECT {c} FROM {t}"
        )
        .format(t=sql.Identifier('Tab"le'), c=sql.Identifier(name))
        .as_string()
    )
    offline = (
        sql.SQL(
            "ALTER TABLE {t} ALTER COLUMN {c} TYPE bigint;"
            "ALTER TABLE child ALTER COLUMN ref TYPE bigint"
        )
        .format(t=sql.Identifier('Tab"le'), c=sql.Identifier(name))
        .as_string()
    )
    widened_both_ways(server, dsn, setup, offline, ("public", 'Tab"le', name))
    with psycopg.connect(dsn, autocommit=True) as conn:
        (next_id,) = conn.execute(
            sql.SQL("INSERT INTO {} (v) VALUES (0) RETURNING {}").format(
                sql.Identifier('Tab"le'), sql.Identifier(name)
            )
        ).fetchone() or (None,)
        assert next_id == 10 + 50 * 3  # the 51st value: no gap, no reuse
        assert conn.execute(
            "SELECT data_type, increment_by, cache_size FROM pg_sequences"
            " WHERE schemaname = 'public' ORDER BY data_type"
        ).fetchall() == [("bigint", 3, 5), ("integer", 1, 1)]  # the key's, the child's


def test_a_sequence_as_integer_with_its_own_maxvalue_keeps_it(server: Server, dsn: str) -> None:
    setup = (
        "CREATE SEQUENCE s AS integer MAXVALUE 2100000000;"
        "CREATE TABLE t (id int PRIMARY KEY DEFAULT nextval('s'), v int);"
        "ALTER SEQUENCE s OWNED BY t.id;"
        "INSERT INTO t (v) SELECT generate_series(1, 30)"
    )
    offline = "ALTER TABLE t ALTER COLUMN id TYPE bigint; ALTER SEQUENCE s AS bigint"
    widened_both_ways(server, dsn, setup, offline, ("public", "t", "id"))
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute(
            "SELECT data_type, max_value FROM pg_sequences WHERE sequencename = 's'"
        ).fetchone() == ("bigint", 2100000000)
        assert conn.execute("INSERT INTO t (v) VALUES (0) RETURNING id").fetchone() == (31,)


def test_a_serial_whose_column_was_widened_already_gets_its_sequence_widened(
    server: Server, dsn: str
) -> None:
    setup = (
        "CREATE TABLE t (id serial PRIMARY KEY, v int);"
        "ALTER TABLE t ALTER COLUMN id TYPE bigint;"
        "INSERT INTO t (v) SELECT generate_series(1, 30)"
    )
    offline = "ALTER SEQUENCE t_id_seq AS bigint"
    widened_both_ways(server, dsn, setup, offline, ("public", "t", "id"))
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute(
            "SELECT data_type FROM pg_sequences WHERE sequencename = 't_id_seq'"
        ).fetchone() == ("bigint",)


def test_an_idle_transaction_holding_a_lock_makes_the_swap_give_up_with_nothing_half_done(
    dsn: str,
) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)
    online.advance(dsn, [KEY], until=Phase.BUILT, options=FAST)
    hurried = OnlineOptions(first_batch=50, max_batch=200, lock_timeout=0.2, lock_deadline=1.5)
    with psycopg.connect(dsn) as idle, psycopg.connect(dsn, autocommit=True) as writer:
        idle.execute("SELECT count(*) FROM shop.notes")  # the last table of the family
        started = time.monotonic()
        (idle_pid,) = idle.execute("SELECT pg_backend_pid()").fetchone() or (0,)
        with pytest.raises(
            OnlineError, match=r"locks? not granted in \d+ attempts over 1.5 s"
        ) as gave_up:
            online.advance(dsn, [KEY], until=Phase.SWAPPED, options=hurried)
        # The message names who holds the lock: the idle transaction.
        assert f"holding locks on them now: pid {idle_pid}" in str(gave_up.value)
        assert "idle in transaction" in str(gave_up.value)
        assert time.monotonic() - started < 15  # the walks, then at most the deadline
        # Writers went on meanwhile: the swap's wait for its locks is bounded as a whole.
        writer.execute("SET statement_timeout = '1s'")
        writer.execute("INSERT INTO shop.orders (region) VALUES (1)")
        idle.rollback()
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert online.status(conn, [KEY]).phase is Phase.BUILT  # nothing swapped
        assert conn.execute(
            "SELECT count(*) FROM pg_attribute WHERE attname LIKE 'seqdoctor_old%'"
        ).fetchone() == (0,)

    online.advance(dsn, [KEY], until=Phase.SWAPPED, options=FAST)  # and it goes on

    with psycopg.connect(dsn, autocommit=True) as conn:
        assert online.status(conn, [KEY]).phase is Phase.SWAPPED


@dataclass
class Ledger:
    """Writers on disjoint rows, each keeping its own record of what it wrote.

    0 inserts orders (ids from the sequence) with an invoice and a line each;
    1 points invoices 1-300 at orders 2000000001-2000000200, which nobody
    deletes; 2 deletes orders 2000000201-2000000300, one at a time (their
    invoices, lines and notes cascade, children's parent_id is set NULL).
    """

    dsn: str
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)
    orders: dict[int, None] = field(default_factory=dict)
    invoices: dict[int, int] = field(default_factory=dict)
    updated: dict[int, int] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    slowest: float = 0.0
    statements: int = 0

    def run(self, which: int) -> None:
        rng = random.Random(which)
        try:
            # Prepared statements would fail once the key is bigint ("cached
            # plan must not change result type"): the application checklist.
            with psycopg.connect(self.dsn, autocommit=True, prepare_threshold=None) as conn:
                n = 0
                while not self.stop.is_set():
                    n += 1
                    started = time.monotonic()
                    self.write(conn, which, n, rng)
                    self.slowest = max(self.slowest, time.monotonic() - started)
                    self.statements += 1
        except BaseException as error:  # reported by the test
            self.errors.append(error)

    def write(self, conn: Connection, which: int, n: int, rng: random.Random) -> None:
        if which == 0:
            with conn.transaction():
                (order,) = conn.execute(
                    "INSERT INTO shop.orders (region) VALUES (%s) RETURNING id", [n % 3]
                ).fetchone() or (0,)
                (invoice,) = conn.execute(
                    "INSERT INTO shop.invoices (order_id, cents) VALUES (%s, %s) RETURNING id",
                    [order, n],
                ).fetchone() or (0,)
                # With its columns named: the swap moves the key to the end of the
                # table, where an INSERT without a column list would miss it.
                conn.execute(
                    'INSERT INTO "Other Schema"."Order ""Lines""" (line_no, "Order Id", region)'
                    " VALUES (1, %s, %s)",
                    [order, n % 3],
                )
            self.orders[order] = None
            self.invoices[invoice] = order
        elif which == 1:
            invoice, order = rng.randint(1, 300), 2000000000 + rng.randint(1, 200)
            done = conn.execute(
                "UPDATE shop.invoices SET order_id = %s WHERE id = %s", [order, invoice]
            )
            if done.rowcount:
                self.updated[invoice] = order
        else:
            order = 2000000200 + n
            if order <= 2000000300:
                conn.execute("DELETE FROM shop.orders WHERE id = %s", [order])
                self.deleted.add(order)
            time.sleep(0.02)


def rows(conn: Connection, query: str) -> dict[Any, Any]:
    return {row[:-1] if len(row) > 2 else row[0]: row[-1] for row in conn.execute(query)}


PATIENT = replace(FAST, lock_deadline=60.0)
LINES = 'SELECT "Order Id", line_no, NULL FROM "Other Schema"."Order ""Lines"""'


def test_writers_never_wait_long_and_every_row_is_what_they_wrote(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)
        orders = rows(conn, "SELECT id, parent_id FROM shop.orders")
        invoices = rows(conn, "SELECT id, order_id FROM shop.invoices")
        lines = rows(conn, LINES)
    ledger = Ledger(dsn)
    threads = [threading.Thread(target=ledger.run, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)
        # Writers take their locks in both orders (a parent then its children in a
        # transaction; a child then, for its foreign key check, the parent): some
        # attempts at the family's locks give up and are tried again.
        result = online.advance(dsn, [KEY], until=Phase.CLEANED, options=PATIENT)
        time.sleep(0.3)  # writes after the swap and the cleanup
    finally:
        ledger.stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not ledger.errors, ledger.errors
    assert result.phase is Phase.CLEANED
    assert ledger.statements > 50
    assert ledger.deleted
    assert ledger.updated
    assert ledger.orders
    # No writer waited longer than one lock timeout, plus slack for a shared machine.
    assert ledger.slowest < FAST.lock_timeout + 1.5

    # What the writers' own records say the tables hold now.
    invoices.update(ledger.updated)
    invoices.update(ledger.invoices)
    orders.update(ledger.orders)
    expected_orders = {
        o: (None if parent in ledger.deleted else parent)
        for o, parent in orders.items()
        if o not in ledger.deleted
    }
    expected_invoices = {i: o for i, o in invoices.items() if o not in ledger.deleted}
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert rows(conn, "SELECT id, parent_id FROM shop.orders") == expected_orders
        assert rows(conn, "SELECT id, order_id FROM shop.invoices") == expected_invoices
        assert rows(conn, LINES) == {
            (order, line): None for order, line in lines if order not in ledger.deleted
        } | {(order, 1): None for order in ledger.orders}
        assert conn.execute(
            "SELECT DISTINCT format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE (attrelid, attname) IN (('shop.orders'::regclass, 'id'),"
            " ('shop.orders'::regclass, 'parent_id'), ('shop.invoices'::regclass, 'order_id'))"
        ).fetchall() == [("bigint",)]


@pytest.mark.parametrize("cleaned_up", [False, True], ids=["revert", "after-failed-revert"])
def test_revert_after_the_swap_leaves_the_schema_and_data_as_they_were(
    server: Server, dsn: str, cleaned_up: bool
) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)
        before_rows = checksums(conn)
    before = schema_dump(server, dsn)
    online.advance(dsn, [KEY], until=Phase.SWAPPED, options=FAST)
    with psycopg.connect(dsn, autocommit=True) as conn:
        # Written after the swap: through the reverse trigger into the old columns.
        conn.execute("UPDATE shop.invoices SET cents = cents + 1 WHERE id <= 10")
        conn.execute("UPDATE shop.invoices SET cents = cents - 1 WHERE id <= 10")
        if cleaned_up:
            # A value beyond integer: the revert must refuse, and change nothing.
            conn.execute("INSERT INTO shop.orders (id, region) VALUES (3000000000, 1)")
            with pytest.raises(OnlineError, match="holds values beyond integer"):
                online.revert(conn, [KEY], options=FAST)
            assert online.status(conn, [KEY]).phase is Phase.SWAPPED
            conn.execute("DELETE FROM shop.orders WHERE id = 3000000000")

    online.revert(dsn, [KEY], options=FAST)

    assert schema_dump(server, dsn) == before
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert checksums(conn) == before_rows
        assert not online.status(conn, [KEY]).started
        # The sequence goes on from where it was, as integer again.
        (new,) = conn.execute(
            "INSERT INTO shop.orders (region) VALUES (1) RETURNING id"
        ).fetchone() or (0,)
        assert new > 2000000400


def offline_dump(server: Server) -> str:
    """What the offline ALTER makes of the family, columns sorted."""
    with another_database(server) as offline:
        with psycopg.connect(offline, autocommit=True) as conn:
            conn.execute(FAMILY)
            conn.execute(OFFLINE)
        return normalized(schema_dump(server, offline))


@pytest.mark.parametrize(
    "stopped", [Phase.SHADOWED, Phase.BACKFILLED, Phase.VERIFIED, Phase.BUILT, Phase.SWAPPED]
)
def test_a_widening_stopped_at_any_phase_boundary_ends_as_the_offline_alter(
    server: Server, dsn: str, stopped: Phase
) -> None:
    expected = offline_dump(server)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)
        rows_before = checksums(conn)
    online.advance(dsn, [KEY], until=stopped, options=FAST)

    online.advance(dsn, [KEY], until=Phase.CLEANED, options=FAST)

    assert normalized(schema_dump(server, dsn)) == expected
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert checksums(conn) == rows_before  # bigint prints as integer did


# A widening in a process of its own, which kills itself (SIGKILL: no cleanup,
# no goodbye to the server) once its walk of shop.orders has done some work.
KILLED = """
import os, signal, sys
from seqdoctor import guard
from seqdoctor.repairs import online
from tests.db.test_online_widen import KEY
from tests.db.test_online_swap import SLOW

def progress(table, phase, done, total):
    if phase == sys.argv[2] and done > 200:
        os.kill(os.getpid(), signal.SIGKILL)

online.advance(sys.argv[1], [KEY], until=online.Phase.CLEANED, options=SLOW, progress=progress)
"""
SLOW = OnlineOptions(first_batch=20, max_batch=20, lock_deadline=5.0)


@pytest.mark.parametrize("walk", ["backfill", "verify"])
def test_a_process_killed_in_the_middle_of_a_walk_converges_when_run_again(
    server: Server, dsn: str, walk: str
) -> None:
    expected = offline_dump(server)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)
        conn.execute("INSERT INTO shop.orders (region) SELECT 1 FROM generate_series(1, 1000)")
        rows_before = checksums(conn)
    killed = subprocess.run(
        [sys.executable, "-c", KILLED, dsn, walk],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert online.status(conn, [KEY]).phase is Phase.SHADOWED  # stopped in the walks

    online.advance(dsn, [KEY], until=Phase.CLEANED, options=FAST)

    assert normalized(schema_dump(server, dsn)) == expected
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert checksums(conn) == rows_before


@pytest.mark.parametrize("until", [Phase.BUILT, Phase.SWAPPED, Phase.CLEANED])
def test_a_session_terminated_while_it_waits_for_a_lock_converges_when_run_again(
    server: Server, dsn: str, until: Phase
) -> None:
    """Terminated in the index builds (CIC waits for older transactions), in the
    swap (waiting for its locks) or in the cleanup (waiting for its lock)."""
    expected = offline_dump(server)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)
    if until > Phase.BUILT:
        online.advance(dsn, [KEY], until=until - 1, options=FAST)
    failure: list[BaseException] = []

    def widen() -> None:
        try:
            online.advance(dsn, [KEY], until=until, options=replace(FAST, lock_deadline=60.0))
        except BaseException as error:  # checked below
            failure.append(error)

    worker = threading.Thread(target=widen)
    with psycopg.connect(dsn) as idle, psycopg.connect(dsn, autocommit=True) as conn:
        idle.execute("SELECT count(*) FROM shop.notes")  # idle in transaction, holding a lock
        worker.start()
        try:
            pid = blocked_session(conn, timeout=60)
            conn.execute("SELECT pg_terminate_backend(%s)", [pid])
        finally:
            worker.join(timeout=60)
        idle.rollback()
    assert failure
    assert isinstance(failure[0], OnlineError)
    assert "lost the connection" in str(failure[0])

    online.advance(dsn, [KEY], until=Phase.CLEANED, options=FAST)

    assert normalized(schema_dump(server, dsn)) == expected


def test_the_guard_keeps_guarding_the_key_across_the_whole_widening(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)
    guard.install(dsn, mode="raise", tables="shop.orders")
    before = guard.status(dsn)
    assert before.exit_status == 0

    online.advance(dsn, [KEY], until=Phase.SWAPPED, options=FAST)
    with psycopg.connect(dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as stopped:  # an id ahead of the sequence
            conn.execute("INSERT INTO shop.orders (id, region) VALUES (2100000000, 1)")
        assert stopped.value.sqlstate == guard.SQLSTATE
    online.advance(dsn, [KEY], until=Phase.CLEANED, options=FAST)

    after = guard.status(dsn)
    assert after.exit_status == 0, after
    assert [(c.column, c.state) for c in after.columns] == [
        (c.column, c.state) for c in before.columns
    ]
    with psycopg.connect(dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as stopped:
            conn.execute("INSERT INTO shop.orders (id, region) VALUES (2100000000, 1)")
        assert stopped.value.sqlstate == guard.SQLSTATE
        conn.execute("INSERT INTO shop.orders (region) VALUES (1)")  # through the sequence


def test_the_psql_script_widens_to_the_swap_and_its_cleanup_ends_as_the_offline_alter(
    server: Server, dsn: str
) -> None:
    expected = offline_dump(server)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)
        rows_before = checksums(conn)

    done = run_psql(server, dsn, online.script(online.plan(dsn, [KEY], FAST)))

    assert done.returncode == 0, done.stderr
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert online.status(conn, [KEY]).phase is Phase.SWAPPED
    cleaned = run_psql(
        server, dsn, online.script(online.plan(dsn, [KEY], FAST), until=Phase.CLEANED)
    )
    assert cleaned.returncode == 0, cleaned.stderr
    assert normalized(schema_dump(server, dsn)) == expected
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert checksums(conn) == rows_before


@pytest.mark.parametrize("identity", ["ALWAYS", "BY DEFAULT"])
def test_an_identity_key_reverted_after_the_swap_is_as_it_was(
    server: Server, dsn: str, identity: str
) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE t (id int GENERATED " + identity + " AS IDENTITY"
            " (START WITH 10 INCREMENT BY 3 CACHE 5 MAXVALUE 2100000000) PRIMARY KEY, v int);"
            "CREATE TABLE c (id serial PRIMARY KEY, ref int NOT NULL REFERENCES t);"
            "COMMENT ON COLUMN t.id IS 'the key';"
            "INSERT INTO t (v) SELECT generate_series(1, 50);"
            "INSERT INTO c (ref) SELECT id FROM t;"
            # The identity's sequence is made again: its grants and comment with it.
            "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'online_reader')"
            " THEN CREATE ROLE online_reader; END IF; END$$;"
            "GRANT SELECT ON SEQUENCE t_id_seq TO online_reader WITH GRANT OPTION;"
            "COMMENT ON SEQUENCE t_id_seq IS 'the ids'"
        )
    before = schema_dump(server, dsn)
    online.advance(dsn, [("public", "t", "id")], until=Phase.SWAPPED, options=FAST)
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute(
            "SELECT has_sequence_privilege('online_reader', 't_id_seq',"
            " 'SELECT WITH GRANT OPTION'), obj_description('t_id_seq'::regclass, 'pg_class')"
        ).fetchone() == (True, "the ids")
        conn.execute("INSERT INTO t (v) VALUES (51)")  # after the swap, through the trigger
        # CACHE 5: the session took a block; the sequence's position is the block's end.
        (position,) = conn.execute("SELECT last_value FROM t_id_seq").fetchone() or (0,)

    online.revert(dsn, [("public", "t", "id")], options=FAST)

    assert schema_dump(server, dsn) == before
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT max(id) FROM t WHERE v = 51").fetchone() == (10 + 50 * 3,)
        # Where it was: no value handed out twice, none skipped beyond the cache's.
        assert conn.execute("INSERT INTO t (v) VALUES (52) RETURNING id").fetchone() == (
            position + 3,
        )


@pytest.mark.parametrize("then", ["revert", "cleanup"])
@pytest.mark.parametrize("stage", ["checks", "built"])
def test_a_revert_stopped_midway_can_be_run_again_or_cleaned_up(
    server: Server, dsn: str, then: str, stage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped with CHECKs of its own on the old columns of some tables (a lock held on the
    last one), or with every index and key built on them, just before the mirror swap
    (the process dies there): run again it ends as before the widening; cleaned up
    instead, as the offline ALTER."""
    expected = offline_dump(server)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)
    before = schema_dump(server, dsn)
    online.advance(dsn, [KEY], until=Phase.SWAPPED, options=FAST)
    hurried = replace(FAST, lock_timeout=0.2, lock_deadline=1.0)
    if stage == "checks":
        with psycopg.connect(dsn) as idle:
            idle.execute("SELECT count(*) FROM shop.notes")
            with pytest.raises(OnlineError, match="not granted"):
                online.revert(dsn, [KEY], options=hurried)
            idle.rollback()
    else:
        with monkeypatch.context() as patched:

            def crash(*_: object) -> None:
                raise OnlineError("the process died here")

            patched.setattr(run, "_swap", crash)
            with pytest.raises(OnlineError, match="died"):
                online.revert(dsn, [KEY], options=FAST)
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert online.status(conn, [KEY]).phase is Phase.SWAPPED
        made = conn.execute(
            "SELECT count(*) FROM pg_constraint WHERE conname LIKE 'seqdoctor_%'"
        ).fetchone()
        assert made is not None
        assert made[0] > (10 if stage == "built" else 0)  # CHECKs (and keys) on old columns

    if then == "revert":
        online.revert(dsn, [KEY], options=FAST)
        assert schema_dump(server, dsn) == before
    else:
        online.cleanup(dsn, [KEY], options=FAST)
        assert normalized(schema_dump(server, dsn)) == expected


# Every object the swap drops and makes again keeps its comment.
COMMENTS = """
    COMMENT ON STATISTICS t_stats IS 'owners by id';
    COMMENT ON POLICY mine ON c IS 'only mine';
    COMMENT ON POLICY reads ON t IS 'reads';
    COMMENT ON CONSTRAINT c_ref_positive ON c IS 'positive';
    COMMENT ON TRIGGER t_id_changed ON t IS 'noted';
    COMMENT ON CONSTRAINT c_ref_fkey ON c IS 'the reference';
"""
POLICED = (
    """
    CREATE TABLE t (id serial PRIMARY KEY, owner int NOT NULL, v int);
    CREATE TABLE c (id serial PRIMARY KEY, ref int REFERENCES t, v int);
    CREATE STATISTICS t_stats (ndistinct, dependencies) ON id, owner FROM t;
    ALTER TABLE c ENABLE ROW LEVEL SECURITY;
    CREATE POLICY mine ON c AS RESTRICTIVE FOR UPDATE TO PUBLIC
        USING (ref > 0) WITH CHECK (ref < 2000000000 AND v IS NOT NULL);
    CREATE POLICY reads ON t FOR SELECT USING (id > 0);
    ALTER TABLE c ADD CONSTRAINT c_ref_positive CHECK (ref > 0);
    CREATE FUNCTION t_noop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
    CREATE TRIGGER t_id_changed AFTER UPDATE OF id ON t FOR EACH ROW EXECUTE FUNCTION t_noop();
    INSERT INTO t (owner, v) SELECT i, i FROM generate_series(1, 100) AS i;
    INSERT INTO c (ref, v) SELECT i, i FROM generate_series(1, 100) AS i;
"""
    + COMMENTS
)


def test_policies_statistics_triggers_checks_and_their_comments_are_carried_and_reverted(
    server: Server, dsn: str
) -> None:
    with another_database(server) as other:
        with psycopg.connect(other, autocommit=True) as conn:
            conn.execute(POLICED)
            conn.execute(
                "DROP POLICY mine ON c; DROP POLICY reads ON t; DROP TRIGGER t_id_changed ON t;"
                "ALTER TABLE t ALTER COLUMN id TYPE bigint;"
                "ALTER TABLE c ALTER COLUMN ref TYPE bigint;"
                "ALTER SEQUENCE t_id_seq AS bigint;"
                "CREATE POLICY mine ON c AS RESTRICTIVE FOR UPDATE TO PUBLIC"
                " USING (ref > 0) WITH CHECK (ref < 2000000000 AND v IS NOT NULL);"
                "CREATE POLICY reads ON t FOR SELECT USING (id > 0);"
                "CREATE TRIGGER t_id_changed AFTER UPDATE OF id ON t"
                " FOR EACH ROW EXECUTE FUNCTION t_noop();" + COMMENTS
            )
        expected = normalized(schema_dump(server, other))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(POLICED)
    before = schema_dump(server, dsn)
    key = ("public", "t", "id")
    assert not online.plan(dsn, [key]).refusals

    online.advance(dsn, [key], until=Phase.SWAPPED, options=FAST)
    online.revert(dsn, [key], options=FAST)
    assert schema_dump(server, dsn) == before

    online.advance(dsn, [key], until=Phase.CLEANED, options=FAST)
    assert normalized(schema_dump(server, dsn)) == expected


def _busy(dsn: str, stop: threading.Event, errors: list[BaseException], write: str) -> None:
    """Run *write* in a loop with no pause until *stop*: a table that is never free."""
    try:
        with psycopg.connect(dsn, autocommit=True, prepare_threshold=None) as conn:
            n = 0
            while not stop.is_set():
                n += 1
                with conn.transaction():
                    for statement in write.split(";"):
                        conn.execute(statement, {"n": n % 200})
    except BaseException as error:  # reported by the test
        errors.append(error)


def test_the_swap_is_not_starved_by_writers_locking_in_either_order(dsn: str) -> None:
    # One writer holds a child and takes the key's table for its foreign key
    # check; the other holds the key's table and then writes a child: no order
    # of the swap's locks avoids both, and neither writer ever pauses.
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)
    online.advance(dsn, [KEY], until=Phase.BUILT, options=FAST)
    stop, errors = threading.Event(), []
    # Each holds its first table a little while before it takes the second, as an
    # application does between two statements of a transaction.
    writes = (
        "UPDATE shop.invoices SET cents = %(n)s WHERE id = 1 + %(n)s; SELECT pg_sleep(0.01);"
        " UPDATE shop.invoices SET order_id = 2000000001 + %(n)s WHERE id = 1 + %(n)s",
        "UPDATE shop.orders SET note = 'x' WHERE id = 2000000001 + %(n)s; SELECT pg_sleep(0.01);"
        " UPDATE shop.invoices SET cents = %(n)s WHERE id = 301 + %(n)s",
    )
    threads = [threading.Thread(target=_busy, args=(dsn, stop, errors, w)) for w in writes]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)
        result = online.advance(dsn, [KEY], until=Phase.SWAPPED, options=FAST)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not errors, errors
    assert result.phase is Phase.SWAPPED
