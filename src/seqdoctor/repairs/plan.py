"""Planning: the report's findings in, plans out, without touching a database.

Each kind of repair has its module; this one pairs findings with the
sequences they are about, hands them to each planner, and orders the plans:
the safe ones first (a sequence behind its data is breaking inserts now),
rewrites after them, and what only a person can decide last.
"""

from __future__ import annotations

from collections.abc import Iterator

from seqdoctor.catalog.model import SequenceState
from seqdoctor.checks import Finding
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
        *advance.plans(pairs, context.uses, options),
        *widen.plans(pairs, context, options),
        *advise.plans(snapshot, pairs),
    ]
    return tuple(sorted(plans, key=lambda p: (_ORDER[p.safety], _KINDS.get(p.kind, 3), p.title)))


def unrepaired(report: Report, plans: tuple[Plan, ...]) -> tuple[Finding, ...]:
    """The findings no plan is about: nothing to repair automatically, or could not be checked."""
    covered = {id(f) for plan in plans for f in plan.findings}
    return tuple(f for f in report.findings if id(f) not in covered)
