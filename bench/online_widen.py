"""Widening a key to bigint under a steady write load: the offline ALTER beside ``fix --online``.

A parent ``orders (id integer PRIMARY KEY, v int)`` and a child ``lines (id
bigserial PRIMARY KEY, order_id integer REFERENCES orders, v int)`` of the same
number of rows are built once, as a template. Then, on fresh copies, while
several writer sessions insert orders with a line each and update random lines
(each statement timed):

1. no migration: the writers' p99 latency over the same duration;
2. the offline repair: ``ALTER TABLE ... TYPE bigint`` of both columns in one
   transaction: its time, and the longest a writer was blocked;
3. the floor of any in-place widening (``--no-floor`` skips it): the
   backfill's batched UPDATEs alone, with nothing of seqdoctor's around them;
4. the online widening to the swap, then its cleanup: its time, the longest a
   writer was blocked, the writers' p99 against (1), the extra disk at the
   swap (database size) and the WAL written, and the rows whose key and
   foreign key differ from what the writers wrote (must be 0).

The floor says what the method costs before seqdoctor adds anything: a new
row version and an entry in every index for each row, beside the writers,
where the rewrite writes each row once and builds its indexes in bulk.

Targets (issue 17): the longest stall online under 1 s; writers' p99 within 2x
of no migration; total time within 4x of the offline rewrite. It writes
bench/results/online_widen.md. Usage::

    python bench/online_widen.py [--rows 20000000] [--writers 4]

The default size took 26 minutes on 2 shared cores, with four copies of a
database of a few GB on disk (bench/results/online_widen.md): try
``--rows 20000`` first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from scale import machine, pick_installation

from seqdoctor.ephemeral import EphemeralCluster
from seqdoctor.repairs import online
from seqdoctor.repairs.online import OnlineOptions, Phase

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "online_widen.md"
KEY = ("public", "orders", "id")
GENERATE = """
CREATE TABLE orders (id integer PRIMARY KEY, v int);
CREATE TABLE lines (
    id bigserial PRIMARY KEY, order_id integer NOT NULL REFERENCES orders, v int
);
CREATE INDEX lines_order_id ON lines (order_id);
CREATE SEQUENCE orders_id_seq AS integer OWNED BY orders.id;
ALTER TABLE orders ALTER COLUMN id SET DEFAULT nextval('orders_id_seq');
INSERT INTO orders (id, v) SELECT i, i FROM generate_series(1, {rows}) AS i;
INSERT INTO lines (order_id, v) SELECT i, i FROM generate_series(1, {rows}) AS i;
SELECT setval('orders_id_seq', {rows});
"""


@dataclass
class Writers:
    """Sessions inserting an order and its line, and updating a random line, timed."""

    dsn: str
    rows: int
    rate: float  # statements a second, each writer; 0: as fast as it can
    stop: threading.Event = field(default_factory=threading.Event)
    latencies: list[float] = field(default_factory=list)
    slowest: tuple[float, float] = (0.0, 0.0)  # the longest statement: seconds, when it began
    written: dict[int, int] = field(default_factory=dict)  # line id -> order id, as written
    errors: list[BaseException] = field(default_factory=list)
    deadlocks: int = 0  # statements the server chose as a deadlock's victim
    seconds: float = 0.0  # how long they wrote

    def per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def run(self, which: int) -> None:
        try:
            # No prepared statements: they fail across the swap (the checklist in docs/fix.md).
            with psycopg.connect(self.dsn, autocommit=True, prepare_threshold=None) as conn:
                n = 0
                due = time.monotonic()
                while not self.stop.is_set():
                    n += 1
                    if self.rate:  # a steady pace, as pgbench --rate: late statements do not wait
                        due += 1 / self.rate
                        time.sleep(max(0.0, due - time.monotonic()))
                    started = time.monotonic()
                    try:
                        self.write(conn, which, n)
                    except psycopg.errors.DeadlockDetected:
                        self.deadlocks += 1
                    took = time.monotonic() - started
                    self.latencies.append(took)
                    self.slowest = max(self.slowest, (took, started))
        except BaseException as error:  # reported by the run
            self.errors.append(error)

    def write(self, conn: psycopg.Connection[Any], which: int, n: int) -> None:
        if n % 2:
            with conn.transaction():
                row = conn.execute(
                    "INSERT INTO orders (v) VALUES (%s) RETURNING id", [n]
                ).fetchone()
                order = int(row[0]) if row else 0
                line = conn.execute(
                    "INSERT INTO lines (order_id, v) VALUES (%s, %s) RETURNING id",
                    [order, which],
                ).fetchone()
            self.written[int(line[0]) if line else 0] = order
        else:
            conn.execute("UPDATE lines SET v = v + 1 WHERE id = %s", [n * 7919 % self.rows + 1])

    def p99(self) -> float:
        return statistics.quantiles(self.latencies, n=100)[98] if len(self.latencies) > 100 else 0


def under_load(dsn: str, args: argparse.Namespace, work: Any) -> tuple[float, Writers]:
    """Run *work()* while the writer sessions write: its seconds, and the writers' record."""
    load = Writers(dsn, args.rows, args.rate / args.writers)
    threads = [threading.Thread(target=load.run, args=(i,)) for i in range(args.writers)]
    for thread in threads:
        thread.start()
    writing = time.monotonic()
    time.sleep(1.0)
    started = time.monotonic()
    try:
        work()
    finally:
        elapsed = time.monotonic() - started
        time.sleep(1.0)
        load.stop.set()
        for thread in threads:
            thread.join()
        load.seconds = time.monotonic() - writing
    if load.errors:
        raise SystemExit(f"a writer failed: {load.errors[0]}")
    return elapsed, load


def fresh_copy(cluster: EphemeralCluster, name: str) -> str:
    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}".encode())
        conn.execute(f"CREATE DATABASE {name} TEMPLATE widen_template".encode())
    return cluster.conninfo(name)


def scalar(dsn: str, query: str) -> Any:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(query.encode()).fetchone()
    return row[0] if row else None


def mismatches(dsn: str, written: dict[int, int]) -> int:
    """Lines whose order id is not what the writers wrote, or missing."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        found = dict(
            conn.execute(
                "SELECT id, order_id FROM lines WHERE id = ANY(%s)", [list(written)]
            ).fetchall()
        )
    return sum(found.get(line) != order for line, order in written.items())


# The floor of any in-place widening: the backfill's UPDATEs alone, bare (no
# trigger, no verification, no index build, no swap), in ranges of the key.
FLOOR_BATCH = 50_000
FLOOR_TABLES = (("orders", "id", "id"), ("lines", "order_id", "id"))  # table, column, its key


def bare_backfill(dsn: str) -> None:
    """A bigint column beside each key column, filled by batched UPDATEs, nothing else."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table, column, _key in FLOOR_TABLES:
            conn.execute(
                f"ALTER TABLE {table} ADD COLUMN {column}_bare bigint NOT NULL DEFAULT 0".encode()
            )
        for table, column, key in FLOOR_TABLES:
            row = conn.execute(f"SELECT min({key}), max({key}) FROM {table}".encode()).fetchone()
            low, high = row if row and row[0] is not None else (1, 0)
            update = (
                f"UPDATE {table} SET {column}_bare = {column} WHERE {key} >= %s AND {key} < %s"
                f" AND {column}_bare IS DISTINCT FROM {column}"
            ).encode()
            for start in range(low, high + 1, FLOOR_BATCH):
                conn.execute(update, [start, start + FLOOR_BATCH])


def widen(
    dsn: str, jobs: int, phases: dict[str, float], peak: list[int], when: list[tuple[float, str]]
) -> None:
    """The online widening to its cleanup: its phases' seconds in *phases*, the database's
    size at the swap in *peak*, when each part began in *when*."""
    # One call to the swap, as `fix --online --apply` runs it (a call per phase
    # would walk the tables again each time: a resumed widening verifies again),
    # then the cleanup; the walks time themselves.
    options = OnlineOptions(lock_deadline=600.0, jobs=jobs)
    began = time.monotonic()
    when.append((began, "the shadows (phase 2)"))
    walked: dict[str, float] = {}

    def progress(_table: str, walk: str, _done: int, _total: int) -> None:
        if walk not in walked:
            when.append((time.monotonic(), walk))
        walked[walk] = time.monotonic()

    done = online.advance(dsn, [KEY], until=Phase.SWAPPED, options=options, progress=progress)
    when.append((walked.get("verify", began), "index builds, key validation and swap"))
    phases["backfill"] = sum(w.seconds for w in done.backfilled)
    phases["verification"] = sum(w.seconds for w in done.verified)
    phases["shadows, index builds, key validation and swap"] = (
        time.monotonic() - began - phases["backfill"] - phases["verification"]
    )
    peak.append(scalar(dsn, "SELECT pg_database_size(current_database())"))
    began = time.monotonic()
    when.append((began, "cleanup"))
    online.cleanup(dsn, [KEY], options)
    phases["cleanup"] = time.monotonic() - began
    when.append((time.monotonic(), "after the widening"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=1, help="fix --online --jobs")
    parser.add_argument(
        "--rate",
        type=float,
        default=1000.0,
        help="statements a second, all writers together (0: as fast as they can)",
    )
    parser.add_argument(
        "--no-floor",
        dest="floor",
        action="store_false",
        help="skip the bare backfill (the floor of any in-place widening)",
    )
    parser.add_argument("--directory", default=tempfile.gettempdir(), help="the cluster's parent")
    args = parser.parse_args()
    installation = pick_installation()
    # On disk, not in /dev/shm: tens of GB at the size.
    parent = Path(args.directory)
    load_before = os.getloadavg()
    started = time.monotonic()
    lines = [
        "## Online widening under load (bench/online_widen.py)",
        "",
        f"Machine: {machine()}. Server: PostgreSQL {installation.major_version} "
        f"(the throwaway cluster's settings: fsync and synchronous_commit off), "
        f"its data in {parent}. "
        f"{args.rows:,} rows in each of two tables, {args.writers} writers"
        + (
            f" keeping a steady {args.rate:,.0f} statements a second together (as pgbench --rate)."
            if args.rate
            else " writing as fast as they can."
        ),
        "",
    ]
    with EphemeralCluster(installation, parent=parent) as cluster:
        with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
            conn.execute(b"DROP DATABASE IF EXISTS widen_template")
            conn.execute(b"CREATE DATABASE widen_template")
        with psycopg.connect(cluster.conninfo("widen_template"), autocommit=True) as conn:
            conn.execute(GENERATE.format(rows=args.rows).encode())
            conn.execute(b"VACUUM ANALYZE")

        dsn = fresh_copy(cluster, "widen_none")
        _, idle = under_load(dsn, args, lambda: time.sleep(30.0))

        dsn = fresh_copy(cluster, "widen_offline")

        def offline() -> None:
            with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
                conn.execute(b"SET statement_timeout = 0")  # the rewrite takes what it takes
                # In the writers' order, as seqdoctor's offline plan does (parent first).
                conn.execute(b"LOCK TABLE orders, lines IN ACCESS EXCLUSIVE MODE")
                conn.execute(b"ALTER TABLE lines ALTER COLUMN order_id TYPE bigint")
                conn.execute(b"ALTER TABLE orders ALTER COLUMN id TYPE bigint")
                conn.execute(b"ALTER SEQUENCE orders_id_seq AS bigint")

        offline_seconds, offline_load = under_load(dsn, args, offline)

        floor: tuple[float, Writers] | None = None
        if args.floor:
            dsn = fresh_copy(cluster, "widen_floor")
            floor = under_load(dsn, args, lambda: bare_backfill(dsn))

        dsn = fresh_copy(cluster, "widen_online")
        size_before = scalar(dsn, "SELECT pg_database_size(current_database())")
        wal_before = scalar(dsn, "SELECT pg_current_wal_insert_lsn()::text")

        phases: dict[str, float] = {}
        peak: list[int] = []
        when: list[tuple[float, str]] = []
        online_seconds, online_load = under_load(
            dsn, args, lambda: widen(dsn, args.jobs, phases, peak, when)
        )
        wal = scalar(
            dsn, f"SELECT pg_current_wal_insert_lsn() - '{wal_before}'::pg_lsn"
        )  # every session's WAL, the writers' included
        wrong = mismatches(dsn, online_load.written)

    def stall(load: Writers) -> float:
        return max(load.latencies, default=0.0)

    verdicts = (
        ("longest writer stall online under 1 s", stall(online_load) < 1.0),
        ("writers' p99 within 2x of no migration", online_load.p99() <= 2 * idle.p99()),
        ("total within 4x of the offline rewrite", online_seconds <= 4 * offline_seconds),
        ("no mismatched rows", wrong == 0),
    )
    lines += [
        "| | total | longest writer stall | writers' p99 | writers' deadlocks | writes a second |",
        "|---|---|---|---|---|---|",
        f"| no migration | - | {stall(idle) * 1000:,.0f} ms | {idle.p99() * 1000:,.1f} ms "
        f"| {idle.deadlocks} | {idle.per_second():,.0f} |",
        f"| offline ALTER | {offline_seconds:,.1f} s | {stall(offline_load) * 1000:,.0f} ms "
        f"| {offline_load.p99() * 1000:,.1f} ms | {offline_load.deadlocks} "
        f"| {offline_load.per_second():,.0f} |",
        *(
            [
                f"| the floor: the backfill's UPDATEs alone, bare (in ranges of "
                f"{FLOOR_BATCH:,} keys; no trigger, verification, index build or swap) "
                f"| {floor[0]:,.1f} s = {floor[0] / offline_seconds:,.1f}x offline "
                f"| {stall(floor[1]) * 1000:,.0f} ms | {floor[1].p99() * 1000:,.1f} ms "
                f"| {floor[1].deadlocks} | {floor[1].per_second():,.0f} |"
            ]
            if floor
            else []
        ),
        f"| fix --online --jobs {args.jobs} (to the cleanup) | {online_seconds:,.1f} s | "
        f"{stall(online_load) * 1000:,.0f} ms | {online_load.p99() * 1000:,.1f} ms "
        f"| {online_load.deadlocks} | {online_load.per_second():,.0f} |",
        "",
        f"Online: extra disk at the swap {(peak[0] - size_before) / 1024**2:,.0f} MB, "
        f"WAL {int(wal) / 1024**2:,.0f} MB (all sessions), "
        f"{wrong} of {len(online_load.written):,} lines written during it differ. "
        f"Online against offline: {online_seconds / offline_seconds:,.1f}x the time; "
        f"writers' p99 {online_load.p99() / idle.p99():,.1f}x that without a migration.",
        "",
        "Online, the longest writer stall began during: "
        + next(
            (what for at, what in reversed(when) if at <= online_load.slowest[1]),
            "the seconds before the widening",
        )
        + ".",
        "",
        "Online, phase by phase: "
        + ", ".join(f"{what} {seconds:,.1f} s" for what, seconds in phases.items())
        + ".",
        "",
        "Targets (issue 17): "
        + "; ".join(f"{what}: {'met' if met else 'NOT met'}" for what, met in verdicts)
        + ".",
        "",
        f"The whole run took {time.monotonic() - started:,.0f} s; load average "
        f"{load_before[0]:.1f} before it and {os.getloadavg()[0]:.1f} after it "
        f"({os.cpu_count()} cores shared with other work).",
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
