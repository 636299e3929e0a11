"""How fast ``fix --apply`` repairs N sequences that are all behind, beside its server floor.

The migration story at scale: a schema-per-tenant copy where every sequence
was left behind its data. For each size, one database is built once, as a
template: N tables ``tenant{s}.x{i} (id serial PRIMARY KEY, v int)`` in 20
schemas, each holding rows with ids 1, 2 and 50 inserted explicitly, so that
every sequence is behind. Then, interleaved, several runs each on a fresh
copy (``CREATE DATABASE ... TEMPLATE``, so every run starts equal):

1. the server floor: one PL/pgSQL ``DO`` block that sets every sequence past
   the max() of its column, forward only (``greatest()`` with its position),
   no client work at all;
2. ``seqdoctor fix DSN --apply --yes --code SEQ001``, the console script as a
   user runs it: wall time;
3. the same in a process (``plan_fix``, ``render_plan``, ``apply_fix``,
   ``render_result``), each phase timed, the re-check separated from applying
   by the time of the last step logged (applying also runs the settling round).

After every run of 2 and 3, every sequence is checked to hand out a value past
its table's data (the run fails otherwise). It writes
bench/results/fix_scale.md. Usage::

    python bench/fix_scale.py [--sizes 1000,10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from scale import machine, pick_installation

from seqdoctor.ephemeral import EphemeralCluster

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "fix_scale.md"
SEQDOCTOR = str(Path(sys.executable).with_name("seqdoctor"))
SCHEMAS = 20

# N tables in 20 schemas, every sequence behind rows 1, 2 and 50. A transaction
# every 200 tables: a default server's lock table holds a few thousand locks.
GENERATE = """
DO $generate$
BEGIN
    FOR s IN 0..{schemas} - 1 LOOP
        EXECUTE format('CREATE SCHEMA %I', 'tenant' || s);
    END LOOP;
    FOR i IN 0..{size} - 1 LOOP
        EXECUTE format(
            'CREATE TABLE %1$I.%2$I (id serial PRIMARY KEY, v int);'
            ' INSERT INTO %1$I.%2$I (id, v) VALUES (1, 1), (2, 2), (50, 50)',
            'tenant' || i % {schemas}, 'x' || i);
        IF i % 200 = 199 THEN COMMIT; END IF;
    END LOOP;
END
$generate$
"""

# Every sequence that feeds a column, with that column, read in one query.
OWNED = """
    SELECT s.oid::regclass::text AS seq, quote_ident(n.nspname) || '.' || quote_ident(c.relname)
           AS tab, quote_ident(a.attname) AS col
    FROM pg_depend d
    JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
    JOIN pg_class c ON c.oid = d.refobjid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid
    WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
      AND d.deptype = 'a' AND n.nspname LIKE 'tenant%'
"""

# The server floor: every sequence set past its column's max(), forward only,
# committing every 1000 tables as the lock table of a default server needs.
FLOOR = f"""
DO $floor$
DECLARE
    r record;
    n int := 0;
BEGIN
    FOR r IN {OWNED}
    LOOP
        EXECUTE format(
            'SELECT pg_catalog.setval(%L, greatest((SELECT max(%s) FROM %s),'
            ' (SELECT last_value FROM %s)))', r.seq, r.col, r.tab, r.seq);
        n := n + 1;
        IF n % 1000 = 0 THEN COMMIT; END IF;
    END LOOP;
END
$floor$
"""

# The check after every run: how many sequences would hand out a value at or below
# their column's max() (nextval() itself would move them, so it is computed), said
# in a notice; a transaction every 1000 tables, as in the floor.
BEHIND = f"""
DO $behind$
DECLARE
    r record;
    next_value numeric;
    top numeric;
    n int := 0;
    behind int := 0;
BEGIN
    FOR r IN {OWNED}
    LOOP
        EXECUTE format(
            'SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM %s', r.seq)
            INTO next_value;
        EXECUTE format('SELECT max(%s) FROM %s', r.col, r.tab) INTO top;
        IF next_value <= top THEN behind := behind + 1; END IF;
        n := n + 1;
        IF n % 1000 = 0 THEN COMMIT; END IF;
    END LOOP;
    RAISE NOTICE '%', behind;
END
$behind$
"""

# fix in one process, each phase timed; the run prints the seconds as JSON.
IN_PROCESS = """
import io, json, sys, time
from seqdoctor.render.plan import PlanFormat, render_plan, render_result
from contextlib import closing
from seqdoctor.auditing import KeptConnections, collector_paused
from seqdoctor.repairs import apply_fix, plan_fix
dsn = sys.argv[1]
with collector_paused(), closing(KeptConnections()) as kept:  # as the console script runs it
    marks = {"start": time.monotonic()}
    fix = plan_fix(dsn, codes=["SEQ001"], kept=kept)
    marks["planned"] = time.monotonic()
    render_plan(fix, PlanFormat.TABLE, io.StringIO(), applying=True)
    marks["rendered"] = time.monotonic()
    last = []
    result = apply_fix(dsn, fix, log=lambda step: last.append(time.monotonic()), kept=kept)
    marks["rechecked"] = time.monotonic()
    render_result(result, PlanFormat.TABLE, io.StringIO())
    marks["done"] = time.monotonic()
print(json.dumps({
    "plans": len(fix.plans), "status": int(result.exit_status),
    "plan audit": marks["planned"] - marks["start"],
    "render plan": marks["rendered"] - marks["planned"],
    "apply": last[-1] - marks["rendered"],
    "re-check": marks["rechecked"] - last[-1],
    "render result": marks["done"] - marks["rechecked"],
}))
"""
WHERE_THE_TIME_GOES = [
    "Where fix's time goes, beyond the floor's: the planning audit, read over two connections "
    "as `check`'s is (every sequence's position, every column's max() and min() probed, "
    "which here also say each column's first collision: the sequences are still at 1; each "
    "table's write mark), whose inventory also gives the repairs the columns each sequence "
    "feeds; building and printing 10,000 plans (past 200, without their SQL, which "
    "`--format sql` prints: about 7 MB); applying, over the audit's two connections at once, kept "
    "open for it, each sequence over the one that read its columns (whose server process has "
    "its table and index open already): "
    "200 sequences a transaction, one message, each sequence set to the next value its plan "
    "worked out from the audit's reads if it is still as the audit read it (no table read), "
    "then a round that reads whether a row landed at or past the value set (an index probe a "
    "column), moving again with the statement that reads the data those it finds; the "
    "re-check, which reads the positions again, keeps the catalog as read when planning "
    "(setval() changes no catalog row, and the catalog's mark has not moved) and carries the "
    "maxima of the tables not written since; the results; and the interpreter's start-up.",
    "",
]
PHASES = ("plan audit", "render plan", "apply", "re-check", "render result")


@dataclass
class Measurement:
    what: str
    seconds: list[float] = field(default_factory=list)
    phases: dict[str, list[float]] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")


def fresh_copy(cluster: EphemeralCluster, template: str) -> str:
    """A new database copied from *template*, its conninfo."""
    # Copying 10,000 tables block by block (WAL_LOG, PostgreSQL 15 and later) is slow.
    copy = "STRATEGY FILE_COPY" if cluster.installation.major_version >= 15 else ""
    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS fix_run")
        conn.execute(f"CREATE DATABASE fix_run TEMPLATE {template} {copy}".encode())
    return cluster.conninfo("fix_run")


def behind(dsn: str) -> int:
    """How many sequences of *dsn* would hand out an id their table holds already."""
    said: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.add_notice_handler(lambda notice: said.append(notice.message_primary or ""))
        conn.execute(BEHIND.encode())
    return int(said[-1])


def timed(command: list[str]) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if done.returncode not in (0, 1) or "ERROR" in done.stderr.split("\n", 1)[0]:
        tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
        raise SystemExit(f"{command[:3]} failed ({done.returncode}): {' / '.join(tail)}")
    return elapsed, done.stdout


def measure(cluster: EphemeralCluster, size: int, runs: int) -> list[Measurement]:
    template = f"behind_{size}"
    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {template}".encode())
        conn.execute(f"CREATE DATABASE {template}".encode())
    started = time.monotonic()
    with psycopg.connect(cluster.conninfo(template), autocommit=True) as conn:
        conn.execute(GENERATE.format(schemas=SCHEMAS, size=size).encode())
        conn.execute("VACUUM ANALYZE")
    print(f"  generated {size:,} tables in {time.monotonic() - started:.0f} s", flush=True)
    psql = str(cluster.installation.bindir / "psql")
    floor = Measurement("server floor: one DO block, setval() forward only, no client")
    fix = Measurement("`seqdoctor fix --apply --yes --code SEQ001` (console script)")
    phased = Measurement("the same fix in one process, each phase timed inside it")
    for _ in range(runs):
        dsn = fresh_copy(cluster, template)
        if (left := behind(dsn)) != size:
            raise SystemExit(f"the copy has {left} sequences behind, not {size}")
        floor.seconds.append(timed([psql, "-X", "-q", "-c", FLOOR, dsn])[0])
        if left := behind(dsn):
            raise SystemExit(f"the floor left {left} sequences behind")
        dsn = fresh_copy(cluster, template)
        command = [SEQDOCTOR, "fix", dsn, "--apply", "--yes", "--code", "SEQ001"]
        fix.seconds.append(timed(command)[0])
        if left := behind(dsn):
            raise SystemExit(f"fix left {left} sequences behind")
        dsn = fresh_copy(cluster, template)
        seconds, out = timed([sys.executable, "-c", IN_PROCESS, dsn])
        split = json.loads(out)
        if split["plans"] != size or split["status"] != 0:
            raise SystemExit(f"fix in a process: {split}")
        if left := behind(dsn):
            raise SystemExit(f"fix in a process left {left} sequences behind")
        phased.seconds.append(seconds)
        for phase in PHASES:
            phased.phases.setdefault(phase, []).append(split[phase])
        said = f"floor {floor.seconds[-1]:.2f} s, fix {fix.seconds[-1]:.2f} s"
        print(f"  {said}, in a process {seconds:.2f} s: {split}", flush=True)
    return [floor, fix, phased]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    installation = pick_installation()
    load = os.getloadavg()
    lines = [
        "## Fix at scale: `fix --apply` of N sequences behind their data, beside its floor",
        "",
        f"Machine: {machine()}. Server: PostgreSQL {installation.major_version} "
        f"({installation.source}), default settings, throwaway cluster on the same machine "
        f"(Unix socket). Median of {args.runs} runs, interleaved, each on a fresh copy of the "
        "same database; after every run, every sequence was checked to be past its data.",
        "Reproduce: `make bench` (or `.venv/bin/python bench/fix_scale.py --sizes "
        f"{args.sizes} --runs {args.runs}`).",
        "",
    ]
    with EphemeralCluster(installation) as cluster:
        for size in (int(s) for s in args.sizes.split(",")):
            print(f"{size:,} sequences behind", flush=True)
            floor, *rest = measure(cluster, size, args.runs)
            lines += [
                f"### {size:,} sequences behind ({SCHEMAS} schemas, one table each)",
                "",
                "| approach | median s | x floor | " + " | ".join(PHASES) + " |",
                "|---|---:|---:|" + "---:|" * len(PHASES),
            ]
            for m in (floor, *rest):
                phases = [
                    f"{statistics.median(m.phases[p]):.2f}" if m.phases else "" for p in PHASES
                ]
                lines.append(
                    f"| {m.what} | {m.median:.2f} | {m.median / floor.median:.2f} | "
                    + " | ".join(phases)
                    + " |"
                )
            lines.append("")
    lines += WHERE_THE_TIME_GOES
    after = os.getloadavg()
    lines.append(
        f"Load average (1 min) {load[0]:.1f} at the start, {after[0]:.1f} at the end, "
        f"on {os.cpu_count()} cores shared with other work."
    )
    lines.append("")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
