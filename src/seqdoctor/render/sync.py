"""``seqdoctor sync``: the comparison, its plans and their result, as fix shows its own.

The plans are shown, scripted and recorded by the building blocks of
:mod:`seqdoctor.render.plan`; what is particular to sync is the comparison of
the two databases in front of them. The JSON record is documented in
docs/sync.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TextIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from seqdoctor.catalog.display import comment
from seqdoctor.catalog.model import SequenceState, quote_ident
from seqdoctor.checks.base import plural
from seqdoctor.render.json import dump
from seqdoctor.render.plan import (
    PlanFormat,
    plan_record,
    results_record,
    results_table,
    script_item,
    write_plan_item,
)
from seqdoctor.render.table import print_to, shown
from seqdoctor.report import Report, Status
from seqdoctor.sync import Comparison, Pair, SyncPlan, SyncResult, source_next

SCHEMA_VERSION = 1
STATUS_STYLES = {
    Status.OK: "green",
    Status.WARNING: "yellow",
    Status.UNKNOWN: "magenta",
    Status.CRITICAL: "bold red",
}


def render_sync(
    sync: SyncPlan,
    output_format: PlanFormat,
    out: TextIO,
    verify: bool = False,
    *,
    applying: bool = False,
) -> None:
    """The comparison and, unless *verify*, the plans; *applying*: its moves are made next."""
    if output_format is PlanFormat.SQL:
        if verify:
            raise ValueError("--verify judges the target; it has no script to print")
        out.write(as_script(sync))
    elif output_format is PlanFormat.JSON:
        dump(as_record(sync), out)
    else:
        print_to(out, lambda console: _write(sync, console, verify, applying))


def render_sync_result(result: SyncResult, output_format: PlanFormat, out: TextIO) -> None:
    """What applying did: JSON repeats the plan; the table follows the plan printed before."""
    if output_format is PlanFormat.JSON:
        dump(as_record(result.sync, result), out)
    elif output_format is PlanFormat.TABLE:
        print_to(out, lambda console: _write_result(result, console))
    else:
        raise ValueError("a psql script shows a plan, not what applying it did")


# --- the terminal ---------------------------------------------------------


def _database(report: Report) -> str:
    server = report.snapshot.server
    return f"{quote_ident(server.database)} (PostgreSQL {server.server_version})"


def _next(sequence: SequenceState) -> str:
    value = sequence.next_value
    if value is not None:
        return f"{value:,}"
    return "unknown" if not sequence.position_known else "exhausted"


def state(pair: Pair) -> str:
    """Where the target stands, in words.

    >>> s = SequenceState(1, "public", "s", "int8", 1, 1, 1, 99, False, 1, True, 10, True)
    >>> state(Pair(s, s, 11)), state(Pair(s, s, 20))
    ('level', 'behind the source')
    """
    parts = []
    if pair.behind_source:
        parts.append("behind the source")
    if pair.behind_data:
        parts.append("behind its data")
    if parts:
        return " and ".join(parts)
    return f"unknown: {pair.unknown}" if pair.unknown else "level"


def _headline(sync: SyncPlan) -> Text:
    comparison = sync.comparison
    return Text.assemble(
        (f"seqdoctor {sync.target.tool_version}", "bold"),
        " · sync from ",
        (_database(sync.source), "bold"),
        " to ",
        (_database(sync.target), "bold"),
        f" · margin {sync.margin} · {plural(len(comparison.pairs), 'sequence')} on both sides, "
        f"{len(comparison.behind)} behind",
    )


def _write(sync: SyncPlan, console: Console, verify: bool, applying: bool) -> None:
    comparison = sync.comparison
    console.print(_headline(sync))
    behind = [p for p in comparison.pairs if p.status is not Status.OK]
    if behind:
        table = Table(box=box.SIMPLE_HEAD, expand=False)
        for heading in ("sequence", "source next", "target next", "at least", "target is"):
            table.add_column(heading, overflow="fold", justify="left")
        for pair in behind:
            table.add_row(
                shown(pair.target.qualified),
                _next(pair.source),
                _next(pair.target),
                "?" if pair.floor is None else f"{pair.floor:,}",
                Text(state(pair), style=STATUS_STYLES[pair.status]),
            )
        console.print(table)
    level = len(comparison.pairs) - len(behind)
    if level:
        console.print(f"Level with the source and past their data: {plural(level, 'sequence')}.")
    for line, missing in _one_sided(comparison):
        console.print(shown(line, style="yellow" if missing else ""))
    if not verify:
        for number, plan in enumerate(sync.plans, 1):
            write_plan_item(console, number, plan, sync.options.timeouts)
    console.print()
    console.print(_closing(sync, verify, applying))


def _one_sided(comparison: Comparison) -> Iterator[tuple[str, bool]]:
    """Sentences on the sequences of one side only, and whether they are missing on the target."""
    if comparison.only_source:
        names = ", ".join(s.qualified for s in comparison.only_source)
        yield f"Missing on the target ({len(comparison.only_source)}): {names}.", True
    if comparison.only_target:
        names = ", ".join(s.qualified for s in comparison.only_target)
        yield f"Only on the target, left alone ({len(comparison.only_target)}): {names}.", False


def _closing(sync: SyncPlan, verify: bool, applying: bool) -> Text:
    status = sync.comparison.status
    if verify:
        words = {
            Status.OK: "Ready: every target sequence is level with the source and past its data.",
            Status.WARNING: "Level, but sequences are missing on the target (above).",
            Status.UNKNOWN: "Cannot tell: some positions could not be read (above).",
            Status.CRITICAL: "Not ready: target sequences are behind (above). "
            "seqdoctor sync --apply moves them.",
        }
        return Text(words[status], style=STATUS_STYLES[status])
    if not sync.plans:
        return Text("Nothing to move.", style="bold green")
    if applying:
        count = sum(p.applies for p in sync.plans)
        return Text(f"Moving {plural(count, 'sequence')} now.", style="bold")
    return Text(
        "Nothing has been changed. seqdoctor sync --apply runs these moves on the target; "
        "--format sql prints them as a psql script.",
        style="bold",
    )


def _write_result(result: SyncResult, console: Console) -> None:
    console.print(
        Text(f"Ran {plural(len(result.results), 'move')} in {result.seconds:.2f} s", style="bold")
    )
    if result.results:
        console.print(results_table(result.results))
    for pair in result.still_behind:
        console.print(
            shown(f"Still behind: {pair.target.qualified} ({state(pair)})", style="bold red")
        )
    if result.recheck_error:
        console.print(shown(result.recheck_error, style="bold red"))
    status = int(result.exit_status)
    verdict = {
        0: "Done: every target sequence is level with the source and past its data.",
        1: "Done, but sequences are missing on the target or moves were held back: see above.",
        2: "Not done: see above. Running seqdoctor sync again picks up where this stopped.",
    }[status]
    console.print(Text(verdict, style="bold green" if status == 0 else "bold red"))


# --- the psql script ------------------------------------------------------


def as_script(sync: SyncPlan) -> str:
    """A psql script for the target: every move in its own transaction, stopping at an error."""
    lines = comment(
        f"seqdoctor {sync.target.tool_version}: sequence positions from database "
        f"{_database(sync.source)} for database {_database(sync.target)}, planned at "
        f"{sync.target.checked_at.isoformat(timespec='seconds')}; margin {sync.margin}: "
        f"{plural(len(sync.plans), 'move')}."
    )
    lines += comment(
        "Run it on the target with psql -X (no ~/.psqlrc). Each move is one transaction that "
        "reads the target's position and sets it forward, never backwards; the script stops at "
        "the first error."
    )
    lines += [c for line, _ in _one_sided(sync.comparison) for c in comment(line)]
    lines.append(r"\set ON_ERROR_STOP on")
    for number, plan in enumerate(sync.plans, 1):
        lines += script_item(number, plan, sync.options.timeouts)
    if not sync.plans:
        lines += ["", "-- Nothing to move."]
    return "\n".join(lines) + "\n"


# --- JSON -----------------------------------------------------------------


def as_record(sync: SyncPlan, result: SyncResult | None = None) -> dict[str, Any]:
    """The versioned JSON record of a sync plan, and of what applying it did (docs/sync.md)."""
    comparison = sync.comparison
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "seqdoctor", "version": sync.target.tool_version},
        "source": _database_record(sync.source),
        "target": _database_record(sync.target),
        "planned_at": sync.target.checked_at.isoformat(timespec="seconds"),
        "margin": {"values": sync.margin.count, "percent": float(sync.margin.fraction * 100)},
        "options": {
            "lock": sync.options.lock,
            "lock_timeout_seconds": sync.options.timeouts.lock,
            "statement_timeout_seconds": sync.options.timeouts.statement,
        },
        "status": str(comparison.status),
        "sequences": [_pair_record(p) for p in comparison.pairs],
        "missing_on_target": [_name(s) for s in comparison.only_source],
        "only_on_target": [_name(s) for s in comparison.only_target],
        "plans": [
            plan_record(number, plan, sync.options.timeouts)
            for number, plan in enumerate(sync.plans, 1)
        ],
        "result": None if result is None else _result_record(result),
    }


def _database_record(report: Report) -> dict[str, Any]:
    server = report.snapshot.server
    return {"name": server.database, "server_version": server.server_version}


def _name(sequence: SequenceState) -> dict[str, str]:
    return {"schema": sequence.schema, "name": sequence.name}


def _pair_record(pair: Pair) -> dict[str, Any]:
    return {
        **_name(pair.target),
        "source_next_value": source_next(pair.source),
        "target_next_value": pair.target.next_value,
        "least_next_value": pair.floor,
        "behind_source": pair.behind_source,
        "behind_data": [f.message for f in pair.behind_data],
        "status": str(pair.status),
        "unknown": pair.unknown,
    }


def _result_record(result: SyncResult) -> dict[str, Any]:
    return {
        "exit_status": int(result.exit_status),
        "plans": results_record(result.results),
        "still_behind": [_pair_record(p) for p in result.still_behind],
        "recheck_error": result.recheck_error,
    }
