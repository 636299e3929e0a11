"""Applying plans: one transaction each, bounded in time, logged, stopped at the first failure.

Each plan runs in its own transaction, opened with ``SET LOCAL`` lock and
statement timeouts, so no statement queues behind another session's lock for
longer than the lock timeout, and a lock queued behind us is held up as
briefly. A lock timeout, or a deadlock the server broke by ending our side
(a writer taking the same tables in another order), rolls the transaction
back and tries again after a pause that doubles each time, with some jitter,
a bounded number of times. Every other error
ends the plan: the transaction rolls back, nothing of it stays, and the plans
after it are not run. Errors become outcomes with the server's own words,
never tracebacks, so that the report can say what was applied and what was
not. Running the same repairs again afterwards converges: every plan checks,
inside its transaction, whether there is still something to do.

Plans that only move a sequence forward (SEQ001 without ``--lock``; sync's
moves) run up to :data:`BATCH` at a time instead: one transaction, one
message, a statement a sequence, in order. A sequence whose plan worked out
its next value from the audit's reads (:attr:`Advance.planned
<seqdoctor.repairs.model.Advance.planned>`) is set to it without reading a
table, if it is still as the audit read it; the others, and those, get the
statement that reads where they must go and sets them there
(:func:`~seqdoctor.repairs.advance.move_statements`). Both read the
sequence's position again inside ``setval()``, so a value handed out in
between is never taken back. The rules do not change: each sequence moves
forward only, past every column it feeds, and again while rows land past
it: each round after the first reads, for the sequences the round before
moved, whether a row holds a value at or past the one it was given (a probe
of each column's index), and runs the moving statement again for those
only. The statements run in order and none after an error: when one fails
(a lock not granted, a timeout, a sequence past its limit or not the role's
to set), the sequences of the batch are read back (``setval()`` is not
undone by the rollback) so that those moved before it say so, and its plans
run one at a time as above, with their retries: the one that failed fails
again on its own, in its turn, with its own error, which stops the plans
after it (those a first round set say so). Given more connections, the
batches run on all of them at once (see :func:`_batches`).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Container, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import psycopg
from psycopg import errors, sql

from seqdoctor.catalog.connection import (
    error_message,
    read_only_transaction,
    session,
    timeout_statements,
    transaction_block,
)
from seqdoctor.catalog.reading import all_rows, in_batches, load_query, oid_array, owner
from seqdoctor.errors import UsageError
from seqdoctor.repairs.advance import first_statements, landed_statements, move_statements
from seqdoctor.repairs.model import SETTLE_ROUNDS, Advance, Plan, RepairOptions, transaction

Connection = psycopg.Connection[Any]

# Sequences read and moved in one batch. Reading holds an ACCESS SHARE lock on
# each table, index and sequence read until the commit: a few hundred stays
# far inside a default server's lock table (64 locks a connection, shared).
BATCH = 200


class Outcome(StrEnum):
    APPLIED = "applied"
    UNCHANGED = "unchanged"  # ran, and found nothing left to do
    SKIPPED = "skipped"  # held back: display only, or needs a flag
    FAILED = "failed"  # rolled back; the plans after it were not run
    NOT_RUN = "not-run"  # an earlier plan failed


@dataclass(frozen=True)
class Step:
    """One statement run (or one wait), as the log shows it."""

    plan: int  # the plan's position, from 1
    attempt: int
    what: str
    seconds: float
    ok: bool
    result: str


@dataclass(frozen=True)
class PlanResult:
    plan: Plan
    outcome: Outcome
    detail: str
    seconds: float = 0.0
    attempts: int = 0
    steps: tuple[Step, ...] = field(default=())


@dataclass(frozen=True)
class Retries:
    """How often, and how long after, a plan that did not get its locks is tried again."""

    retries: int = 3
    backoff: float = 0.5  # seconds before the first retry, doubled before each next one

    def __post_init__(self) -> None:
        if self.retries < 0 or self.backoff < 0:
            raise UsageError("retries and their delay cannot be negative")

    def pause(self, attempt: int) -> float:
        """Seconds to wait after failed *attempt* (from 1): doubling, and up to half again.

        The random part keeps two sessions that collided (a deadlock ends one
        of them) from trying again in step and colliding again.

        >>> 0.5 <= Retries(backoff=0.5).pause(1) <= 0.75 and 1 <= Retries().pause(2) <= 1.5
        True
        """
        return self.backoff * 2.0 ** (attempt - 1) * random.uniform(1, 1.5)


Log = Callable[[Step], None]


def apply_plans(
    conn: Connection,
    plans: Sequence[Plan],
    options: RepairOptions | None = None,
    retries: Retries | None = None,
    log: Log | None = None,
    *,
    also: Sequence[Connection] = (),
) -> tuple[PlanResult, ...]:
    """Apply every plan that applies, in order; the result of each, applied or not.

    *conn* must not be inside a transaction; it is put in autocommit,
    read-write mode for the duration and restored afterwards. So are the
    connections in *also*, to the same database: the batches of plans that
    only move sequences are spread over all of them at once (see
    :func:`_batches`); every other plan runs on *conn*.
    """
    options = options or RepairOptions()
    retries = retries or Retries()
    told = _one_at_a_time(log) if also else (log or _ignore)
    results: list[PlanResult] = []
    with ExitStack() as sessions:
        for each in (conn, *also):
            sessions.enter_context(session(each, writes=True, who="applying repairs"))
        position = 0
        while position < len(plans):
            plan, done = plans[position], len(results)
            if not plan.applies:
                results.append(PlanResult(plan, Outcome.SKIPPED, plan.held_back or ""))
            elif moves := _moves_only(plans, position):
                results += _batches(
                    [conn, *also], position + 1, moves, options=options, retries=retries, log=told
                )
            else:
                applied = _apply(
                    conn, position + 1, plan, options=options, retries=retries, log=told
                )
                results.append(applied)
            position += len(results) - done
            if _stopped(results[done:]):  # a batch may end on a plan applied after a failed one
                results += [PlanResult(p, Outcome.NOT_RUN, _NOT_RUN) for p in plans[position:]]
                break
    return tuple(results)


def _stopped(results: Sequence[PlanResult]) -> bool:
    return any(r.outcome in (Outcome.FAILED, Outcome.NOT_RUN) for r in results)


def _moves_only(plans: Sequence[Plan], position: int) -> Sequence[Plan]:
    """The plans from *position* on that apply and only move a sequence; none for one."""
    end = position
    while end < len(plans) and plans[end].applies and plans[end].advance is not None:
        end += 1
    return plans[position:end] if end - position > 1 else ()


def _batches(
    conns: Sequence[Connection],
    first: int,
    plans: Sequence[Plan],
    *,
    options: RepairOptions,
    retries: Retries,
    log: Log,
) -> list[PlanResult]:
    """*plans*, each moving a sequence only, applied BATCH at a time; their results in
    order (the first is plan *first*).

    Each sequence is moved on the connection that read its columns when it was
    audited over the same connections (:func:`~seqdoctor.catalog.reading.owner`),
    whose server process has its tables, indexes and sequence open already. With
    one connection the batches run one after another, and none after one that
    failed. With more, each runs its own batches, in order, side by side with
    the others, each batch in its own transactions (no two touch the same
    sequence, and reading a table's max() takes only ACCESS SHARE): a failure
    stops the batches not yet started, on every connection, and the one already
    under way on another finishes, its results said as they are. An
    interruption (Ctrl-C) or an error that is no plan's starts no batch after
    it either, on any connection.
    """
    shares: list[list[int]] = [[] for _ in conns]
    for i, plan in enumerate(plans):
        shares[owner(_advance(plan).sequence.oid, len(conns))].append(i)
    results: dict[int, PlanResult] = {}
    stop = threading.Event()

    def run(conn: Connection, share: Sequence[int]) -> None:
        for batch in in_batches(share, BATCH):
            if stop.is_set():
                for i in batch:
                    results[i] = PlanResult(plans[i], Outcome.NOT_RUN, _NOT_RUN)
                continue
            numbers = [first + i for i in batch]
            try:
                if len(batch) == 1:
                    done = [
                        _apply(
                            conn,
                            numbers[0],
                            plans[batch[0]],
                            options=options,
                            retries=retries,
                            log=log,
                        )
                    ]
                else:
                    done = _Batch(
                        conn,
                        numbers,
                        [plans[i] for i in batch],
                        options=options,
                        retries=retries,
                        log=log,
                    ).run()
            except BaseException:  # not a plan's failure (those are results): nothing more starts
                stop.set()
                raise
            for i, result in zip(batch, done, strict=True):
                results[i] = result
            if _stopped(done):
                stop.set()

    with ThreadPoolExecutor(max_workers=len(conns)) as pool:
        running = [pool.submit(run, conn, share) for conn, share in zip(conns, shares, strict=True)]
        try:
            for each in running:
                each.result()
        except BaseException:
            # Ctrl-C, or an error not a plan's: the batches under way end, no other starts.
            stop.set()
            raise
    return [results[i] for i in range(len(plans))]


def _one_at_a_time(log: Log | None) -> Log:
    """*log*, called by one batch at a time: batches on several connections run in threads."""
    if log is None:
        return _ignore
    lock = threading.Lock()

    def logged(step: Step) -> None:
        with lock:
            log(step)

    return logged


def _ignore(step: Step) -> None:
    pass


@dataclass
class _Run:
    """What one attempt did, filled in as it goes, so that a failure can say how far it got."""

    index: int
    attempt: int
    log: Log
    steps: list[Step]
    committing: bool = False
    moved: list[tuple[Any, ...]] = field(default_factory=list)  # rows of settling rounds

    def record(self, what: str, started: float, ok: bool, result: str) -> None:
        step = Step(self.index, self.attempt, what, time.monotonic() - started, ok, result)
        self.steps.append(step)
        self.log(step)


def _apply(
    conn: Connection,
    index: int,
    plan: Plan,
    *,
    options: RepairOptions,
    retries: Retries,
    log: Log,
    moved: Sequence[tuple[Any, ...]] = (),
) -> PlanResult:
    """Run *plan* until it applies, fails, or runs out of retries; *moved*: what a batch
    already moved of it (sequence, next value before, next value after)."""
    started = time.monotonic()
    steps: list[Step] = []
    attempt = 0

    def done(outcome: Outcome, detail: str) -> PlanResult:
        seconds = time.monotonic() - started
        if outcome is Outcome.FAILED and moved:  # a batch's round moved it before
            detail = f"next value {moved[0][1]:,} → {moved[-1][2]:,}; then {detail}"
        return PlanResult(plan, outcome, detail, seconds, attempt, tuple(steps))

    while True:
        attempt += 1
        run = _Run(index, attempt, log, steps, moved=list(moved))
        try:
            settled = _attempt(conn, plan, options, run)
        except (errors.LockNotAvailable, errors.DeadlockDetected) as error:
            deadlock = isinstance(error, errors.DeadlockDetected)
            if attempt > retries.retries:
                detail = (
                    f"deadlocked with other sessions in {attempt} attempts: they take the same "
                    "tables in another order"
                    if deadlock
                    else f"its locks were not granted in {attempt} attempts of "
                    f"{options.timeouts.lock:g} s: another session holds them"
                )
                return done(Outcome.FAILED, detail)
            pause = retries.pause(attempt)
            waited = time.monotonic()
            time.sleep(pause)
            why = "deadlock with another session" if deadlock else "lock not granted"
            run.record("waiting", waited, True, f"{why}; trying again in {pause:.2g} s")
            continue
        except psycopg.Error as error:
            detail = _explain(error, conn, run.committing)
            return done(Outcome.FAILED, detail)
        break
    if not plan.moves:
        return done(Outcome.APPLIED, "applied")
    outcome, detail = _moved(run.moved, settled)
    return done(outcome, detail)


def _moved(moved: Sequence[tuple[Any, ...]], settled: bool) -> tuple[Outcome, str]:
    """A moving plan's outcome from the moves its rounds made: (sequence, before, after) each."""
    if not moved:
        return Outcome.UNCHANGED, "nothing to do: the sequence is already past the data"
    detail = f"next value {moved[0][1]:,} → {moved[-1][2]:,}"
    if not settled:
        detail += f"; rows kept landing past it in {SETTLE_ROUNDS} rounds: run it again with --lock"
    return Outcome.APPLIED, detail


class _Batch:
    """Advance plans applied together (see the module's docstring); one at a time where not."""

    def __init__(
        self,
        conn: Connection,
        numbers: Sequence[int],
        plans: Sequence[Plan],
        *,
        options: RepairOptions,
        retries: Retries,
        log: Log,
    ) -> None:
        # *numbers*: each plan's position among all the plans applied, from 1, as the log says.
        self.conn, self.numbers, self.plans = conn, numbers, plans
        self.options, self.retries, self.log = options, retries, log
        self.started = time.monotonic()
        # Per plan: the moves its rounds made (sequence, next before, next after), its steps.
        self.moved: list[list[tuple[Any, ...]]] = [[] for _ in plans]
        self.steps: list[list[Step]] = [[] for _ in plans]
        self.results: dict[int, PlanResult] = {}
        self.advances = [_advance(plan) for plan in plans]
        self.index = {advance.sequence.oid: i for i, advance in enumerate(self.advances)}

    def run(self) -> list[PlanResult]:
        pending = list(range(len(self.plans)))
        alone: list[int] = []  # left to run on their own, in order
        for round_number in range(1, SETTLE_ROUNDS + 1):
            try:
                if round_number > 1:
                    pending = self._settle_others(pending, self._landed(pending, round_number))
                    if not pending:
                        break
                    moved = self._round(pending, round_number)
                else:
                    moved = self._first_round(pending)
            except psycopg.Error as error:
                if self.conn.broken:
                    return self._lost(pending, error)
                self._recover(pending, round_number)
                alone, pending = pending, []
                break
            pending = self._settle_others(pending, moved)
            if not pending:
                break
        for i in pending:  # still moving after the last round
            self._done(i, settled=False)
        for i in alone:
            self._alone(i)
        return [self.results[i] for i in range(len(self.plans))]

    def _run(self, statements: str) -> list[tuple[Any, ...]]:
        """The rows of *statements*, run after the timeouts in one transaction, one message
        (:func:`~seqdoctor.catalog.reading.all_rows`: in the connection's encoding)."""
        timeouts = sql.SQL(";\n").join(timeout_statements(self.options.timeouts))
        with transaction_block(self.conn):
            return all_rows(self.conn, timeouts.as_string(self.conn) + ";\n" + statements)

    def _first_round(self, pending: Sequence[int]) -> set[int]:
        """Set each sequence whose plan worked out its next value to it, and move the others
        with the statement that reads their data, in order; then move with that statement
        those the first found changed since the audit. Those whose sequence moved."""
        statements = first_statements([self.advances[i] for i in pending])
        moved = self._moves(pending, 1, statements, planned=True)
        changed = [i for i in pending if self.advances[i].planned is not None and i not in moved]
        if changed:
            moved |= self._round(changed, 1)
        return moved

    def _round(self, pending: Sequence[int], round_number: int) -> set[int]:
        """Move the *pending* plans' sequences in one transaction; those whose sequence moved."""
        statements = move_statements([self.advances[i].row for i in pending])
        return self._moves(pending, round_number, statements, planned=False)

    def _moves(
        self, pending: Sequence[int], round_number: int, statements: str, *, planned: bool
    ) -> set[int]:
        """Run moving *statements*, one for each of the *pending* plans, in one transaction;
        those whose sequence moved. *planned*: those with a planned value were set to it."""
        started = time.monotonic()
        rows = self._run(statements)
        seconds = time.monotonic() - started
        # Rows are (sequence, next value before, step, the value set).
        for oid, before, step, set_to in rows:
            i = self.index[oid]
            self.moved[i].append((self.advances[i].sequence.qualified, before, set_to + step))
        moved = {self.index[row[0]] for row in rows}
        for i in pending:
            said = (
                "next value {1:,} → {2:,}".format(*self.moved[i][-1]) if i in moved else "no rows"
            )
            done = "setval()"
            if planned and self.advances[i].planned is not None:
                done = "setval() to the value planned"
            self._record(i, round_number, seconds, said, done=done)
        return moved

    def _landed(self, pending: Sequence[int], round_number: int) -> set[int]:
        """Those of the *pending* plans whose data holds a value at or past the next value
        their last round gave their sequence: they move again in this round.

        One transaction, one message, reading only (see
        :func:`~seqdoctor.repairs.advance.landed_statements`); the others are done, and
        their step says the round found nothing to move, as a moving statement would.
        """
        moved = [(self.advances[i], self.moved[i][-1][2]) for i in pending]
        statements = landed_statements(moved)
        if not statements:  # only floors to reach (sync), reached once and for all
            return set()
        started = time.monotonic()
        landed = {self.index[oid] for (oid,) in self._run(statements)}
        seconds = time.monotonic() - started
        for i in pending:
            if i not in landed:
                self._record(i, round_number, seconds, "no rows", done="data read again")
        return landed

    def _recover(self, pending: Sequence[int], round_number: int) -> None:
        """What a round that failed moved before its error, read back from the sequences.

        Its statements ran in order until one failed: those before it may have
        moved their sequence (``setval()`` is not undone by the rollback), which
        is seen as a position past the one the plan last knew (values the
        application handed out since count too: the sequence moved forward
        either way). A sequence whose position cannot be read is left as
        unknown: its plan, run on its own, finds it past its data and says so.
        """
        sequences = [self.advances[i].sequence for i in pending]
        query = load_query("list_sequence_positions", self.conn.info.server_version)
        started = time.monotonic()
        try:
            with read_only_transaction(self.conn, self.options.timeouts):
                oids = oid_array(s.oid for s in sequences)
                rows = self.conn.execute(query.encode(), {"oids": oids})
                positions = {oid: (last, called) for oid, last, called in rows.fetchall()}
        except psycopg.Error:
            return
        seconds = time.monotonic() - started
        for i, sequence in zip(pending, sequences, strict=True):
            last, called = positions.get(sequence.oid, (None, False))
            known = self.moved[i][-1][2] if self.moved[i] else sequence.next_value
            if not called or last is None or known is None:
                continue  # setval() leaves a sequence called: this one was not moved
            now = last + sequence.increment_by
            if (now - known) * sequence.increment_by > 0:
                self.moved[i].append((sequence.qualified, known, now))
                self._record(i, round_number, seconds, f"next value {known:,} → {now:,}")

    def _record(
        self, i: int, round_number: int, seconds: float, result: str, *, done: str = "setval()"
    ) -> None:
        again = f"round {round_number}: " if round_number > 1 else ""
        what = f"{again}{done} in one transaction with {len(self.plans) - 1} other sequences"
        step = Step(self.numbers[i], 1, what, seconds, True, result)
        self.steps[i].append(step)
        self.log(step)

    def _settle_others(self, pending: Sequence[int], going_on: Container[int]) -> list[int]:
        """Those of *pending* in *going_on*, in order; the others are done, settled."""
        for i in pending:
            if i not in going_on:
                self._done(i, settled=True)
        return [i for i in pending if i in going_on]

    def _done(self, i: int, *, settled: bool, more: str = "") -> None:
        outcome, detail = _moved(self.moved[i], settled)
        self.results[i] = PlanResult(
            self.plans[i],
            outcome,
            detail + more,
            time.monotonic() - self.started,
            len(self.steps[i]),
            tuple(self.steps[i]),
        )

    def _alone(self, i: int) -> None:
        """Plan *i* run on its own, after what the batch moved of it, unless one failed before:
        then it is not run, or, when the batch moved it already, it says so."""
        if _stopped(list(self.results.values())):
            if self.moved[i]:
                self._done(i, settled=True, more=_NOT_READ_AGAIN)
            else:
                self.results[i] = PlanResult(self.plans[i], Outcome.NOT_RUN, _NOT_RUN)
            return
        self.results[i] = _apply(
            self.conn,
            self.numbers[i],
            self.plans[i],
            options=self.options,
            retries=self.retries,
            log=self.log,
            moved=self.moved[i],
        )

    def _lost(self, pending: Sequence[int], error: psycopg.Error) -> list[PlanResult]:
        """The connection broke during a round: what that round did to *pending* is unknown."""
        message = error_message(error)
        failed = False
        for i, plan in enumerate(self.plans):
            if i in self.results:
                continue
            if i in pending and self.moved[i]:
                self._done(i, settled=True, more=f"; then the connection was lost ({message})")
            elif i in pending and not failed:
                failed = True
                detail = (
                    f"lost the connection ({message}) while moving {len(pending)} sequences "
                    "together: they may or may not have moved; run fix again to see what is left"
                )
                self.results[i] = PlanResult(plan, Outcome.FAILED, detail)
            else:
                self.results[i] = PlanResult(plan, Outcome.NOT_RUN, _NOT_RUN)
        return [self.results[i] for i in range(len(self.plans))]


_NOT_RUN = "not run: an earlier plan failed"
_NOT_READ_AGAIN = "; its data not read again for rows landing past it: an earlier plan failed"


def _advance(plan: Plan) -> Advance:
    if plan.advance is None:  # pragma: no cover - _moves_only() takes advance plans only
        raise ValueError(f"{plan.title}: not a plan that only moves a sequence")
    return plan.advance


def _attempt(conn: Connection, plan: Plan, options: RepairOptions, run: _Run) -> bool:
    """Run the plan's transaction (again while it settles); whether it settled."""
    statements = transaction(plan, options.timeouts)
    message = sql.SQL(";\n").join(statements).as_bytes(conn)
    headlines = [_headline(statement.as_string(conn)) for statement in statements]
    for _ in range(SETTLE_ROUNDS if plan.settle else 1):
        rows: list[tuple[Any, ...]] = []
        run.committing = False
        with transaction_block(conn):
            rows = _execute(conn, message, headlines, run)
            run.committing = True
            committed = time.monotonic()
        run.record("COMMIT", committed, True, "ok")
        run.committing = False
        if plan.moves:
            run.moved += rows
        if not (plan.settle and rows):
            return True
    return False


def _execute(
    conn: Connection, message: bytes, headlines: Sequence[str], run: _Run
) -> list[tuple[Any, ...]]:
    """A transaction's statements, sent as one message; the rows of the last one.

    One message, one round trip: waiting for each statement's reply cost
    several times what the server spends on them, with 10,000 plans. The
    server runs the statements one after another, each parsed once the one
    before it ran (so SET LOCAL search_path binds the names after it), each
    under the statement timeout (PostgreSQL 13 and later time each statement
    of a message on its own), and runs nothing more after an error, as if they
    had been sent one at a time. The replies before an error are lost with it,
    so a failed message is logged as one step: its statements, and the
    server's error.
    """
    started = time.monotonic()
    rows: list[tuple[Any, ...]] = []
    with psycopg.ClientCursor(conn) as cursor:
        try:
            cursor.execute(message)
        except psycopg.Error as error:
            run.record("; ".join(headlines), started, False, error_message(error))
            raise
        # The cursor moves from each statement's reply to the next.
        for what, reply in zip(headlines, cursor.results(), strict=True):
            rows = reply.fetchall() if reply.description else []
            run.record(what, started, True, _said(reply, rows))
    return rows


def _said(cursor: psycopg.ClientCursor[Any], rows: list[tuple[Any, ...]]) -> str:
    """A statement's result for the log: its rows, "no rows", or "ok"."""
    if not cursor.description:
        return "ok"
    if not rows:
        return "no rows"
    names = [column.name for column in cursor.description]
    return "; ".join(", ".join(f"{n} {v}" for n, v in zip(names, row, strict=True)) for row in rows)


def _headline(text: str, width: int = 72) -> str:
    """A statement's first line, shortened for the log.

    >>> _headline("WITH sequence AS (\\n    SELECT 1\\n) SELECT 2")
    'WITH sequence AS (…'
    """
    first, _, rest = text.strip().partition("\n")
    if len(first) > width:
        return first[: width - 1] + "…"
    return first + ("…" if rest else "")


def _explain(error: psycopg.Error, conn: Connection, committing: bool) -> str:
    message = error_message(error)
    if conn.broken or (isinstance(error, psycopg.OperationalError) and conn.closed):
        if committing:
            return (
                f"lost the connection while committing ({message}): the change may or may "
                "not have been made; run fix again to see what is left"
            )
        return f"lost the connection ({message}): the transaction was rolled back"
    if isinstance(error, errors.QueryCanceled):
        return f"{message}: a statement ran past the statement timeout; nothing was changed"
    if isinstance(error, errors.InsufficientPrivilege):
        return (
            f"{message}: run it as the owner of the objects it changes (or a superuser); "
            "nothing was changed"
        )
    if isinstance(error, errors.NumericValueOutOfRange):
        return f"{message}: the data reaches the sequence's limit; widen the sequence first"
    hint = f" ({error.diag.message_hint})" if error.diag.message_hint else ""
    return f"{message}{hint}; nothing was changed"
