"""What a check is, what it produces, and the settings it reads."""

from __future__ import annotations

import inspect
import math
import operator
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from enum import StrEnum
from types import ModuleType
from typing import Any

from seqdoctor.catalog.model import ColumnUse, SequenceState, Snapshot, StatisticsSample, qualify
from seqdoctor.errors import UsageError

# The key under which a Snapshot.derived holds the derived values of the last snapshot of
# the same database a checks/incremental.Judge judged (absent otherwise): a check may take
# from it what it computed of objects the new snapshot still holds (the same objects).
EARLIER = "seqdoctor.checks.earlier"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        """Order for the overall status: critical > unknown > warning > info."""
        return _RANKS[self]


_RANKS = {Severity.INFO: 0, Severity.WARNING: 1, Severity.UNKNOWN: 2, Severity.CRITICAL: 3}


@dataclass(frozen=True, slots=True)
class SequenceRef:
    schema: str
    name: str

    @classmethod
    def of(cls, sequence: SequenceState) -> SequenceRef:
        return cls(sequence.schema, sequence.name)

    def __str__(self) -> str:
        return qualify(self.schema, self.name)


@dataclass(frozen=True, slots=True)
class ColumnRef:
    schema: str
    table: str
    column: str

    @classmethod
    def of(cls, use: ColumnUse) -> ColumnRef:
        return cls(use.schema, use.table, use.column)

    def __str__(self) -> str:
        return qualify(self.schema, self.table, self.column)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem, about one sequence, one column, or both."""

    code: str
    check: str
    severity: Severity
    message: str
    sequence: SequenceRef | None = None
    column: ColumnRef | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    """Thresholds the checks compare against, as fractions of a range."""

    warning_ratio: float = 0.75
    critical_ratio: float = 0.90
    # Days left before a forecast exhaustion that warn / are critical (SEQ011).
    warning_days: float = 90.0
    critical_days: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.warning_ratio <= self.critical_ratio <= 1:
            raise UsageError("thresholds must satisfy 0 < warning <= critical <= 100 %")
        if not 0 < self.critical_days <= self.warning_days:
            raise UsageError("forecast thresholds must satisfy 0 < critical days <= warning days")

    def severity_for(self, ratio: float) -> Severity | None:
        """The severity a used fraction earns, or None below the warning threshold.

        >>> settings = Settings()
        >>> settings.severity_for(0.8), settings.severity_for(0.95), settings.severity_for(0.1)
        (<Severity.WARNING: 'warning'>, <Severity.CRITICAL: 'critical'>, None)
        """
        if ratio >= self.critical_ratio:
            return Severity.CRITICAL
        if ratio >= self.warning_ratio:
            return Severity.WARNING
        return None


RunFunction = Callable[[Snapshot, Settings], Iterable[Finding]]


class Unit(StrEnum):
    """What a check's findings about one object depend on, besides the settings."""

    # Each (sequence, column) pair's findings: on that pair's sequence, column,
    # extent and statistics alone (Snapshot.pairs, .extents, .statistics by its key).
    PAIR = "pair"
    # Each sequence's findings: on that sequence alone (Snapshot.sequences).
    SEQUENCE = "sequence"


@dataclass(frozen=True)
class Check:
    """A rule: its stable identity, its default severity, and the function that applies it.

    The documentation is the docstring of the module that defines the check.
    """

    code: str
    name: str
    severity: Severity
    summary: str
    run: RunFunction
    module: ModuleType
    # Needs the values in the columns (max(), collisions), read from every
    # table: an audit selecting only checks without it reads no table at all.
    reads_columns: bool = False
    # Needs how fast things move: the sequences' recorded history and the
    # tables' insert counters (Snapshot.activity), read only for such checks.
    reads_activity: bool = False
    # Each of its findings is about one unit, from that unit's inputs alone: a
    # later judgement may keep the findings of the units whose inputs did not
    # change (checks/incremental.py). None: it reads the snapshot as a whole.
    judges_each: Unit | None = None

    @property
    def documentation(self) -> str:
        return inspect.getdoc(self.module) or ""

    def finding(
        self,
        message: str,
        *,
        severity: Severity | None = None,
        sequence: SequenceState | None = None,
        column: ColumnUse | None = None,
        **details: Any,
    ) -> Finding:
        return Finding(
            code=self.code,
            check=self.name,
            severity=severity or self.severity,
            message=message,
            sequence=SequenceRef.of(sequence) if sequence else None,
            column=ColumnRef.of(column) if column else None,
            details=details,
        )


def percent(ratio: float) -> str:
    """A ratio as a whole percentage, never rounded up to 100 before it is reached.

    >>> percent(0.9), percent(0.99999), percent(1.0), percent(0.0000001), percent(0.57)
    ('90%', '99%', '100%', '0%', '57%')
    """
    # 0.57 * 100 is 56.99999999999999: round away the float error before flooring.
    return f"{math.floor(round(ratio * 100, 9))}%"


def number(value: int) -> str:
    """An integer with thousands separators: 2,147,483,647."""
    return f"{value:,}"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """A count and its noun, singular or plural.

    >>> plural(1, "column"), plural(2, "column"), plural(1_000, "nextval() call")
    ('1 column', '2 columns', '1,000 nextval() calls')
    """
    return f"{number(count)} {noun if count == 1 else nouns or noun + 's'}"


def statistics_details(samples: Iterable[StatisticsSample]) -> list[dict[str, Any]]:
    """The planner's statistics a finding rests on, for its details: one object per table."""
    return [
        {
            "schema": sample.schema,
            "table": sample.table,
            "analyzed_at": sample.analyzed_at.astimezone(UTC).isoformat()
            if sample.analyzed_at
            else None,
            "sampled_min": sample.values[0] if sample.values else None,
            "sampled_max": sample.values[-1] if sample.values else None,
        }
        for sample in samples
    ]


def same_objects(new: Collection[Any], old: Collection[Any]) -> bool:
    """*new* holds the very objects *old* holds, in the same order (a mapping: its keys and
    its values): told at once, never comparing values. Comparing by value a snapshot's
    objects read again, equal to the last ones (after the catalog changed), took seconds
    at 100,000 tables; what serve's rounds carry is the same objects.

    >>> a, b = [1000], [1000]
    >>> same_objects((a, b), (a, b)), same_objects((a, b), (a, [1000]))
    (True, False)
    >>> same_objects({1: a}, {1: a}), same_objects({1: a}, {1: b})
    (True, False)
    """
    if new is old:
        return True
    if len(new) != len(old) or not all(map(operator.is_, new, old)):
        return False
    if isinstance(new, Mapping) and isinstance(old, Mapping):
        return all(map(operator.is_, new.values(), old.values()))
    return True
