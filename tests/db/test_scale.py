"""The audit at scale: batches of short transactions that never block production.

Timings live in bench/; these tests check behaviour: how many round trips,
how long another session can be made to wait, and what happens when tables
come and go while the audit runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import subprocess
import sys
import tempfile
import threading
import time

import psycopg
import pytest
from psycopg import errors

import seqdoctor
from seqdoctor.catalog.reading import owner
from seqdoctor.report import Report
from tests.fix_db import Server, blocked_session, new_cluster

Connection = psycopg.Connection[tuple[object, ...]]

LOCK_TIMEOUT = 0.5


def tables(conn: Connection, count: int, *, behind: int = -1) -> None:
    """*count* serial tables t0, t1...; table number *behind* gets a row ahead of its sequence."""
    script = ";".join(f"CREATE TABLE t{i} (id serial PRIMARY KEY)" for i in range(count))
    conn.execute(script.encode())
    if behind >= 0:
        conn.execute(f"INSERT INTO t{behind} (id) VALUES (5)".encode())


def round_trips(dsn: str, batch_size: int) -> int:
    """Messages the audit sends that wait for an answer (Query, Sync), from libpq's trace."""
    with tempfile.TemporaryFile("w+") as trace, psycopg.connect(dsn) as conn:
        conn.pgconn.trace(trace.fileno())
        seqdoctor.audit(conn, batch_size=batch_size)
        conn.pgconn.untrace()
        trace.seek(0)
        return sum(
            1 for line in trace if "\tF\t" in line and ("\tQuery" in line or "\tSync" in line)
        )


def test_the_catalog_is_read_in_the_same_round_trips_whatever_the_number_of_tables(
    conn: Connection, dsn: str
) -> None:
    tables(conn, 30)
    thirty = round_trips(dsn, batch_size=1000)
    conn.execute(";".join(f"CREATE TABLE u{i} (id serial PRIMARY KEY)" for i in range(90)).encode())
    assert round_trips(dsn, batch_size=1000) == thirty  # 120 tables, one batch either way


def test_round_trips_grow_with_batches_not_tables(conn: Connection, dsn: str) -> None:
    tables(conn, 120)
    conn.execute(";".join(f"INSERT INTO t{i} DEFAULT VALUES" for i in range(120)).encode())
    ten_batches = round_trips(dsn, batch_size=12)
    two_batches = round_trips(dsn, batch_size=60)
    one_batch = round_trips(dsn, batch_size=120)
    # A batch is one short transaction of a few statements, whatever its size:
    # fewer batches, fewer round trips, and far fewer than one per table.
    assert one_batch < two_batches < ten_batches < 120
    assert ten_batches - two_batches <= 6 * 8


def test_finding_the_same_with_any_batch_size(conn: Connection, dsn: str) -> None:
    tables(conn, 25, behind=17)
    for batch_size in (1, 7, 1000):
        report = seqdoctor.audit(dsn, batch_size=batch_size)
        assert [(f.code, str(f.column)) for f in report.findings if f.code != "SEQ009"] == [
            ("SEQ001", "public.t17.id")
        ]


def blockers_of(dsn: str, pid: int) -> list[int]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT pg_blocking_pids(%s)", [pid]).fetchone()
        return list(row[0]) if row else []


def read_together(conn: Connection) -> tuple[str, str]:
    """Two of the tables t0..t9 whose columns one of the audit's two connections reads, the
    first before the second, in one batch: their sequences have the same owner."""
    rows = conn.execute(
        "SELECT c.relname, pg_catalog.pg_get_serial_sequence(c.relname, 'id')::regclass::oid::int8"
        " FROM pg_catalog.pg_class AS c WHERE c.relname ~ '^t[0-9]$' ORDER BY c.relname"
    ).fetchall()
    by_owner: dict[int, list[str]] = {}
    for table, sequence in rows:
        assert isinstance(sequence, int)
        by_owner.setdefault(owner(sequence, 2), []).append(str(table))
    first, second, *_ = max(by_owner.values(), key=len)
    return first, second


def test_a_session_queued_behind_the_audit_waits_no_longer_than_the_lock_timeout(
    conn: Connection, dsn: str
) -> None:
    tables(conn, 10)
    read_first, locked = read_together(conn)
    ahead = next(f"t{i}" for i in range(10) if f"t{i}" not in (read_first, locked))
    conn.execute(f"INSERT INTO {ahead} (id) VALUES (5)".encode())
    with psycopg.connect(dsn) as holder:
        holder.execute(f"LOCK TABLE {locked} IN ACCESS EXCLUSIVE MODE".encode())  # a migration
        results: list[Report] = []
        audit = threading.Thread(
            target=lambda: results.append(seqdoctor.audit(dsn, lock_timeout=LOCK_TIMEOUT))
        )
        audit.start()
        auditor = blocked_session(conn)
        # The audit holds ACCESS SHARE on the table it read first (in the same batch) while
        # it waits for the locked one. A session wanting the first exclusively queues behind
        # it, but not for long.
        with psycopg.connect(dsn, autocommit=True, application_name="migration") as queued:
            queued.execute(f"SET lock_timeout = '{LOCK_TIMEOUT * 10}s'".encode())
            blockers: list[list[int]] = []
            watcher = threading.Thread(
                target=lambda: blockers.append(blockers_of(dsn, blocked_session(conn, "migration")))
            )
            watcher.start()
            started = time.monotonic()
            with queued.transaction():
                queued.execute(f"LOCK TABLE {read_first} IN ACCESS EXCLUSIVE MODE".encode())
            waited = time.monotonic() - started
            watcher.join(timeout=30)
        audit.join(timeout=30)
        holder.rollback()
    assert blockers == [[auditor]]  # it really queued behind the audit...
    assert waited < LOCK_TIMEOUT + 0.5  # ...and no longer than the audit's lock timeout
    (report,) = results
    codes = {(f.code, f.details.get("reason"), str(f.column)) for f in report.findings}
    assert ("SEQ900", "lock-timeout", f"public.{locked}.id") in codes
    assert ("SEQ001", None, f"public.{ahead}.id") in codes


def test_a_table_dropped_mid_audit_is_left_out_not_a_crash(conn: Connection, dsn: str) -> None:
    tables(conn, 4, behind=3)

    def drop_t1_once(phase: str, done: int, total: int) -> None:
        # The positions are read while another connection reads the columns: t1
        # goes before, during or after that inventory, and before its table is read.
        if phase == "sequences":
            with psycopg.connect(dsn, autocommit=True) as other:
                other.execute("DROP TABLE IF EXISTS t1")

    report = seqdoctor.audit(dsn, progress=drop_t1_once)
    # Neither t1's column nor its sequence, gone with it, is judged: not
    # unreadable (SEQ900), not unused (SEQ007).
    assert not [f for f in report.findings if "t1" in f"{f.sequence} {f.column}"]
    assert "public.t3.id" in {str(f.column) for f in report.findings}


def test_a_table_created_mid_audit_is_judged_whole_or_not_at_all(
    conn: Connection, dsn: str
) -> None:
    tables(conn, 3, behind=2)

    def create_late_once(phase: str, done: int, total: int) -> None:
        if phase == "sequences":  # while the other connection reads the columns
            with psycopg.connect(dsn, autocommit=True) as other:
                other.execute("CREATE TABLE IF NOT EXISTS late (id serial PRIMARY KEY)")

    report = seqdoctor.audit(dsn, progress=create_late_once)
    late = {f.code for f in report.findings if "late" in f"{f.sequence} {f.column}"}
    assert late in (set(), {"SEQ009"})  # not unused (SEQ007), not unreadable (SEQ900)
    assert ("SEQ001", "public.t2.id") in {(f.code, str(f.column)) for f in report.findings}


def test_a_sequence_that_begins_to_feed_a_column_mid_audit_is_not_reported_unused(
    conn: Connection, dsn: str
) -> None:
    conn.execute("CREATE SEQUENCE invoice_no")
    conn.execute("CREATE SEQUENCE spare")
    conn.execute("CREATE TABLE invoices (id int PRIMARY KEY, no bigint)")

    def start_using_invoice_no(phase: str, done: int, total: int) -> None:
        # Over one connection the columns are listed, then the sequences, then
        # their positions read: this default comes after the columns were listed.
        if phase == "sequences":
            with psycopg.connect(dsn, autocommit=True) as other:
                other.execute(
                    "ALTER TABLE invoices ALTER COLUMN no SET DEFAULT nextval('invoice_no')"
                )

    report = seqdoctor.audit(dsn, connections=1, progress=start_using_invoice_no)
    assert {str(f.sequence) for f in report.findings if f.code == "SEQ007"} == {"public.spare"}


def test_capacity_checks_read_no_table(conn: Connection, dsn: str) -> None:
    tables(conn, 3, behind=1)
    with psycopg.connect(dsn) as holder:
        # Every table is locked: an audit that needed their rows would report them all.
        holder.execute("LOCK TABLE t0, t1, t2 IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        report = seqdoctor.audit(
            dsn, select=["SEQ002", "SEQ003", "SEQ009"], lock_timeout=LOCK_TIMEOUT
        )
        assert time.monotonic() - started < LOCK_TIMEOUT
    assert {f.code for f in report.findings} == {"SEQ009"}


def test_a_small_lock_table_overflows_in_one_transaction_but_not_in_batches(
    server: Server,
) -> None:
    if server.installation is None:
        pytest.skip("needs a local installation, to start a server with a small lock table")
    # 10 locks a transaction for about 30 processes: a lock table of some 300
    # entries, which 1,200 tables and their primary keys overflow as 10,000
    # tables overflow a default server's 6,400 (64 locks x 100 connections).
    small = {"max_locks_per_transaction": "10", "max_connections": "10", "max_wal_senders": "0"}
    count = 1_200
    with new_cluster(server.installation, small) as cluster:
        dsn = cluster.conninfo()
        with psycopg.connect(dsn, autocommit=True) as conn:
            for start in range(0, count, 50):
                conn.execute(
                    ";".join(
                        f"CREATE TABLE t{i} (id serial PRIMARY KEY)"
                        for i in range(start, start + 50)
                    ).encode()
                )
            conn.execute(f"INSERT INTO t{count - 1} (id) VALUES (5)".encode())
            every_table = " UNION ALL ".join(f"SELECT max(id) FROM t{i}" for i in range(count))
            with pytest.raises(errors.OutOfMemory), conn.transaction():
                conn.execute(every_table.encode())  # what one transaction over all of them meets
        report = seqdoctor.audit(dsn, batch_size=50)
    assert [(f.code, str(f.column)) for f in report.findings if f.code != "SEQ009"] == [
        ("SEQ001", f"public.t{count - 1}.id")
    ]


def test_a_probe_past_the_statement_timeout_is_reported_and_the_rest_go_on(
    conn: Connection, dsn: str
) -> None:
    tables(conn, 2, behind=1)
    # No index on its id: read only with --allow-seqscan, by a scan far longer
    # than the statement timeout (one process: no parallel workers to shorten it).
    conn.execute("CREATE TABLE big (id serial, filler int) WITH (parallel_workers = 0)")
    conn.execute("INSERT INTO big (filler) SELECT g FROM generate_series(1, 3000000) AS g")
    conn.execute("ANALYZE big")
    report = seqdoctor.audit(dsn, allow_seqscan=True, statement_timeout=0.1)
    codes = {(f.code, f.details.get("reason"), str(f.column)) for f in report.findings}
    assert ("SEQ900", "statement-timeout", "public.big.id") in codes
    assert ("SEQ001", None, "public.t1.id") in codes


def test_progress_shows_on_a_terminal_and_never_with_json_output(
    conn: Connection, dsn: str
) -> None:
    tables(conn, 2, behind=1)

    def check(stderr_on_a_terminal: bool, *args: str) -> tuple[str, str]:
        """stdout, and what stderr showed; each audit waits 1.5 s for t0's lock."""
        main, other = pty.openpty() if stderr_on_a_terminal else (None, subprocess.PIPE)
        clean = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        done = subprocess.run(
            [sys.executable, "-m", "seqdoctor", "check", "--lock-timeout", "1.5", *args, dsn],
            stdout=subprocess.PIPE,
            stderr=other,
            env={**clean, "COLUMNS": "100", "TERM": "xterm"},
            timeout=60,
            check=False,
        )
        if main is None:
            return done.stdout.decode(), done.stderr.decode()
        assert isinstance(other, int)
        os.close(other)
        shown = b""
        with contextlib.suppress(OSError):  # EIO once everything written is read
            while chunk := os.read(main, 65536):
                shown += chunk
        os.close(main)
        return done.stdout.decode(), shown.decode(errors="replace")

    with psycopg.connect(dsn) as holder:
        holder.execute("LOCK TABLE t0 IN ACCESS EXCLUSIVE MODE")
        _, terminal = check(True)
        out, beside_json = check(True, "--format", "json")
        _, piped = check(False)
        holder.rollback()
    assert "columns" in terminal  # the bar, with its phase, on a terminal
    assert beside_json == ""  # none with JSON output, even on a terminal
    assert json.loads(out)["status"] == "critical"
    assert piped == ""  # none where stderr is not a terminal
