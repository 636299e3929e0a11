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
from collections.abc import Container, Iterable, Iterator, Sequence
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


@dataclass(frozen=True, slots=True)  # slots: 20,000 made by an audit of 10,000 tables
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
    # of the clock, so that serve's rounds carry it whole (see Outlook).
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
        # float(values_left / per_day), correctly rounded as that is, without making a Fraction
        # (thousands every round of serve): per_day is over 0, so its numerator is.
        per_day = self.rate.per_day
        return self.values_left * per_day.denominator / per_day.numerator

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
    current = _current(sequence, activity.now)
    recorded = activity.history.get(sequence.oid)
    if not recorded:
        return [current]  # most sequences without a history: nothing to sort
    return _since_last_reset([*recorded, current], sequence)


def _current(sequence: SequenceState, now: datetime) -> Position:
    """Where *sequence*, whose position is known, stands at *now*."""
    assert sequence.last_value is not None
    assert sequence.is_called is not None
    return Position(now, handed_out(sequence.last_value, sequence.is_called, sequence.increment_by))


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
    since = _counted_since(snapshot, activity)
    rows = _rows_inserted(snapshot.uses_of(sequence), activity)
    return None if since is None or rows is None else _estimate(rows, since, activity)


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


def _rows_inserted(uses: Iterable[ColumnUse], activity: Activity) -> int | None:
    """The rows inserted into the tables of *uses* since the counters started; None when
    there is no table, or one whose counters were not read."""
    tables = {use.table_oid for use in uses}
    if not tables or not tables <= activity.rows_inserted.keys():
        return None
    return sum(activity.rows_inserted[oid] for oid in tables)


def _estimate(rows: int, since: datetime, activity: Activity) -> Rate:
    """The rate of *rows* inserted since *since*, at the activity's clock."""
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
    """
    found = outlook(snapshot).forecasts()
    if not moving_only:
        return iter(found)
    return (f for f in found if f.rate is not None and f.rate.per_day > 0)


def outlook(snapshot: Snapshot) -> Outlook:
    """The forecasts of *snapshot*, made when asked for (see :class:`Outlook`).

    Made once per snapshot (``Snapshot.derived``): this check and the
    Prometheus exposition of the same audit share them.
    """
    found: Outlook | None = snapshot.derived.get(__name__)
    if found is None:
        found = snapshot.derived[__name__] = _outlook(snapshot)
    return found


# A forecast's figures that its sequence's state and its column alone make, not the clock:
# the column (None: the sequence's own limit), limit, limited_by, used_ratio, values_left, wraps.
_Part = tuple[ColumnUse | None, int, str, float, int, bool]
# How far over a bound a sequence's lead may be and still be taken as within it: the lead
# and the span since the counters started are rounded floats, whose product may be a few
# parts in 10**16 off the exact days left that a forecast's are rounded from.
_ROUNDING = 1e-9


@dataclass(frozen=True, slots=True)
class _Made:
    """What the forecasts of one sequence are made of apart from the clock, kept from one
    snapshot to the next while its state (the same object: read.py keeps a sequence that
    did not move), its columns and its tables' inserts stay the same."""

    sequence: SequenceState
    uses: tuple[ColumnUse, ...]
    parts: tuple[_Part, ...]
    # Its forecasts with no rate and no clock: all it has when no position is recorded and
    # no rate estimated.
    undated: tuple[Forecast, ...]
    # For a rate estimated from its tables' inserts (no position recorded): the rows
    # inserted since the counters started, and the lead: the days left of its soonest
    # forecast per day since then, at any clock (see Outlook). None and inf: no estimate.
    rows: int | None = None
    lead: float = math.inf


def _made(sequence: SequenceState, uses: tuple[ColumnUse, ...], rows: int | None) -> _Made:
    """What the forecasts of *sequence* feeding *uses* are made of, its tables' *rows* given."""
    parts = _parts(sequence, uses)
    undated = tuple(Forecast(sequence, *part, None, None) for part in parts)
    return _Made(sequence, uses, parts, undated, rows, _lead(parts, rows))


def _lead(parts: Iterable[_Part], rows: int | None) -> float:
    """The days left of the soonest of *parts* per day since the counters started, at a rate
    of *rows* inserted since then: its values left over *rows* (inf: none runs out).

    At such a rate, a forecast's days left are values_left / per_day, with per_day
    = rows / (days since the counters started): values_left / rows times those days.

    >>> _lead([(None, 100, "sequence", 0.5, 50, False)], 10), _lead([], 10), _lead([], 0)
    (5.0, inf, inf)
    """
    left = [values_left for _, _, _, _, values_left, wraps in parts if not wraps]
    return min(left) / rows if rows and left else math.inf


class Outlook:
    """The forecasts of one snapshot, each sequence's made at the snapshot's clock when
    first asked for, and which of them may run out within some days, told without
    making the others.

    On a server whose statistics started over an hour ago, every sequence feeding a
    table has a rate estimated from its tables' inserts, which depends on the clock:
    making every forecast, and judging its date, again in every round of ``serve`` took
    most of the checks' and the exposition's time in a round with nothing written (at
    10,000 tables, a round took a fifth of a full audit; bench/results/serve.md).
    But such a forecast's days left are its values left over the rows inserted, times
    the days since the counters started: while its sequence's state, its columns and
    its tables' inserts stay the same, they grow with the clock, in proportion, and the
    sequence's soonest stays its soonest (its lead, :func:`_lead`). So the lead, kept
    from one snapshot to the next, says at any clock which sequences may have a forecast
    within some days (:meth:`within`), or the soonest of all (:meth:`soonest`); only theirs
    are made, with the arithmetic every forecast is made with. Forecasts from a recorded
    history (whose last position is the current one, at the clock) are made with the
    outlook, every time.
    """

    def __init__(
        self,
        made: dict[int, _Made],
        activity: Activity | None,
        since: datetime | None,
        recorded: dict[int, tuple[Forecast, ...]],
        last: Outlook | None = None,
    ) -> None:
        # By sequence oid, in the snapshot's order. *last*: an earlier snapshot's outlook
        # made of the same, whose forecasts with no clock and least lead are taken.
        self._made = made
        self._activity, self._since = activity, since
        self._recorded = frozenset(recorded)
        self._dated = recorded  # by sequence oid: its forecasts at this clock, once made
        self._all: tuple[Forecast, ...] | None = None
        # Every forecast with no rate and no clock: the same objects from one snapshot to
        # the next for a sequence whose state and columns stay the same; and the least lead.
        self.undated: tuple[Forecast, ...]
        self._lead: float
        if last is not None:
            self.undated, self._lead = last.undated, last._lead
        else:
            self.undated = tuple(f for m in made.values() for f in m.undated)
            self._lead = min((m.lead for m in made.values()), default=math.inf)
        self._span = (activity.now - since) / DAY if activity and since else 0.0

    def forecasts(self) -> tuple[Forecast, ...]:
        """Every forecast, in the snapshot's order of sequences."""
        if self._all is None:
            self._all = tuple(f for made in self._made.values() for f in self._of(made))
        return self._all

    def of_sequences(self, oids: Container[int]) -> list[Forecast]:
        """The forecasts of the sequences *oids* names, in order."""
        made = self._made.values()
        return [f for one in made if one.sequence.oid in oids for f in self._of(one)]

    def within(self, days: float) -> list[Forecast]:
        """The forecasts of every sequence one of whose forecasts may run out within *days*,
        in order (those from a history among them): every other forecast runs out later."""
        return self._leading(days / self._span if self._span else -1.0)

    def soonest(self) -> list[Forecast]:
        """The forecasts of every sequence one of whose forecasts may be the first of all to
        run out (those from a history among them), in order."""
        return self._leading(self._lead if self._lead < math.inf else -1.0)

    def _leading(self, lead: float) -> list[Forecast]:
        """The forecasts of the sequences recorded and of those whose lead is at most *lead*,
        or so close to it that the rounding of either may hide which is the lower."""
        bound = lead * (1 + _ROUNDING)
        recorded = self._recorded
        return [
            forecast
            for made in self._made.values()
            if made.lead <= bound or made.sequence.oid in recorded
            for forecast in self._of(made)
        ]

    def _of(self, made: _Made) -> tuple[Forecast, ...]:
        """The forecasts of one sequence, at this clock."""
        found = self._dated.get(made.sequence.oid)
        if found is None:
            activity, since = self._activity, self._since
            if made.rows is None or activity is None or since is None:
                found = made.undated  # nothing of the clock
            else:
                sequence, now = made.sequence, activity.now
                rate, history = _estimate(made.rows, since, activity), (_current(sequence, now),)
                found = tuple(Forecast(sequence, *part, now, rate, history) for part in made.parts)
            self._dated[made.sequence.oid] = found
        return found


def _outlook(snapshot: Snapshot) -> Outlook:
    """The outlook of *snapshot*, taking from the earlier snapshot's (``EARLIER``) what a
    sequence of the same state feeding the same columns made there (its forecasts' parts
    that do not depend on the clock, its forecasts with none, its lead), and all of it when
    the sequences, the columns and the tables' inserts are the same and no position is
    recorded. At 100,000 tables, making them again took most of the checks' time in
    each round of ``serve``."""
    activity = snapshot.activity
    now = activity.now if activity else None
    since = _counted_since(snapshot, activity)  # None: no rate can be estimated
    last: Outlook | None = snapshot.derived.get(EARLIER, {}).get(__name__)
    # What every sequence's forecasts apart from the clock are made of.
    inputs = (snapshot.sequences, snapshot.uses)
    inserted = activity.rows_inserted if activity is not None and since is not None else None
    snapshot.derived[_INPUTS] = (inputs, inserted)
    if last is not None and not (activity and activity.history) and not last._recorded:
        before = snapshot.derived[EARLIER].get(_INPUTS)
        if before and all(map(same_objects, inputs, before[0])) and inserted == before[1]:
            return Outlook(last._made, activity, since, {}, last)
    earlier = last._made if last is not None else {}
    made: dict[int, _Made] = {}
    recorded: dict[int, tuple[Forecast, ...]] = {}
    for sequence in snapshot.sequences:
        if not sequence.position_known:
            continue
        uses = snapshot.uses_of(sequence)
        points = activity.history.get(sequence.oid) if activity is not None else None
        rows = None
        if activity is not None and since is not None and not points:
            rows = _rows_inserted(uses, activity)
        before = earlier.get(sequence.oid)
        if before is None or before.sequence is not sequence or before.uses != uses:
            before = _made(sequence, uses, rows)
        elif before.rows != rows:
            before = replace(before, rows=rows, lead=_lead(before.parts, rows))
        if points:
            history = tuple(history_of(sequence, snapshot))
            rate = _rate(sequence, snapshot, history)
            recorded[sequence.oid] = tuple(
                Forecast(sequence, *part, now, rate, history) for part in before.parts
            )
        made[sequence.oid] = before
    return Outlook(made, activity, since, recorded)


# What the outlook of a snapshot was made of: its sequences and columns, and the rows
# inserted into its tables when rates are estimated from them.
_INPUTS = f"{__name__}.inputs"


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


def soonest_by_basis(found: Iterable[Forecast]) -> dict[Basis, Forecast]:
    """The first of *found* to run out (with a date), for each basis of rate it has."""
    soonest: dict[Basis, Forecast] = {}
    for forecast in found:
        days, rate = forecast.days_left, forecast.rate
        if days is None or rate is None or forecast.exhausted_at is None:
            continue
        first = soonest.get(rate.basis)
        if first is None or days < (first.days_left or 0.0):
            soonest[rate.basis] = forecast
    return soonest


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
    # Only those that may run out within the warning days: no other is a finding.
    for forecast in judged_of(outlook(snapshot).within(settings.warning_days)):
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
