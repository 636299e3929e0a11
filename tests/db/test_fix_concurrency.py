"""Moving a sequence while the application keeps writing.

Writers insert rows with generated ids the whole time (some fail with duplicate
keys before the fix: that is the bug being repaired), and another session
writes rows with explicit ids ahead of the sequence, one of them still
uncommitted when the fix starts. A poller reads the sequence every few
milliseconds: it must never go backwards. Afterwards a burst of inserts with
generated ids raises no duplicate-key error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import errors, sql

from seqdoctor.repairs import FixResult, Outcome, Retries, apply_fix, plan_fix
from tests.fix_db import blocked_session

Connection = psycopg.Connection[tuple[Any, ...]]
SETUP = """
    CREATE TABLE tickets (id serial PRIMARY KEY, source text NOT NULL);
    INSERT INTO tickets (id, source)
    SELECT i, 'legacy' FROM generate_series(1, 2000) AS i WHERE i % 10 <> 0;
"""
AHEAD = 50_000  # explicit ids, far ahead of the sequence
BURST = 300
WAIT = 10.0  # seconds: only reached when something is broken


@dataclass
class Traffic:
    """Background sessions writing and watching while the fix runs."""

    dsn: str
    stop: threading.Event = field(default_factory=threading.Event)
    positions: list[int] = field(default_factory=list)
    inserted: int = 0
    collisions: int = 0
    errors: list[BaseException] = field(default_factory=list)

    def poll(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.is_set():
                row = conn.execute(
                    "SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END"
                    " FROM tickets_id_seq"
                ).fetchone()
                assert row is not None
                self.positions.append(row[0])
                time.sleep(0.002)

    def write(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.is_set():
                try:
                    conn.execute("INSERT INTO tickets (source) VALUES ('generated')")
                    self.inserted += 1
                except errors.UniqueViolation:
                    self.collisions += 1

    def run(self, target: Any) -> None:
        try:
            target()
        except BaseException as error:  # reported by the test, not lost in a thread
            self.errors.append(error)
            raise


@contextmanager
def traffic(dsn: str, writers: int = 2) -> Iterator[Traffic]:
    going = Traffic(dsn)
    threads = [threading.Thread(target=going.run, args=(going.poll,))]
    threads += [threading.Thread(target=going.run, args=(going.write,)) for _ in range(writers)]
    for thread in threads:
        thread.start()
    try:
        yield going
    finally:
        going.stop.set()
        for thread in threads:
            thread.join(WAIT)
    assert not going.errors, going.errors
    assert going.positions == sorted(going.positions), "the sequence moved backwards"


def burst(conn: Connection) -> None:
    for _ in range(BURST):
        conn.execute("INSERT INTO tickets (source) VALUES ('burst')")  # UniqueViolation fails it


def test_with_lock_rows_written_during_the_fix_cannot_slip_past_it(
    conn: Connection, dsn: str
) -> None:
    conn.execute(SETUP)
    fix = plan_fix(dsn, codes=["SEQ001"], lock=True, lock_timeout=WAIT)
    result: list[Any] = []

    with traffic(dsn) as going, psycopg.connect(dsn) as explicit:
        time.sleep(0.05)  # the writers hit the holes, and the duplicates
        explicit.execute(
            "INSERT INTO tickets (id, source) VALUES (%s, 'explicit')", [AHEAD]
        )  # uncommitted: invisible to anyone else, and holding its row lock on the table
        applying = threading.Thread(target=lambda: result.append(apply_fix(dsn, fix)))
        applying.start()
        blocked_session(conn, timeout=WAIT)  # the fix waits for the explicit writer
        explicit.execute("INSERT INTO tickets (id, source) VALUES (%s, 'explicit')", [AHEAD + 5])
        explicit.commit()
        applying.join(WAIT)
        time.sleep(0.05)  # the writers go on past the fix

    (done,) = result
    assert [r.outcome for r in done.results] == [Outcome.APPLIED]
    assert going.collisions > 0  # the bug was real while it lasted
    assert going.positions[-1] > AHEAD + 5
    burst(conn)


def test_without_lock_the_sequence_never_goes_back_and_a_rerun_converges(
    conn: Connection, dsn: str
) -> None:
    conn.execute(SETUP)

    with traffic(dsn) as going, psycopg.connect(dsn, autocommit=True) as explicit:
        time.sleep(0.05)
        fix = plan_fix(dsn, codes=["SEQ001"])
        applying = threading.Thread(target=apply_fix, args=(dsn, fix))
        applying.start()
        for offset in range(0, 100, 10):  # explicit ids landing ahead while the fix runs
            # Without --lock the generated-id traffic may already hold one of them:
            # that race is what this test is about, so a taken id is simply skipped.
            explicit.execute(
                "INSERT INTO tickets (id, source) VALUES (%s, 'explicit')"
                " ON CONFLICT (id) DO NOTHING",
                [AHEAD + offset],
            )
        applying.join(WAIT)

    again = apply_fix(dsn, plan_fix(dsn, codes=["SEQ001"]))
    assert {r.outcome for r in again.results} <= {Outcome.APPLIED}
    assert going.positions
    burst(conn)


def test_with_lock_a_writer_taking_the_tables_in_the_other_order_is_waited_out(
    conn: Connection, dsn: str
) -> None:
    conn.execute(
        """
        CREATE SEQUENCE shared_ids;
        CREATE TABLE a_first (id integer PRIMARY KEY DEFAULT nextval('shared_ids'));
        CREATE TABLE b_second (id integer PRIMARY KEY DEFAULT nextval('shared_ids'));
        INSERT INTO a_first VALUES (1), (2);
        INSERT INTO b_second VALUES (3);
        """
    )
    fix = plan_fix(dsn, codes=["SEQ001"], lock=True, lock_timeout=10)
    (plan,) = fix.plans
    # Locked in one documented order, by name, whatever the order of the columns.
    assert plan.statements[0].as_string() == (
        'LOCK TABLE ONLY "public"."a_first", ONLY "public"."b_second" IN SHARE ROW EXCLUSIVE MODE'
    )
    results: list[FixResult] = []
    # The server ends whichever side of a deadlock checks first, deadlock_timeout after it
    # started waiting: the fix (its sessions start with 3 s), not the writer (60 s). The
    # writer has 3 s to close the cycle, however slow the machine.
    conn.execute(
        sql.SQL("ALTER DATABASE {} SET deadlock_timeout = '3s'").format(
            sql.Identifier(conn.info.dbname)
        )
    )

    with psycopg.connect(dsn) as writer:
        writer.execute("SET deadlock_timeout = '60s'")
        writer.execute("INSERT INTO b_second VALUES (100)")  # holds b_second...
        applying = threading.Thread(
            target=lambda: results.append(apply_fix(dsn, fix, retries=Retries(3, 0.05)))
        )
        applying.start()
        blocked_session(conn)  # ...which the fix waits for, holding a_first
        writer.execute("INSERT INTO a_first VALUES (101)")  # waits for the fix: a deadlock
        writer.commit()  # the server ended the fix's side; it tried again after the writer
        applying.join(WAIT)

    (result,) = results
    (applied,) = result.results
    assert applied.outcome is Outcome.APPLIED, applied.detail
    assert applied.attempts == 2
    waited = [s.result for s in applied.steps if s.what == "waiting"]
    assert len(waited) == 1
    assert waited[0].startswith("deadlock with another session; trying again in 0.0")
    assert int(result.exit_status) == 0
    assert conn.execute("SELECT nextval('shared_ids')").fetchone() == (102,)
