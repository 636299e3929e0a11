"""``seqdoctor fix --online``: the online widening of the key families the audit finds.

One function the ``fix`` command calls (:func:`fix_online`): it finds the
columns to widen (SEQ002 and SEQ005 findings' columns, SEQ004 when asked with
``--code``, and every widening already under way), groups them into key
families, prints each family's plan (``--format table|sql|json``) and, with
``--apply``, runs it to the swap, ``--revert`` undoes it, ``--cleanup`` drops
the old columns. Progress goes to stderr with a rate and an estimate of the
time left. Exit statuses as ``fix``'s: 0 nothing to do or done, 1 work
waiting (printed, not applied), 3 refused (with the reasons, and the offline
plan as the alternative) or bad arguments.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, TextIO

from seqdoctor.catalog.model import Snapshot
from seqdoctor.checks.seq011_exhaustion_forecast import judged
from seqdoctor.errors import ExitStatus, UsageError
from seqdoctor.repairs import online, plan_fix
from seqdoctor.repairs.online import OnlineOptions, OnlinePlan, Phase

# The findings whose columns are widened online; SEQ004 only when asked.
CODES = ("SEQ002", "SEQ005")
ASKED = ("SEQ004",)
REPORT_EVERY = 2.0  # s between two progress lines


class Progress:
    """Progress lines on stderr: done/total, rate and time left, at most every few seconds."""

    def __init__(self, err: TextIO) -> None:
        self._err = err
        self._started: dict[tuple[str, str], float] = {}
        self._last = 0.0

    def __call__(self, table: str, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        since = self._started.setdefault((table, phase), now)
        if now - self._last < REPORT_EVERY and done < total:
            return
        self._last = now
        rate = done / max(now - since, 1e-3)
        left = (total - done) / rate if rate > 0 else 0.0
        self._err.write(
            f"{phase} {table}: {done:,}/{total:,} ({rate:,.0f}/s, about {left:,.0f} s left)\n"
        )
        self._err.flush()


def runways(snapshot: Snapshot) -> dict[online.Column, float]:
    """Seconds until each column runs out, where the exhaustion forecast (SEQ011) has a date."""
    found: dict[online.Column, float] = {}
    for forecast in judged(snapshot, moving_only=True):
        days, use = forecast.days_left, forecast.column
        if days is not None and use is not None:
            column = (use.schema, use.table, use.column)
            found[column] = min(days * 86_400, found.get(column, days * 86_400))
    return found


def columns_to_widen(
    conninfo: str, fix_options: Mapping[str, Any]
) -> tuple[list[online.Column], dict[online.Column, float]]:
    """Columns of the findings to widen, then of the widenings already under way; and the
    seconds until each runs out, where the forecast knows."""
    planned = plan_fix(conninfo, **fix_options)
    codes = CODES + tuple(c for c in ASKED if c in planned.options.asked)
    wanted = [
        (f.column.schema, f.column.table, f.column.column)
        for plan in planned.plans
        if plan.kind == "widen"
        for f in plan.findings
        if f.column is not None and f.code in codes
    ]
    columns = list(dict.fromkeys([*wanted, *online.under_way(conninfo)]))
    return columns, runways(planned.report.snapshot)


def families(
    conninfo: str,
    columns: Sequence[online.Column],
    options: OnlineOptions,
    runway: Mapping[online.Column, float] | None = None,
) -> list[tuple[online.Column, OnlinePlan]]:
    """One plan per key family: a family found from a referencing column is part of the
    family of the key it references, and only that larger one is kept. A family whose
    columns the forecast dates is planned against the soonest (*runway*, seconds by column),
    so that its plan says whether the widening finishes first."""
    planned = [(column, online.plan(conninfo, [column], options)) for column in columns]
    if runway and options.runway is None:
        for at, (column, built) in enumerate(planned):
            left = [runway[c] for c in _names(built) if c in runway]
            if left:
                planned[at] = (
                    column,
                    online.plan(conninfo, [column], replace(options, runway=min(left))),
                )
    keys = [frozenset(c.key for c in built.family.columns) for _, built in planned]
    kept: list[tuple[online.Column, OnlinePlan]] = []
    seen: list[frozenset[tuple[int, int]]] = []
    for (column, built), mine in zip(planned, keys, strict=True):
        if any(mine < other for other in keys) or mine in seen:
            continue
        seen.append(mine)
        kept.append((column, built))
    return kept


def _names(built: OnlinePlan) -> list[online.Column]:
    return [(c.schema, c.table, c.column) for c in built.family.columns]


def describe(built: OnlinePlan, out: TextIO) -> None:
    """A family's plan for people: what, where it stands, what stops it, each phase."""
    family = ", ".join(c.qualified for c in built.family.columns)
    out.write(f"Online widening of {family}\n")
    for refusal in built.refusals:
        out.write(f"  REFUSED {refusal.subject}: {refusal.reason}\n")
    for note in built.notes:
        out.write(f"  note: {note}\n")
    for item in built.carried:
        out.write(f"  carried ({item.kind}) {item.subject}: {item.how}\n")
    for step in (*built.steps, *built.cleanup_steps):
        out.write(f"  phase {int(step.phase)}: {step.title}\n")
        out.write(f"      lock: {step.lock}\n      expected: {step.duration}\n")
    if not built.tables and not built.cleanup_steps and not built.steps:
        out.write("  nothing left to widen\n")


def fix_online(  # noqa: PLR0917
    conninfo: str,
    output_format: str,
    apply: bool,
    revert: bool,
    cleanup: bool,
    confirm: Callable[[str], bool],
    fix_options: Mapping[str, Any],
    options: OnlineOptions | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Plan (and with *apply* run) the online widening of every family found; the exit status."""
    if revert and cleanup:
        raise UsageError("--revert and --cleanup go different ways: choose one")
    if apply and output_format == "sql":
        raise UsageError("--format sql prints a script for psql: use it or --apply")
    options = options or OnlineOptions()
    columns, runway = columns_to_widen(conninfo, fix_options)
    planned = families(conninfo, columns, options, runway)
    refused = [built for _, built in planned if built.refused and not (revert or cleanup)]
    if output_format == "json":
        json.dump([online.record(built) for _, built in planned], out, indent=2)
        out.write("\n")
    elif output_format == "sql":
        for _, built in planned:
            until = Phase.CLEANED if cleanup else Phase.SWAPPED
            out.write(online.script(built, revert=revert, until=until))
    else:
        for _, built in planned:
            describe(built, out)
        if not planned:
            out.write("Nothing to widen online.\n")
        if refused:
            out.write(
                "Refused families are not widened online: `seqdoctor fix` (without --online)"
                " shows the offline plan, one ALTER TABLE in a maintenance window.\n"
            )
    if refused:
        return ExitStatus.UNKNOWN
    if not apply or not planned:
        return ExitStatus.WARNING if planned and not apply else ExitStatus.OK
    what = "revert" if revert else "clean up" if cleanup else "widen online"
    if not confirm(f"{what.capitalize()} {len(planned)} key families?"):
        return ExitStatus.WARNING
    progress = Progress(err)
    for column, built in planned:
        subject = ", ".join(c.qualified for c in built.family.columns)
        started = time.monotonic()
        if revert:
            online.revert(conninfo, [column], options, progress=progress)
        elif cleanup:
            online.cleanup(conninfo, [column], options)
        else:
            online.advance(
                conninfo, [column], until=Phase.SWAPPED, options=options, progress=progress
            )
        err.write(f"{what}: {subject} done in {time.monotonic() - started:,.1f} s\n")
    if not (revert or cleanup):
        err.write(
            "Swapped. Before `seqdoctor fix --online --cleanup`: restart connection pools "
            "(prepared statements fail with 'cached plan must not change result type'), "
            "refresh ORM schema caches, name columns in INSERT and COPY (the key is now the "
            "table's last column), and install the guard again; see docs/fix.md.\n"
        )
    return ExitStatus.OK
