"""What a scrape of ``seqdoctor serve`` weighs, and what its rounds cost, at thousands of tables.

On one throwaway server (bench/generate.py's tables and planted problems), for each size:

1. series and bytes per scrape: the exposition of one audit as ``serve`` writes it by
   default (aggregates, and series for the columns past a threshold and the 10 fullest
   others) and with ``--metrics all`` (every column, as every scrape was before);
2. the time of a round in a running process (what each round of ``serve`` costs, its
   audit and its exposition, as ``serve`` runs them: the last round's snapshot and the
   target's Judge given to the audit, its column series kept for the exposition) beside
   a full audit (``seqdoctor.audit()``, every table's max() read, every column judged),
   interleaved: a round with nothing written
   right after the full audit (whose reads evict sequences' pages from the server's
   buffers), then another (every column's value and the catalog inventory carried,
   nothing judged again but what moved); a round after rows were written to 1 % of the
   tables, one of them an explicit id ahead of its sequence, which the round must find;
   a round after a table was created (the catalog changed: the inventory read again, and
   the new table's column found);
3. the same on a server whose statistics started over an hour ago, where every sequence
   feeding a table has a rate estimated from its tables' inserts, which the clock moves:
   the benchmark's server is new, so these full audits and rounds are given a clock
   (``audit(now=...)``) two hours past the statistics' start, a minute later each time.

It writes bench/results/serve.md. Usage::

    python bench/serve.py [--sizes 2000,10000,100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import re
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
from generate import TABLES_PER_SCHEMA, generate
from psycopg import sql
from scale import machine, pick_installation

from seqdoctor import audit
from seqdoctor.auditing import KeptConnections, collector_paused
from seqdoctor.checks.incremental import Judge
from seqdoctor.checks.seq011_exhaustion_forecast import forecasts
from seqdoctor.ephemeral import EphemeralCluster
from seqdoctor.render.prometheus import ColumnSeries, render
from seqdoctor.report import Report

RESULTS = Path(__file__).parent / "results" / "serve.md"
SECTION = re.compile(r"^### ([\d,]+) tables")  # a size's section in RESULTS
WRITTEN_SHARE = 100  # a round's writes touch one table in this many
# A server sized for the database, as one holding 100,000 tables is: every round reads
# every sequence's page (8 kB each, 800 MB at 100,000), which the default 128 MB of
# shared buffers cannot hold, making each read a miss (85 µs a sequence, 5 µs once held).
SETTINGS = {"shared_buffers": "1GB"}
# Seconds a catalog statement may take: at 100,000 tables on a loaded machine, listing the
# columns can take longer than audit()'s default 30.
TIMEOUT = 300.0
# How long after the statistics' start the clock of the audits "past the hour" is set: an
# estimated rate needs an hour (SEQ011's MIN_SPAN).
PAST_THE_HOUR = timedelta(hours=2)


def scrape(report: Report, top: int | None) -> tuple[int, int]:
    """Samples and bytes of the exposition of *report*."""
    out = io.StringIO()
    render(report, out, top=top)
    text = out.getvalue()
    samples = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
    return samples, len(text.encode())


def write_some(dsn: str, run: int) -> tuple[str, int]:
    """Rows into one table in WRITTEN_SHARE (a different set each run), one an explicit id
    ahead of its sequence; waits until the write counters show them. Returns the column
    holding that id, and the number of tables written."""
    counted = "SELECT pg_stat_get_tuples_inserted(%s::regclass)"
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind = 'r' AND NOT c.relispartition AND n.nspname LIKE 'tenant%%'"
            " AND c.relname ~ '^t[0-9]+$' ORDER BY c.oid"
        ).fetchall()
        names = rows[run % WRITTEN_SHARE :: WRITTEN_SHARE]
        chosen = [sql.Identifier(schema, table) for schema, table in names]
        last = chosen[-1].as_string(conn)
        (before,) = conn.execute(counted, [last]).fetchone() or (0,)
        # OVERRIDING SYSTEM VALUE: GENERATED ALWAYS identities refuse an explicit id without.
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (id, payload) OVERRIDING SYSTEM VALUE VALUES (1000000, 'ahead')"
            ).format(chosen[0])
        )
        for table in chosen[1:]:
            conn.execute(sql.SQL("INSERT INTO {} (payload) VALUES ('written')").format(table))
        conn.execute("SELECT pg_stat_force_next_flush()")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with psycopg.connect(dsn, autocommit=True) as other:
                (now,) = other.execute(counted, [last]).fetchone() or (0,)
            if now != before:
                break
            time.sleep(0.2)
    return f"{names[0][0]}.{names[0][1]}.id", len(chosen)


class Rounds:
    """``serve``'s rounds over one database as it runs them: an audit given the last
    round's snapshot, the target's Judge and its kept connections, then the exposition
    with the target's column series kept from the last round's."""

    def __init__(self, dsn: str, clock: Callable[[], datetime | None] = lambda: None) -> None:
        self.dsn, self.judge, self.kept = dsn, Judge(), KeptConnections()
        self.series = ColumnSeries()
        self.clock = clock  # each round's audit's clock (None: the time)
        self.report: Report | None = None
        self.round()  # the first round: everything read and judged

    def round(self) -> tuple[Report, float, float]:
        """A round's report, and the seconds its audit and its exposition took."""
        began = time.monotonic()
        earlier = self.report.snapshot if self.report else None
        report = audit(
            self.dsn,
            statement_timeout=TIMEOUT,
            mark_changes=True,
            earlier=earlier,
            judge=self.judge,
            kept=self.kept,
            now=self.clock(),
        )
        audited = time.monotonic()
        with collector_paused():  # as the exporter renders
            render(report, io.StringIO(), top=10, series=self.series)
        self.report = report
        return report, audited - began, time.monotonic() - audited


class PastTheHour:
    """Full audits and ``serve``'s rounds on a server whose statistics started over an hour
    ago: at the clock of *clock_from* (a report of the database), PAST_THE_HOUR after
    the statistics' start it read, a minute later each time."""

    def __init__(self, dsn: str, clock_from: Report) -> None:
        activity = clock_from.snapshot.activity
        assert activity is not None
        assert activity.counted_since is not None
        start, minutes = activity.counted_since + PAST_THE_HOUR, itertools.count()
        self.rounds = Rounds(dsn, lambda: start + next(minutes) * timedelta(minutes=1))
        self.full: list[float] = []  # seconds of each full audit
        self.quiet: list[tuple[float, float]] = []  # of each round's audit and exposition
        self.estimated = 0  # forecasts with an estimated rate in the last round

    def measure(self) -> None:
        """A full audit, then a round with nothing written since the last."""
        began = time.monotonic()
        audit(self.rounds.dsn, statement_timeout=TIMEOUT, now=self.rounds.clock())
        self.full.append(time.monotonic() - began)
        self.rounds.round()  # what was written since their last round
        report, audited, exposed = self.rounds.round()
        self.quiet.append((audited, exposed))
        self.estimated = sum(1 for f in forecasts(report.snapshot) if f.rate is not None)


def measure(cluster: EphemeralCluster, size: int, runs: int) -> list[str]:
    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS bench")
        conn.execute("CREATE DATABASE bench")
    dsn = cluster.conninfo("bench")
    started = time.monotonic()
    planted = generate(dsn, size)
    print(f"  generated {size:,} tables in {time.monotonic() - started:.0f} s", flush=True)
    first = audit(dsn, statement_timeout=TIMEOUT)  # imports and caches what audits load
    load_before = os.getloadavg()[0]
    full: list[float] = []
    # Per kind of round: (audit, exposition) seconds of each run.
    after_full: list[tuple[float, float]] = []
    quiet: list[tuple[float, float]] = []
    written_rounds: list[tuple[float, float]] = []
    created: list[tuple[float, float]] = []
    rounds = Rounds(dsn)
    past = PastTheHour(dsn, first)
    found = 0
    reread, unwritten_reread = 0, 0
    carried_inventory, new_found = 0, 0
    # Interleaved, so that the machine's load weighs on full audits and rounds alike.
    for run in range(runs):
        began = time.monotonic()
        audit(dsn, statement_timeout=TIMEOUT)
        full.append(time.monotonic() - began)
        for measured in (after_full, quiet):  # nothing written since the last
            report, audited, exposed = rounds.round()
            measured.append((audited, exposed))
            carried_inventory += report.snapshot.inventory_carried
        unwritten_reread = len(report.snapshot.extents) - len(report.snapshot.carried)
        ahead, written = write_some(dsn, run)
        report, audited, exposed = rounds.round()
        written_rounds.append((audited, exposed))
        reread = len(report.snapshot.extents) - len(report.snapshot.carried)
        behind = {
            f"{f.column.schema}.{f.column.table}.{f.column.column}"
            for f in report.findings
            if f.code == "SEQ001" and f.column
        }
        found += ahead in behind
        carried_inventory += report.snapshot.inventory_carried
        past.measure()
    for run in range(runs):
        table = f"serve_new_{run}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE TABLE {} (id serial PRIMARY KEY)").format(sql.Identifier(table))
            )
            conn.execute("SELECT pg_stat_force_next_flush()")
        report, audited, exposed = rounds.round()
        created.append((audited, exposed))
        new_found += not report.snapshot.inventory_carried and any(
            use.table == table for use in report.snapshot.uses
        )
    load_after = os.getloadavg()[0]
    bounded, bounded_bytes = scrape(report, 10)
    every, every_bytes = scrape(report, None)
    columns = len(report.snapshot.uses)
    median_full = statistics.median(full)

    def row(
        what: str, seconds: list[tuple[float, float]], note: str = "", of: float = median_full
    ) -> str:
        median = statistics.median(a + e for a, e in seconds)
        audited = statistics.median(a for a, _ in seconds)
        exposed = statistics.median(e for _, e in seconds)
        return (
            f"| {what} | {median:.2f} | {median / of:.0%} | {audited:.2f} | "
            f"{exposed:.2f} | {note} |"
        )

    return [
        f"### {size:,} tables ({columns:,} sequence-fed columns, "
        f"{len(planted.behind)} planted behind, {len(planted.near_overflow)} near overflow)",
        "",
        "| scrape | series | bytes |",
        "|---|---:|---:|",
        f"| `serve` (default: aggregates, columns past a threshold and the 10 fullest others) "
        f"| {bounded:,} | {bounded_bytes:,} |",
        f"| `serve --metrics all` (every column, as before, plus the aggregates) "
        f"| {every:,} | {every_bytes:,} |",
        "",
        "| round | median s | of a full audit | its audit s | its exposition s | note |",
        "|---|---:|---:|---:|---:|---|",
        f"| full audit (`seqdoctor.audit()`, every table read and judged) | {median_full:.2f} "
        "| 100% | | | |",
        row(
            "`serve` round, nothing written, right after a full audit",
            after_full,
            "where the full audit's reads of every table evict sequences' pages from the "
            "server's buffers (at 100,000 tables), this round reads them back",
        ),
        row(
            "`serve` round, nothing written since the last",
            quiet,
            f"{unwritten_reread:,} columns read again",
        ),
        row(
            f"`serve` round after writes to 1 % of the tables ({written:,})",
            written_rounds,
            f"{reread:,} columns read again (those written); "
            f"the id written ahead of its sequence found in {found}/{runs} rounds",
        ),
        row(
            "`serve` round after a table was created (the catalog changed)",
            created,
            f"inventory read again and the new table's column listed in {new_found}/{runs} rounds",
        ),
        f"| full audit, statistics started over an hour ago | {statistics.median(past.full):.2f} "
        "| 100% | | | every audit's clock two hours past the statistics' start, a minute "
        "later each time (`audit(now=...)`): the server is new |",
        row(
            "`serve` round, nothing written, statistics started over an hour ago",
            past.quiet,
            f"{past.estimated:,} forecasts with a rate estimated from the inserts; of the full "
            "audit above",
            statistics.median(past.full),
        ),
        "",
        f"The rounds with nothing in the catalog changed carried its inventory in "
        f"{carried_inventory}/{3 * runs}. Medians of {runs} runs. Load average (1 minute) "
        f"{load_before:.1f} before these rounds, {load_after:.1f} after.",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="2000,10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    installation = pick_installation()
    lines = [
        "## Serve: scrape size and round time",
        "",
        f"Machine: {machine()}. Server: PostgreSQL {installation.major_version} "
        f"({installation.source}), throwaway cluster on the same machine (Unix socket), "
        f"shared_buffers {SETTINGS['shared_buffers']}; "
        f"tables in schemas of {TABLES_PER_SCHEMA}. Rounds run in one process, as `serve` "
        "runs them, over connections kept open from one round to the next; medians of the "
        "runs each size's section states.",
        "Reproduce: `make bench` (or `.venv/bin/python bench/serve.py --sizes 2000,10000 "
        "--runs 5`, then `--sizes 100000 --runs 3`: each run writes the sections of its "
        "sizes and keeps the others).",
        "",
    ]
    sections: dict[int, list[str]] = {}
    with EphemeralCluster(installation, SETTINGS) as cluster:
        for size in (int(s) for s in args.sizes.split(",")):
            print(f"{size:,} tables", flush=True)
            sections[size] = measure(cluster, size, args.runs)
            print("\n".join(sections[size]), flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(merged(lines, sections))


def merged(header: list[str], sections: dict[int, list[str]]) -> str:
    """bench/results/serve.md with *header* and the sections of the sizes just measured,
    each in place of the one it replaces; the other sizes' sections (measured by another
    run: ``--sizes 100000`` apart from the smaller ones) and the text after them kept."""
    old = RESULTS.read_text().splitlines() if RESULTS.exists() else []
    kept: dict[int, list[str]] = {}
    rest: list[str] = []
    size: int | None = None
    for line in old:
        if heading := SECTION.match(line):
            size = int(heading[1].replace(",", ""))
            kept[size] = []
        elif line.startswith("#"):
            size = None  # a heading of the text after the sections
        if size is not None:
            kept[size].append(line)
        elif kept:
            rest.append(line)
    for size, lines in sections.items():
        kept[size] = lines
    body = [line for size in sorted(kept) for line in kept[size]]
    return "\n".join([*header, *body, *rest]).rstrip("\n") + "\n"


if __name__ == "__main__":
    main()
