"""The one report model every renderer reads: what was read, what was found, and the verdict."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from seqdoctor.catalog.model import Snapshot
from seqdoctor.checks import Finding, Settings, Severity
from seqdoctor.checks.base import plural
from seqdoctor.errors import ExitStatus


class Status(StrEnum):
    """The overall verdict, as a monitoring system reads it."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    UNKNOWN = "unknown"

    @property
    def exit_status(self) -> ExitStatus:
        return ExitStatus[self.name]

    @property
    def rank(self) -> int:
        """Order of concern: critical > unknown > warning > ok."""
        return _STATUS_RANKS[self]


_STATUS_RANKS = {Status.OK: 0, Status.WARNING: 1, Status.UNKNOWN: 2, Status.CRITICAL: 3}


def worst_status(statuses: Iterable[Status]) -> Status:
    """The most concerning of *statuses*; ok when there are none.

    >>> worst_status([Status.WARNING, Status.UNKNOWN, Status.OK]).name
    'UNKNOWN'
    """
    return max(statuses, key=lambda s: s.rank, default=Status.OK)


_STATUS_OF = {
    Severity.INFO: Status.OK,
    Severity.WARNING: Status.WARNING,
    Severity.UNKNOWN: Status.UNKNOWN,
    Severity.CRITICAL: Status.CRITICAL,
}


def overall_status(findings: tuple[Finding, ...] | list[Finding]) -> Status:
    """The most severe status present: critical > unknown > warning > ok (info counts as ok)."""
    worst = max((f.severity for f in findings), key=lambda s: s.rank, default=Severity.INFO)
    return _STATUS_OF[worst]


@dataclass(frozen=True)
class Report:
    tool_version: str
    checked_at: datetime
    duration_seconds: float
    snapshot: Snapshot
    findings: tuple[Finding, ...]
    settings: Settings
    checks: tuple[str, ...]  # the codes of the checks that ran

    @property
    def status(self) -> Status:
        return overall_status(self.findings)

    @property
    def exit_status(self) -> ExitStatus:
        return self.status.exit_status

    def as_dict(self) -> dict[str, Any]:
        """The report as the JSON document ``seqdoctor check --format json`` prints
        (docs/json.md): plain dicts, lists, strings, numbers, booleans and None."""
        from seqdoctor.render.json import as_record  # noqa: PLC0415 - see pyproject's contract

        return as_record(self)

    def counts(self) -> dict[str, int]:
        """Findings per severity, every severity present as a key."""
        counted = Counter(f.severity for f in self.findings)
        return {str(severity): counted[severity] for severity in Severity}

    def headline(self) -> str:
        """One line a Nagios-style monitor shows: status, then what is wrong.

        >>> # e.g. "CRITICAL: 2 critical, 1 warning, 3 info (12 sequences, 14 columns)"
        """
        return f"{self.status.name}: {self.summary()}"

    def summary(self) -> str:
        """What was found and in what: ``2 critical, 3 info (12 sequences, 14 columns)``."""
        counts = self.counts()
        parts = [
            f"{counts[s]} {s}" for s in ("critical", "unknown", "warning", "info") if counts[s]
        ]
        found = ", ".join(parts) or "no findings"
        snapshot = self.snapshot
        sequences = plural(len(snapshot.sequences), "sequence")
        return f"{found} ({sequences}, {plural(len(snapshot.uses), 'column')})"
