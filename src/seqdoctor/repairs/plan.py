"""Planning: the report's findings in, plans out, without touching a database.

Each kind of repair has its module; this one pairs findings with the
sequences they are about, hands them to each planner, and orders the plans:
the safe ones first (a sequence behind its data is breaking inserts now),
rewrites after them, and what only a person can decide last.

By default ``--apply`` runs only what is urgent (:func:`urgent`): a repair of
a finding at warning or critical, and a table rewrite only when a column it
changes is running out. Someone who came to move a sequence past its data
must not get ten tables rewritten under ACCESS EXCLUSIVE because their
sequences are wider than their columns, 0 % used (SEQ004, info). The other
plans are shown, and applied when their check is asked for by code.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from seqdoctor.catalog.model import SequenceState
from seqdoctor.checks import Finding, Settings, Severity
from seqdoctor.repairs import advance, advise, widen
from seqdoctor.repairs.model import Plan, RepairContext, RepairOptions, Safety
from seqdoctor.report import Report

REPAIRABLE = frozenset((advance.CODE, *widen.CODES, *advise.CODES))
_ORDER = {Safety.SAFE: 0, Safety.UNSAFE: 1, Safety.DISPLAY_ONLY: 2}
_KINDS = {"advance": 0, "raise-limit": 1, "widen": 2}


def sequence_findings(report: Report) -> Iterator[tuple[SequenceState, Finding]]:
    """Every repairable finding, with the sequence it is about."""
    by_name = {(s.schema, s.name): s for s in report.snapshot.sequences}
    for finding in report.findings:
        if finding.code not in REPAIRABLE or finding.sequence is None:
            continue
        sequence = by_name.get((finding.sequence.schema, finding.sequence.name))
        if sequence is not None:
            yield sequence, finding


def plan_repairs(
    report: Report, context: RepairContext | None = None, options: RepairOptions | None = None
) -> tuple[Plan, ...]:
    """The plans that repair what *report* found.

    *context* is what :func:`seqdoctor.repairs.context.read_context` reads
    beyond the audit; without it, planning sees only the audited snapshot
    (its columns and foreign keys, no sizes, no dependent views).
    """
    snapshot = report.snapshot
    context = context or RepairContext(uses=snapshot.uses, foreign_keys=snapshot.foreign_keys)
    options = options or RepairOptions()
    pairs = list(sequence_findings(report))
    plans = [
        _by_default(plan, report.settings, options.asked)
        for plan in (
            *advance.plans(pairs, context.uses, options),
            *widen.plans(pairs, context, options),
            *advise.plans(snapshot, pairs),
        )
    ]
    return tuple(sorted(plans, key=lambda p: (_ORDER[p.safety], _KINDS.get(p.kind, 3), p.title)))


def urgent(plan: Plan, settings: Settings) -> bool:
    """Whether *plan* repairs something at risk: --apply runs it without being asked.

    A rewrite is urgent when a column it changes is running out: its type
    (SEQ002), or a foreign key narrower than its sequence, past the warning
    threshold (SEQ005 warns at 0 % used, to say it will break first).
    Anything else, when it repairs a finding at warning or critical.
    """
    if plan.safety is Safety.UNSAFE:
        return any(
            f.code == "SEQ002"
            or (f.code == "SEQ005" and (f.details.get("used_ratio") or 0) >= settings.warning_ratio)
            for f in plan.findings
        )
    return serious(plan)


def serious(plan: Plan) -> bool:
    """Whether *plan* repairs a finding at warning or critical; info alone leaves the status OK."""
    return any(f.severity in (Severity.WARNING, Severity.CRITICAL) for f in plan.findings)


def _by_default(plan: Plan, settings: Settings, asked: frozenset[str]) -> Plan:
    """*plan* held back when it is not urgent and its check was not asked for by code."""
    if not plan.applies or urgent(plan, settings) or asked.intersection(plan.codes):
        return plan
    why = (
        "it rewrites tables, and no column it changes is running out"
        if plan.safety is Safety.UNSAFE
        else "what it repairs is only informational"
    )
    ask = " ".join(f"--code {code}" for code in plan.codes)
    return replace(plan, held_back=f"not applied by default: {why}; ask for it with {ask}")


def unrepaired(report: Report, plans: tuple[Plan, ...]) -> tuple[Finding, ...]:
    """The findings no plan is about: nothing to repair automatically, or could not be checked."""
    covered = {id(f) for plan in plans for f in plan.findings}
    return tuple(f for f in report.findings if id(f) not in covered)
