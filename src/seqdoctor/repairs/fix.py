"""``seqdoctor fix`` as library calls: plan from a fresh audit, apply, check again.

>>> from seqdoctor.repairs import plan_fix, apply_fix
>>> fix = plan_fix("postgresql:///shop", codes=["SEQ001"])  # doctest: +SKIP
>>> result = apply_fix("postgresql:///shop", fix)  # doctest: +SKIP
>>> result.exit_status  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import Any

import psycopg

from seqdoctor.auditing import KeptConnections, audit
from seqdoctor.catalog.connection import (
    Target,
    Timeouts,
    audit_session,
    connect,
    error_message,
    opened,
    stopped,
)
from seqdoctor.catalog.filters import patterns
from seqdoctor.catalog.model import Snapshot, qualify
from seqdoctor.checks import REGISTRY, Finding
from seqdoctor.checks.base import ColumnRef, SequenceRef
from seqdoctor.errors import ExitStatus, SeqdoctorError, UsageError
from seqdoctor.repairs.apply import Log, Outcome, PlanResult, Retries, apply_plans
from seqdoctor.repairs.context import read_context
from seqdoctor.repairs.model import GIGABYTE, Plan, RepairOptions
from seqdoctor.repairs.plan import REPAIRABLE, plan_repairs, serious, unrepaired
from seqdoctor.report import Report

NOT_CHECKED = "SEQ900"


@dataclass(frozen=True)
class FixPlan:
    """What a fresh audit found, and the plans that repair it."""

    report: Report
    plans: tuple[Plan, ...]
    unrepaired: tuple[Finding, ...]  # no automatic repair, or could not be checked
    options: RepairOptions
    select: tuple[str, ...]  # the checks that ran: the re-check runs them again
    # The audit scanned the tables no index let it read: so does the re-check.
    allow_seqscan: bool = False

    @property
    def unchecked(self) -> int:
        """How many objects the audit could not check (SEQ900): fix cannot judge them."""
        return sum(f.code == NOT_CHECKED for f in self.unrepaired)

    @property
    def exit_status(self) -> ExitStatus:
        """3 when objects could not be checked, 1 when repairs are waiting, else 0.

        As with ``check``, unknown outranks warning: a table locked past the
        lock timeout may hide just what fix is for, and a script reading 0
        would take it for healthy.
        """
        if self.unchecked:
            return ExitStatus.UNKNOWN
        waiting = any(p.applies or self.waits(p) for p in self.plans)
        return ExitStatus.WARNING if waiting else ExitStatus.OK

    def waits(self, plan: Plan) -> bool:
        """Whether *plan*, left unapplied, leaves a repair waiting (exit 1): it repairs a
        warning or worse, or its check was asked for. Info alone is not (as for check)."""
        return serious(plan) or bool(self.options.asked.intersection(plan.codes))


@dataclass(frozen=True)
class Comparison:
    """One thing about one object, before the repairs and after them."""

    object: str
    aspect: str  # findings | type | next value | limit
    before: str
    after: str


@dataclass(frozen=True)
class FixResult:
    fix: FixPlan
    results: tuple[PlanResult, ...]
    after: Report | None  # the re-audit of the tables the applied plans touched
    comparisons: tuple[Comparison, ...]
    still_found: tuple[Finding, ...]  # findings an applied plan should have removed
    recheck_error: str | None = None
    # The connection was lost while applying: the plans after the one it broke were not run.
    connection_lost: bool = False
    # Wall time of applying, the re-check aside: plans moved together share their batch's
    # time, and batches run on two connections at once, so their times do not add up to it.
    seconds: float = 0.0

    @property
    def exit_status(self) -> ExitStatus:
        """3 the connection was lost, 2 a plan failed or did not take, 3 objects not checked,
        1 plans held back, else 0.

        A lost connection (a server restarting, a session killed) is unknown
        rather than a failed repair: it says nothing of the repairs themselves,
        and the one it interrupted may or may not have committed.
        """
        if self.connection_lost:
            return ExitStatus.UNKNOWN
        outcomes = {r.outcome for r in self.results}
        if Outcome.FAILED in outcomes or self.still_found or self.recheck_error:
            return ExitStatus.CRITICAL
        if self.fix.unchecked:
            return ExitStatus.UNKNOWN
        if any(r.outcome is Outcome.SKIPPED and self.fix.waits(r.plan) for r in self.results):
            return ExitStatus.WARNING
        return ExitStatus.OK


def plan_fix(
    target: Target = "",
    *,
    schemas: str | Sequence[str] = (),
    exclude_schemas: str | Sequence[str] = (),
    tables: str | Sequence[str] = (),
    codes: str | Sequence[str] = (),
    lock: bool = False,
    allow_rewrite: bool = False,
    rewrite_threshold: int = GIGABYTE,
    lock_timeout: float = 2.0,
    statement_timeout: float = 30.0,
    allow_seqscan: bool = False,
    kept: KeptConnections | None = None,
) -> FixPlan:
    """Audit the database and plan the repairs of what it finds. Changes nothing.

    *codes* limits the repairs to findings of those checks (codes or names);
    the filters are those of :func:`seqdoctor.audit`. With *kept* (and a
    conninfo as *target*), the audit reads over connections left open for
    :func:`apply_fix`, whose server processes have the tables open already.
    """
    asked = _asked(patterns(codes))
    select = tuple(sorted((asked or REPAIRABLE) | {NOT_CHECKED}))
    timeouts = Timeouts(lock_timeout, statement_timeout)
    options = RepairOptions(lock, allow_rewrite, rewrite_threshold, timeouts, asked)
    # A conninfo is given as it is: the audit reads over two connections, as check does.
    report = audit(
        target,
        schemas=schemas,
        exclude_schemas=exclude_schemas,
        tables=tables,
        select=select,
        lock_timeout=lock_timeout,
        statement_timeout=statement_timeout,
        allow_seqscan=allow_seqscan,
        # Each table's write mark, for the re-check after applying (see apply_fix()).
        mark_changes=True,
        kept=kept,
    )
    with ExitStack() as stack:
        conn = _connections(target, stack, kept, 1)[0]
        try:
            with audit_session(conn):
                context = read_context(conn, report, timeouts)
        except psycopg.Error as error:
            raise stopped("could not read what the repairs need", error, conn) from None
    plans = plan_repairs(report, context, options)
    return FixPlan(report, plans, unrepaired(report, plans), options, select, allow_seqscan)


def _asked(codes: tuple[str, ...]) -> frozenset[str]:
    """The codes of the checks asked for (each must have a repair). Only they run, with the
    not-checked report, so that what could not be read is said; none asked: every
    repairable one runs."""
    chosen = [REGISTRY.get(code) for code in codes]
    for check in chosen:
        if check.code not in REPAIRABLE:
            known = ", ".join(sorted(REPAIRABLE))
            raise UsageError(f"{check.code} {check.name} has no repair (repairable: {known})")
    return frozenset(c.code for c in chosen)


def apply_fix(
    target: Target,
    fix: FixPlan,
    *,
    retries: Retries | None = None,
    log: Log | None = None,
    kept: KeptConnections | None = None,
) -> FixResult:
    """Apply the plans of *fix* that apply, then audit the tables they touched again.

    The audit again reads every position, and carries the columns' values
    read by *fix*'s audit for the tables whose write mark has not moved since
    (see ``seqdoctor.audit()``'s *earlier*): moving a sequence writes no
    table. It reads the catalog again after a repair that changed it, else
    when the catalog's mark moved (see :func:`_earlier`).

    *target* should be the database *fix* was planned on. A connection lost
    on the way is opened again for the re-audit when *target* is a conninfo;
    when that fails too, the result says what was applied before, and why it
    could not be checked again. With *kept* (and a conninfo), it applies and
    checks again over those connections, two of them: the batches of moves
    run on both at once (see :func:`~seqdoctor.repairs.apply.apply_plans`).
    """
    with ExitStack() as stack:
        conn, *also = _connections(target, stack, kept, APPLYING)
        started = time.monotonic()
        results = apply_plans(conn, fix.plans, fix.options, retries, log, also=also)
        seconds = time.monotonic() - started
        lost = any(each.broken for each in (conn, *also))
        applied = [r.plan for r in results if r.outcome in (Outcome.APPLIED, Outcome.UNCHANGED)]
        if not applied:
            return FixResult(fix, results, None, (), (), connection_lost=lost, seconds=seconds)
        try:
            if lost and isinstance(target, str) and kept is None:
                conn = stack.enter_context(connect(target))
            touched = sorted({table for plan in applied for table in plan.tables})
            after = audit(
                target if kept is not None and isinstance(target, str) else conn,
                kept=kept,
                tables=[f"{_glob(schema)}.{_glob(table)}" for schema, table in touched],
                select=fix.select,
                lock_timeout=fix.options.timeouts.lock,
                statement_timeout=fix.options.timeouts.statement,
                allow_seqscan=fix.allow_seqscan,
                earlier=_earlier(fix.report.snapshot, applied),
            )
        except (SeqdoctorError, psycopg.Error) as error:
            reason = error_message(error) if isinstance(error, psycopg.Error) else str(error)
            why = f"could not check again: {reason}"
            return FixResult(fix, results, None, (), (), why, connection_lost=lost, seconds=seconds)
    before = {_key(f) for plan in applied for f in plan.findings}
    still = tuple(f for f in after.findings if _key(f) in before)
    comparisons = tuple(_compare(fix.report.snapshot, after, applied))
    return FixResult(fix, results, after, comparisons, still, connection_lost=lost, seconds=seconds)


# The connections apply_fix() uses when it is given connections to keep.
APPLYING = 2


def _connections(
    target: Target, stack: ExitStack, kept: KeptConnections | None, count: int
) -> list[psycopg.Connection[Any]]:
    """*count* connections taken from *kept* (if given, with a conninfo: left open, and a
    lost one replaced), else one opened for the *stack*'s duration."""
    if kept is not None and isinstance(target, str):
        return kept.take(target, count)
    return [opened(target, stack)]


def _earlier(snapshot: Snapshot, applied: Sequence[Plan]) -> Snapshot:
    """What the re-audit after *applied* may carry from the planning audit's *snapshot*.

    The catalog is read again after a repair that changed it (a column's type,
    a sequence's limit): the catalog's mark, its write counters, can reach this
    session late, and would let the old inventory through. Plans that only
    move sequences change no catalog row (``setval()`` writes the sequence's
    own relation, ``LOCK TABLE`` nothing), so after them the mark decides, as
    for any audit given an earlier snapshot: a change another session made
    meanwhile moves it, or is as late as it would be for ``check``.
    """
    if all(plan.moves for plan in applied):
        return snapshot
    return replace(snapshot, inventory=None)


def _glob(name: str) -> str:
    """A name as a --table pattern matching only itself.

    >>> _glob("Order [Lines]*?")
    'Order [[]Lines][*][?]'
    """
    return "".join(f"[{c}]" if c in "[*?" else c for c in name)


def _key(finding: Finding) -> tuple[str, SequenceRef | None, ColumnRef | None]:
    return (finding.code, finding.sequence, finding.column)


def _compare(before: Snapshot, after: Report, plans: Sequence[Plan]) -> Iterator[Comparison]:
    """What changed on the objects the plans were about, and which of their findings remain.

    An object an audit could not judge (SEQ900: no index to read a column
    from, a lock, a privilege) shows "not checked" beside its findings:
    "none" would call it clean.
    """
    remaining = {_key(f) for f in after.findings}
    unjudged_before, unjudged_after = _unjudged(before), _unjudged(after.snapshot)
    objects: dict[str, list[Finding]] = {}
    for plan in plans:
        for finding in plan.findings:
            objects.setdefault(str(finding.column or finding.sequence), []).append(finding)
    for name, findings in objects.items():
        left = sorted({f.code for f in findings if _key(f) in remaining})
        codes = sorted({f.code for f in findings})
        then = [*codes, *(["not checked"] if name in unjudged_before else [])]
        still = [*left, *(["not checked"] if name in unjudged_after else [])]
        yield Comparison(name, "findings", ", ".join(then), ", ".join(still) or "none")
    touched = {table for plan in plans for table in plan.tables}
    sequences = {f.sequence for plan in plans for f in plan.findings if f.sequence}
    new_sequences = {SequenceRef.of(s): s for s in after.snapshot.sequences}
    for old in before.sequences:
        new = new_sequences.get(ref) if (ref := SequenceRef.of(old)) in sequences else None
        if new is None:
            continue
        if old.data_type != new.data_type:
            yield Comparison(old.qualified, "type", old.data_type, new.data_type)
        for aspect, was, now in (
            ("next value", old.next_value, new.next_value),
            ("limit", old.limit, new.limit),
        ):
            if was != now:
                yield Comparison(old.qualified, aspect, _value(was), _value(now))
    new_types = dict(_column_types(after.snapshot))
    for column, old_type in dict(_column_types(before)).items():
        new_type = new_types.get(column)
        if column[:2] in touched and new_type is not None and new_type != old_type:
            yield Comparison(qualify(*column), "type", old_type, new_type)


def _unjudged(snapshot: Snapshot) -> set[str]:
    """The objects, as findings name them, that *snapshot*'s audit could not read (SEQ900)."""
    names = set()
    for entry in snapshot.unreadable:
        if entry.column_key is not None:
            names.add(snapshot.use(entry.column_key).qualified)
        elif entry.sequence_oid is not None:
            names.add(snapshot.sequence(entry.sequence_oid).qualified)
    return names


def _column_types(snapshot: Snapshot) -> Iterator[tuple[tuple[str, str, str], str]]:
    """(schema, table, column) and type of every sequence-fed and foreign-key column."""
    for use in snapshot.uses:
        yield (use.schema, use.table, use.column), use.column_type
    for key in snapshot.foreign_keys:
        yield (key.schema, key.table, key.column), key.column_type


def _value(value: int | None) -> str:
    return "none (exhausted)" if value is None else f"{value:,}"
