"""``seqdoctor sync SOURCE TARGET``: carry sequence positions over to another database.

Logical replication, ``pg_dump --data-only`` without sequence data and
migration services copy rows but not sequence positions: the moment writes
move to the new database, its sequences hand out ids that already exist.
PostgreSQL 19's ``ALTER SUBSCRIPTION ... REFRESH SEQUENCES`` works only
between PostgreSQL 19 servers; this works between any two supported versions.

Sequences are matched by schema and name. For each one the target must be at
or past a *floor*: the source's next value plus the margin (``--margin``, in
values, or a percent of what is left from the source's next value to the
target's limit). The target must also be past its own data, in every column
it feeds (SEQ001). A target behind either gets a plan: one
:func:`seqdoctor.repairs.advance.setval_statement` with the floor as one more
edge, so the new position is computed inside the statement from the
target's position at that instant, on the target's own progression, and the
sequence never moves backwards. The plans run through
:func:`seqdoctor.repairs.apply_plans`, as fix's do.

>>> from seqdoctor.sync import plan_sync, apply_sync
>>> planned = plan_sync("service=old", "service=new", margin="1000")  # doctest: +SKIP
>>> apply_sync("service=new", planned).exit_status  # doctest: +SKIP
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import psycopg

from seqdoctor.auditing import audit
from seqdoctor.catalog.connection import Target, Timeouts, audit_session, connect, opened, stopped
from seqdoctor.catalog.dependents import list_fed_columns
from seqdoctor.catalog.model import ColumnUse, SequenceState, by_sequence
from seqdoctor.checks import Finding
from seqdoctor.errors import ExitStatus, SeqdoctorError, UsageError
from seqdoctor.repairs import advance
from seqdoctor.repairs.apply import Log, Outcome, PlanResult, Retries, apply_plans
from seqdoctor.repairs.model import Plan, RepairOptions, sentences
from seqdoctor.report import Report, Status, worst_status

# The source's positions only: SEQ003 reads sequences, no table.
SOURCE_CHECKS = ("SEQ003",)
# The target's data (SEQ001), and what could not be read of it (SEQ900).
TARGET_CHECKS = ("SEQ001", "SEQ900")


@dataclass(frozen=True)
class Margin:
    """Values kept free past the source's position: a count, or a share of the range left.

    >>> Margin.parse("1000").values(500, 2**31 - 1), Margin.parse("5%").values(1, 101)
    (1000, 5)
    >>> str(Margin.parse("2.5%")), str(Margin.parse("1_000")), str(Margin())
    ('2.5% of the range left', '1,000 values', 'none')
    """

    count: int = 0
    # Of the values left between the source's position and the limit; exact,
    # for a bigint's range is wider than a float's precision.
    fraction: Fraction = field(default=Fraction(0))

    @classmethod
    def parse(cls, text: str) -> Margin:
        percent = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", text)
        if percent:
            value = Fraction(percent.group(1)) / 100
            if value > 1:
                raise UsageError(f"--margin {text}: a percentage cannot pass 100%")
            return cls(fraction=value)
        try:
            count = int(text)
        except ValueError:
            raise UsageError(
                f"--margin {text!r} is neither a count (1000) nor a percent (5%)"
            ) from None
        if count < 0:
            raise UsageError(f"--margin {text}: a margin cannot be negative")
        return cls(count=count)

    def values(self, position: int, limit: int) -> int:
        """How many values to keep free past *position*, on the way to *limit*."""
        if self.fraction:
            return int(abs(limit - position) * self.fraction)
        return self.count

    def __bool__(self) -> bool:
        return bool(self.count or self.fraction)

    def __str__(self) -> str:
        if self.fraction:
            return f"{float(self.fraction * 100):g}% of the range left"
        return f"{self.count:,} values" if self.count else "none"


def source_next(source: SequenceState) -> int | None:
    """What the source hands out next; past its limit when it is exhausted, None when unknown.

    >>> s = SequenceState(1, "public", "s", "int4", 1, 1, 1, 10, False, 1, True, 10, True)
    >>> source_next(s)  # at MAXVALUE: nothing the target keeps may be handed out again
    11
    """
    if source.last_value is None or source.is_called is None:
        return None
    following = source.next_value
    return source.last_value + source.increment_by if following is None else following


def floor_of(source: SequenceState, target: SequenceState, margin: Margin) -> int | None:
    """The least next value *target* may keep: the source's next value plus the margin.

    None when the source's position is unknown or it runs the other way.

    >>> up = SequenceState(1, "public", "s", "int8", 1, 1, 1, 1000, False, 1, True, 100, True)
    >>> [floor_of(up, up, m) for m in (Margin(), Margin(50), Margin.parse("10%"))]
    [101, 151, 190]
    >>> down = SequenceState(1, "public", "s", "int8", -1, -1, -1000, -1, False, 1, 1, -100, 1)
    >>> floor_of(down, down, Margin(50)), floor_of(up, down, Margin())
    (-151, None)
    """
    following = source_next(source)
    if following is None or source.ascending != target.ascending:
        return None
    step = 1 if target.ascending else -1
    return following + step * margin.values(following, target.limit)


def match(
    sources: Iterable[SequenceState], targets: Iterable[SequenceState]
) -> tuple[list[tuple[SequenceState, SequenceState]], list[SequenceState], list[SequenceState]]:
    """Sequences paired by schema and name; those only on the source; those only on the target.

    >>> def seq(schema, name):
    ...     return SequenceState(1, schema, name, "int8", 1, 1, 1, 9, False, 1, True)
    >>> pairs, only_source, only_target = match(
    ...     [seq("public", "a"), seq("public", "b")], [seq("public", "a"), seq("app", "b")]
    ... )
    >>> [(s.qualified, t.qualified) for s, t in pairs], only_source[0].qualified
    ([('public.a', 'public.a')], 'public.b')
    >>> only_target[0].qualified
    'app.b'
    """
    by_name = {(t.schema, t.name): t for t in targets}
    pairs, only_source = [], []
    for source in sources:
        target = by_name.pop((source.schema, source.name), None)
        if target is None:
            only_source.append(source)
        else:
            pairs.append((source, target))
    return pairs, only_source, list(by_name.values())


@dataclass(frozen=True)
class Pair:
    """One sequence on both sides, and where the target stands against the source and its data."""

    source: SequenceState
    target: SequenceState
    floor: int | None  # the least next value the target may keep; None: unknown
    behind_data: tuple[Finding, ...] = ()  # SEQ001 on the target
    not_checked: tuple[Finding, ...] = ()  # SEQ900 on the target

    @property
    def behind_source(self) -> bool:
        """The target would hand out a value below the floor (above it, descending)."""
        following = self.target.next_value
        if self.floor is None or following is None:
            return False  # unknown, or exhausted: it hands out nothing at all
        return (self.floor - following) * self.target.increment_by > 0

    @property
    def behind(self) -> bool:
        return self.behind_source or bool(self.behind_data)

    @property
    def unknown(self) -> str | None:
        """Why this pair cannot be judged in full, or None."""
        if self.source.ascending != self.target.ascending:
            return "it runs in the other direction on the source"
        if self.floor is None:
            return "its position on the source could not be read"
        if not self.target.position_known:
            return "its position on the target could not be read"
        if self.not_checked:
            return sentences(*(f.message for f in self.not_checked))
        return None

    @property
    def status(self) -> Status:
        if self.behind:
            return Status.CRITICAL
        return Status.UNKNOWN if self.unknown else Status.OK


@dataclass(frozen=True)
class Comparison:
    """The sequences of two databases side by side."""

    pairs: tuple[Pair, ...]
    only_source: tuple[SequenceState, ...]  # missing on the target
    only_target: tuple[SequenceState, ...]

    @property
    def status(self) -> Status:
        """critical: a target sequence is behind; unknown: one cannot be judged;
        warning: a sequence is missing on the target; ok otherwise."""
        missing = Status.WARNING if self.only_source else Status.OK
        return worst_status([missing, *(p.status for p in self.pairs)])

    @property
    def behind(self) -> tuple[Pair, ...]:
        return tuple(p for p in self.pairs if p.behind)


def compare(source: Report, target: Report, margin: Margin) -> Comparison:
    """Match the sequences of two audits and judge every target sequence. Pure."""
    by_sequence: dict[tuple[str, str], list[Finding]] = {}
    for finding in target.findings:
        if finding.sequence is not None:
            key = (finding.sequence.schema, finding.sequence.name)
            by_sequence.setdefault(key, []).append(finding)
    pairs, only_source, only_target = match(source.snapshot.sequences, target.snapshot.sequences)
    judged = []
    for s, t in pairs:
        findings = by_sequence.get((t.schema, t.name), [])
        judged.append(
            Pair(
                s,
                t,
                floor_of(s, t, margin),
                tuple(f for f in findings if f.code == "SEQ001"),
                tuple(f for f in findings if f.code == "SEQ900"),
            )
        )
    return Comparison(tuple(judged), tuple(only_source), tuple(only_target))


@dataclass(frozen=True)
class SyncPlan:
    """Both audits, the comparison, and the plans that bring the target level."""

    source: Report
    target: Report
    margin: Margin
    comparison: Comparison
    plans: tuple[Plan, ...]
    options: RepairOptions
    audit_options: dict[str, Any]  # filters and seqscan: the re-check takes them again

    @property
    def exit_status(self) -> ExitStatus:
        """Of the plan: 1 when moves wait or sequences are missing on the target, else 0."""
        waiting = self.plans or self.comparison.only_source
        return ExitStatus.WARNING if waiting else ExitStatus.OK

    @property
    def verdict(self) -> ExitStatus:
        """Of ``--verify``: 2 behind, 3 cannot tell, 1 missing on the target, 0 level."""
        return self.comparison.status.exit_status


@dataclass(frozen=True)
class SyncResult:
    sync: SyncPlan
    results: tuple[PlanResult, ...]
    after: Comparison | None  # the target audited again, against the same source positions
    recheck_error: str | None = None
    # Wall time of the moves, the re-check aside (moves made together share their batch's time).
    seconds: float = 0.0

    @property
    def still_behind(self) -> tuple[Pair, ...]:
        return self.after.behind if self.after else ()

    @property
    def exit_status(self) -> ExitStatus:
        """2 when a move failed or a sequence is still behind, 1 when something was held back
        or a sequence is missing on the target, else 0."""
        outcomes = {r.outcome for r in self.results}
        if Outcome.FAILED in outcomes or self.still_behind or self.recheck_error:
            return ExitStatus.CRITICAL
        if Outcome.SKIPPED in outcomes or self.sync.comparison.only_source:
            return ExitStatus.WARNING
        return ExitStatus.OK


def plan_sync(
    source: Target,
    target: Target,
    *,
    margin: str | Margin = "0",
    schemas: str | Sequence[str] = (),
    exclude_schemas: str | Sequence[str] = (),
    tables: str | Sequence[str] = (),
    lock: bool = False,
    lock_timeout: float = 2.0,
    statement_timeout: float = 30.0,
    allow_seqscan: bool = False,
) -> SyncPlan:
    """Audit both databases and plan the target's moves. Changes nothing.

    The filters apply to both sides; a target sequence is moved past the data
    of every column it feeds, filtered out or not.
    """
    chosen = margin if isinstance(margin, Margin) else Margin.parse(margin)
    timeouts = Timeouts(lock_timeout, statement_timeout)
    options = RepairOptions(lock=lock, timeouts=timeouts)
    common: dict[str, Any] = {
        "schemas": schemas,
        "exclude_schemas": exclude_schemas,
        "tables": tables,
        "lock_timeout": lock_timeout,
        "statement_timeout": statement_timeout,
    }
    source_report = audit(source, select=SOURCE_CHECKS, connections=1, **common)
    common["allow_seqscan"] = allow_seqscan
    with ExitStack() as stack:
        conn = opened(target, stack)
        target_report = audit(conn, select=TARGET_CHECKS, **common)
        comparison = compare(source_report, target_report, chosen)
        try:
            with audit_session(conn):
                fed = list_fed_columns(conn, {p.target.oid for p in comparison.behind}, timeouts)
        except psycopg.Error as error:
            raise stopped("could not read the columns the sequences feed", error, conn) from None
    plans = moves(comparison, fed, chosen, options)
    return SyncPlan(source_report, target_report, chosen, comparison, plans, options, common)


def moves(
    comparison: Comparison, fed: Sequence[ColumnUse], margin: Margin, options: RepairOptions
) -> tuple[Plan, ...]:
    """One plan per target sequence behind, past every column of *fed* it feeds. Pure."""
    fed_by = by_sequence(fed)
    return tuple(
        replace(
            advance.plan(
                pair.target,
                (),
                fed_by.get(pair.target.oid, ()),
                options,
                floor=pair.floor,
            ),
            kind="sync",
            title=_title(pair, margin),
            reason=sentences(*_reasons(pair, margin)),
        )
        for pair in comparison.behind
    )


def _title(pair: Pair, margin: Margin) -> str:
    target = pair.target.qualified
    if pair.floor is None or not pair.behind_source:
        return f"Move {target} past its data on the target"
    extra = f" (the source's next value plus {margin})" if margin else ""
    return f"Move {target} to {pair.floor:,} or past{extra}"


def _reasons(pair: Pair, margin: Margin) -> Iterator[str]:
    target = pair.target
    here = "exhausted" if target.next_value is None else f"{target.next_value:,}"
    there = source_next(pair.source)
    yield (
        f"On the target the next value of {target.qualified} is {here}; on the source "
        + ("it could not be read" if there is None else f"it is {there:,}")
    )
    if pair.behind_source and pair.floor is not None:
        yield (
            f"Rows copied from the source can hold any value it handed out: the target must "
            f"hand out {pair.floor:,} or later" + (f" (margin: {margin})" if margin else "")
        )
    yield from (f.message for f in pair.behind_data)
    yield (
        "The statement sets it at or past both, on its own progression and past every column "
        "it feeds; it only ever moves forward, and no row is touched."
    )


def apply_sync(
    target: Target,
    sync: SyncPlan,
    *,
    retries: Retries | None = None,
    log: Log | None = None,
) -> SyncResult:
    """Apply the moves of *sync* to *target*, then audit the target again and compare it
    with the source positions the plan was made from."""
    with ExitStack() as stack:
        conn = opened(target, stack)
        started = time.monotonic()
        results = apply_plans(conn, sync.plans, sync.options, retries, log)
        seconds = time.monotonic() - started
        if conn.broken and isinstance(target, str):
            conn = stack.enter_context(connect(target))
        try:
            after = audit(conn, select=TARGET_CHECKS, **sync.audit_options)
        except (SeqdoctorError, psycopg.Error) as error:
            why = f"could not check again: {error}"
            return SyncResult(sync, results, None, why, seconds=seconds)
    return SyncResult(sync, results, compare(sync.source, after, sync.margin), seconds=seconds)
