"""Reports and contexts for planning tests, built from the snapshot factories."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from seqdoctor.catalog.dependents import ColumnDependents
from seqdoctor.catalog.model import ColumnExtent, ColumnUse, ForeignKeyColumn, SequenceState
from seqdoctor.checks import Settings, run_checks
from seqdoctor.repairs import Plan, RepairContext, RepairOptions, plan_repairs
from seqdoctor.report import Report
from tests.unit.factories import snapshot


def report_of(
    *objects: SequenceState | ColumnUse | ForeignKeyColumn,
    extents: Mapping[ColumnUse, ColumnExtent] | None = None,
) -> Report:
    """The report an audit of these objects would give, every check run."""
    snap = snapshot(*objects, extents=extents)
    return Report(
        tool_version="0.1.0",
        checked_at=datetime(2026, 11, 22, 3, 0, tzinfo=UTC),
        duration_seconds=0.05,
        snapshot=snap,
        findings=tuple(run_checks(snap, Settings())),
        settings=Settings(),
        checks=(),
    )


def plans_for(
    report: Report,
    *,
    sizes: Mapping[ColumnUse | ForeignKeyColumn, int] | None = None,
    dependents: Mapping[SequenceState, ColumnDependents] | None = None,
    **options: object,
) -> tuple[Plan, ...]:
    """Plan with the snapshot's own columns and keys, and the sizes and dependents given.

    Sizes are per table of the column or key given; unknown when left out.
    """
    snap = report.snapshot
    context = RepairContext(
        uses=snap.uses,
        foreign_keys=snap.foreign_keys,
        sizes={item.table_oid: size for item, size in (sizes or {}).items()},
        dependents={seq.oid: found for seq, found in (dependents or {}).items()},
    )
    return plan_repairs(report, context, RepairOptions(**options))  # type: ignore[arg-type]


def text(plan: Plan) -> list[str]:
    """The plan's statements as they are printed."""
    return [statement.as_string() for statement in plan.statements]


def one(plans: tuple[Plan, ...], kind: str) -> Plan:
    (found,) = [p for p in plans if p.kind == kind]
    return found
