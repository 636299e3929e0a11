"""The guard's plans, outcomes and status as text for people, and plans as a psql script."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from psycopg import sql

from seqdoctor.catalog.connection import Timeouts, timeout_statements
from seqdoctor.catalog.display import comment, printable, script_sql
from seqdoctor.catalog.model import qualify, quote_ident
from seqdoctor.guard.model import (
    GuardPlan,
    GuardResult,
    GuardState,
    GuardStatus,
    Outcome,
)


def script(plan: GuardPlan, timeouts: Timeouts) -> str:
    """The plan as a psql script: each step a transaction, as ``apply_plan`` runs it.

    Text goes through comment() and statements through script_sql(): no name,
    whatever it holds, can end a comment and start a psql command, nor reach
    the terminal showing the script as control characters.
    """
    lines = comment(f"seqdoctor guard {plan.action}: the plan; nothing has been changed")
    if plan.empty:
        lines += comment("nothing to do")
    for step in plan.steps:
        lines += ["", *comment(step.title), "BEGIN;"]
        lines += [_statement(s) + ";" for s in (*timeout_statements(timeouts), *step.statements)]
        lines.append("COMMIT;")
    lines += [line for note in plan.notes for line in comment(f"note: {note}")]
    return "\n".join(lines) + "\n"


def _statement(statement: sql.Composed) -> str:
    return script_sql(statement.as_string().strip().rstrip(";"))


def outcome(result: GuardResult) -> str:
    """What install or remove did, step by step, then what it left alone, and a summary."""
    plan = result.plan
    lines = [
        f"{r.step.title}: {r.outcome}" + (f": {r.detail}" if r.detail else "")
        for r in result.results
    ]
    lines += _left_alone(plan)
    lines += [f"note: {note}" for note in plan.notes]
    lines.append(summary(result))
    return "".join(printable(line) + "\n" for line in lines)


def _left_alone(plan: GuardPlan) -> Iterator[str]:
    if plan.unchanged:
        yield f"already guarded ({plan.mode}): {', '.join(plan.unchanged)}"
    for column, why in plan.unsupported:
        yield f"not guardable: {column}: {why}"


def summary(result: GuardResult) -> str:
    """One line: how many columns were guarded or unguarded, and how many steps failed.

    >>> from seqdoctor.guard.model import GuardPlan
    >>> summary(GuardResult(GuardPlan("remove", "seqdoctor", None, ())))
    'nothing to remove'
    """
    plan = result.plan
    if plan.empty:
        return f"nothing to {plan.action}" + (
            f": {_count(len(plan.unchanged))} already guarded ({plan.mode})"
            if plan.unchanged
            else ""
        )
    done = [r for r in result.results if r.outcome is Outcome.APPLIED]
    columns = sum(len(r.step.columns) for r in done)
    verb = f"guarded ({plan.mode})" if plan.action == "install" else "unguarded"
    parts = [f"{_count(columns)} {verb}"]
    failed = sum(r.outcome is not Outcome.APPLIED for r in result.results)
    if failed:
        parts.append(f"{failed} of {len(result.results)} steps failed or did not run")
    return ", ".join(parts)


def _count(columns: int) -> str:
    return f"{columns} column" + ("" if columns == 1 else "s")


def status(report: GuardStatus) -> str:
    """Every sequence-fed column with its guard, then what is off, and a summary."""
    schema = report.schema
    name = qualify(schema.name)
    if schema.function_version:
        lines = [f"guard functions: installed in schema {name} ({schema.function_version})"]
    else:
        lines = [f"guard functions: not installed (schema {name})"]
    rows = [
        (
            printable(column.column),
            printable(column.sequence),
            str(column.mode) if column.state is GuardState.GUARDED else str(column.state),
            column.detail,
        )
        for column in report.columns
    ]
    header = ("column", "sequence", "guard", "")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    for row in [header, *rows]:
        cells = [row[i].ljust(widths[i]) for i in range(3)]
        lines.append(("  ".join(cells) + (f"  {row[3]}" if row[3] else "")).rstrip())
    lines += [
        f"stray trigger: {quote_ident(t.name)} on {t.table_name} "
        "(no sequence feeds that column now)"
        for t in report.strays
    ]
    lines += [f"note: {note}" for note in report.notes]
    counted = Counter(
        str(c.mode) if c.state is GuardState.GUARDED else str(c.state) for c in report.columns
    )
    total = len(report.columns)
    guarded = sum(counted[str(m)] for m in ("raise", "heal", "warn"))
    parts = [f"{guarded} of {_count(total)} guarded"]
    parts += [f"{n} {state}" for state, n in sorted(counted.items()) if n]
    lines.append(", ".join(parts))
    return "".join(printable(line) + "\n" for line in lines)
