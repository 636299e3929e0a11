"""Running an online widening: each call reads where it stands, then does what is left.

Every call starts from the catalog (:mod:`.state`), never from a journal: after
a crash, a killed session or a lock not granted, the same call again goes on
where the last one stopped. Locks are always taken under ``lock_timeout``,
retried with jitter until a deadline, and never by ending other sessions.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import Any, cast

import psycopg
from psycopg import errors, sql

from seqdoctor.catalog.connection import (
    PINNED_SEARCH_PATH,
    Target,
    Timeouts,
    connect,
    error_message,
    opened,
    session,
    stopped,
    transaction_block,
)
from seqdoctor.catalog.dependents import list_column_dependents
from seqdoctor.catalog.family import (
    ColumnAttachment,
    KeyFamily,
    find_column,
    list_lock_holders,
    list_online_widenings,
    read_attached,
    read_family,
    read_replication_lag,
)
from seqdoctor.catalog.model import TYPE_NAMES, qualify
from seqdoctor.errors import UsageError
from seqdoctor.repairs.model import Statement
from seqdoctor.repairs.online import backfill, names, rebuild, swap
from seqdoctor.repairs.online import plan as planning
from seqdoctor.repairs.online.backfill import Progress, Walked
from seqdoctor.repairs.online.model import (
    OnlineError,
    OnlineOptions,
    OnlinePlan,
    Phase,
    Step,
    TablePlan,
)
from seqdoctor.repairs.online.shadow import lock_timeout_statement, set_statement_timeout
from seqdoctor.repairs.online.state import (
    OURS,
    Status,
    TableState,
    detect,
    swapped_tables,
    widened_columns,
)

Connection = psycopg.Connection[Any]
# A column to widen: (table oid, attnum), or (schema, table, column) by name.
Column = tuple[int, int] | tuple[str, str, str]
THROTTLE_EVERY = 1.0  # s between two looks at replication lag
THROTTLE_SLEEP = 1.0  # s paused while replication trails


@dataclass(frozen=True)
class Advanced:
    """What one call of :func:`advance` did, and where the widening stands after it."""

    plan: OnlinePlan
    phase: Phase  # the last phase complete on every table
    shadowed: tuple[str, ...]  # tables phase 2 ran on in this call
    backfilled: tuple[Walked, ...]
    verified: tuple[Walked, ...]
    built: tuple[str, ...] = ()  # indexes and foreign keys phase 5 made in this call

    @property
    def rows_per_second(self) -> float | None:
        """The backfill's measured rate, for the next plan's estimate; None: too little to say."""
        rows = sum(w.rows_written for w in self.backfilled)
        seconds = sum(w.seconds for w in self.backfilled)
        return rows / seconds if rows >= 1000 and seconds > 0 else None

    @property
    def wal_per_row(self) -> float | None:
        """WAL bytes per row backfilled (other sessions' WAL included): for the next estimate."""
        measured = [w for w in self.backfilled if w.wal_bytes is not None]
        rows = sum(w.rows_written for w in measured)
        wal = sum(w.wal_bytes or 0 for w in measured)
        return wal / rows if rows >= 1000 else None


def seeds(conn: Connection, columns: Iterable[Column], timeouts: Timeouts) -> list[tuple[int, int]]:
    """Columns as (table oid, attnum); one named that does not exist is a usage error."""
    found = []
    for column in columns:
        if len(column) == 2:
            found.append((int(column[0]), int(column[1])))
            continue
        schema, table, name = (str(part) for part in column)
        key = find_column(conn, schema, table, name, timeouts)
        if key is None:
            raise UsageError(f"no column {schema}.{table}.{name}")
        found.append(key)
    return found


def read_plan(
    conn: Connection, columns: Iterable[Column], options: OnlineOptions, timeouts: Timeouts
) -> OnlinePlan:
    """Phase 1 on an open connection: read the family and everything around it, and plan."""
    try:
        family = read_family(conn, seeds(conn, columns, timeouts), timeouts)
    except psycopg.Error as error:
        raise stopped("cannot read the key family", error, conn) from None
    if not family.columns:
        raise UsageError("none of the columns given exists")
    # The views over the columns the swap changes: the narrow ones, or past the
    # swap, the new ones (a revert swaps them back).
    narrow = [c.key for c in family.columns if c.type_name in planning.NARROW]
    try:
        dependents = list_column_dependents(
            conn, narrow or [c.key for c in family.columns], timeouts
        )
    except psycopg.Error as error:
        raise stopped("cannot read the views over the key family", error, conn) from None
    return planning.build(family, options, dependents)


def plan(
    target: Target,
    columns: Iterable[Column],
    options: OnlineOptions | None = None,
    timeouts: Timeouts | None = None,
) -> OnlinePlan:
    """The plan of an online widening (phase 1, read only)."""
    with ExitStack() as stack:
        conn = opened(target, stack)
        with session(conn, writes=False, who="the online widening's plan"):
            return read_plan(conn, columns, options or OnlineOptions(), timeouts or Timeouts())


def status(target: Target, columns: Iterable[Column], timeouts: Timeouts | None = None) -> Status:
    """Where the widening of *columns* stands, from the catalog."""
    built = plan(target, columns, timeouts=timeouts)
    family = built.family
    swapped, _ = swapped_tables(family.tables, family.objects)
    return detect(built.tables, family.objects, family.attachments, family.foreign_keys, swapped)


def under_way(target: Target, timeouts: Timeouts | None = None) -> list[Column]:
    """A column of every online widening under way in the database (its triggers name them):
    what the command line resumes, reverts or cleans up when the audit no longer reports it."""
    with ExitStack() as stack:
        conn = opened(target, stack)
        with session(conn, writes=False, who="the online widening's plan"):
            try:
                found = list_online_widenings(conn, timeouts or Timeouts())
            except psycopg.Error as error:
                raise stopped("cannot read the online widenings", error, conn) from None
    return [(w.schema, w.table, column) for w in found for column in widened_columns(w.body)]


def advance(
    target: Target,
    columns: Iterable[Column],
    *,
    until: Phase = Phase.VERIFIED,
    options: OnlineOptions | None = None,
    timeouts: Timeouts | None = None,
    progress: Progress | None = None,
) -> Advanced:
    """Do what is left of the phases up to *until* (SWAPPED: the whole widening; CLEANED: and
    the old columns dropped).

    Refused plans raise :class:`OnlineError` with every reason; nothing is changed.
    """
    options = options or OnlineOptions()
    timeouts = timeouts or Timeouts()
    with ExitStack() as stack:
        conn = opened(target, stack)
        with session(conn, writes=True, who="the online widening"):
            built = read_plan(conn, columns, options, timeouts)
            if built.refused:
                raise OnlineError(
                    "cannot widen online: "
                    + "; ".join(f"{r.subject}: {r.reason}" for r in built.refusals)
                )
            if not built.tables:  # past the swap, or nothing narrow left
                if until >= Phase.SWAPPED:
                    for step in _steps(built, Phase.SWAPPED):  # a serial widened by hand
                        _locked(conn, step.statements, options, step.subject)
                if until >= Phase.CLEANED:
                    for step in built.cleanup_steps:
                        _locked(conn, step.statements, options, step.subject)
                done = not built.cleanup_steps or until >= Phase.CLEANED
                reached = Phase.CLEANED if done else Phase.SWAPPED
                return Advanced(built, min(until, reached), (), (), ())
            family = built.family
            state = detect(built.tables, family.objects, family.attachments, family.foreign_keys)
            shadowed = []
            for table_status, step in zip(state.tables, _steps(built, Phase.SHADOWED), strict=True):
                if table_status.state is not TableState.SHADOWED:
                    _locked(conn, step.statements, options, step.subject)
                    shadowed.append(step.subject)
            walked: dict[Phase, list[Walked]] = {Phase.BACKFILLED: [], Phase.VERIFIED: []}
            throttle = _throttle(conn, options, timeouts)
            for phase in walked:
                if until < phase:
                    break
                if phase is Phase.BACKFILLED and state.phase is Phase.BUILT:
                    # Built after a clean verification: what differs since (a write
                    # behind the trigger's back) the verification copies again. Only
                    # the verification walks again, for the swap's mark.
                    continue
                walks = _Walks(target, conn, phase, options, progress, throttle)
                walked[phase] = walks.run(built.tables)
            made: list[str] = []
            if until >= Phase.BUILT:
                made = _build(conn, built.family, built.tables, options)
            if until >= Phase.SWAPPED:
                marks = {
                    w.table: None if w.batches == 0 else w.upper for w in walked[Phase.VERIFIED]
                }
                walks = _Walks(target, conn, Phase.VERIFIED, options, progress, throttle)
                _swap(conn, built, built.tables, walks.caught_up(built.tables, marks), options)
            if until >= Phase.CLEANED:
                cleaned = read_plan(conn, columns, options, timeouts)
                for step in cleaned.cleanup_steps:
                    _locked(conn, step.statements, options, step.subject)
            return Advanced(
                plan=built,
                phase=until,
                shadowed=tuple(shadowed),
                backfilled=tuple(walked[Phase.BACKFILLED]),
                verified=tuple(walked[Phase.VERIFIED]),
                built=tuple(made),
            )


class _Walks:
    """Phase 3 or 4 over a family's tables: in this session one after the other, or with
    ``options.jobs`` sessions at once, each table's keys cut in as many slices, each slice
    walked by the first session free.

    More sessions take more of the server's time, and the writers' share with
    it: the throttles (replication and WAL, checked before every batch of every
    session) still bound them. A connection the caller opened cannot be
    multiplied: with one, the walks run in it, one after the other.
    """

    def __init__(  # noqa: PLR0917
        self,
        target: Target,
        conn: Connection,
        phase: Phase,
        options: OnlineOptions,
        progress: Progress | None,
        throttle: Callable[[], None],
    ) -> None:
        self.target, self.conn, self.phase, self.options = target, conn, phase, options
        self.walk = backfill.backfill if phase is Phase.BACKFILLED else backfill.verify
        self.progress, self.throttle = progress, throttle
        self.lock = threading.Lock()  # the throttle's session, the progress and the sessions
        self.failed = threading.Event()
        self.sessions: list[Connection] = []
        self.local = threading.local()
        self.done: dict[tuple[str, int], int] = {}  # (table, slice): keys (or pages) walked
        self.totals: dict[str, int] = {}  # table: keys (or pages) to walk

    def run(self, tables: Sequence[TablePlan]) -> list[Walked]:
        if self.options.jobs == 1 or isinstance(self.target, psycopg.Connection):
            return [self._one(self.conn, table, None, None) for table in tables]
        slices = [
            (table, index, span) for table in tables for index, span in enumerate(self._cut(table))
        ]
        try:
            with ThreadPoolExecutor(self.options.jobs, "seqdoctor-walk") as pool:
                futures = [pool.submit(self._slice, *item) for item in slices]
                wait(futures)
        finally:
            for each in self.sessions:
                each.close()
        errors = [f.exception() for f in futures if f.exception() is not None]
        first = next((e for e in errors if not isinstance(e, _Stopped)), None)
        if first is not None:
            raise first
        results = [f.result() for f in futures]
        return [
            _merged(table, [w for (t, _, _), w in zip(slices, results, strict=True) if t is table])
            for table in tables
        ]

    def caught_up(
        self, tables: Sequence[TablePlan], marks: dict[str, int | None]
    ) -> dict[str, int | None]:
        """The verification's *marks* moved up to now, for the swap.

        The rows written since the verification (during the index builds:
        minutes of writes on a large table) are compared here, outside any lock,
        so that the swap's last check reads under its locks only what was
        written in the seconds since, not the builds' worth.
        """
        moved = dict(marks)
        for table in tables:
            mark = marks.get(table.qualified)
            if mark is None:
                continue
            try:
                bounds = backfill.read_bounds(self.conn, table)
            except psycopg.Error as error:
                raise self._failure(self.conn, table, error) from None
            if bounds is not None and bounds[1] > mark:
                moved[table.qualified] = self._one(self.conn, table, None, (mark, bounds[1])).upper
        return moved

    def _cut(self, table: TablePlan) -> list[tuple[int, int] | None]:
        """*table*'s keys (or pages) in up to ``jobs`` slices; [None] for an empty table."""
        try:
            bounds = backfill.read_bounds(self.conn, table)
        except psycopg.Error as error:
            raise self._failure(self.conn, table, error) from None
        if bounds is None:
            return [None]
        low, high = bounds
        self.totals[table.qualified] = high + 1 - low
        count = max(1, min(self.options.jobs, (high + 1 - low) // self.options.first_batch))
        edges = [low + (high + 1 - low) * n // count for n in range(count + 1)]
        return [(edges[n], edges[n + 1] - 1) for n in range(count)]

    def _slice(self, table: TablePlan, index: int, span: tuple[int, int] | None) -> Walked:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            with self.lock:
                conn = self.local.conn = connect(cast(str, self.target))
                self.sessions.append(conn)
        return self._one(conn, table, index, span)

    def _one(
        self, conn: Connection, table: TablePlan, index: int | None, span: tuple[int, int] | None
    ) -> Walked:
        """One walk of *table* (or of its *span*) in *conn*, its errors as OnlineError."""
        if index is not None and span is None:  # an empty table
            return Walked(table.qualified, 0, 0, 0, 0.0, 0)
        try:
            return self.walk(conn, table, self.options, self._progress(index), self._throttle, span)
        except psycopg.Error as error:
            self.failed.set()
            raise self._failure(conn, table, error) from None
        except BaseException:
            self.failed.set()
            raise

    def _failure(self, conn: Connection, table: TablePlan, error: psycopg.Error) -> OnlineError:
        if conn.broken:
            return OnlineError(f"lost the connection: {error_message(error)}")
        what = "backfill" if self.phase is Phase.BACKFILLED else "verification"
        return OnlineError(f"{what} of {table.qualified}: {error_message(error)}")

    def _throttle(self) -> None:
        if self.failed.is_set():  # another session failed: the walk stops at its next batch
            raise _Stopped
        with self.lock:
            self.throttle()

    def _progress(self, index: int | None) -> Progress | None:
        """The progress of a slice, reported as its table's: the sum over its slices."""
        report = self.progress
        if report is None or index is None:
            return report

        def sliced(table: str, phase: str, done: int, total: int) -> None:
            with self.lock:
                self.done[table, index] = done
                done = sum(d for (t, _), d in self.done.items() if t == table)
                report(table, phase, done, self.totals[table])

        return sliced


class _Stopped(OnlineError):
    """A walk stopped because another session's walk failed."""

    def __init__(self) -> None:
        super().__init__("stopped: another session's walk failed")


def _merged(table: TablePlan, slices: Sequence[Walked]) -> Walked:
    """The walks of *table*'s slices as one walk (its seconds: the longest slice's)."""
    if len(slices) == 1:
        return slices[0]
    measured = [w.wal_bytes for w in slices if w.wal_bytes is not None]
    return Walked(
        table.qualified,
        sum(w.rows_written for w in slices),
        sum(w.differences for w in slices),
        sum(w.batches for w in slices),
        max(w.seconds for w in slices),
        max(w.upper for w in slices),
        max(measured) if measured else None,
    )


def revert(
    target: Target,
    columns: Iterable[Column],
    options: OnlineOptions | None = None,
    timeouts: Timeouts | None = None,
    progress: Progress | None = None,
) -> OnlinePlan:
    """Undo a widening not cleaned up yet: the tables end as they were before it.

    Before the swap, what phases 2-5 made is dropped. After it, the swap is
    undone first (:func:`_unswap`), then the same. Runs whatever the
    refusals say: a refused plan may still have been started by hand, or the
    family may have changed since.
    """
    options = options or OnlineOptions()
    timeouts = timeouts or Timeouts()
    with ExitStack() as stack:
        conn = opened(target, stack)
        with session(conn, writes=True, who="the online widening's revert"):
            built = read_plan(conn, columns, options, timeouts)
            if built.mirror:
                _unswap(conn, built, options, progress)
                built = read_plan(conn, columns, options, timeouts)
            state = detect(built.tables, built.family.objects)
            started = {t.table.qualified for t in state.tables if t.state in OURS}
            for step in built.revert_steps:
                if step.phase is Phase.BUILT or step.subject in started:
                    _locked(conn, step.statements, options, step.subject)
            return built


def cleanup(
    target: Target,
    columns: Iterable[Column],
    options: OnlineOptions | None = None,
    timeouts: Timeouts | None = None,
) -> OnlinePlan:
    """Phase 7, when the user asks: drop the reverse triggers, their functions and the old columns.

    After it the swap cannot be undone. Tables not swapped yet are an error.
    """
    options = options or OnlineOptions()
    timeouts = timeouts or Timeouts()
    with ExitStack() as stack:
        conn = opened(target, stack)
        with session(conn, writes=True, who="the online widening's cleanup"):
            built = read_plan(conn, columns, options, timeouts)
            if built.tables:
                raise OnlineError(
                    "not swapped yet: "
                    + ", ".join(t.qualified for t in built.tables)
                    + " still have integer columns; run the widening to its swap first"
                )
            for step in built.cleanup_steps:
                _locked(conn, step.statements, options, step.subject)
            return built


def _unswap(
    conn: Connection, built: OnlinePlan, options: OnlineOptions, progress: Progress | None
) -> None:
    """The swap undone, as a widening the other way whose shadows are the old columns.

    First a CHECK per column, NOT VALID then validated, that the old column
    holds a value wherever the new one does: it fails when a value no longer
    fits the old type (the reverse trigger wrote NULL there), and then the
    revert stops with nothing else changed. Then the old columns are verified
    by value, their indexes and foreign keys built again concurrently, and the
    mirror swap gives them their names back and drops the bigint columns.
    """
    family = built.family
    tables = built.mirror
    present = {(o.table_oid, o.name) for o in family.objects if o.kind == "constraint"}
    for table in tables:
        oid = table.table.table_oid
        adds = [
            statement
            for column, statement in zip(table.columns, swap.fits_statements(table), strict=True)
            if (oid, swap.fits_constraint(table, column)) not in present
        ]
        if adds:
            _locked(
                conn,
                (lock_timeout_statement(options.lock_timeout), *adds),
                options,
                table.qualified,
            )
    for table in tables:
        for column in table.columns:
            name = swap.fits_constraint(table, column)
            try:
                _locked(
                    conn,
                    (
                        lock_timeout_statement(options.lock_timeout),
                        set_statement_timeout(options.build_timeout),
                        sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(
                            sql.Identifier(table.table.schema, table.table.table),
                            sql.Identifier(name),
                        ),
                    ),
                    options,
                    table.qualified,
                )
            except OnlineError as error:
                _drop_fits(conn, tables, options)
                raise OnlineError(
                    f"cannot undo the swap: {column.qualified} holds values beyond "
                    f"{TYPE_NAMES.get(table.into, table.into)} (the old column could not keep "
                    f"them), or the check failed ({error}); nothing was changed"
                ) from None
    marks: dict[str, int | None] = {}
    for table in tables:
        try:
            walked = backfill.verify(conn, table, options, progress)
        except psycopg.Error as error:
            if conn.broken:
                raise OnlineError(f"lost the connection: {error_message(error)}") from None
            raise OnlineError(f"verifying {table.qualified}: {error_message(error)}") from None
        marks[walked.table] = None if walked.batches == 0 else walked.upper
    _build(conn, family, tables, options)
    _swap(conn, built, tables, marks, options)


def _drop_fits(conn: Connection, tables: Sequence[TablePlan], options: OnlineOptions) -> None:
    for table in tables:
        _locked(
            conn,
            (
                lock_timeout_statement(options.lock_timeout),
                *(
                    sql.SQL("ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}").format(
                        sql.Identifier(table.table.schema, table.table.table),
                        sql.Identifier(swap.fits_constraint(table, column)),
                    )
                    for column in table.columns
                ),
            ),
            options,
            table.qualified,
        )


def _swap(
    conn: Connection,
    built: OnlinePlan,
    tables: Sequence[TablePlan],
    marks: dict[str, int | None],
    options: OnlineOptions,
) -> None:
    """Phase 6: the family's swap in one transaction, then CHECKs validated and columns analyzed.

    Right after the verification of this same call: *marks* are its upper
    bounds, past which the swap checks the rows again under its locks.
    """
    family = built.family
    statements = swap.swap_statements(
        family,
        tables,
        built.dependents,
        {t.table.table_oid: sql.Literal(marks.get(t.qualified)) for t in tables},
        options.lock_timeout,
        options.statement_timeout,
    )
    seeds = [c.key for c in family.columns]

    def unchanged() -> None:
        # Under the locks: what the swap changes must be what the plan saw. A
        # new index, view or key on an old column would stay behind on it.
        columns, keys, attachments = read_attached(conn, seeds)

        def theirs(found: Iterable[ColumnAttachment]) -> list[ColumnAttachment]:
            ours = (names.SYNC_TRIGGER, names.BACK_TRIGGER)
            return [a for a in found if a.name not in ours and not a.name.startswith(names.PREFIX)]

        if (
            {replace(c, depth=0) for c in columns} != {replace(c, depth=0) for c in family.columns}
            or keys != list(family.foreign_keys)
            or theirs(attachments) != theirs(family.attachments)
        ):
            raise OnlineError(
                "the key family changed since the plan (a column, key, index, view or "
                "trigger on it): nothing was swapped; run again for a new plan"
            )

    subject = ", ".join(t.qualified for t in tables)
    locked = 1 + max(i for i, s in enumerate(statements) if s.as_string().startswith("LOCK TABLE"))
    try:
        _locked(
            conn,
            statements,
            options,
            subject,
            check=(locked, unchanged),
            pause_cap=options.lock_timeout,
        )
    except OnlineError as error:
        if conn.broken or "not granted" not in str(error):
            raise
        raise OnlineError(f"{error}{_holders(conn, tables)}") from None
    for what, after in swap.post_swap_statements(family, tables, options.build_timeout):
        _locked(conn, (lock_timeout_statement(options.lock_timeout), *after), options, what)


def _holders(conn: Connection, tables: Sequence[TablePlan]) -> str:
    """Who holds locks on *tables* now, for the message of a swap that gave up."""
    try:
        found = list_lock_holders(conn, [t.table.table_oid for t in tables], Timeouts())
    except psycopg.Error:
        return ""  # the message stands without them
    shown = [
        f"pid {h.pid}"
        + (f" ({h.application_name})" if h.application_name else "")
        + (f" {h.state}" if h.state else "")
        + (f" for {h.seconds:,.0f} s" if h.seconds is not None else "")
        for h in found
    ]
    return f"; holding locks on them now: {', '.join(shown)}" if shown else ""


def _build(
    conn: Connection, family: KeyFamily, tables: Sequence[TablePlan], options: OnlineOptions
) -> list[str]:
    """Phase 5: the indexes, then the foreign keys, each skipped when already as expected.

    Runs right after a verification pass of this same call: nothing is built
    on shadow columns not proven equal.
    """
    made: list[str] = []
    objects = family.objects
    settings = (
        f"{round(options.lock_deadline * 1000)}ms",
        f"{round(options.build_timeout * 1000)}ms",
    )
    try:
        for table in tables:
            made += rebuild.build_indexes(
                conn,
                table,
                rebuild.index_builds(table, family.attachments),
                objects,
                settings,
            )
    except psycopg.Error as error:
        if conn.broken:
            raise OnlineError(f"lost the connection: {error_message(error)}") from None
        raise OnlineError(f"building an index: {error_message(error)}") from None
    back = {
        oid: {shadow: column for column, shadow in columns.items()}
        for oid, columns in rebuild.renames(tables).items()
    }
    constraints = {(o.table_oid, o.name): o for o in objects if o.kind == "constraint"}
    for key in rebuild.foreign_key_builds(tables, family.foreign_keys):
        where = qualify(key.old.schema, key.old.table)
        found = constraints.get((key.old.table_oid, key.name))
        if found is None:
            _locked(
                conn, (lock_timeout_statement(options.lock_timeout), *key.add()), options, where
            )
            made.append(key.name)
        if key.validate and (found is None or not found.valid):
            _locked(
                conn,
                (
                    lock_timeout_statement(options.lock_timeout),
                    set_statement_timeout(options.build_timeout),
                    *key.validation(),
                ),
                options,
                where,
            )
        definition = _constraint_definition(conn, key.old.table_oid, key.name)
        if definition is None or not key.matches(definition, back):
            raise OnlineError(
                f"foreign key {key.name} on {where} is not {key.old.name} on the shadow "
                f"columns ({definition or 'missing'}): drop it, or revert"
            )
    return made


def _constraint_definition(conn: Connection, table_oid: int, name: str) -> str | None:
    """pg_get_constraintdef() of a constraint, names qualified as when the family was read."""
    try:
        with transaction_block(conn):
            conn.execute(PINNED_SEARCH_PATH)
            row = conn.execute(
                b"SELECT pg_catalog.pg_get_constraintdef(oid) FROM pg_catalog.pg_constraint"
                b" WHERE conrelid = %s AND conname = %s",
                [table_oid, name],
            ).fetchone()
    except psycopg.Error as error:
        if conn.broken:
            raise OnlineError(f"lost the connection: {error_message(error)}") from None
        raise OnlineError(f"reading foreign key {name}: {error_message(error)}") from None
    return str(row[0]) if row else None


def _steps(built: OnlinePlan, phase: Phase) -> Sequence[Step]:
    return [s for s in built.steps if s.phase is phase]


def _locked(
    conn: Connection,
    statements: Sequence[Statement],
    options: OnlineOptions,
    subject: str,
    *,
    check: tuple[int, Callable[[], None]] | None = None,
    pause_cap: float = 5.0,
) -> None:
    """Run *statements* in one transaction, retried with jitter while a lock is not granted.

    Each attempt waits at most the lock timeout (the statements set it
    first); attempts stop at the deadline, and the error says so. Nothing is
    half done: a failed attempt rolls back. *check*: (n, f) calls f after the
    first n statements (the locks), inside the transaction; a statement
    cancelled among those n was waiting for a lock (the swap bounds its wait
    for all its locks with statement_timeout) and is retried as one. Pauses
    between attempts double up to *pause_cap* (the swap keeps them short: under
    a busy load its chance comes often, and is brief).
    """
    deadline = time.monotonic() + options.lock_deadline
    backoff = options.lock_timeout
    attempts = 0
    waits = check[0] if check else 0
    while True:
        attempts += 1
        done = 0
        try:
            with transaction_block(conn):
                for statement in statements:
                    if check is not None and done == check[0]:
                        check[1]()
                    conn.execute(statement)
                    done += 1
            return
        except errors.QueryCanceled as error:
            if conn.broken:
                raise OnlineError(f"lost the connection: {error_message(error)}") from None
            if done >= waits:
                raise OnlineError(f"{subject}: {error_message(error)}") from None
            pause = random.uniform(0.5, 1.5) * backoff
            if time.monotonic() + pause + options.lock_timeout > deadline:
                raise OnlineError(
                    f"{subject}: locks not granted in {attempts} attempts over "
                    f"{options.lock_deadline:g} s (each attempt waited at most "
                    f"{options.lock_timeout:g} s: another session holds a lock on one of "
                    "these tables, perhaps idle in a transaction); nothing was changed"
                ) from None
            time.sleep(pause)
            backoff = min(backoff * 2, pause_cap)
        except (errors.LockNotAvailable, errors.DeadlockDetected) as error:
            if conn.broken:
                raise OnlineError(f"lost the connection: {error_message(error)}") from None
            pause = random.uniform(0.5, 1.5) * backoff
            if time.monotonic() + pause + options.lock_timeout > deadline:
                raise OnlineError(
                    f"{subject}: lock not granted in {attempts} attempts over "
                    f"{options.lock_deadline:g} s ({error_message(error)}); nothing was changed"
                ) from None
            time.sleep(pause)
            backoff = min(backoff * 2, pause_cap)
        except psycopg.Error as error:
            if conn.broken:
                raise OnlineError(f"lost the connection: {error_message(error)}") from None
            raise OnlineError(f"{subject}: {error_message(error)}") from None


def _throttle(conn: Connection, options: OnlineOptions, timeouts: Timeouts) -> Callable[[], None]:
    """A pause before each batch while replication trails, or WAL flows, past the limits."""
    last = 0.0
    started = time.monotonic()
    start_wal = backfill.wal_position(conn) if options.max_wal_rate is not None else None

    def wal_rate() -> None:
        if options.max_wal_rate is None or start_wal is None:
            return
        written = backfill.wal_since(conn, start_wal) or 0
        behind = written / options.max_wal_rate - (time.monotonic() - started)
        if behind > options.throttle_deadline:
            raise OnlineError(
                f"{written:,} bytes of WAL since the walk started would need a pause of "
                f"{behind:.0f} s to stay under {options.max_wal_rate:,} bytes/s: run again later"
            )
        if behind > 0:
            time.sleep(behind)

    def replication() -> None:
        nonlocal last
        if options.max_replica_lag is None and options.max_slot_lag is None:
            return
        now = time.monotonic()
        if now - last < THROTTLE_EVERY:
            return
        last = now
        deadline = now + options.throttle_deadline
        while True:
            lag = read_replication_lag(conn, timeouts)
            behind = [
                f"{what} {value:,} bytes of WAL (limit {limit:,})"
                for what, value, limit in (
                    ("a standby trails by", lag.replica, options.max_replica_lag),
                    ("a replication slot holds back", lag.slot, options.max_slot_lag),
                )
                if value is not None and limit is not None and value > limit
            ]
            if not behind:
                return
            if time.monotonic() > deadline:
                raise OnlineError(
                    f"paused {options.throttle_deadline:g} s and {'; '.join(behind)}: "
                    "run again later"
                )
            time.sleep(THROTTLE_SLEEP)

    def wait() -> None:
        wal_rate()
        replication()

    return wait
