"""SEQ011 exhaustion-forecast: at the rate values are used, a column or sequence runs out soon.

What it checks
    For every integer column a sequence feeds (and every sequence feeding
    none), when its range runs out: at the column type's limit or the
    sequence's own MAXVALUE (MINVALUE descending), whichever comes first, at
    the rate the sequence hands out values. Warning when that is under 90
    days away, critical under 30 (``--warning-days``, ``--critical-days``).

    The rate is measured from the history ``seqdoctor check --record``
    keeps: a least-squares line through the sequence's positions over the
    forecast window (30 days by default, ``--window``), today's included; at
    least two positions an hour or more apart, and only those since the
    sequence last moved backwards (a ``setval()`` or ``RESTART``). It counts
    values handed out, not rows, so rollbacks and upserts are included
    (SEQ010). With no such history, the rate is estimated from the rows
    inserted into its tables since the statistics started counting
    (``pg_stat_user_tables.n_tup_ins``): the finding says so, gives the
    basis, and is never more than a warning. A hot standby's counters count
    only its own inserts, none: there, only a history gives a rate.

Why it matters
    A percentage says how full a column is, not when it breaks: 80 % of
    ``integer`` used can be ten years away or ten days. Widening a column
    rewrites its table under an ACCESS EXCLUSIVE lock, which for a large
    table has to be planned weeks ahead; a date tells when that plan is due.

How to fix
    Widen before the date, as for SEQ002::

        ALTER SEQUENCE public.orders_id_seq AS bigint;
        ALTER TABLE public.orders ALTER COLUMN id TYPE bigint;

    For an estimate, record a history (``seqdoctor check --record`` from
    cron, hourly or daily) so that the next forecast is measured.

Fix safety
    Unsafe: the table rewrite of SEQ002. Recording a history only writes to
    the history store, never to the audited database.

References
    https://www.postgresql.org/docs/current/datatype-numeric.html#DATATYPE-INT
    https://www.postgresql.org/docs/current/monitoring-stats.html#MONITORING-PG-STAT-ALL-TABLES-VIEW
    https://www.postgresql.org/docs/current/sql-altersequence.html
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from fractions import Fraction

from seqdoctor.catalog.model import (
    Activity,
    ColumnUse,
    Position,
    SequenceState,
    Snapshot,
    handed_out,
)
from seqdoctor.checks.base import (
    EARLIER,
    Check,
    Finding,
    Settings,
    Severity,
    number,
    percent,
    plural,
    same_objects,
)
from seqdoctor.checks.seq002_column_near_overflow import column_range, range_name

DAY = timedelta(days=1)
MICROSECOND = timedelta(microseconds=1)
# Positions or counters spanning less than this say more about the hour than the trend.
MIN_SPAN = timedelta(hours=1)


class Basis(StrEnum):
    HISTORY = "history"  # least squares over recorded positions
    ESTIMATE = "estimate"  # rows inserted since the statistics started counting


@dataclass(frozen=True)
class Rate:
    """How many values a sequence hands out a day, and on what evidence."""

    per_day: Fraction  # nextval() calls a day; 0 or less: not moving forward
    basis: Basis
    since: datetime  # the first position fitted, or when the counters started
    until: datetime  # the audit's clock: the last position fitted, or when counters were read
    samples: int = 0  # positions fitted (history)
    rows_inserted: int = 0  # rows counted (estimate)
    counters_reset: bool = False  # estimate: since a reset of this database's statistics

    def describe(self) -> str:
        """The evidence, in words: ``least squares over 12 positions in 30 days``."""
        span = _duration(self.until - self.since)
        if self.basis is Basis.HISTORY:
            return f"least squares over {plural(self.samples, 'position')} in {span}"
        start = "the statistics reset" if self.counters_reset else "the server's statistics start"
        return (
            f"estimate from {plural(self.rows_inserted, 'row')} inserted in {span} since {start}"
            f" on {self.since:%Y-%m-%d}; record a history with seqdoctor check --record"
        )


@dataclass(frozen=True, slots=True)  # slots: 20,000 made every round of serve
class Forecast:
    """When one column (or a sequence feeding none) runs out, at its sequence's rate."""

    sequence: SequenceState
    column: ColumnUse | None  # None: the sequence against its own limit
    limit: int
    limited_by: str  # column type | sequence | column type and sequence
    used_ratio: float
    values_left: int  # nextval() calls that still succeed
    wraps: bool  # a CYCLE sequence that wraps around before any limit: never runs out
    # The audit's clock, which a date counts from; None when the activity was not read, or
    # with no rate and no position recorded: a forecast with nothing to count holds nothing
    # of the clock, so that serve's rounds carry it whole (see _forecasts()).
    now: datetime | None
    rate: Rate | None  # None: no history and no estimate, or the activity was not read
    # The positions the rate was fitted to, or would have been: recorded ones, then the
    # current; none when *now* is None.
    history: tuple[Position, ...] = ()

    @property
    def subject(self) -> str:
        return self.column.qualified if self.column else self.sequence.qualified

    @property
    def running_out(self) -> bool:
        """Moving towards a limit it will reach: there is a date."""
        return not self.wraps and self.rate is not None and self.rate.per_day > 0

    @property
    def days_left(self) -> float | None:
        """Days until the last value is handed out; None when it never will at this rate."""
        if not self.running_out or self.rate is None:
            return None
        return float(self.values_left / self.rate.per_day)

    @property
    def exhausted_at(self) -> datetime | None:
        """When the last value is handed out, to the microsecond, at this rate; None when
        never, or after the year 9999 (a bigint at a few values a day)."""
        if not self.running_out or self.rate is None or self.now is None:
            return None
        micros = round(self.values_left * (DAY // MICROSECOND) / self.rate.per_day)
        if micros > (datetime.max.replace(tzinfo=UTC) - self.now) // MICROSECOND:
            return None
        return self.now + micros * MICROSECOND


def least_squares_slope(points: Sequence[tuple[int, int]]) -> Fraction | None:
    """The slope of the least-squares line through *points*, exactly; None when x never varies.

    >>> least_squares_slope([(0, 0), (10, 5), (20, 10)])
    Fraction(1, 2)
    >>> least_squares_slope([(0, 1), (1, 2), (2, 4)])
    Fraction(3, 2)
    >>> least_squares_slope([(5, 1), (5, 2)]) is None
    True
    """
    n = len(points)
    sum_x = sum(x for x, _ in points)
    sum_y = sum(y for _, y in points)
    sum_xx = sum(x * x for x, _ in points)
    sum_xy = sum(x * y for x, y in points)
    spread = n * sum_xx - sum_x * sum_x
    if spread == 0:
        return None
    return Fraction(n * sum_xy - sum_x * sum_y, spread)


def rate_of(sequence: SequenceState, snapshot: Snapshot) -> Rate | None:
    """The sequence's rate from its history, else estimated from its tables' inserts."""
    return _rate(sequence, snapshot, history_of(sequence, snapshot))


def history_of(sequence: SequenceState, snapshot: Snapshot) -> list[Position]:
    """The positions a rate is fitted to: those recorded since the sequence last moved
    backwards, then its current one, oldest first; none without the activity."""
    activity = snapshot.activity
    if activity is None or sequence.last_value is None or sequence.is_called is None:
        return []
    current = Position(
        activity.now, handed_out(sequence.last_value, sequence.is_called, sequence.increment_by)
    )
    recorded = activity.history.get(sequence.oid)
    if not recorded:
        return [current]  # most sequences without a history: nothing to sort
    return _since_last_reset([*recorded, current], sequence)


def _rate(sequence: SequenceState, snapshot: Snapshot, points: Sequence[Position]) -> Rate | None:
    activity = snapshot.activity
    if activity is None or not points:
        return None
    if len(points) >= 2 and points[-1].at - points[0].at >= MIN_SPAN:
        first = points[0]
        slope = least_squares_slope(
            [((p.at - first.at) // MICROSECOND, p.value - first.value) for p in points]
        )
        if slope is not None:
            per_day = slope * (DAY // MICROSECOND) / sequence.increment_by
            return Rate(per_day, Basis.HISTORY, first.at, points[-1].at, samples=len(points))
    return _estimate(sequence, snapshot, activity)


def _since_last_reset(points: list[Position], sequence: SequenceState) -> list[Position]:
    """The positions since the sequence last moved backwards, in time order."""
    points = sorted(points, key=lambda p: p.at)
    kept: list[Position] = []
    for point in points:
        if kept and (point.value - kept[-1].value) * sequence.increment_by < 0:
            kept = []  # setval() backwards, RESTART, or dropped and created again
        kept.append(point)
    return kept


def _counted_since(snapshot: Snapshot, activity: Activity | None) -> datetime | None:
    """When the insert counters an estimate counts started; None when no rate can be
    estimated from them: too recently, or on a standby, whose counters count its own
    inserts (none, whatever the primary's)."""
    if activity is None or snapshot.server.in_recovery:
        return None
    since = activity.counted_since
    return since if since is not None and activity.now - since >= MIN_SPAN else None


def _estimate(sequence: SequenceState, snapshot: Snapshot, activity: Activity) -> Rate | None:
    since = _counted_since(snapshot, activity)
    tables = {use.table_oid for use in snapshot.uses_of(sequence)}
    if since is None or not tables or not tables <= activity.rows_inserted.keys():
        return None
    rows = sum(activity.rows_inserted[oid] for oid in tables)
    return Rate(
        Fraction(rows * (DAY // MICROSECOND), (activity.now - since) // MICROSECOND),
        Basis.ESTIMATE,
        since,
        activity.now,
        rows_inserted=rows,
        counters_reset=activity.counters_reset,
    )


def forecasts(snapshot: Snapshot, *, moving_only: bool = False) -> Iterator[Forecast]:
    """For every sequence whose position is known: one forecast against its own limit, then
    one for each integer column it feeds. Without the activity, there is no rate.

    With *moving_only*, only for the sequences handing out values: the others
    have no date to give.

    Computed once per snapshot (``Snapshot.derived``): this check and the
    Prometheus exposition of the same audit share them, which at 100,000
    tables saves seconds a round of ``serve``.
    """
    found: tuple[Forecast, ...] | None = snapshot.derived.get(__name__)
    if found is None:
        found = snapshot.derived[__name__] = tuple(_forecasts(snapshot))
    if not moving_only:
        return iter(found)
    return (f for f in found if f.rate is not None and f.rate.per_day > 0)


# A forecast's figures that its sequence's state and its column alone make, not the clock:
# the column (None: the sequence's own limit), limit, limited_by, used_ratio, values_left, wraps.
_Part = tuple[ColumnUse | None, int, str, float, int, bool]


@dataclass(frozen=True, slots=True)
class _Made:
    """What the forecasts of one sequence were made of in one snapshot, kept for the next."""

    sequence: SequenceState
    uses: tuple[ColumnUse, ...]
    parts: tuple[_Part, ...]
    # Its forecasts when they have no rate and no position recorded: nothing of the clock.
    undated: tuple[Forecast, ...] | None = None


_MADE = f"{__name__}.made"
# The sequences and columns of a snapshot none of whose forecasts has a rate.
_UNDATED = f"{__name__}.undated"


def _forecasts(snapshot: Snapshot) -> list[Forecast]:
    """Every forecast, taking from the earlier snapshot (``EARLIER``) what a sequence of the
    same state (the same object: read.py keeps a sequence that did not move) feeding the
    same columns made there: the parts that do not depend on the clock, and, with no rate
    and no position recorded, its forecasts whole. At 100,000 tables, making them again
    took most of the checks' time in each round of ``serve``."""
    activity = snapshot.activity
    now = activity.now if activity else None
    # Whether any sequence's rate can be estimated from its tables' inserts.
    estimates = _counted_since(snapshot, activity) is not None
    last = snapshot.derived.get(EARLIER, {})
    if not estimates and not (activity is not None and activity.history):
        # No rate at all: the forecasts are those of the earlier snapshot if it had the
        # same sequences (states) and columns, and no rate either.
        inputs = snapshot.derived[_UNDATED] = (snapshot.sequences, snapshot.uses)
        before = last.get(_UNDATED)
        if __name__ in last and before and all(map(same_objects, inputs, before)):
            snapshot.derived[_MADE] = last[_MADE]
            return list(last[__name__])
    earlier: dict[int, _Made] = last.get(_MADE, {})
    made: dict[int, _Made] = {}
    found: list[Forecast] = []
    for sequence in snapshot.sequences:
        if not sequence.position_known:
            continue
        uses = snapshot.uses_of(sequence)
        before = earlier.get(sequence.oid)
        if before is None or before.sequence is not sequence or before.uses != uses:
            before = _Made(sequence, uses, _parts(sequence, uses))
        recorded = activity is not None and bool(activity.history.get(sequence.oid))
        rate: Rate | None = None
        history: tuple[Position, ...] = ()
        if recorded or estimates:
            history = tuple(history_of(sequence, snapshot))
            rate = _rate(sequence, snapshot, history)
        if rate is None and not recorded:
            if before.undated is None:
                undated = tuple(Forecast(sequence, *part, None, None) for part in before.parts)
                before = replace(before, undated=undated)
            found += before.undated or ()
        else:
            found += (Forecast(sequence, *part, now, rate, history) for part in before.parts)
        made[sequence.oid] = before
    snapshot.derived[_MADE] = made
    return found


def _parts(sequence: SequenceState, uses: Iterable[ColumnUse]) -> tuple[_Part, ...]:
    """The forecasts' parts of *sequence*: against its own limit, then each integer column."""
    own = (sequence.limit, sequence.start_value)
    used, left = reach = sequence.reach(*own)
    parts: list[_Part] = [(None, own[0], "sequence", used, left, sequence.cycle)]
    for use in uses:
        bounds = column_range(sequence, use)
        if bounds is None:
            continue
        origin, limit, limited_by = bounds
        # Most columns end where their sequence does (a serial's): the same reach.
        used, left = reach if (limit, origin) == own else sequence.reach(limit, origin)
        wraps = sequence.cycle and limited_by != "column type"
        parts.append((use, limit, limited_by, used, left, wraps))
    return tuple(parts)


def judged(snapshot: Snapshot, *, moving_only: bool = False) -> list[Forecast]:
    """The forecasts the check judges: each integer column, and each sequence feeding none."""
    return judged_of(list(forecasts(snapshot, moving_only=moving_only)))


def judged_of(found: Sequence[Forecast]) -> list[Forecast]:
    """Of *found*, those judged: a sequence's own limit is already in its columns' (the
    nearer of the two), so a sequence's own forecast only counts when it feeds none."""
    with_columns = {f.sequence.oid for f in found if f.column is not None}
    return [f for f in found if f.column is not None or f.sequence.oid not in with_columns]


def by_days_left(found: Iterable[Forecast]) -> list[Forecast]:
    """Soonest exhaustion first; then those with no date, fullest first."""
    return sorted(
        found,
        key=lambda f: (
            f.days_left is None,
            f.days_left if f.days_left is not None else 0.0,
            -f.used_ratio,
            f.subject,
        ),
    )


def severity_of(forecast: Forecast, settings: Settings) -> Severity | None:
    """Critical under ``critical_days``, warning under ``warning_days``; an estimate only warns."""
    days = forecast.days_left
    if days is None or forecast.rate is None:
        return None
    if days < settings.critical_days and forecast.rate.basis is Basis.HISTORY:
        return Severity.CRITICAL
    if days < settings.warning_days:
        return Severity.WARNING
    return None


def run(snapshot: Snapshot, settings: Settings) -> Iterator[Finding]:
    for forecast in judged(snapshot, moving_only=True):
        severity = severity_of(forecast, settings)
        rate, days, when = forecast.rate, forecast.days_left, forecast.exhausted_at
        if severity is None or rate is None or days is None or when is None:
            continue
        if forecast.values_left == 0:
            continue  # exhausted already: SEQ002 and SEQ003 say so
        sequence, use = forecast.sequence, forecast.column
        what = range_name(use, forecast.limited_by)
        verb = "runs out" if rate.basis is Basis.HISTORY else "may run out"
        yield CHECK.finding(
            f"{forecast.subject} {verb} of {what} {in_days(days)}, on {when:%Y-%m-%d}, at "
            f"{per_day(rate.per_day)} values a day ({percent(forecast.used_ratio)} used, "
            f"{plural(forecast.values_left, 'value')} left; {rate.describe()})",
            severity=severity,
            sequence=sequence,
            column=use,
            days_left=round(days, 1),
            exhausted_at=when.isoformat(timespec="seconds"),
            values_per_day=round(float(rate.per_day), 1),
            values_left=forecast.values_left,
            limit=forecast.limit,
            limited_by=forecast.limited_by,
            basis=str(rate.basis),
            since=rate.since.isoformat(timespec="seconds"),
            samples=rate.samples if rate.basis is Basis.HISTORY else None,
            rows_inserted=rate.rows_inserted if rate.basis is Basis.ESTIMATE else None,
        )


def in_days(days: float) -> str:
    """A time to come, in whole days.

    >>> in_days(0.4), in_days(1.9), in_days(24.6)
    ('within a day', 'in 1 day', 'in 24 days')
    """
    return "within a day" if days < 1 else f"in {plural(math.floor(days), 'day')}"


def per_day(rate: Fraction | float) -> str:
    """A rate for people: whole numbers from 100 up, three significant digits below.

    >>> per_day(Fraction(3_100_000)), per_day(12.345), per_day(0.25)
    ('3,100,000', '12.3', '0.25')
    """
    return number(round(rate)) if rate >= 100 else f"{float(rate):.3g}"


def _duration(span: timedelta) -> str:
    """A span for people: hours under two days, days from there.

    >>> _duration(timedelta(hours=5)), _duration(timedelta(days=30, hours=2))
    ('5 hours', '30 days')
    """
    if span < 2 * DAY:
        return plural(round(span / timedelta(hours=1)), "hour")
    return plural(round(span / DAY), "day")


def short_duration(span: timedelta) -> str:
    """A span of seconds to hours, for people.

    >>> short_duration(timedelta(seconds=4.6)), short_duration(timedelta(minutes=5))
    ('5 seconds', '5 minutes')
    >>> short_duration(timedelta(hours=1)), short_duration(timedelta(hours=30))
    ('1 hour', '30 hours')
    """
    if span < timedelta(minutes=2):
        return plural(round(span.total_seconds()), "second")
    if span < timedelta(hours=1):
        return plural(round(span / timedelta(minutes=1)), "minute")
    return _duration(span)


CHECK = Check(
    code="SEQ011",
    name="exhaustion-forecast",
    severity=Severity.WARNING,
    summary="at the rate values are used, a column or sequence runs out within weeks",
    run=run,
    module=sys.modules[__name__],
    reads_activity=True,
)
