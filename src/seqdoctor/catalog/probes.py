"""What the columns hold: their extents (min and max), first collisions and statistics.

Each batch of columns is probed in one statement by their indexes (a scan
only when allowed), and the columns behind their sequence are searched for
their first collision; the columns of tables whose mark has not moved keep
the earlier snapshot's values. A column that cannot be probed is judged from
the planner's statistics where they exist, and reported as unjudged otherwise.
"""

from __future__ import annotations

import math
import queue
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

import psycopg
from psycopg import sql

from seqdoctor.catalog.connection import Timeouts, read_only_transaction
from seqdoctor.catalog.model import (
    ColumnExtent,
    ColumnUse,
    Reason,
    SequenceState,
    ServerInfo,
    Snapshot,
    StatisticsSample,
    Unreadable,
    analyzed,
    first_sampled,
    qualify,
    quote_ident,
)
from seqdoctor.catalog.reading import (
    VANISHED,
    Connection,
    ReadOptions,
    all_rows,
    failed,
    in_batches,
    load_query,
    spread,
    spread_owned,
)


def _number(value: int | Decimal | None, rounding: Callable[[Decimal], int]) -> int | None:
    if value is None or isinstance(value, int):
        return value
    return rounding(value)


# The planner's statistics of columns, by column key: one sample per table analyzed.
Statistics = dict[tuple[int, int, int], tuple[StatisticsSample, ...]]


@dataclass
class Probed:
    """What reading one batch of columns gave."""

    extents: dict[tuple[int, int, int], ColumnExtent] = field(default_factory=dict)
    vanished: set[tuple[int, int, int]] = field(default_factory=set)
    unreadable: list[Unreadable] = field(default_factory=list)
    statistics: Statistics = field(default_factory=dict)
    carried: set[tuple[int, int, int]] = field(default_factory=set)


def probe_columns(  # noqa: PLR0917 - one call site, every argument a distinct role
    connections: Sequence[Connection],
    server: ServerInfo,
    uses: list[ColumnUse],
    positions: dict[int, SequenceState],
    options: ReadOptions,
    unreadable: list[Unreadable],
    unchanged: dict[tuple[int, int, int], ColumnExtent],
    earlier: Snapshot | None = None,
) -> Probed:
    """Read each fed column's max and min through its index, and its first collision if behind.

    Batches are spread over *connections*, one thread each: while one
    connection's server process plans and runs its batch, another runs the
    next, and this process composes and reads results in between.

    A column in *unchanged* (from *earlier*) keeps that extent unread. Where
    its first collision is depends on its sequence's position too: none when
    the sequence is not behind it now, the one read then when the sequence is
    where it was in *earlier*, else read again (one index range scan).
    """
    total = Probed()
    probe = []
    collide: list[tuple[ColumnUse, SequenceState]] = []
    unindexed: list[tuple[ColumnUse, Unreadable]] = []
    for use in uses:
        if not use.comparable or use.relkind == "f":
            continue  # text ids, or rows on another server: nothing to compare here
        why_not = _why_not_probe(use, server, options)
        extent = unchanged.get(use.key)
        if why_not is None and extent is not None:
            total.carried.add(use.key)
            sequence = positions[use.sequence_oid]
            if not _is_behind(sequence, extent):
                # A collision read while it was behind (before a setval()) is gone.
                if extent.first_collision is not None:
                    extent = replace(extent, first_collision=None)
            elif not _unmoved(earlier, sequence):
                collide.append((use, sequence))
            total.extents[use.key] = extent
        elif why_not is None:
            probe.append(use)
        elif why_not.reason is Reason.NO_INDEX:
            unindexed.append((use, why_not))
        else:
            unreadable.append(why_not)
    idle: queue.SimpleQueue[Connection] = queue.SimpleQueue()
    for conn in connections:
        idle.put(conn)

    def read(conn: Connection, batch: Sequence[ColumnUse]) -> Probed:
        return _read_batch(conn, batch, positions, options)

    def read_statistics(conn: Connection, batch: Sequence[ColumnUse]) -> Statistics:
        return _read_statistics(conn, batch, options.timeouts)

    done = 0
    owned = spread_owned(connections, probe, _sequence_of, options.batch_size, read)
    for batch, result in owned:
        total.extents.update(result.extents)
        total.vanished |= result.vanished
        unreadable += result.unreadable
        done += len(batch)
        options.report_progress("columns", done, len(probe))
    _collide_carried(connections, collide, options, total)
    unreadable += total.unreadable
    unread = [use for use, _ in unindexed]
    for _, found in spread(
        idle, len(connections), list(in_batches(unread, options.batch_size)), read_statistics
    ):
        total.statistics.update(found)
    for use, why_not in unindexed:
        sequence = positions[use.sequence_oid]
        samples = total.statistics.get(use.key)
        if samples and first_sampled(sequence, samples):
            continue  # judged from the statistics: SEQ001 says the sequence is likely behind
        if use.has_unique_index:
            # Without a unique index the column gets SEQ008, which says drift is unchecked.
            unreadable.append(_unjudged(why_not, use, sequence, samples))
    return total


def _collide_carried(
    connections: Sequence[Connection],
    collide: Sequence[tuple[ColumnUse, SequenceState]],
    options: ReadOptions,
    total: Probed,
) -> None:
    """Read again the first collisions of the carried extents in *total* of the columns
    in *collide*, their sequences moved; a column that cannot be read is no longer carried."""

    def read(conn: Connection, batch: Sequence[tuple[ColumnUse, SequenceState]]) -> Probed:
        result = Probed(extents={use.key: total.extents[use.key] for use, _ in batch})
        _read_collisions(conn, batch, options, result)
        return result

    owned = spread_owned(connections, collide, _sequence_of_pair, options.batch_size, read)
    for pairs, result in owned:
        total.vanished |= result.vanished
        total.unreadable += result.unreadable
        for use, _ in pairs:
            if use.key in result.extents:
                total.extents[use.key] = result.extents[use.key]
            else:  # gone, or unreadable now
                total.carried.discard(use.key)
                del total.extents[use.key]


def _sequence_of(use: ColumnUse) -> int:
    return use.sequence_oid


def _sequence_of_pair(pair: tuple[ColumnUse, SequenceState]) -> int:
    return pair[1].oid


def _unmoved(earlier: Snapshot | None, sequence: SequenceState) -> bool:
    """*sequence* (its earliest position) is where it was in *earlier*."""
    if earlier is None:
        return False
    try:
        return earlier.sequence(sequence.oid).earliest == sequence
    except KeyError:  # new since
        return False


def _read_batch(
    conn: Connection,
    batch: Sequence[ColumnUse],
    positions: dict[int, SequenceState],
    options: ReadOptions,
) -> Probed:
    """One batch of columns: one statement, or, when it fails, one transaction per column."""
    result = Probed()
    try:
        with read_only_transaction(conn, options.timeouts):
            rows = all_rows(conn, _ranges_query(batch))
        ranges = {batch[i].key: (high, low) for i, high, low in rows}
    except psycopg.Error:
        # One table locked, dropped or denied spoils the batch: read them one by one,
        # each in its own transaction, so that no lock is held while another is awaited.
        ranges = {}
        for use in batch:
            try:
                with read_only_transaction(conn, options.timeouts):
                    ((_, high, low),) = all_rows(conn, _ranges_query([use]))
                ranges[use.key] = (high, low)
            except VANISHED:
                result.vanished.add(use.key)
            except psycopg.Error as error:
                result.unreadable.append(
                    failed(error, f"column {use.qualified}", column_key=use.key)
                )
    behind = []
    for use in batch:
        if use.key in ranges:
            high, low = ranges[use.key]
            extent = ColumnExtent(_number(high, math.ceil), _number(low, math.floor))
            result.extents[use.key] = extent
            sequence = positions[use.sequence_oid]
            if not _is_behind(sequence, extent):
                continue
            first = _collision_at_edge(use, sequence, extent)
            if first is None:
                behind.append((use, sequence))
            else:
                result.extents[use.key] = replace(extent, first_collision=first)
    if behind:
        _read_collisions(conn, behind, options, result)
    return result


def _read_collisions(
    conn: Connection,
    behind: Sequence[tuple[ColumnUse, SequenceState]],
    options: ReadOptions,
    result: Probed,
) -> None:
    """Add the first collision to the extents of the columns *behind* their sequences.

    All in one statement, or, when that fails, one column per transaction.
    """

    def read(some: Sequence[tuple[ColumnUse, SequenceState]]) -> None:
        with read_only_transaction(conn, options.timeouts):
            rows = all_rows(conn, _collisions_query(some))
        for i, first in rows:
            key = some[i][0].key
            result.extents[key] = replace(
                result.extents[key], first_collision=_number(first, math.ceil)
            )

    if len(behind) > 1:
        try:
            read(behind)
            return
        except psycopg.Error:
            pass  # one table locked, dropped or denied spoils the statement
    for pair in behind:
        use = pair[0]
        try:
            read([pair])
        except VANISHED:
            result.vanished.add(use.key)
            del result.extents[use.key]
        except psycopg.Error as error:
            result.unreadable.append(failed(error, f"column {use.qualified}", column_key=use.key))
            del result.extents[use.key]


def _read_statistics(
    conn: Connection, batch: Sequence[ColumnUse], timeouts: Timeouts
) -> Statistics:
    """The planner's statistics of each column in *batch*; none at all when they cannot be read.

    They come from the catalog and lock no table.
    """
    params = {
        "indexes": list(range(len(batch))),
        "tables": [use.table_oid for use in batch],
        "columns": [use.column for use in batch],
    }
    try:
        with read_only_transaction(conn, timeouts):
            rows = conn.execute(load_query("list_column_statistics").encode(), params).fetchall()
    except psycopg.Error:
        return {}  # unread statistics are no evidence: the columns stay not checked
    found: dict[tuple[int, int, int], list[StatisticsSample]] = {use.key: [] for use in batch}
    for i, schema, table, analyzed_at, sampled in rows:
        sample = StatisticsSample(schema, table, analyzed_at, tuple(sampled))
        found[batch[i].key].append(sample)
    return {key: tuple(samples) for key, samples in found.items()}


def _unjudged(
    why_not: Unreadable,
    use: ColumnUse,
    sequence: SequenceState,
    samples: tuple[StatisticsSample, ...] | None,
) -> Unreadable:
    """*why_not*, saying what the statistics showed: absence of evidence is not health."""
    if samples is None:
        return why_not
    table = qualify(use.schema, use.table)
    if not samples:
        shown = (
            f"{table} has no planner statistics yet: ANALYZE {table} would let the audit "
            "judge it from them, --allow-seqscan reads its max()"
        )
    else:
        values = [v for s in samples for v in s.values]
        edge = (max if sequence.ascending else min)(values, default=None)
        sampled = (
            "no value" if edge is None else f"{'max' if sequence.ascending else 'min'} {edge:,}"
        )
        shown = (
            f"the planner's statistics ({analyzed(samples)}) show no value nextval() will "
            f"return (sampled {sampled}), but they are a sample: not fully checked"
        )
    return replace(why_not, detail=f"{why_not.detail}; {shown}")


def _why_not_probe(use: ColumnUse, server: ServerInfo, options: ReadOptions) -> Unreadable | None:
    """Why *use* cannot be probed, or None; the names quoted only then: this runs for
    every column every round."""
    if use.readable and not use.row_security and (use.has_probe_index or options.allow_seqscan):
        return None
    role = quote_ident(server.current_user)
    table = qualify(use.schema, use.table)
    if not use.readable:
        return Unreadable(
            Reason.PRIVILEGE,
            f"role {quote_ident(server.current_user)} may not read column {use.qualified}",
            column_key=use.key,
            remedy=f"GRANT USAGE ON SCHEMA {quote_ident(use.schema)} TO {role}; "
            f"GRANT SELECT ({quote_ident(use.column)}) ON TABLE {table} TO {role};",
        )
    if use.row_security:
        return Unreadable(
            Reason.ROW_SECURITY,
            f"row-level security hides rows of {qualify(use.schema, use.table)} from role "
            f"{server.current_user}: its max() would be wrong",
            column_key=use.key,
            remedy=f"ALTER ROLE {role} BYPASSRLS;",
        )
    if not use.has_probe_index and not options.allow_seqscan:
        # CONCURRENTLY is refused on a partitioned table; a plain CREATE INDEX
        # there builds every partition's index while blocking writes.
        concurrently = "" if use.relkind == "p" else "CONCURRENTLY "
        return Unreadable(
            Reason.NO_INDEX,
            f"no btree index leads with {use.qualified}: reading its max() would scan the table",
            column_key=use.key,
            remedy=f"CREATE INDEX {concurrently}ON {table} ({quote_ident(use.column)}); "
            "-- or run the audit with --allow-seqscan",
        )
    return None


def table_sql(use: ColumnUse) -> sql.SQL:
    """The table of *use* as the audit and the repairs read it, its name quoted by
    ``psycopg.sql``."""
    # ONLY: an inheritance parent is judged on its own rows, each child on its
    # own; a partitioned table has no rows of its own and is read whole.
    table = sql.Identifier(use.schema, use.table).as_string()
    return sql.SQL(f"ONLY {table}" if use.relkind == "r" else table)


def _ranges_query(batch: Sequence[ColumnUse]) -> str:
    """Statements reading max() and min() of many columns, each from its own index.

    Each is a plain ``SELECT max(c), min(c) FROM t``, which the planner
    answers with two index descents (its MinMaxAgg plan), cast to numeric so
    that every column's row reads alike. One message of statements rather than
    a UNION of them: the planner's work on a UNION grows faster than its arms.
    """
    # Joined as text, every name quoted by psycopg.sql: composing 10,000 of
    # them took a third of a second of the audit's client time.
    arms = []
    for i, use in enumerate(batch):
        column = sql.Identifier(use.column).as_string()
        table = table_sql(use).as_string()
        arms.append(f"SELECT {i}, max({column})::numeric, min({column})::numeric FROM {table}")
    return ";\n".join(arms)


def _is_behind(seq: SequenceState, extent: ColumnExtent) -> bool:
    """The column holds values at or past the sequence's next value, in its direction."""
    following, high, low = seq.next_value, extent.max_value, extent.min_value
    if following is None or high is None or low is None:
        return False
    return high >= following if seq.ascending else low <= following


def _collision_at_edge(use: ColumnUse, seq: SequenceState, extent: ColumnExtent) -> int | None:
    """The first collision when the extent read says it, else None (it is read).

    It does when the sequence steps by one and the integer column holds no
    value before the sequence's next one, within its limit: the column's first
    value in the sequence's direction is then the first it will hand out that
    the column holds. That is the usual copy of rows with their ids: a sequence
    still at 1 under ids from 1 up, which needs no index scan to say it.
    """
    edge = extent.min_value if seq.ascending else extent.max_value
    following = seq.next_value
    if abs(seq.increment_by) != 1 or use.type_range is None:  # an integer column
        return None
    if edge is None or following is None:
        return None
    low, high = sorted((following, seq.limit))
    return edge if low <= edge <= high else None


def _collisions_query(behind: Sequence[tuple[ColumnUse, SequenceState]]) -> str:
    """Statements finding, for each column, the first value its sequence will collide with.

    That is the first value the sequence will actually hand out (same residue
    modulo the increment, within the sequence's own limit) that the column
    holds: two sequences interleaving odd and even ids, or explicit ids kept
    above a sequence's MAXVALUE, never collide. Each arm is one index range
    scan from the sequence's next value.
    """
    # Joined as text, as _ranges_query(); every number an int.
    arms = []
    for i, (use, seq) in enumerate(behind):
        following = seq.next_value
        assert following is not None
        lower, upper = sorted((following, seq.limit))
        column = sql.Identifier(use.column).as_string()
        pick = "min" if seq.ascending else "max"
        arm = (
            f"SELECT {i}, {pick}({column})::numeric FROM {table_sql(use).as_string()}"
            f" WHERE {column} BETWEEN ({int(lower)}) AND ({int(upper)})"
        )
        if abs(seq.increment_by) != 1:
            step = abs(int(seq.increment_by))
            arm += f" AND ({column}::numeric - ({int(following)})) % ({step}) = 0"
        arms.append(arm)
    return ";\n".join(arms)
