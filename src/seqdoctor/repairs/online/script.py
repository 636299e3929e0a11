"""An online widening's plan as a psql script, and as a record for JSON.

Every phase prints with its lock and expected duration in comments; steps
that are one transaction print inside BEGIN/COMMIT, the others (a DO block
that commits per range) outside, as psql runs them by default. The script
pins ``search_path`` first: the statements name every function and type they
use, and the DO blocks' bodies resolve under it.
"""

from __future__ import annotations

from typing import Any

from seqdoctor.repairs.online.model import OnlinePlan, Phase, Step

# row_security off: a policy hiding rows fails the script rather than leave them
# out of the backfill and the verification.
HEADER = "\\set ON_ERROR_STOP on\nSET search_path = pg_catalog, pg_temp;\nSET row_security = off;\n"


def _comment(text: str) -> str:
    return "\n".join(f"-- {line}" for line in text.splitlines())


def _step(step: Step, *, revert: bool) -> str:
    body = "\n".join(s.as_string() + ";" for s in step.statements)
    lines = [
        _comment(step.title if revert else f"Phase {int(step.phase)}: {step.title}"),
        _comment(f"lock: {step.lock}"),
        _comment(f"expected: {step.duration}"),
    ]
    if step.transaction:
        lines += ["BEGIN;", body, "COMMIT;"]
    else:
        lines.append(body)
    return "\n".join(lines)


def script(plan: OnlinePlan, *, revert: bool = False, until: Phase = Phase.SWAPPED) -> str:
    """The plan's phases 2-6 (or up to *until*; or their revert) as a script to feed to psql.

    The swap's last check reads the mark the script's own verification left
    in a temporary table: the whole script runs in one psql session.
    """
    parts = [
        _comment(
            "seqdoctor: online widening of "
            + ", ".join(c.qualified for c in plan.columns)
            + " to bigint"
        )
    ]
    if plan.refusals:
        parts.append(
            _comment(
                "REFUSED: not to be run as it is\n"
                + "\n".join(f"  {r.subject}: {r.reason}" for r in plan.refusals)
            )
        )
    parts += [_comment(note) for note in plan.notes]
    if revert and plan.mirror:
        parts.append(
            _comment(
                "Past the swap: undoing it validates, verifies and builds between its steps, "
                "and is not printed as a script; run seqdoctor fix --online --revert --apply"
            )
        )
    parts.append(HEADER)
    steps = list(plan.revert_steps) if revert else [s for s in plan.steps if s.phase <= until]
    if until >= Phase.CLEANED and not revert:
        steps += plan.cleanup_steps
    parts += [_step(step, revert=revert) for step in steps]
    return "\n\n".join(parts) + "\n"


def record(plan: OnlinePlan) -> dict[str, Any]:
    """The plan as plain data for ``--format json``: phases with their SQL."""

    def statements(step: Step) -> list[str]:
        return [s.as_string() for s in step.statements]

    return {
        "columns": [
            {"table": c.table, "schema": c.schema, "column": c.column, "type": c.column_type}
            for c in plan.columns
        ],
        "refusals": [{"subject": r.subject, "reason": r.reason} for r in plan.refusals],
        "carried": [
            {"kind": c.kind, "subject": c.subject, "how": c.how, "phase": int(c.phase)}
            for c in plan.carried
        ],
        "notes": list(plan.notes),
        "phases": [
            {
                "phase": int(step.phase),
                "name": Phase(step.phase).name.lower(),
                "subject": step.subject,
                "title": step.title,
                "lock": step.lock,
                "duration": step.duration,
                "transaction": step.transaction,
                "sql": statements(step),
            }
            for step in plan.steps
        ],
        "revert": [
            {"subject": step.subject, "sql": statements(step)} for step in plan.revert_steps
        ],
        "cleanup": [
            {"subject": step.subject, "sql": statements(step)} for step in plan.cleanup_steps
        ],
    }


__all__ = ["record", "script"]
