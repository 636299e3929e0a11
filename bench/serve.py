"""What a scrape of ``seqdoctor serve`` weighs, and what its rounds cost, at thousands of tables.

On one throwaway server (bench/generate.py's tables and planted problems), for each size:

1. series and bytes per scrape: the exposition of one audit as ``serve`` writes it by
   default (aggregates, and series for the columns past a threshold and the 10 fullest
   others) and with ``--metrics all`` (every column, as every scrape was before);
2. the time of a round in a running process (what each round of ``serve`` costs): a full
   audit (``seqdoctor.audit()``, every table's max() read); a round after it with nothing
   written (every column's value and the catalog inventory carried); a round after rows
   were written to 1 % of the tables, one of them an explicit id ahead of its sequence,
   which the round must find; a round after a table was created (the catalog changed: the
   inventory read again, and the new table's column found).

It writes bench/results/serve.md. Usage::

    python bench/serve.py [--sizes 2000,10000,100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from pathlib import Path

import psycopg
from generate import TABLES_PER_SCHEMA, generate
from psycopg import sql
from scale import machine, pick_installation

from seqdoctor import audit
from seqdoctor.ephemeral import EphemeralCluster
from seqdoctor.render.prometheus import render
from seqdoctor.report import Report

RESULTS = Path(__file__).parent / "results" / "serve.md"
WRITTEN_SHARE = 100  # a round's writes touch one table in this many


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


def measure(cluster: EphemeralCluster, size: int, runs: int) -> list[str]:
    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS bench")
        conn.execute("CREATE DATABASE bench")
    dsn = cluster.conninfo("bench")
    started = time.monotonic()
    planted = generate(dsn, size)
    print(f"  generated {size:,} tables in {time.monotonic() - started:.0f} s", flush=True)
    audit(dsn)  # imports and caches what the first audit loads
    full, carried_all, carried_some, created = [], [], [], []
    report = audit(dsn, mark_changes=True)
    for _ in range(runs):
        began = time.monotonic()
        audit(dsn)
        full.append(time.monotonic() - began)
    found = 0
    reread, unwritten_reread = 0, 0
    carried_inventory, new_found = 0, 0
    for run in range(runs):
        began = time.monotonic()
        report = audit(dsn, mark_changes=True, earlier=report.snapshot)
        carried_all.append(time.monotonic() - began)
        carried_inventory += report.snapshot.inventory_carried
        unwritten_reread = len(report.snapshot.extents) - len(report.snapshot.carried)
        ahead, written = write_some(dsn, run)
        began = time.monotonic()
        report = audit(dsn, mark_changes=True, earlier=report.snapshot)
        carried_some.append(time.monotonic() - began)
        reread = len(report.snapshot.extents) - len(report.snapshot.carried)
        behind = {
            f"{f.column.schema}.{f.column.table}.{f.column.column}"
            for f in report.findings
            if f.code == "SEQ001" and f.column
        }
        found += ahead in behind
        carried_inventory += report.snapshot.inventory_carried
    for run in range(runs):
        table = f"serve_new_{run}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE TABLE {} (id serial PRIMARY KEY)").format(sql.Identifier(table))
            )
        began = time.monotonic()
        report = audit(dsn, mark_changes=True, earlier=report.snapshot)
        created.append(time.monotonic() - began)
        new_found += not report.snapshot.inventory_carried and any(
            use.table == table for use in report.snapshot.uses
        )
    bounded, bounded_bytes = scrape(report, 10)
    every, every_bytes = scrape(report, None)
    columns = len(report.snapshot.uses)
    median_full = statistics.median(full)

    def row(what: str, seconds: list[float], note: str = "") -> str:
        median = statistics.median(seconds)
        return f"| {what} | {median:.2f} | {median / median_full:.0%} | {note} |"

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
        "| round | median s | of a full audit | note |",
        "|---|---:|---:|---|",
        row("full audit (`seqdoctor.audit()`, every table read)", full),
        row(
            "`serve` round, nothing written since the last",
            carried_all,
            f"{unwritten_reread:,} columns read again (those behind their data)",
        ),
        row(
            f"`serve` round after writes to 1 % of the tables ({written:,})",
            carried_some,
            f"{reread:,} columns read again (those written, and those behind their data); "
            f"the id written ahead of its sequence found in {found}/{runs} rounds",
        ),
        row(
            "`serve` round after a table was created (the catalog changed)",
            created,
            f"inventory read again and the new table's column listed in {new_found}/{runs} rounds",
        ),
        "",
        f"The rounds with nothing in the catalog changed carried its inventory in "
        f"{carried_inventory}/{2 * runs}.",
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
        f"({installation.source}), throwaway cluster on the same machine (Unix socket); "
        f"tables in schemas of {TABLES_PER_SCHEMA}. Rounds run in one process, as `serve` "
        f"runs them, each over its own connections; median of {args.runs} runs.",
        "Reproduce: `make bench` (or `.venv/bin/python bench/serve.py --sizes "
        f"{args.sizes} --runs {args.runs}`).",
        "",
    ]
    with EphemeralCluster(installation) as cluster:
        for size in (int(s) for s in args.sizes.split(",")):
            print(f"{size:,} tables", flush=True)
            measured = measure(cluster, size, args.runs)
            lines += measured
            print("\n".join(measured), flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
