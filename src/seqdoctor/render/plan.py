"""Repair plans and their results, for the terminal, as a psql script, or as JSON.

The psql script holds exactly the statements ``--apply`` runs, each plan in
its own transaction, and stops at the first error; plans ``--apply`` would
hold back are in it as comments. The JSON record is documented in
docs/fix.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from enum import StrEnum
from typing import Any, TextIO

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.control import STRIP_CONTROL_CODES, strip_control_codes
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from seqdoctor.catalog.connection import Timeouts
from seqdoctor.catalog.display import comment, printable, script_sql
from seqdoctor.catalog.model import quote_ident
from seqdoctor.checks.base import plural
from seqdoctor.errors import ExitStatus
from seqdoctor.render.json import dump, finding_record
from seqdoctor.render.table import print_to, shown
from seqdoctor.repairs import (
    FixPlan,
    FixResult,
    Outcome,
    Plan,
    PlanResult,
    Safety,
    Step,
    transaction,
)

SCHEMA_VERSION = 1
SAFETY_STYLES = {Safety.SAFE: "green", Safety.UNSAFE: "bold yellow", Safety.DISPLAY_ONLY: "cyan"}
OUTCOME_STYLES = {
    Outcome.APPLIED: "green",
    Outcome.UNCHANGED: "green",
    Outcome.SKIPPED: "yellow",
    Outcome.FAILED: "bold red",
    Outcome.NOT_RUN: "red",
}
# Past this many repairs the terminal output is plain lines, neither wrapped nor styled: rich
# lays each line out in a fraction of a millisecond, which is minutes for 10,000 repairs. The
# plan then leaves each repair's SQL to the psql script (--format sql): thirty lines of SQL a
# repair is 2 KB, 20 MB for 10,000, which no one reads on a terminal.
PLAIN_PAST = 200


class PlanFormat(StrEnum):
    TABLE = "table"
    SQL = "sql"
    JSON = "json"


def render_plan(
    fix: FixPlan, output_format: PlanFormat, out: TextIO, *, applying: bool = False
) -> None:
    """The plan, before anything is applied; *applying*: its repairs are applied next."""
    if output_format is PlanFormat.SQL:
        out.write(as_script(fix))
    elif output_format is PlanFormat.JSON:
        dump(as_record(fix), out)
    else:
        print_to(out, lambda console: _write_plan(fix, console, applying=applying))


def render_result(result: FixResult, output_format: PlanFormat, out: TextIO) -> None:
    """What applying did: JSON repeats the plan; the table follows the plan printed before."""
    if output_format is PlanFormat.JSON:
        dump(as_record(result.fix, result), out)
    elif output_format is PlanFormat.TABLE:
        print_to(out, lambda console: _write_result(result, console))
    else:
        raise ValueError("a psql script shows a plan, not what applying it did")


def step_line(step: Step) -> str:
    """One line of the apply log.

    >>> step_line(Step(2, 1, "ALTER SEQUENCE s AS bigint", 0.0042, True, "ok"))
    '[2] ALTER SEQUENCE s AS bigint · 0.004 s · ok'
    """
    retry = f" (attempt {step.attempt})" if step.attempt > 1 else ""
    result = printable(step.result if step.ok else f"ERROR: {step.result}")
    return f"[{step.plan}]{retry} {script_sql(step.what)} · {step.seconds:.3f} s · {result}"


# --- the terminal ---------------------------------------------------------


def _indented(text: str | Text) -> Padding:
    """Text indented under a plan's title, wrapped lines included."""
    return Padding(shown(text) if isinstance(text, str) else text, (0, 0, 0, 3))


def _summary(fix: FixPlan) -> str:
    plans = fix.plans
    to_apply = sum(p.applies for p in plans)
    held = len(plans) - to_apply
    text = plural(len(plans), "repair")
    if plans:
        text += f": {to_apply:,} to apply" + (f", {held:,} held back" if held else "")
    return text


def _write_plan(fix: FixPlan, console: Console, *, applying: bool) -> None:
    server = fix.report.snapshot.server
    console.print(
        Text.assemble(
            (f"seqdoctor {fix.report.tool_version}", "bold"),
            " · repairs for database ",
            (quote_ident(server.database), "bold"),
            f" · PostgreSQL {server.server_version} · {_summary(fix)}",
        )
    )
    if len(fix.plans) > PLAIN_PAST:
        items = (plain_plan_item(n, plan) for n, plan in enumerate(fix.plans, 1))
        write_plain(console, ["", _WITHOUT_SQL, *(line for item in items for line in item)])
    else:
        for number, plan in enumerate(fix.plans, 1):
            write_plan_item(console, number, plan, fix.options.timeouts)
    if fix.unrepaired:
        console.print()
        console.print(Text(f"Not repaired ({len(fix.unrepaired)}):", style="bold"))
        for finding in fix.unrepaired:
            why = "could not be checked" if finding.code == "SEQ900" else "no automatic repair"
            console.print(_indented(f"{finding.code} ({why}): {finding.message}"))
    console.print()
    if not fix.plans and fix.unchecked:
        console.print(
            Text(
                f"Nothing to repair in what could be checked; {plural(fix.unchecked, 'object')} "
                "could not be (above).",
                style="bold",
            )
        )
    elif not fix.plans:
        console.print(Text("Nothing to repair.", style="bold green"))
    elif applying:
        count = sum(p.applies for p in fix.plans)
        console.print(Text(f"Applying {plural(count, 'repair')} now.", style="bold"))
    elif any(p.applies for p in fix.plans):
        console.print(
            Text(
                "Nothing has been changed. seqdoctor fix --apply runs the repairs marked "
                "'applied by --apply'; --format sql prints them as a psql script.",
                style="bold",
            )
        )
    else:
        console.print(Text("Nothing has been changed, and --apply would change nothing."))


_WITHOUT_SQL = (
    f"More than {PLAIN_PAST} repairs: each is listed without its SQL. seqdoctor fix --format sql "
    "prints the SQL of every one as a psql script (what --apply runs, statement for statement)."
)


def label(plan: Plan) -> str:
    """The codes of what a plan repairs, or its kind when it repairs no finding."""
    return ", ".join(plan.codes) or plan.kind


def write_plan_item(console: Console, number: int, plan: Plan, timeouts: Timeouts) -> None:
    """One plan: its title, why, what it locks, and the SQL it runs."""
    heading = Text.assemble(
        (label(plan), "bold"),
        " · ",
        (str(plan.safety), SAFETY_STYLES[plan.safety]),
        f" · {printable(_status(plan))}",
    )
    indented: list[str | Text] = [
        heading,
        *_said(plan),
        "SQL, as it runs (between BEGIN and COMMIT):",
    ]
    # Flush left and unwrapped: indenting would change the string literals in it.
    statements = [script_sql(s.as_string()) + ";" for s in transaction(plan, timeouts)]
    console.print()
    console.print(Text.assemble((printable(f"{number}. {plan.title}"), "bold")))
    for line in indented:
        console.print(_indented(line))
    for statement in statements:
        console.print(Text(statement, style="dim"), soft_wrap=True)


def plain_plan_item(number: int, plan: Plan) -> list[str]:
    """One plan as plain lines, without its SQL: a blank line, its title, and under it what
    :func:`write_plan_item` says of it."""
    heading = f"{label(plan)} · {plan.safety} · {_status(plan)}"
    indented = (f"   {printable(line)}" for line in (heading, *_said(plan)))
    return ["", printable(f"{number}. {plan.title}"), *indented]


def _status(plan: Plan) -> str:
    return "applied by --apply" if plan.applies else f"held back: {plan.held_back}"


def _said(plan: Plan) -> list[str]:
    """Why the plan is there, what it locks, and its notes: a line each."""
    return [
        f"Why: {plan.reason}",
        *(f"Locks: {lock}" for lock in plan.locks),
        *(f"Note: {note}" for note in plan.notes),
    ]


def write_plain(console: Console, lines: Iterable[str | Text]) -> None:
    """*lines* as they are, without rich's layout, control codes removed as rich does."""
    text = "".join(f"{line}\n" for line in lines)
    # str.translate() walks every character in Python's slow path once one is not
    # ASCII (a "·"), and so does a regular expression: each looked for first, with
    # str's own search, as there is most often nothing to strip.
    stripped = any(code in text for code in _STRIPPED)
    console.file.write(strip_control_codes(text) if stripped else text)


# The characters rich's strip_control_codes() removes.
_STRIPPED = tuple(map(chr, STRIP_CONTROL_CODES))


def plain_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> Iterator[str]:
    """Lines of a table without wrapping, every column as wide as its widest cell, every cell
    shown escaped (:func:`printable`), a line break included."""
    cells = [[(cell, _width(cell)) for cell in map(printable, row)] for row in [header, *rows]]
    widths = [max(row[i][1] for row in cells) for i in range(len(header))]

    def line(row: Sequence[tuple[str, int]]) -> str:
        padded = (
            cell + " " * (width - size) for (cell, size), width in zip(row, widths, strict=True)
        )
        return "  " + "   ".join(padded)

    yield line(cells[0])
    yield " " + "─" * (sum(widths) + 3 * len(widths))
    yield from map(line, cells[1:])


def _width(text: str) -> int:
    """Columns *text* takes on a terminal: one a character where all are ASCII (printable,
    as :func:`printable` leaves them), which spares 10,000 rows rich's lookup per character."""
    return len(text) if text.isascii() else cell_len(text)


def results_table(results: tuple[PlanResult, ...]) -> Table:
    """What applying did, one row per plan."""
    table = Table(box=box.SIMPLE_HEAD, expand=False)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    table.add_column("repair", overflow="fold", ratio=2)
    table.add_column("detail", overflow="fold", ratio=3)
    table.add_column("time", justify="right", no_wrap=True)
    for number, item in enumerate(results, 1):
        table.add_row(
            str(number),
            Text(str(item.outcome), style=OUTCOME_STYLES[item.outcome]),
            shown(item.plan.title),
            shown(item.detail),
            f"{item.seconds:.2f} s",
        )
    return table


def _write_result(result: FixResult, console: Console) -> None:
    applied = sum(r.outcome in (Outcome.APPLIED, Outcome.UNCHANGED) for r in result.results)
    console.print(
        Text(
            f"Applied {applied} of {plural(len(result.results), 'repair')} "
            f"in {result.seconds:.2f} s",
            style="bold",
        )
    )
    if len(result.results) > PLAIN_PAST:
        rows = [
            [str(n), str(r.outcome), r.plan.title, r.detail, f"{r.seconds:.2f} s"]
            for n, r in enumerate(result.results, 1)
        ]
        write_plain(console, ["", *plain_table(["#", "outcome", "repair", "detail", "time"], rows)])
        console.print()
    else:
        console.print(results_table(result.results))
    if len(result.comparisons) > PLAIN_PAST:
        rows = [[c.object, c.aspect, c.before, c.after] for c in result.comparisons]
        lines = plain_table(["object", "", "before", "after"], rows)
        write_plain(console, ["Before and after", "", *lines])
        console.print()
    elif result.comparisons:
        table = Table(title="Before and after", title_justify="left", box=box.SIMPLE_HEAD)
        table.add_column("object", overflow="fold")
        table.add_column("", no_wrap=True)
        table.add_column("before", overflow="fold")
        table.add_column("after", overflow="fold")
        for row in result.comparisons:
            table.add_row(shown(row.object), row.aspect, shown(row.before), shown(row.after))
        console.print(table)
    for finding in result.still_found:
        console.print(shown(f"Still found: {finding.code} {finding.message}", style="bold red"))
    if result.recheck_error:
        console.print(shown(result.recheck_error, style="bold red"))
    status = result.exit_status
    verdicts = []
    if result.connection_lost:
        verdicts.append(
            "Lost the connection: the repairs marked applied were made, the rest was not done. "
            "Running seqdoctor fix again picks up where this stopped."
        )
    elif status == ExitStatus.CRITICAL:
        verdicts.append(
            "Not done: see above. Running seqdoctor fix again picks up where this stopped."
        )
    else:
        skipped = [r.plan for r in result.results if r.outcome is Outcome.SKIPPED]
        if any(result.fix.waits(plan) for plan in skipped):
            verdicts.append("Some repairs were held back: see above.")
        if unchecked := result.fix.unchecked:
            verdicts.append(
                f"Not checked: {plural(unchecked, 'object')} (listed in the plan), "
                "which fix cannot judge."
            )
        if skipped and not verdicts:
            verdicts.append(
                "Done: every urgent repair applied, and checked again; "
                f"{plural(len(skipped), 'repair')} not applied by default (above)."
            )
    verdict = " ".join(verdicts) or "Done: every repair applied, and checked again."
    console.print(Text(verdict, style="bold green" if status == 0 else "bold red"))


# --- the psql script ------------------------------------------------------


def as_script(fix: FixPlan) -> str:
    """A psql script: every repair in its own transaction, stopping at the first error."""
    report = fix.report
    server = report.snapshot.server
    # Every line of text goes through comment(), which escapes line breaks: a
    # name holding one cannot end the comment and smuggle in a psql command.
    # Every statement goes through script_sql(): no control character of a
    # name reaches psql's input or the terminal showing the script.
    lines = comment(
        f"seqdoctor {report.tool_version}: repairs for database {quote_ident(server.database)} "
        f"(PostgreSQL {server.server_version}), planned from the audit of "
        f"{report.checked_at.isoformat(timespec='seconds')}: {_summary(fix)}."
    )
    lines += comment(
        "Each repair is one transaction that checks, once it holds its locks, that it still "
        "applies. The script stops at the first error: the repairs before it stay applied, those "
        "after it are not run. Run it with psql -X (no ~/.psqlrc)."
    )
    lines.append(r"\set ON_ERROR_STOP on")
    for number, plan in enumerate(fix.plans, 1):
        lines += script_item(number, plan, fix.options.timeouts)
    if not fix.plans:
        lines += ["", "-- Nothing to repair."]
    return "\n".join(lines) + "\n"


def script_item(number: int, plan: Plan, timeouts: Timeouts) -> list[str]:
    """One plan in a psql script: commented, then its transaction (commented out if held back)."""
    lines = ["", *comment(f"{number}. {plan.title}")]
    lines += comment(f"{label(plan)}, {plan.safety}.", indent="   ")
    lines += comment(f"Why: {plan.reason}", indent="   ")
    lines += [line for lock in plan.locks for line in comment(f"Locks: {lock}", "   ")]
    lines += [line for note in plan.notes for line in comment(f"Note: {note}", "   ")]
    body = ["BEGIN;"]
    body += [script_sql(s.as_string()) + ";" for s in transaction(plan, timeouts)]
    body.append("COMMIT;")
    if plan.applies:
        return lines + body
    lines += comment(f"Not run: {plan.held_back}.", indent="   ")
    return lines + ["-- " + line if line else "--" for line in "\n".join(body).splitlines()]


# --- JSON -----------------------------------------------------------------


def as_record(fix: FixPlan, result: FixResult | None = None) -> dict[str, Any]:
    """The versioned JSON record of a plan, and of what applying it did (docs/fix.md)."""
    report = fix.report
    options = fix.options
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "seqdoctor", "version": report.tool_version},
        "database": {
            "name": report.snapshot.server.database,
            "server_version": report.snapshot.server.server_version,
        },
        "planned_at": report.checked_at.isoformat(timespec="seconds"),
        "options": {
            "lock": options.lock,
            "allow_rewrite": options.allow_rewrite,
            "rewrite_threshold_bytes": options.rewrite_threshold,
            "lock_timeout_seconds": options.timeouts.lock,
            "statement_timeout_seconds": options.timeouts.statement,
        },
        "plans": [
            plan_record(number, plan, options.timeouts) for number, plan in enumerate(fix.plans, 1)
        ],
        "unrepaired": [finding_record(f) for f in fix.unrepaired],
        "result": None if result is None else _result_record(result),
    }


def plan_record(number: int, plan: Plan, timeouts: Timeouts) -> dict[str, Any]:
    """One plan as the JSON records of fix and sync have it."""
    return {
        "number": number,
        "kind": plan.kind,
        "title": plan.title,
        "codes": list(plan.codes),
        "safety": str(plan.safety),
        "applies": plan.applies,
        "held_back": plan.held_back,
        "reason": plan.reason,
        "locks": list(plan.locks),
        "notes": list(plan.notes),
        "tables": [{"schema": schema, "table": table} for schema, table in plan.tables],
        "statements": [s.as_string() for s in transaction(plan, timeouts)],
        "findings": [finding_record(f) for f in plan.findings],
    }


def results_record(results: tuple[PlanResult, ...]) -> list[dict[str, Any]]:
    """What applying did, as the JSON records of fix and sync have it."""
    return [
        {
            "number": number,
            "outcome": str(item.outcome),
            "detail": item.detail,
            "seconds": round(item.seconds, 3),
            "attempts": item.attempts,
            "steps": [
                {
                    "attempt": step.attempt,
                    "statement": step.what,
                    "seconds": round(step.seconds, 3),
                    "ok": step.ok,
                    "result": step.result,
                }
                for step in item.steps
            ],
        }
        for number, item in enumerate(results, 1)
    ]


def _result_record(result: FixResult) -> dict[str, Any]:
    return {
        "exit_status": int(result.exit_status),
        "plans": results_record(result.results),
        "comparisons": [
            {"object": c.object, "aspect": c.aspect, "before": c.before, "after": c.after}
            for c in result.comparisons
        ],
        "still_found": [finding_record(f) for f in result.still_found],
        "recheck_error": result.recheck_error,
        "connection_lost": result.connection_lost,
    }
