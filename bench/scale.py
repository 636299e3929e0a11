"""How fast, heavy and right the audit is at 1,000 to 100,000 tables, beside the usual ways.

On one throwaway server with default lock settings (max_locks_per_transaction
= 64, max_connections = 100), for each size: generate the tables
(bench/generate.py, which plants problems), then time, several runs each,
median wall time and peak client RSS:

1. ``seqdoctor check --format json``, the full audit;
2. ``seqdoctor check --select`` of every check that reads no table, then of the
   capacity checks alone (SEQ002-SEQ006: what check_postgres looks at too), and
   that same audit in a process already running (each round of seqdoctor serve);
3. the per-table round trips users script today: for every sequence-fed column,
   ``SELECT setval(pg_get_serial_sequence('"t"','id'), coalesce(max("id"), 1),
   max("id") IS NOT null) FROM "t"`` (what Django's sqlsequencereset emits), one
   round trip each, in transactions that are rolled back - on a copy of the
   database, since setval() ignores the rollback;
4. ``check_postgres --action=sequence`` (Debian's check-postgres package), when installed;
5. the server floor: one PL/pgSQL DO block that reads every sequence and every
   fed column's max() on the server itself, no client work at all.

It writes bench/results/scale.md. Usage::

    python bench/scale.py [--sizes 1000,10000,100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from generate import Planted, generate

import seqdoctor
from seqdoctor.ephemeral import EphemeralCluster, Installation, find_installations

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "scale.md"
# Every check that reads no table, and of those the ones about running out, which
# is all check_postgres --action=sequence looks at (SEQ007 and SEQ009 are hygiene).
NO_PROBE_CHECKS = ("SEQ002", "SEQ003", "SEQ004", "SEQ005", "SEQ006", "SEQ007", "SEQ009")
CAPACITY_CHECKS = ("SEQ002", "SEQ003", "SEQ004", "SEQ005", "SEQ006")

# The server floor: every sequence read, every fed column's max() computed, on
# the server. It commits every 1000 objects, as a default server's lock table
# cannot hold a lock on 100,000 tables at once.
FLOOR = """
DO $floor$
DECLARE
    r record;
    v numeric;
    n int := 0;
BEGIN
    -- Catalog reads only in the loops' queries (no pg_sequences, no pg_get_expr:
    -- both lock what they read, and a loop's query is read whole at its first COMMIT).
    FOR r IN
        SELECT n.nspname, c.relname
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'S' AND n.nspname LIKE 'tenant%'
    LOOP
        EXECUTE format('SELECT last_value FROM %I.%I', r.nspname, r.relname) INTO v;
        n := n + 1;
        IF n % 1000 = 0 THEN COMMIT; END IF;
    END LOOP;
    FOR r IN
        SELECT DISTINCT n.nspname, c.relname, a.attname
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname LIKE 'tenant%'
          AND (a.attidentity <> '' OR d.adbin::text LIKE '%:funcid 1574 %')
    LOOP
        EXECUTE format('SELECT max(%I) FROM %I.%I', r.attname, r.nspname, r.relname) INTO v;
        n := n + 1;
        IF n % 1000 = 0 THEN COMMIT; END IF;
    END LOOP;
END
$floor$;
"""

# What users script today, as a standalone client so that its memory is its own.
PER_TABLE = """
import sys, psycopg
from psycopg import sql
with psycopg.connect(sys.argv[1]) as conn:
    columns = conn.execute(
        "SELECT n.nspname, c.relname, a.attname FROM pg_attribute a"
        " JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname LIKE 'tenant%'"
        " AND pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname),"
        " a.attname) IS NOT NULL"
    ).fetchall()
    conn.rollback()
    for i, (schema, table, column) in enumerate(columns):
        name = sql.Identifier(schema, table).as_string(conn)
        conn.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence({name}, {column}),"
                " coalesce(max({c}), 1), max({c}) IS NOT null) FROM {t}"
            ).format(
                name=name, column=column, c=sql.Identifier(column), t=sql.Identifier(schema, table)
            )
        )
        if i % 500 == 499:
            conn.rollback()  # a default server cannot lock every table in one transaction
    conn.rollback()
    print(len(columns))
"""


# The capacity audit in a process that has started and imported everything
# already, as `seqdoctor serve` runs its rounds: no interpreter start-up (here
# over new connections each time, where serve keeps its own open). It prints
# each audit's seconds and the last report.
IN_PROCESS = """
import io, json, sys, time
import seqdoctor
from seqdoctor.render import Format, render
dsn, codes, runs = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3])
seqdoctor.audit(dsn, select=codes)  # imports what is imported on first use
seconds = []
for _ in range(runs):
    started = time.monotonic()
    report = seqdoctor.audit(dsn, select=codes)
    seconds.append(time.monotonic() - started)
out = io.StringIO()
render(report, Format.JSON, out)
print(json.dumps({"seconds": seconds, "report": json.loads(out.getvalue())}))
"""


@dataclass
class Measurement:
    tool: str
    seconds: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    found: str = ""
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")


def run(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str, str]:
    """Wall seconds, peak RSS (MB), stdout, and what it said on stderr when it failed.

    A failure is an exit status above 2 (0, 1 and 2 are Nagios verdicts) or a
    psql ERROR.
    """
    started = time.monotonic()
    peak_kb = 0
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        # VmHWM, the peak RSS of the program itself: getrusage() of a forked child
        # would also count the memory of this runner, which it starts as a copy of.
        status = Path(f"/proc/{process.pid}/status")
        while process.poll() is None:
            with contextlib.suppress(OSError, ValueError, StopIteration):
                line = next(x for x in status.read_text().splitlines() if x.startswith("VmHWM"))
                peak_kb = max(peak_kb, int(line.split()[1]))
            time.sleep(0.005)
        elapsed = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        text, errors = out.read(), err.read()
    failed = process.returncode > 2 or "ERROR" in errors
    said = (errors.strip() or text.strip() or f"exit status {process.returncode}").splitlines()
    return elapsed, peak_kb / 1024, text, said[-1][:200] if failed else ""


def judge(report: dict[str, object], planted: Planted, *, drift: bool = True) -> str:
    """Planted problems found, and findings nobody planted; without *drift*, overflow only."""
    findings = report["findings"]
    assert isinstance(findings, list)

    def columns(code: str) -> set[str]:
        return {
            f"{c['schema']}.{c['table']}.{c['column']}"
            for f in findings
            if f["code"] == code and (c := f["column"])
        }

    behind = columns("SEQ001") if drift else set()
    overflow = columns("SEQ002")
    found = len(behind & set(planted.behind)) + len(overflow & set(planted.near_overflow))
    false_alarms = len(behind - set(planted.behind)) + len(overflow - set(planted.near_overflow))
    if not drift:
        return (
            f"{found}/{len(planted.near_overflow)} near overflow found, {false_alarms} false "
            "alarms; drift not looked for (by design)"
        )
    total = len(planted.behind) + len(planted.near_overflow)
    return f"{found}/{total} found, {false_alarms} false alarms"


def round_trips(dsn: str) -> int:
    """Client messages that wait for the server (Query and Sync), counted from libpq's trace."""
    with tempfile.NamedTemporaryFile("w+") as trace, psycopg.connect(dsn) as conn:
        conn.pgconn.trace(trace.fileno())
        seqdoctor.audit(conn)
        conn.pgconn.untrace()
        trace.seek(0)
        return sum(
            1 for line in trace if "\tF\t" in line and ("\tQuery\t" in line or "\tSync" in line)
        )


def check_postgres_command(cluster: EphemeralCluster, dbname: str) -> list[str] | None:
    """check_postgres's sequence action on *dbname*, or None when it is not installed."""
    executable = shutil.which("check_postgres") or shutil.which("check_postgres.pl")
    if executable is None:
        return None
    return [
        executable,
        "--action=sequence",
        f"--dbhost={cluster.directory}",
        "--dbuser=postgres",
        f"--dbname={dbname}",
        "--warning=75%",
        "--critical=90%",
    ]


# The command users run: the console script installed beside this interpreter.
SEQDOCTOR = str(Path(sys.executable).parent / "seqdoctor")


def capacity_command(dsn: str) -> list[str]:
    selects = [arg for code in CAPACITY_CHECKS for arg in ("--select", code)]
    return [SEQDOCTOR, "check", "--format", "json", *selects, dsn]


def startup(cluster: EphemeralCluster, runs: int) -> list[str]:
    """What each tool costs before it reads anything: the same audits of an empty database."""
    commands = {
        "seqdoctor check --select SEQ002-SEQ006": capacity_command(cluster.conninfo()),
        "check_postgres --action=sequence": check_postgres_command(cluster, "postgres"),
        "the interpreter importing psycopg, nothing else": [
            sys.executable,
            "-c",
            "import psycopg",
        ],
    }
    installed = {name: command for name, command in commands.items() if command}
    seconds: dict[str, list[float]] = {name: [] for name in installed}
    for _ in range(runs):
        for name, command in installed.items():
            seconds[name].append(run(command)[0])
    medians = {name: statistics.median(times) for name, times in seconds.items()}
    lines = [
        "### Start-up: the same audits of a database with no tables",
        "",
        "| approach | median s |",
        "|---|---:|",
        *(f"| {name} | {median:.2f} |" for name, median in medians.items()),
        "",
    ]
    if len(medians) == len(commands):
        ours, theirs, interpreter = medians.values()
        lines += [
            f"With nothing to read, seqdoctor takes {1000 * (ours - theirs):+.0f} ms against "
            f"check_postgres; Python starting and importing psycopg takes {interpreter:.2f} s "
            "of its time.",
            "",
        ]
    return lines


def measure(
    cluster: EphemeralCluster, size: int, runs: int
) -> tuple[list[Measurement], int, Planted]:
    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS bench")
        conn.execute("CREATE DATABASE bench")
    dsn = cluster.conninfo("bench")
    started = time.monotonic()
    planted = generate(dsn, size)
    print(f"  generated {size:,} tables in {time.monotonic() - started:.0f} s", flush=True)

    python = sys.executable
    full = Measurement("seqdoctor check --format json (full audit)")
    no_probe = Measurement("seqdoctor check --select every check reading no table")
    capacity = Measurement("seqdoctor check --select SEQ002-SEQ006 (capacity checks only)")
    per_table = Measurement("per-table round trips (sqlsequencereset statement)")
    check_postgres = Measurement("check_postgres --action=sequence")
    floor = Measurement("server floor: one DO block, no client")
    psql = str(cluster.installation.bindir / "psql")
    # Copying a database of 100,000 tables block by block (the WAL_LOG strategy of
    # PostgreSQL 15 and later) takes minutes: copy the files, and time that approach
    # once at the largest size, where its one round trip per table is plain to see.
    copy = "STRATEGY FILE_COPY" if cluster.installation.major_version >= 15 else ""
    per_table_runs = runs if size < 100_000 else 1
    check = [SEQDOCTOR, "check", "--format", "json"]
    no_probe_selects = [arg for code in NO_PROBE_CHECKS for arg in ("--select", code)]
    for _ in range(runs):
        for measurement, command in (
            (full, [*check, dsn]),
            (no_probe, [*check, *no_probe_selects, dsn]),
            (capacity, capacity_command(dsn)),
            (floor, [psql, "-X", "-q", "-c", FLOOR, dsn]),
        ):
            seconds, rss, out, failure = run(command)
            if failure:
                measurement.note = f"failed: {failure}"
                continue
            measurement.seconds.append(seconds)
            measurement.peak_rss_mb = max(measurement.peak_rss_mb, rss)
            if measurement is not floor:
                measurement.found = judge(json.loads(out), planted, drift=measurement is full)
        if len(per_table.seconds) < per_table_runs:
            # setval() ignores rollback: each run gets a fresh copy of the database.
            with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
                conn.execute("DROP DATABASE IF EXISTS bench_copy")
                conn.execute(f"CREATE DATABASE bench_copy TEMPLATE bench {copy}".encode())
            seconds, rss, out, failure = run(
                [python, "-c", PER_TABLE, cluster.conninfo("bench_copy")]
            )
            per_table.seconds.append(seconds)
            per_table.peak_rss_mb = max(per_table.peak_rss_mb, rss)
            per_table.note = f"{out.strip()} statements; repairs blindly, reports nothing"
        if command := check_postgres_command(cluster, "bench"):
            seconds, rss, out, failure = run(command)
            if failure or "UNKNOWN" in out[:40]:
                check_postgres.note = f"failed: {failure or out.strip()[:160]}"
                continue
            check_postgres.seconds.append(seconds)
            check_postgres.peak_rss_mb = max(check_postgres.peak_rss_mb, rss)
            flagged = sum(1 for name in planted.near_overflow if name.split(".")[1] in out)
            check_postgres.found = (
                f"{flagged}/{len(planted.near_overflow)} near overflow; "
                f"0/{len(planted.behind)} behind (not looked for)"
            )
        else:
            check_postgres.note = "not installed: apt-get install check-postgres"
    floor.found = "computes, reports nothing"
    running = in_process(dsn, planted, runs)
    measured = [full, no_probe, capacity, running, per_table, check_postgres, floor]
    return measured, round_trips(dsn), planted


def in_process(dsn: str, planted: Planted, runs: int) -> Measurement:
    """The capacity audit *runs* times in one process, after one audit to warm it up."""
    running = Measurement("the same capacity audit in a running process (seqdoctor.audit())")
    _, rss, out, failure = run(
        [sys.executable, "-c", IN_PROCESS, dsn, ",".join(CAPACITY_CHECKS), str(runs)]
    )
    if failure:
        running.note = f"failed: {failure}"
        return running
    result = json.loads(out)
    running.seconds = result["seconds"]
    running.peak_rss_mb = rss
    running.found = judge(result["report"], planted, drift=False)
    running.note = "no interpreter start-up: what each round of `seqdoctor serve` costs"
    return running


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    system = f"{platform.platform()}, Python {platform.python_version()}"
    return f"{os.cpu_count()} cores ({cpu}), {memory} GiB, {system}"


def pick_installation() -> Installation:
    """PostgreSQL 15 (Debian's) as in the issue's reference figures, else the newest found."""
    found = find_installations()
    return next((i for i in found if i.major_version == 15), found[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    # Five: the capacity audits and check_postgres take under a second at 10,000
    # tables, where a shared machine's noise is a tenth of that.
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    installation = pick_installation()
    lines = [
        "## Scale: auditing N sequence-fed tables",
        "",
        f"Machine: {machine()}. Server: PostgreSQL {installation.major_version} "
        f"({installation.source}), default lock settings, throwaway cluster on the same machine "
        f"(Unix socket). Median of {args.runs} runs; peak RSS of the client process.",
        "Reproduce: `make bench` (or `.venv/bin/python bench/scale.py --sizes "
        f"{args.sizes} --runs {args.runs}`).",
        "",
    ]
    with EphemeralCluster(installation) as cluster:
        started = startup(cluster, args.runs)
        lines += started
        print("\n".join(started), flush=True)
        for size in (int(s) for s in args.sizes.split(",")):
            print(f"{size:,} tables", flush=True)
            measurements, trips, planted = measure(cluster, size, args.runs)
            floor_seconds = measurements[-1].median
            lines += [
                f"### {size:,} tables ({len(planted.behind)} planted behind, "
                f"{len(planted.near_overflow)} planted near overflow)",
                "",
                "| approach | median s | x floor | peak RSS MB | planted problems | note |",
                "|---|---:|---:|---:|---|---|",
            ]
            for m in measurements:
                if not m.seconds:
                    lines.append(f"| {m.tool} | - | - | - | - | {m.note} |")
                    continue
                lines.append(
                    f"| {m.tool} | {m.median:.2f} | {m.median / floor_seconds:.2f} | "
                    f"{m.peak_rss_mb:.0f} | {m.found} | {m.note} |"
                )
            lines += ["", f"Round trips of the full audit: {trips:,}.", ""]
            print("\n".join(lines[-len(measurements) - 4 :]), flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
