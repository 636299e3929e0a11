"""What an online widening is made of: phases, options, refusals, steps and the plan.

Everything here is frozen data; :mod:`.plan` builds it from a
:class:`~seqdoctor.catalog.family.KeyFamily` without touching a connection,
and :mod:`.run` executes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from seqdoctor.catalog.dependents import ColumnDependents
from seqdoctor.catalog.family import FamilyColumn, FamilyTable, KeyFamily
from seqdoctor.errors import SeqdoctorError, UsageError
from seqdoctor.repairs.model import Statement
from seqdoctor.repairs.online import names

MEGABYTE = 1024**2
MAX_JOBS = 64  # sessions walking at once: a bound on a typo, not a tuning


class Phase(IntEnum):
    """The phases of docs/online-widening.md, numbered as in the issue."""

    PLANNED = 1  # nothing of the widening exists yet
    SHADOWED = 2  # bigint shadow columns and the sync trigger on every table
    BACKFILLED = 3  # every row copied (known only by running the backfill)
    VERIFIED = 4  # every row compared by value: nothing differs
    BUILT = 5  # indexes and foreign keys on the shadow columns
    SWAPPED = 6  # the new columns carry the names; the old ones kept by a reverse trigger
    CLEANED = 7  # old columns, triggers and functions dropped


class OnlineError(SeqdoctorError):
    """An online widening step that could not be done: the reason, on one line."""


@dataclass(frozen=True)
class OnlineOptions:
    """How the online widening runs: its bounds, and what the user has allowed."""

    lock_timeout: float = 0.5  # s: one attempt at a lock (ACCESS EXCLUSIVE for phase 2)
    lock_deadline: float = 60.0  # s: retries of that lock (and of the swap's), jittered, stop here
    # s: one backfill or verification batch, and the swap's statements. A writer
    # needing a row of the range under way waits for its transaction: this bounds
    # that wait when the server slows and a batch runs past its aim (batch_seconds).
    statement_timeout: float = 1.0
    batch_seconds: float = 0.2  # the batch time the adaptive size aims at
    first_batch: int = 1000  # keys (or pages) in the first batch
    max_batch: int = 1_000_000
    pause: float = 0.0  # s between batches
    # Sessions walking the tables at once (phases 3 and 4), as pg_dump --jobs:
    # each table's keys cut in as many slices.
    jobs: int = 1
    # Throttle: pause while a standby replays this far behind, or a replication
    # slot (logical or physical, active or not) holds back this much WAL (bytes);
    # None: not watched.
    max_replica_lag: int | None = 256 * MEGABYTE
    max_slot_lag: int | None = 1024 * MEGABYTE
    # Pause so that the server's WAL, averaged since the walk started, stays under
    # this many bytes a second (every session's WAL counts); None: not watched.
    max_wal_rate: int | None = None
    throttle_deadline: float = 600.0  # s: longest pause for a throttle before giving up
    # CREATE INDEX CONCURRENTLY and VALIDATE CONSTRAINT read whole tables: their
    # statement_timeout. CIC also waits for older transactions, up to lock_deadline.
    build_timeout: float = 6 * 3600.0
    # The backfill's speed for the estimate: a guess until a run has measured it
    # (Advanced.rows_per_second); and how long until the key runs out (the
    # exhaustion forecast, SEQ011), to say whether the online path finishes first.
    rows_per_second: float = 20_000.0
    # WAL per backfilled row for the estimate: a new heap tuple version, an entry
    # in each index, and full-page images; a guess until measured (Advanced.wal_per_row).
    wal_per_row: float = 300.0
    runway: float | None = None  # seconds; None: unknown
    allow_user_triggers: bool = False  # backfill UPDATEs may fire the user's triggers
    allow_replication: bool = False  # the user handles publications and subscribers

    def __post_init__(self) -> None:
        # PostgreSQL reads a timeout of 0 as "no limit": never wait without one.
        if min(self.lock_timeout, self.statement_timeout) < 0.001:
            raise UsageError("online timeouts must be at least 0.001 seconds")
        if self.lock_deadline < self.lock_timeout:
            raise UsageError("the lock deadline must be at least one lock timeout")
        if self.max_wal_rate is not None and self.max_wal_rate <= 0:
            raise UsageError("the WAL rate limit must be more than 0 bytes a second")
        if self.rows_per_second <= 0:
            raise UsageError("the backfill rate must be more than 0 rows per second")
        if not 1 <= self.jobs <= MAX_JOBS:
            raise UsageError(f"jobs must be from 1 to {MAX_JOBS}")
        if not 1 <= self.first_batch <= self.max_batch:
            raise UsageError("batch sizes must be at least 1, the first at most the largest")


@dataclass(frozen=True)
class Refusal:
    """Why the online widening cannot go ahead, and on what."""

    subject: str
    reason: str


@dataclass(frozen=True)
class Carried:
    """Something attached to a family column, and how the widening carries it over."""

    kind: str
    subject: str
    how: str
    phase: Phase


@dataclass(frozen=True)
class TablePlan:
    """One table of the family: the columns widened on it, and how its backfill walks it."""

    table: FamilyTable
    columns: tuple[FamilyColumn, ...]  # narrow family columns of this table, by attnum
    batch_key: str | None  # the integer key walked in ranges; None: ctid ranges
    # The column each column becomes, and the name it takes after the swap:
    # seqdoctor_wide_<n> and seqdoctor_old_<n> when widening; when the swap is
    # undone (the mirror), the kept old column and the name the bigint one
    # takes until it is dropped.
    shadows: tuple[str, ...] = ()
    parked: tuple[str, ...] = ()
    into: str = "int8"  # the type of the shadows
    mirror: bool = False  # the swap undone: old columns take the names back

    @property
    def qualified(self) -> str:
        return self.table.qualified

    def shadow(self, column: FamilyColumn) -> str:
        """The column *column* becomes at the swap."""
        if self.shadows:
            return self.shadows[self.columns.index(column)]
        return names.shadow_column(column.attnum)

    def parking(self, column: FamilyColumn) -> str:
        """What *column* is called after the swap."""
        if self.parked:
            return self.parked[self.columns.index(column)]
        return names.old_column(column.attnum)


@dataclass(frozen=True)
class Step:
    """Statements of one phase on one table, as they run and as psql runs them."""

    phase: Phase
    subject: str
    title: str
    lock: str
    duration: str
    statements: tuple[Statement, ...]
    # True: one transaction (BEGIN ... COMMIT). False: statements psql runs
    # outside a transaction block (DO with COMMIT, CREATE INDEX CONCURRENTLY).
    transaction: bool = True


@dataclass(frozen=True)
class OnlinePlan:
    """The online widening of one key family: what, how, and what stops it."""

    family: KeyFamily
    tables: tuple[TablePlan, ...]  # parent first, then by depth, schema, name
    refusals: tuple[Refusal, ...]
    carried: tuple[Carried, ...]
    steps: tuple[Step, ...]
    revert_steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()
    dependents: ColumnDependents = field(default_factory=ColumnDependents)
    # Phase 7 on the tables already past the swap; and those tables as the
    # mirror widening that undoes the swap (revert).
    cleanup_steps: tuple[Step, ...] = ()
    mirror: tuple[TablePlan, ...] = ()
    options: OnlineOptions = field(default_factory=OnlineOptions)
    seconds: float = 0.0  # estimated time of phases 3-5
    in_time: bool | None = None  # finishes before the key runs out; None: runway unknown

    @property
    def columns(self) -> tuple[FamilyColumn, ...]:
        return tuple(c for t in self.tables for c in t.columns)

    @property
    def refused(self) -> bool:
        return bool(self.refusals)
