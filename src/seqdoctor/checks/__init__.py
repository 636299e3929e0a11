"""The checks: pure functions from a :class:`~seqdoctor.catalog.model.Snapshot` to findings.

Each check lives in its own module, which defines ``CHECK`` and whose
docstring is the explanation ``seqdoctor explain`` prints. The registry below
lists them explicitly and refuses two checks with one code or one name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from types import ModuleType

from seqdoctor.catalog.model import Snapshot
from seqdoctor.checks import (
    seq001_sequence_behind_data,
    seq002_column_near_overflow,
    seq003_sequence_near_limit,
    seq004_sequence_wider_than_column,
    seq005_referencing_column_narrower,
    seq006_cycling_sequence_on_unique_column,
    seq007_unused_sequence,
    seq008_no_unique_index,
    seq009_serial_could_be_identity,
    seq010_burn_rate,
    seq011_exhaustion_forecast,
    seq900_not_checked,
)
from seqdoctor.checks.base import Check, Finding, Settings, Severity
from seqdoctor.errors import UsageError

__all__ = [
    "REGISTRY",
    "Check",
    "Finding",
    "Registry",
    "Settings",
    "Severity",
    "finding_order",
    "in_order",
    "run_checks",
]


class Registry:
    """The known checks, by code and by name, in code order."""

    def __init__(self, modules: Iterable[ModuleType]) -> None:
        self._checks: dict[str, Check] = {}
        names: set[str] = set()
        for module in modules:
            check: Check = module.CHECK
            if check.code in self._checks or check.name in names:
                raise ValueError(f"duplicate check {check.code} {check.name}")
            self._checks[check.code] = check
            names.add(check.name)

    def __iter__(self) -> Iterator[Check]:
        return iter(sorted(self._checks.values(), key=lambda c: c.code))

    def __len__(self) -> int:
        return len(self._checks)

    def get(self, code_or_name: str) -> Check:
        """A check by code (``SEQ001``, any case) or name (``sequence-behind-data``)."""
        wanted = code_or_name.strip()
        for check in self:
            if wanted.upper() == check.code or wanted.lower() == check.name:
                return check
        known = ", ".join(c.code for c in self)
        raise UsageError(f"unknown check {code_or_name!r} (known: {known})")

    def select(self, select: Sequence[str] = (), ignore: Sequence[str] = ()) -> list[Check]:
        """The checks *select* names (all when empty), less those *ignore* names."""
        chosen = {self.get(c).code for c in select} if select else {c.code for c in self}
        chosen -= {self.get(c).code for c in ignore}
        return [c for c in self if c.code in chosen]


REGISTRY = Registry(
    [
        seq001_sequence_behind_data,
        seq002_column_near_overflow,
        seq003_sequence_near_limit,
        seq004_sequence_wider_than_column,
        seq005_referencing_column_narrower,
        seq006_cycling_sequence_on_unique_column,
        seq007_unused_sequence,
        seq008_no_unique_index,
        seq009_serial_could_be_identity,
        seq010_burn_rate,
        seq011_exhaustion_forecast,
        seq900_not_checked,
    ]
)


def run_checks(
    snapshot: Snapshot, settings: Settings, checks: Iterable[Check] = REGISTRY
) -> list[Finding]:
    """Every finding of *checks* on *snapshot*, most severe first, then by object."""
    return in_order(finding for check in checks for finding in check.run(snapshot, settings))


def in_order(findings: Iterable[Finding]) -> list[Finding]:
    """*findings* most severe first, then by object (stable: ties keep their order)."""
    return sorted(findings, key=finding_order)


def finding_order(finding: Finding) -> tuple[int, str, tuple[str, ...], tuple[str, ...]]:
    column, sequence = finding.column, finding.sequence
    return (
        -finding.severity.rank,
        finding.code,
        (column.schema, column.table, column.column) if column else (),
        (sequence.schema, sequence.name) if sequence else (),
    )
