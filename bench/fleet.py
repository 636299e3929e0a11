"""Auditing a fleet: twenty databases on two servers, one by one and all at once.

Each database holds a small schema-per-tenant shop (bench/generate.py, 200
tables). The runner times the twenty audits one after the other, then
``audit_fleet`` with the default number of jobs, several runs each, and writes
bench/results/fleet.md.

Usage: ``python bench/fleet.py [--databases 20] [--tables 200] [--runs 3]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import psycopg
from generate import generate
from psycopg import sql
from scale import machine

from seqdoctor import audit
from seqdoctor.ephemeral import EphemeralCluster, find_installations
from seqdoctor.fleet import DEFAULT_JOBS, Target, audit_fleet

RESULTS = Path(__file__).parent / "results" / "fleet.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--databases", type=int, default=20)
    parser.add_argument("--tables", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    installations = (find_installations() * 2)[:2]
    clusters = [EphemeralCluster(i).start() for i in installations]
    try:
        targets = []
        for number in range(args.databases):
            cluster = clusters[number % 2]
            name = f"fleet{number:02d}"
            with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            generate(cluster.conninfo(name), args.tables)
            targets.append(Target(name, cluster.conninfo(name)))
        one_by_one, together = [], []
        for _ in range(args.runs):
            started = time.monotonic()
            for target in targets:
                audit(target.conninfo)
            one_by_one.append(time.monotonic() - started)
            together.append(audit_fleet(targets, jobs=DEFAULT_JOBS).duration_seconds)
    finally:
        for cluster in clusters:
            cluster.stop()
    sequential, fleet = statistics.median(one_by_one), statistics.median(together)
    versions = " and ".join(f"PostgreSQL {i.major_version}" for i in installations)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        "\n".join(
            [
                "## Fleet: many databases at once",
                "",
                f"Machine: {machine()}. Servers: {versions}, throwaway clusters on the same "
                f"machine. {args.databases} databases of {args.tables} tables each, half on "
                f"each server. Median of {args.runs} runs.",
                "Reproduce: `make bench` (or `.venv/bin/python bench/fleet.py`).",
                "",
                "| how | median s |",
                "|---|---:|",
                f"| {args.databases} audits one after the other | {sequential:.2f} |",
                f"| `audit_fleet` (`seqdoctor check A B ...`), {DEFAULT_JOBS} jobs | {fleet:.2f} |",
                "",
                f"The fleet audit took {fleet / sequential:.0%} of the one-by-one time.",
                "",
            ]
        )
    )
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
