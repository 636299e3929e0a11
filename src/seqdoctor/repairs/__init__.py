"""Repairs: plans built from an audit's findings, printed by default, applied on request.

Planning (:func:`plan_repairs`) is pure: a report and what
:func:`read_context` read in, plans out. :func:`apply_plans` runs plans on a
connection, each in its own bounded transaction. :func:`plan_fix` and
:func:`apply_fix` do the whole of ``seqdoctor fix``: audit, read, plan;
apply, audit again.
"""

from seqdoctor.repairs.apply import Outcome, PlanResult, Retries, Step, apply_plans
from seqdoctor.repairs.context import read_context
from seqdoctor.repairs.fix import Comparison, FixPlan, FixResult, apply_fix, plan_fix
from seqdoctor.repairs.model import Plan, RepairContext, RepairOptions, Safety, transaction
from seqdoctor.repairs.plan import REPAIRABLE, plan_repairs, unrepaired

__all__ = [
    "REPAIRABLE",
    "Comparison",
    "FixPlan",
    "FixResult",
    "Outcome",
    "Plan",
    "PlanResult",
    "RepairContext",
    "RepairOptions",
    "Retries",
    "Safety",
    "Step",
    "apply_fix",
    "apply_plans",
    "plan_fix",
    "plan_repairs",
    "read_context",
    "transaction",
    "unrepaired",
]
