"""What the audit reads from a database: frozen, typed rows and the snapshot that holds them.

Field names equal the column aliases of the SQL files in ``queries/``, so
psycopg's ``class_row`` builds these objects directly. Rows use ``__slots__``:
a database with 100,000 tables yields 200,000 of them. Nothing here touches a
connection: the checks import this module and stay pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property, lru_cache
from typing import Any

from seqdoctor.catalog.display import unicode_quoted

# Range of the integer types a sequence can be declared AS, and columns it can feed.
TYPE_RANGES: Mapping[str, tuple[int, int]] = {
    "int2": (-(2**15), 2**15 - 1),
    "int4": (-(2**31), 2**31 - 1),
    "int8": (-(2**63), 2**63 - 1),
}
TYPE_NAMES: Mapping[str, str] = {"int2": "smallint", "int4": "integer", "int8": "bigint"}
# Types whose values can be compared with a sequence's: probes run only on these.
NUMERIC_TYPES = frozenset({"int2", "int4", "int8", "numeric"})
# nextval() writes a sequence's position to the WAL this many calls ahead of the
# values it hands out (SEQ_LOG_VALS in src/backend/commands/sequence.c): what a
# hot standby replays, and reads, is up to that far ahead of its primary.
SEQ_LOG_VALS = 32


@lru_cache(maxsize=65536)  # messages of a large audit repeat the same schema names
def quote_ident(name: str) -> str:
    r"""Quote an identifier for a person to read or paste, as PostgreSQL's quote_ident() does.

    Only for text shown to people (messages, remedies): the statements
    seqdoctor runs are composed with psycopg.sql. A name holding characters a
    terminal acts on (a newline, an escape) is shown as a ``U&"..."``
    identifier: still SQL for the same name, and never the same text as
    another name's.

    >>> [quote_ident(n) for n in ("orders", "_1", "Order Items", 'a"b', "select", "values", "é")]
    ['orders', '_1', '"Order Items"', '"a""b"', '"select"', '"values"', '"é"']
    >>> print(quote_ident("t\n\\! rm"), quote_ident("t\x1b[2J"))
    U&"t\000a\\! rm" U&"t\001b[2J"
    """
    plain = re.fullmatch(r"[a-z_][a-z0-9_]*", name) is not None
    if plain and name.upper() not in _KEYWORDS:
        return name
    return unicode_quoted(name)


# The keywords quote_ident() quotes: every one but the unreserved
# (pg_get_keywords() categories R, C and T).
_KEYWORDS = frozenset(
    """
    ALL ANALYSE ANALYZE AND ANY ARRAY AS ASC ASYMMETRIC BOTH CASE CAST CHECK COLLATE COLUMN
    CONSTRAINT CREATE CURRENT_CATALOG CURRENT_DATE CURRENT_ROLE CURRENT_TIME CURRENT_TIMESTAMP
    CURRENT_USER DEFAULT DEFERRABLE DESC DISTINCT DO ELSE END EXCEPT FALSE FETCH FOR FOREIGN FROM
    GRANT GROUP HAVING IN INITIALLY INTERSECT INTO LATERAL LEADING LIMIT LOCALTIME LOCALTIMESTAMP
    NOT NULL OFFSET ON ONLY OR ORDER PLACING PRIMARY REFERENCES RETURNING SELECT SESSION_USER SOME
    SYMMETRIC SYSTEM_USER TABLE THEN TO TRAILING TRUE UNION UNIQUE USER USING VARIADIC WHEN WHERE
    WINDOW WITH
    AUTHORIZATION BINARY COLLATION CONCURRENTLY CROSS CURRENT_SCHEMA FREEZE FULL ILIKE INNER IS
    ISNULL JOIN LEFT LIKE NATURAL NOTNULL OUTER OVERLAPS RIGHT SIMILAR TABLESAMPLE VERBOSE
    BETWEEN BIGINT BIT BOOLEAN CHAR CHARACTER COALESCE DEC DECIMAL EXISTS EXTRACT FLOAT GREATEST
    GROUPING INOUT INT INTEGER INTERVAL JSON JSON_ARRAY JSON_ARRAYAGG JSON_EXISTS JSON_OBJECT
    JSON_OBJECTAGG JSON_QUERY JSON_SCALAR JSON_SERIALIZE JSON_TABLE JSON_VALUE LEAST MERGE_ACTION
    NATIONAL NCHAR NONE NORMALIZE NULLIF NUMERIC OUT OVERLAY POSITION PRECISION REAL ROW SETOF
    SMALLINT SUBSTRING TIME TIMESTAMP TREAT TRIM VALUES VARCHAR XMLATTRIBUTES XMLCONCAT XMLELEMENT
    XMLEXISTS XMLFOREST XMLNAMESPACES XMLPARSE XMLPI XMLROOT XMLSERIALIZE XMLTABLE
    """.split()  # noqa: SIM905 - a word list, as the documentation prints it
)


def qualify(*names: str) -> str:
    """A dotted name with each part quoted as needed.

    >>> qualify("public", "Order Lines", "id")
    'public."Order Lines".id'
    """
    return ".".join(map(quote_ident, names))


class ColumnKind(StrEnum):
    """How a column gets its values from a sequence."""

    SERIAL = "serial"  # DEFAULT nextval() on a sequence OWNED BY the column
    IDENTITY = "identity"  # GENERATED {ALWAYS | BY DEFAULT} AS IDENTITY
    DEFAULT = "default"  # DEFAULT nextval() on a sequence the column does not own


@dataclass(frozen=True, slots=True)
class SequenceState:
    """A sequence's definition and, when it could be read, its position."""

    oid: int
    schema: str
    name: str
    type_name: str  # int2 | int4 | int8
    start_value: int
    increment_by: int
    min_value: int
    max_value: int
    cycle: bool
    cache_size: int
    readable: bool  # the role may read the position (USAGE on the schema, SELECT on it)
    last_value: int | None = None
    is_called: bool | None = None
    # How many nextval() calls this position may be ahead of the primary's: read
    # on a hot standby (see replayed()), 0 where it is exact.
    ahead_by: int = 0

    @property
    def data_type(self) -> str:
        return TYPE_NAMES[self.type_name]

    @property
    def qualified(self) -> str:
        return qualify(self.schema, self.name)

    @property
    def ascending(self) -> bool:
        return self.increment_by > 0

    @property
    def limit(self) -> int:
        """The last value it can hand out, in its direction: MAXVALUE, or MINVALUE descending."""
        return self.max_value if self.ascending else self.min_value

    @property
    def origin(self) -> int:
        """Where a CYCLE sequence starts again: MINVALUE ascending, MAXVALUE descending."""
        return self.min_value if self.ascending else self.max_value

    @property
    def position_known(self) -> bool:
        return self.last_value is not None and self.is_called is not None

    @property
    def next_value(self) -> int | None:
        """What the next ``nextval()`` returns: None when unknown or when it would fail.

        ``last_value`` is the last value handed out when ``is_called``, and the
        next one to hand out when not (a fresh sequence, or ``setval(s, v, false)``).

        >>> s = SequenceState(1, "public", "s", "int4", 1, 1, 1, 10, False, 1, True, 10, True)
        >>> s.next_value is None  # at MAXVALUE and not cycling
        True
        >>> from dataclasses import replace
        >>> replace(s, cycle=True).next_value  # wraps to MINVALUE
        1
        >>> replace(s, last_value=5, is_called=False).next_value
        5
        """
        if self.last_value is None or self.is_called is None:
            return None
        if not self.is_called:
            return self.last_value
        candidate = self.last_value + self.increment_by
        if self.min_value <= candidate <= self.max_value:
            return candidate
        return self.origin if self.cycle else None

    def replayed(self) -> SequenceState:
        """This position as read on a hot standby: up to :attr:`ahead_by` calls past the primary's.

        A nextval() that writes to the WAL writes the position after CACHE + 32
        more calls, and hands out the first of them; the others wait in the
        calling session's cache (CACHE - 1) or in the sequence (32). Only a
        sequence not called yet (``is_called`` false) is exact: a ``setval()``
        logs the position as it is, but the standby cannot tell it from a
        nextval() that logged ahead.

        >>> s = SequenceState(1, "public", "s", "int4", 1, 1, 1, 100, False, 5, True, 40, True)
        >>> s.replayed().ahead_by, replace(s, is_called=False).replayed().ahead_by
        (36, 0)
        """
        if not self.is_called:
            return self
        return replace(self, ahead_by=SEQ_LOG_VALS + self.cache_size - 1)

    @property
    def earliest(self) -> SequenceState:
        """The least advanced position the primary can be at: this one when exact.

        On a hot standby, :attr:`ahead_by` calls back, never past where it
        started from: a sequence at its MINVALUE (MAXVALUE descending) not yet called.

        >>> s = SequenceState(1, "public", "s", "int8", 1, 1, 1, 100, False, 1, True, 33, True, 32)
        >>> s.earliest.last_value, s.earliest.next_value
        (1, 2)
        >>> e = replace(s, last_value=20).earliest
        >>> e.last_value, e.is_called, e.ahead_by
        (1, False, 0)
        >>> d = replace(s, increment_by=-2, min_value=-99, max_value=-1, last_value=-81)
        >>> d.earliest.last_value, d.earliest.next_value
        (-17, -19)
        """
        if not self.ahead_by or self.last_value is None:
            return self
        back = self.last_value - self.ahead_by * self.increment_by
        if self.min_value <= back <= self.max_value:
            return replace(self, last_value=back, ahead_by=0)
        return replace(self, last_value=self.origin, is_called=False, ahead_by=0)

    @property
    def exhausted(self) -> bool:
        """Known position, and nextval() would fail: the limit has been reached."""
        return self.position_known and self.next_value is None

    def calls_left(self, limit: int) -> int:
        """How many nextval() calls succeed before passing *limit* (in its direction).

        >>> s = SequenceState(1, "public", "s", "int4", 1, 10, 1, 100, False, 1, True, 1, False)
        >>> s.calls_left(100)  # 1, 11, ..., 91
        10
        """
        return self._calls_left(limit, self.next_value)

    def _calls_left(self, limit: int, following: int | None) -> int:
        if following is None:
            return 0
        distance = (limit - following) // self.increment_by
        return max(distance + 1, 0)

    def used_ratio(self, limit: int, origin: int | None = None) -> float:
        """How much of the range from *origin* to *limit* is used, 0 to 1.

        The range starts at the sequence's START by default, not at its
        MINVALUE: a sequence started at 1,000,000 for a reserved block of ids
        has used nothing before its first call.

        >>> s = SequenceState(1, "public", "s", "int4", 1, 1, 1, 100, False, 1, True, 90, True)
        >>> s.used_ratio(100)
        0.9
        """
        return self.reach(limit, origin)[0]

    def reach(self, limit: int, origin: int | None = None) -> tuple[float, int]:
        """:meth:`used_ratio` and :meth:`calls_left` at once, from one :attr:`next_value`:
        a forecast of every column needs both, every round of ``serve``.

        >>> s = SequenceState(1, "public", "s", "int4", 1, 1, 1, 100, False, 1, True, 90, True)
        >>> s.reach(100)
        (0.9, 10)
        """
        calls = self._calls_left(limit, self.next_value)
        span = abs(limit - (self.start_value if origin is None else origin)) + 1
        left = calls * abs(self.increment_by)
        return min(max((span - left) / span, 0.0), 1.0), calls


@dataclass(frozen=True, slots=True)
class ColumnUse:
    """A column that takes values from a sequence."""

    sequence_oid: int
    table_oid: int
    schema: str
    table: str
    column: str
    attnum: int
    column_type: str  # as format_type() shows it
    type_name: str  # the base type's name: int2, int4, int8, numeric, text...
    kind: ColumnKind
    identity: str | None  # 'always' | 'by default' for identity columns
    relkind: str  # r (table), p (partitioned table), f (foreign table)
    row_estimate: int  # pg_class.reltuples; -1 when never analyzed
    # The index facts, None when not read (read.list_column_uses without index_facts):
    # a unique, non-partial index on the column alone (plus partition keys);
    # a valid, non-partial btree index led by the column, so that max() is O(log n).
    has_unique_index: bool | None
    has_probe_index: bool | None
    readable: bool  # the role may SELECT the column (and USAGE its schema)
    row_security: bool  # row-level security hides rows from this role
    # 'raise' | 'heal' | 'warn': the seqdoctor guard's mode on it; 'tampered' when
    # what its trigger runs is not seqdoctor's guard (see list_column_uses.sql).
    guard: str | None = None
    # When no unique index holds the column alone: the other key columns of the
    # narrowest unique index that holds it (a partitioned table's primary key
    # must hold the partition key), as people read them ("payment_date").
    # Unique only together with them, the same id can repeat. None when the
    # column is unique alone, in no unique index, or the index facts were not read.
    unique_with: str | None = None
    guard_function: int | None = None  # the oid of the function the guard's trigger calls
    # (sequence_oid, table_oid, attnum): made once, not at each of the 100,000 lookups a
    # round of serve at 10,000 columns does; a function of the fields above.
    key: tuple[int, int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", (self.sequence_oid, self.table_oid, self.attnum))

    @property
    def qualified(self) -> str:
        return qualify(self.schema, self.table, self.column)

    @property
    def type_range(self) -> tuple[int, int] | None:
        return TYPE_RANGES.get(self.type_name)

    @property
    def comparable(self) -> bool:
        """Its values can be compared with the sequence's: the drift check applies."""
        return self.type_name in NUMERIC_TYPES


def by_sequence(uses: Iterable[ColumnUse]) -> dict[int, tuple[ColumnUse, ...]]:
    """The columns each sequence feeds, by the sequence's oid, in the order given."""
    grouped: dict[int, list[ColumnUse]] = {}
    for use in uses:
        grouped.setdefault(use.sequence_oid, []).append(use)
    return {oid: tuple(fed) for oid, fed in grouped.items()}


@dataclass(frozen=True, slots=True)
class ForeignKeyColumn:
    """One column pair of a foreign key: the referencing column and the column it references."""

    constraint_name: str
    table_oid: int
    schema: str
    table: str
    column: str
    attnum: int
    column_type: str
    type_name: str
    referenced_table_oid: int
    referenced_attnum: int

    @property
    def qualified(self) -> str:
        return qualify(self.schema, self.table, self.column)


@dataclass(frozen=True, slots=True)
class ColumnExtent:
    """The values in a sequence-fed column, read through its index."""

    max_value: int | None  # None: the column holds no value
    min_value: int | None
    # The first value the sequence will hand out that already exists in the
    # column, when the column holds values at or past the sequence's next value.
    first_collision: int | None = None


@dataclass(frozen=True, slots=True)
class StatisticsSample:
    """Values a column held when one table was last analyzed: the planner's statistics.

    From ``pg_stats``: the histogram bounds and most common values of the
    rows ANALYZE sampled. Each value really was in the column then (the
    bounds include the sample's min and max), but it is a sample: the column
    may have held others too, and rows may have changed since.
    """

    schema: str
    table: str  # the table or partition analyzed
    analyzed_at: datetime | None  # its last ANALYZE (or autoanalyze); None: not recorded
    values: tuple[int, ...]  # the distinct integral values, ascending

    @property
    def qualified(self) -> str:
        return qualify(self.schema, self.table)


def first_sampled(
    sequence: SequenceState, samples: Iterable[StatisticsSample]
) -> tuple[int, StatisticsSample] | None:
    """The first value the sequence will hand out that the statistics show, and whose they are.

    Like the probe for the first collision (read._collisions_query): a value
    at or past the next value, in the sequence's direction, on its step,
    within its limit.

    >>> s = SequenceState(1, "public", "s", "int4", 1, 2, 1, 100, False, 1, True, 9, True)
    >>> sample = StatisticsSample("public", "t", None, (3, 10, 12, 13, 500))
    >>> first_sampled(s, [sample])[0]  # next value 11: 12 is off its step, 500 past its limit
    13
    >>> first_sampled(replace(s, last_value=13), [sample]) is None
    True
    """
    following = sequence.next_value
    if following is None:
        return None
    low, high = sorted((following, sequence.limit))
    found: tuple[int, StatisticsSample] | None = None
    for sample in samples:
        for value in sample.values:
            if low <= value <= high and (value - following) % sequence.increment_by == 0:
                nearer = found is None or (
                    value < found[0] if sequence.ascending else value > found[0]
                )
                if nearer:
                    found = (value, sample)
    return found


def analyzed(samples: Iterable[StatisticsSample]) -> str:
    """When statistics were gathered, for a message: one time, or the span of several.

    >>> from datetime import UTC
    >>> at = datetime(2026, 12, 3, 0, 53, 31, tzinfo=UTC)
    >>> analyzed([StatisticsSample("public", "t", at, ())])
    'analyzed 2026-12-03 00:53:31 UTC'
    >>> unrecorded = StatisticsSample("public", "u", None, ())
    >>> analyzed([StatisticsSample("public", "t", at, ()), unrecorded])
    'analyzed 2026-12-03 00:53:31 UTC (another at a time not recorded)'
    """
    times = sorted({_utc(s.analyzed_at) for s in samples if s.analyzed_at is not None})
    unrecorded = sum(s.analyzed_at is None for s in samples)
    if not times:
        return "analyzed at a time not recorded"
    text = f"analyzed {times[0]}" if len(times) == 1 else f"analyzed {times[0]} to {times[-1]}"
    if unrecorded:
        text += (
            f" ({'another' if unrecorded == 1 else f'{unrecorded} others'} at a time not recorded)"
        )
    return text


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class Reason(StrEnum):
    """Why an object could not be read."""

    PRIVILEGE = "privilege"
    ROW_SECURITY = "row-security"
    LOCK_TIMEOUT = "lock-timeout"
    STATEMENT_TIMEOUT = "statement-timeout"
    NO_INDEX = "no-index"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Something the audit could not read, why, and what would let it."""

    reason: Reason
    detail: str
    sequence_oid: int | None = None
    column_key: tuple[int, int, int] | None = None
    remedy: str | None = None  # SQL (e.g. a GRANT) that lets the role read it


def handed_out(last_value: int, is_called: bool, increment_by: int) -> int:
    """The last value a sequence has handed out; START minus the increment before its first call.

    >>> handed_out(7, True, 1), handed_out(1, False, 1), handed_out(-1, False, -1)
    (7, 0, 0)
    """
    return last_value if is_called else last_value - increment_by


@dataclass(frozen=True, slots=True)
class Position:
    """Where a sequence stood at one moment: the last value it had handed out.

    Before its first call that is START minus the increment (:func:`handed_out`),
    so that the values handed out between two positions are their difference.
    """

    at: datetime
    value: int

    @classmethod
    def of(cls, at: datetime, last_value: int, is_called: bool, increment_by: int) -> Position:
        return cls(at, handed_out(last_value, is_called, increment_by))


@dataclass(frozen=True)
class Activity:
    """How fast the sequences move: read only when a check needs it (``Check.reads_activity``).

    ``now`` is the audit's clock, from which forecasts count. ``history`` has
    each sequence's earlier positions from the history store (``check
    --record``), oldest first, by sequence oid. ``rows_inserted`` and
    ``row_estimates`` are by table oid, a partitioned table's being the sum of
    its partitions': rows inserted since ``counted_since`` (the statistics
    system's ``n_tup_ins``, aborted inserts included), and ``reltuples``
    (-1 when never analyzed).
    """

    now: datetime
    history: Mapping[int, tuple[Position, ...]] = field(default_factory=dict)
    rows_inserted: Mapping[int, int] = field(default_factory=dict)
    row_estimates: Mapping[int, int] = field(default_factory=dict)
    # When the insert counters started: the database's statistics reset, or,
    # never reset, the server's statistics start (initdb, or the last crash).
    counted_since: datetime | None = None
    counters_reset: bool = False  # counted_since is a reset of this database's statistics


@dataclass(frozen=True)
class ServerInfo:
    database: str
    server_version: str
    server_version_num: int
    current_user: str
    # A hot standby (pg_is_in_recovery()): its sequences' positions are replayed
    # from the primary's WAL, ahead of the primary's (SequenceState.replayed()).
    in_recovery: bool = False


@dataclass(frozen=True)
class Inventory:
    """What an audit listed of the catalog, as read, before filters and positions.

    Kept in the snapshot for a later audit to carry (ReadOptions.earlier) when
    the catalog's mark (get_catalog_mark.sql) has not moved since.
    """

    mark: str | None  # the catalog's mark, taken just before these were read; None: not taken
    index_facts: bool  # whether the columns say which indexes they have
    sequences: tuple[SequenceState, ...]
    uses: tuple[ColumnUse, ...]
    foreign_keys: tuple[ForeignKeyColumn, ...]


@dataclass(frozen=True)
class Snapshot:
    """Everything one audit read, as immutable data: the only input of the checks."""

    server: ServerInfo
    sequences: tuple[SequenceState, ...]
    uses: tuple[ColumnUse, ...]
    foreign_keys: tuple[ForeignKeyColumn, ...] = ()
    extents: Mapping[tuple[int, int, int], ColumnExtent] = field(default_factory=dict)
    unreadable: tuple[Unreadable, ...] = ()
    activity: Activity | None = None  # None: no check that needs it ran
    # The planner's statistics of the columns whose values were not read (no
    # index led with them, and no --allow-seqscan), by column key: one sample
    # per table analyzed (a partitioned table's own and its partitions'); an
    # empty tuple when none has statistics yet. Absent: not looked at.
    statistics: Mapping[tuple[int, int, int], tuple[StatisticsSample, ...]] = field(
        default_factory=dict
    )
    # By table oid, what the server's counters said of writes to the table just
    # before its columns were read (see list_table_changes.sql): a later audit
    # that finds the same mark need not read them again. Empty: not tracked.
    change_marks: Mapping[int, str] = field(default_factory=dict)
    # By table oid, its rows inserted and row estimate (Activity.rows_inserted and
    # row_estimates), read with the change marks: the activity need not read them
    # again. Empty: read with the activity.
    table_activity: Mapping[int, tuple[int, int]] = field(default_factory=dict)
    # The columns whose extents were carried from an earlier audit (ReadOptions.earlier)
    # rather than read by this one: their tables' marks had not changed.
    carried: frozenset[tuple[int, int, int]] = frozenset()
    # The inventory as read, with the catalog's mark; None: not tracked.
    inventory: Inventory | None = None
    # The inventory was carried from an earlier audit, the catalog's mark unmoved.
    inventory_carried: bool = False

    @cached_property
    def derived(self) -> dict[str, Any]:
        """What the checks and renderers compute from this snapshot and share, each computed
        once (SEQ011's forecasts, which the exposition shows too), by a name of their
        module's. It cannot go stale: the snapshot never changes, and
        dataclasses.replace() makes another, which starts empty."""
        return {}

    @cached_property
    def _sequences_by_oid(self) -> Mapping[int, SequenceState]:
        return {s.oid: s for s in self.sequences}

    @cached_property
    def _uses_by_sequence(self) -> Mapping[int, tuple[ColumnUse, ...]]:
        return by_sequence(self.uses)

    @cached_property
    def _uses_by_column(self) -> Mapping[tuple[int, int], tuple[ColumnUse, ...]]:
        grouped: dict[tuple[int, int], list[ColumnUse]] = {}
        for use in self.uses:
            grouped.setdefault((use.table_oid, use.attnum), []).append(use)
        return {key: tuple(uses) for key, uses in grouped.items()}

    @cached_property
    def _uses_by_key(self) -> Mapping[tuple[int, int, int], ColumnUse]:
        return {use.key: use for use in self.uses}

    def use(self, key: tuple[int, int, int]) -> ColumnUse:
        return self._uses_by_key[key]

    def sequence(self, oid: int) -> SequenceState:
        return self._sequences_by_oid[oid]

    def uses_of(self, sequence: SequenceState) -> tuple[ColumnUse, ...]:
        return self._uses_by_sequence.get(sequence.oid, ())

    def uses_of_column(self, table_oid: int, attnum: int) -> tuple[ColumnUse, ...]:
        return self._uses_by_column.get((table_oid, attnum), ())

    @cached_property
    def pairs(self) -> tuple[tuple[SequenceState, ColumnUse], ...]:
        """Every (sequence, column it feeds) pair: made once for the checks that walk them all."""
        sequences = self._sequences_by_oid
        return tuple((sequences[use.sequence_oid], use) for use in self.uses)
