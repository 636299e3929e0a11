"""Reading a snapshot: the inventory, the sequence positions, and the column probes.

Every read happens in a short READ ONLY transaction bounded by ``lock_timeout``
and ``statement_timeout`` (see :mod:`.connection`): the inventory in one, then
positions and probes in batches, each batch its own transaction, so the audit
never holds locks on many tables at once and never queues behind a lock for
longer than the lock timeout. Anything that cannot be read becomes an
:class:`Unreadable` entry, and the audit goes on.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import queue
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import Enum
from functools import cache
from importlib import resources
from typing import Any, TypeVar

import psycopg
from psycopg import errors, sql

from seqdoctor.catalog.connection import Timeouts, error_message, read_only_transaction
from seqdoctor.catalog.filters import Filters
from seqdoctor.catalog.model import (
    ColumnExtent,
    ColumnUse,
    ForeignKeyColumn,
    Inventory,
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

Connection = psycopg.Connection[Any]
Row = TypeVar("Row")
Item = TypeVar("Item")
Result = TypeVar("Result")

MIN_SERVER_VERSION = 120000

# Version variants of a query: the file used from each server version on.
# A name without an entry has one file, <name>.sql, for every supported version.
QUERY_VARIANTS: dict[str, tuple[tuple[int, str], ...]] = {
    "list_sequence_positions": (
        (MIN_SERVER_VERSION, "list_sequence_positions"),
        (180000, "list_sequence_positions_post_180000"),
    ),
    "list_family_tables": (
        (MIN_SERVER_VERSION, "list_family_tables"),
        (150000, "list_family_tables_post_150000"),
    ),
}


@cache
def load_query(name: str, server_version_num: int = MIN_SERVER_VERSION) -> str:
    """The text of query *name* for a server version; ``''`` when no file serves it."""
    filename = name
    if name in QUERY_VARIANTS:
        filename = ""
        for since, variant in QUERY_VARIANTS[name]:
            if server_version_num >= since:
                filename = variant
        if not filename:
            return ""
    return resources.files("seqdoctor.catalog").joinpath(f"queries/{filename}.sql").read_text()


def list_column_uses(conn: Connection, *, index_facts: bool = True) -> list[ColumnUse]:
    """Every column a sequence feeds, in order of schema, table and column number.

    Without *index_facts*, only the columns of cycling sequences say whether
    they have a unique index and an index to probe: the others say None.
    """
    uses = fetch(conn, load_query("list_column_uses"), ColumnUse, {"index_facts": index_facts})
    uses.sort(key=operator.attrgetter("schema", "table", "attnum"))
    return uses


@dataclass(frozen=True)
class ReadOptions:
    timeouts: Timeouts = field(default_factory=Timeouts)
    filters: Filters = field(default_factory=Filters)
    allow_seqscan: bool = False  # probe columns without an index by scanning the table
    # Objects per transaction (and per statement) for positions and probes: few
    # enough that one batch's locks (a table and each of its indexes) fit the
    # lock table of a default server (max_locks_per_transaction = 64, shared by
    # 100 connections), many enough that round trips grow with N / batch_size.
    batch_size: int = 200
    # Read the columns' values (max(), collisions): False reads no table at all.
    read_columns: bool = True
    # Told (phase, done, total) after each batch: "sequences", then "columns".
    progress: Callable[[str, int, int], None] | None = None
    # Read each table's change mark (list_table_changes.sql) into the snapshot,
    # for a later read to be given as *earlier*.
    mark_changes: bool = False
    # An earlier snapshot of the same database, read with mark_changes: the
    # columns of tables whose mark has not moved since keep its extents rather
    # than being read again, unless their sequence is now behind them; and its
    # inventory is kept if the catalog's mark (get_catalog_mark.sql) has not moved.
    earlier: Snapshot | None = None

    def report_progress(self, phase: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(phase, done, total)


def _row_layout(
    model: type[Any],
) -> tuple[tuple[str, ...], tuple[tuple[int, dict[Any, Enum]], ...]]:
    """The field names of a row dataclass, in order, and its enum fields' members by value."""
    hints = typing.get_type_hints(model)
    names = tuple(f.name for f in dataclasses.fields(model))
    enums = tuple(
        (i, {member.value: member for member in hint})
        for i, name in enumerate(names)
        if isinstance(hint := hints[name], type) and issubclass(hint, Enum)
    )
    return names, enums


def fetch(conn: Connection, query: str, model: type[Row], params: Any = None) -> list[Row]:
    """Rows of *query*, each a *model* (a dataclass) built from its columns in order.

    The columns must be named as the model's fields, in the same order (the
    fields after them keep their defaults): that is checked once per query,
    and each row is then built positionally, three times faster than by
    keyword, which counts at 100,000 rows. Text in an enum field becomes the enum.
    """
    names, enums = _row_layout(model)
    with conn.cursor() as cur:
        cur.execute(query.encode(), params)
        columns = tuple(column.name for column in cur.description or ())
        if columns != names[: len(columns)]:
            raise TypeError(f"{model.__name__} has fields {names}; the query returns {columns}")
        rows = cur.fetchall()
    if not enums:
        return [model(*row) for row in rows]
    built = []
    for row in rows:
        values = list(row)
        for i, members in enums:
            values[i] = members[values[i]]
        built.append(model(*values))
    return built


def _batches(items: Sequence[Row], size: int) -> Iterator[Sequence[Row]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _reason(error: psycopg.Error) -> Reason:
    if isinstance(error, errors.LockNotAvailable):
        return Reason.LOCK_TIMEOUT
    if isinstance(error, errors.QueryCanceled):
        return Reason.STATEMENT_TIMEOUT
    if isinstance(error, errors.InsufficientPrivilege):
        return Reason.PRIVILEGE
    return Reason.ERROR


# Errors meaning the object went away between the inventory and the read.
_VANISHED = (errors.UndefinedTable, errors.UndefinedColumn, errors.UndefinedObject)


def read_snapshot(
    conn: Connection, options: ReadOptions, more: Sequence[Connection] = ()
) -> Snapshot:
    """Read everything the checks need from *conn*, an autocommit, read-only connection.

    The connections in *more* (to the same database, set up the same way)
    share the work: the first lists the sequences and reads their positions
    while *conn* lists the columns they feed and then joins in; then all of
    them read tables in parallel.
    """
    version = conn.info.server_version
    if version < MIN_SERVER_VERSION:
        raise errors.FeatureNotSupported(
            f"PostgreSQL {conn.info.parameter_status('server_version')} is not supported"
            " (12 or later is needed)"
        )
    connections = [conn, *more]
    # Connections free to read positions: each batch borrows one.
    idle: queue.SimpleQueue[Connection] = queue.SimpleQueue()
    # Unfiltered, every sequence is audited: its position need not wait for the
    # columns to say which sequences the filters keep.
    early = bool(more) and not options.filters.active

    def list_sequences(on: Connection) -> tuple[list[SequenceState], PositionsRead | None]:
        with read_only_transaction(on, options.timeouts):
            sequences = fetch(on, load_query("list_sequences"), SequenceState)
        if not early:
            return sequences, None
        idle.put(on)
        return sequences, _read_positions(idle, len(connections), version, sequences, options)

    def positions_alone(on: Connection, sequences: Sequence[SequenceState]) -> PositionsRead:
        alone: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        alone.put(on)
        return _read_positions(alone, 1, version, list(sequences), options)

    server, inventory, read = _read_inventory(
        conn, more, options, idle, list_sequences, positions_alone if early else None
    )
    sequences, uses = _select(list(inventory.sequences), list(inventory.uses), options.filters)
    if read is None:
        for extra in more:
            idle.put(extra)
        read = _read_positions(idle, len(connections), version, sequences, options)
    positions, failures = read
    unreadable = [*_unreadable_sequences(server, sequences), *failures]
    # With the inventory carried, the earlier snapshot's sequences have the same definitions.
    carried = options.earlier is not None and inventory is options.earlier.inventory
    kept = {s.oid: s for s in options.earlier.sequences} if options.earlier and carried else {}
    sequences = _positioned(sequences, positions, unreadable, kept)
    if server.in_recovery:
        sequences = [s.replayed() for s in sequences]
    # The sequences and the columns were listed at the same time, each in its
    # own snapshot: a column whose sequence was created since, or dropped
    # since, is left out (and a sequence the columns did not see fed is
    # looked at again below).
    known = {s.oid for s in sequences}
    uses = [u for u in uses if u.sequence_oid in known]
    columns = _Read()
    marks: dict[int, str] = {}
    counted: dict[int, tuple[int, int]] = {}
    if options.read_columns:
        # A standby counts no write it replays: its marks would never move.
        if (options.mark_changes or options.earlier) and not server.in_recovery:
            marks, counted = _read_change_marks(conn, uses, options.timeouts)
        # On a standby, collisions are looked for from the primary's earliest position.
        columns = _probe_columns(
            connections,
            server,
            uses,
            {s.oid: s.earliest for s in sequences},
            options,
            unreadable,
            _unchanged(options.earlier, uses, marks),
            options.earlier,
        )
    uses = [u for u in uses if u.key not in columns.vanished]
    return Snapshot(
        server=server,
        sequences=tuple(_still_unfed(conn, sequences, uses, options)),
        uses=tuple(uses),
        foreign_keys=inventory.foreign_keys,
        extents=columns.extents,
        unreadable=tuple(unreadable),
        statistics=columns.statistics,
        change_marks=marks,
        table_activity=counted,
        carried=frozenset(columns.carried),
        inventory=inventory if inventory.mark is not None else None,
        inventory_carried=carried,
    )


def _read_inventory(  # noqa: PLR0917 - read_snapshot()'s parts, one call site
    conn: Connection,
    more: Sequence[Connection],
    options: ReadOptions,
    idle: queue.SimpleQueue[Connection],
    list_sequences: Callable[[Connection], tuple[list[SequenceState], PositionsRead | None]],
    positions_alone: Callable[[Connection, Sequence[SequenceState]], PositionsRead] | None,
) -> tuple[ServerInfo, Inventory, PositionsRead | None]:
    """Who we are, and the inventory: read, or carried from the earlier snapshot.

    The sequences are listed by *list_sequences* on the first connection of
    *more* while *conn* lists the columns; it may read their positions too
    (else None). *conn* is put in *idle* once done.

    With *positions_alone*, the first connection of *more* reads the positions
    of the earlier inventory's sequences while *conn* reads the catalog's
    mark: they are this snapshot's positions if the inventory is carried (no
    sequence was created, dropped or changed before the mark), else forgotten.
    """
    known = options.earlier.inventory if options.earlier is not None else None
    with ThreadPoolExecutor(max_workers=1) as pool:
        guess = None
        if positions_alone and more and known is not None and known.mark is not None:
            guess = pool.submit(positions_alone, more[0], known.sequences)
        # Taken before the inventory is read, on its own: whatever changes after it
        # moves the next round's mark, whether this inventory saw the change or not.
        mark = None
        if options.mark_changes or options.earlier:
            mark = _read_catalog_mark(conn, options)
        carried = _carried_inventory(options.earlier, mark, options.read_columns)
        guessed = guess.result() if guess is not None else None
    if carried is not None:
        with read_only_transaction(conn, options.timeouts):
            (server,) = fetch(conn, load_query("get_server_info"), ServerInfo)
        idle.put(conn)
        return server, carried, guessed
    with ThreadPoolExecutor(max_workers=1) as pool:
        listing = pool.submit(list_sequences, more[0]) if more else None
        with read_only_transaction(conn, options.timeouts):
            (server,) = fetch(conn, load_query("get_server_info"), ServerInfo)
            uses = list_column_uses(conn, index_facts=options.read_columns)
            foreign_keys = fetch(conn, load_query("list_foreign_keys"), ForeignKeyColumn)
        idle.put(conn)  # done here: it reads positions too
        sequences, read = listing.result() if listing else list_sequences(conn)
    inventory = Inventory(
        mark, options.read_columns, tuple(sequences), tuple(uses), tuple(foreign_keys)
    )
    return server, inventory, read


def _read_catalog_mark(conn: Connection, options: ReadOptions) -> str | None:
    """The mark of the catalog rows the inventory reads; None when it cannot be read."""
    try:
        with read_only_transaction(conn, options.timeouts):
            row = conn.execute(load_query("get_catalog_mark").encode()).fetchone()
    except psycopg.Error:
        return None  # no mark: the inventory is read, and not carried next time
    return str(row[0]) if row and row[0] is not None else None


def _carried_inventory(
    earlier: Snapshot | None, mark: str | None, index_facts: bool
) -> Inventory | None:
    """*earlier*'s inventory, when the catalog's mark is still the one it was read under.

    The mark is compared with the one taken before that inventory was read, not
    with the last round's: a change that a late counter hid from one round
    still moves the mark against it in a later one.
    """
    if earlier is None or mark is None or (inventory := earlier.inventory) is None:
        return None
    if inventory.mark != mark or inventory.index_facts != index_facts:
        return None
    return inventory


def _read_change_marks(
    conn: Connection, uses: Sequence[ColumnUse], timeouts: Timeouts
) -> tuple[dict[int, str], dict[int, tuple[int, int]]]:
    """Each table's change mark, and its rows inserted and row estimate (list_table_changes.sql);
    none at all when they cannot be read (every column is read, the activity read apart)."""
    oids = sorted({use.table_oid for use in uses})
    try:
        with read_only_transaction(conn, timeouts):
            rows = conn.execute(load_query("list_table_changes").encode(), {"oids": oids})
            found = rows.fetchall()
    except psycopg.Error:
        return {}, {}
    marks = {oid: mark for oid, mark, _, _ in found}
    return marks, {oid: (inserted, estimate) for oid, _, inserted, estimate in found}


def _unchanged(
    earlier: Snapshot | None, uses: Sequence[ColumnUse], marks: dict[int, str]
) -> dict[tuple[int, int, int], ColumnExtent]:
    """The extents *earlier* read of columns whose tables have the same mark now as then."""
    if earlier is None or not marks:
        return {}
    before = earlier.change_marks
    return {
        use.key: extent
        for use in uses
        if (extent := earlier.extents.get(use.key)) is not None
        and (mark := marks.get(use.table_oid)) is not None
        and before.get(use.table_oid) == mark
    }


def _collide_carried(
    idle: queue.SimpleQueue[Connection],
    workers: int,
    collide: Sequence[tuple[ColumnUse, SequenceState]],
    options: ReadOptions,
    total: _Read,
) -> None:
    """Read again the first collisions of the carried extents in *total* of the columns
    in *collide*, their sequences moved; a column that cannot be read is no longer carried."""

    def read(conn: Connection, batch: Sequence[tuple[ColumnUse, SequenceState]]) -> _Read:
        result = _Read(extents={use.key: total.extents[use.key] for use, _ in batch})
        _read_collisions(conn, batch, options, result)
        return result

    batches = list(_batches(collide, options.batch_size))
    for pairs, result in _spread(idle, workers, batches, read):
        total.vanished |= result.vanished
        total.unreadable += result.unreadable
        for use, _ in pairs:
            if use.key in result.extents:
                total.extents[use.key] = result.extents[use.key]
            else:  # gone, or unreadable now
                total.carried.discard(use.key)
                del total.extents[use.key]


def _unmoved(earlier: Snapshot | None, sequence: SequenceState) -> bool:
    """*sequence* (its earliest position) is where it was in *earlier*."""
    if earlier is None:
        return False
    try:
        return earlier.sequence(sequence.oid).earliest == sequence
    except KeyError:  # new since
        return False


def _spread(
    idle: queue.SimpleQueue[Connection],
    workers: int,
    batches: Sequence[Sequence[Item]],
    read: Callable[[Connection, Sequence[Item]], Result],
) -> Iterator[tuple[Sequence[Item], Result]]:
    """Each batch read on whichever connection in *idle* is free, *workers* at a time.

    The results come in the order of the batches. A connection put in *idle*
    later, by a caller done with it, joins in from then on.
    """

    def on_idle(batch: Sequence[Item]) -> Result:
        conn = idle.get()
        try:
            return read(conn, batch)
        finally:
            idle.put(conn)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        yield from zip(batches, pool.map(on_idle, batches), strict=True)


def _still_unfed(
    conn: Connection, sequences: list[SequenceState], uses: list[ColumnUse], options: ReadOptions
) -> list[SequenceState]:
    """The sequences, but those that fed no column and now are gone or feed one.

    Either changed during the audit: a dropped table takes its serial's
    sequence with it, and a column created since the inventory may be fed by a
    sequence listed after it. Neither is reported unused; the next audit sees
    the new column whole.
    """
    fed = {u.sequence_oid for u in uses}
    unfed = [s.oid for s in sequences if s.oid not in fed]
    if not unfed:
        return sequences
    with read_only_transaction(conn, options.timeouts):
        rows = conn.execute(load_query("list_unfed_sequences").encode(), {"oids": unfed})
        still = {oid for (oid,) in rows.fetchall()}
    return [s for s in sequences if s.oid in fed or s.oid in still]


def _select(
    sequences: list[SequenceState], uses: list[ColumnUse], filters: Filters
) -> tuple[list[SequenceState], list[ColumnUse]]:
    """Keep the columns whose tables pass the filters, and the sequences that feed them.

    A sequence that feeds no column is kept when its own schema passes and no
    ``--table`` pattern narrows the audit to particular tables.
    """
    if not filters.active:
        return sequences, uses
    kept_uses = [u for u in uses if filters.includes_table(u.schema, u.table)]
    feeding = {u.sequence_oid for u in kept_uses}
    all_feeding = {u.sequence_oid for u in uses}
    kept_sequences = [
        s
        for s in sequences
        if s.oid in feeding
        or (not filters.tables and s.oid not in all_feeding and filters.includes_schema(s.schema))
    ]
    return kept_sequences, kept_uses


def _grant_sequence(seq: SequenceState, role: str) -> str:
    return (
        f"GRANT USAGE ON SCHEMA {quote_ident(seq.schema)} TO {quote_ident(role)}; "
        f"GRANT SELECT ON SEQUENCE {seq.qualified} TO {quote_ident(role)};"
    )


Position = tuple[int, bool]
Positions = dict[int, Position | None]
PositionsRead = tuple[Positions, list[Unreadable]]  # the positions, and the reads that failed

# A sequence's definition, the fields before its position, as one tuple.
_DEFINITION = operator.attrgetter(
    *(
        f.name
        for f in dataclasses.fields(SequenceState)
        if f.name not in {"last_value", "is_called", "ahead_by"}
    )
)


def _at(sequence: SequenceState, position: Position) -> SequenceState:
    """The sequence at *position*: dataclasses.replace(), without its per-call field lookup."""
    values: tuple[Any, ...] = (*_DEFINITION(sequence), *position)
    return SequenceState(*values)


def _unreadable_sequences(server: ServerInfo, sequences: list[SequenceState]) -> list[Unreadable]:
    """The sequences whose position the role may not read, each with the GRANT it lacks."""
    return [
        Unreadable(
            Reason.PRIVILEGE,
            f"role {quote_ident(server.current_user)} may not read sequence {seq.qualified}",
            sequence_oid=seq.oid,
            remedy=_grant_sequence(seq, server.current_user),
        )
        for seq in sequences
        if not seq.readable
    ]


def _read_positions(
    idle: queue.SimpleQueue[Connection],
    workers: int,
    server_version_num: int,
    sequences: list[SequenceState],
    options: ReadOptions,
) -> PositionsRead:
    """The last_value and is_called of every sequence the role may read, and what failed.

    A position of None means the sequence could not be read or was dropped
    since the inventory.
    """
    positions: Positions = {}
    unreadable: list[Unreadable] = []
    readable = [s for s in sequences if s.readable]
    query = load_query("list_sequence_positions", server_version_num).encode()

    def read(conn: Connection, batch: Sequence[SequenceState]) -> PositionsRead:
        found: Positions = {}
        failures: list[Unreadable] = []
        not_called = []
        try:
            with read_only_transaction(conn, options.timeouts):
                rows = conn.execute(query, {"oids": [s.oid for s in batch]}).fetchall()
            by_oid = {s.oid: s for s in batch}
            for oid, last, called in rows:
                if last is not None:
                    found[oid] = (last, called)
                elif called is None:
                    found[oid] = None  # pg_get_sequence_data(): dropped since the inventory
                else:
                    not_called.append(by_oid[oid])  # before 18: read the relation itself
        except psycopg.Error:
            not_called = list(batch)  # one sequence locked, dropped or denied spoils the batch
        found.update(_read_relations(conn, not_called, options, failures))
        return found, failures

    # A sequence costs one lock where a table costs one per index too: bigger batches.
    batches = list(_batches(readable, options.batch_size * 5))
    for _, (found, failures) in _spread(idle, workers, batches, read):
        positions.update(found)
        unreadable += failures
        options.report_progress("sequences", len(positions), len(readable))
    return positions, unreadable


def _positioned(
    sequences: list[SequenceState],
    positions: Positions,
    unreadable: list[Unreadable],
    kept: Mapping[int, SequenceState],
) -> list[SequenceState]:
    """The sequences with their positions; those dropped since the inventory left out.

    A sequence of *kept* (states of the same definitions, read earlier) found at the
    same position is taken as it was: at 10,000 sequences, making them all again took
    0.04 s of a round of ``serve``, and the checks' memory (checks/incremental.py)
    then compares it with its last inputs by identity.
    """
    failed = {u.sequence_oid for u in unreadable}
    return [
        _at_again(s, p, kept.get(s.oid)) if (p := positions.get(s.oid)) else s
        for s in sequences
        if s.oid not in positions or positions[s.oid] is not None or s.oid in failed
    ]


def _at_again(
    sequence: SequenceState, position: Position, earlier: SequenceState | None
) -> SequenceState:
    """*earlier* if it is *sequence* at *position* (read on a primary), else :func:`_at`."""
    if (
        earlier is not None
        and earlier.last_value == position[0]
        and earlier.is_called == position[1]
        and not earlier.ahead_by  # a standby's, replayed: made again, then replayed again
    ):
        return earlier
    return _at(sequence, position)


def _relations_query(batch: Sequence[SequenceState]) -> sql.Composed:
    """Statements reading the sequence relations themselves, one each: last_value, is_called.

    Sent as one message, not as one UNION: the planner's work on a UNION
    grows faster than its arms (1,000 arms: 0.3 s, where 1,000 statements
    in one message take 0.02 s).
    """
    return sql.SQL(";\n").join(
        sql.Composed(
            [
                sql.SQL("SELECT "),
                sql.Literal(seq.oid),
                sql.SQL("::int8, last_value, is_called FROM "),
                sql.Identifier(seq.schema, seq.name),
            ]
        )
        for seq in batch
    )


def _all_rows(conn: Connection, statements: sql.Composed) -> list[tuple[Any, ...]]:
    """The rows of every statement in *statements*, sent as one message, in order.

    The server runs them one after another and none after an error, which
    is raised as one statement's would be.
    """
    rows: list[tuple[Any, ...]] = []
    with psycopg.ClientCursor(conn) as cursor:
        cursor.execute(statements.as_bytes(conn))
        rows += cursor.fetchall()
        while cursor.nextset():  # a result per statement
            rows += cursor.fetchall()
    return rows


def _read_relations(
    conn: Connection,
    sequences: Sequence[SequenceState],
    options: ReadOptions,
    unreadable: list[Unreadable],
) -> dict[int, tuple[int, bool] | None]:
    """Positions read from the sequence relations; None for those gone or unreadable.

    All in one message, or, when that fails, one by one, so that the one
    locked or dropped sequence is told apart from the rest.
    """

    def read(batch: Sequence[SequenceState]) -> dict[int, tuple[int, bool] | None]:
        with read_only_transaction(conn, options.timeouts):
            rows = _all_rows(conn, _relations_query(batch))
        return {oid: (last, called) for oid, last, called in rows}

    if len(sequences) > 1:
        try:
            return read(sequences)
        except psycopg.Error:
            pass  # one sequence locked, dropped or denied spoils the statement
    positions: dict[int, tuple[int, bool] | None] = {}
    for seq in sequences:
        try:
            positions.update(read([seq]))
        except _VANISHED:
            positions[seq.oid] = None
        except psycopg.Error as error:
            unreadable.append(_failed(error, f"sequence {seq.qualified}", sequence_oid=seq.oid))
            positions[seq.oid] = None
    return positions


def _failed(error: psycopg.Error, what: str, **where: Any) -> Unreadable:
    """A read that failed, as the report shows it: on what, why, and the server's words."""
    message = error_message(error)
    return Unreadable(_reason(error), f"{what}: {message}", **where)


def _number(value: int | Decimal | None, rounding: Callable[[Decimal], int]) -> int | None:
    if value is None or isinstance(value, int):
        return value
    return rounding(value)


# The planner's statistics of columns, by column key: one sample per table analyzed.
Statistics = dict[tuple[int, int, int], tuple[StatisticsSample, ...]]


@dataclass
class _Read:
    """What reading one batch of columns gave."""

    extents: dict[tuple[int, int, int], ColumnExtent] = field(default_factory=dict)
    vanished: set[tuple[int, int, int]] = field(default_factory=set)
    unreadable: list[Unreadable] = field(default_factory=list)
    statistics: Statistics = field(default_factory=dict)
    carried: set[tuple[int, int, int]] = field(default_factory=set)


def _probe_columns(  # noqa: PLR0917 - one call site, every argument a distinct role
    connections: Sequence[Connection],
    server: ServerInfo,
    uses: list[ColumnUse],
    positions: dict[int, SequenceState],
    options: ReadOptions,
    unreadable: list[Unreadable],
    unchanged: dict[tuple[int, int, int], ColumnExtent],
    earlier: Snapshot | None = None,
) -> _Read:
    """Read each fed column's max and min through its index, and its first collision if behind.

    Batches are spread over *connections*, one thread each: while one
    connection's server process plans and runs its batch, another runs the
    next, and this process composes and reads results in between.

    A column in *unchanged* (from *earlier*) keeps that extent unread. Where
    its first collision is depends on its sequence's position too: none when
    the sequence is not behind it now, the one read then when the sequence is
    where it was in *earlier*, else read again (one index range scan).
    """
    total = _Read()
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

    def read(conn: Connection, batch: Sequence[ColumnUse]) -> _Read:
        return _read_batch(conn, batch, positions, options)

    def read_statistics(conn: Connection, batch: Sequence[ColumnUse]) -> Statistics:
        return _read_statistics(conn, batch, options.timeouts)

    done = 0
    batches = list(_batches(probe, options.batch_size))
    for batch, result in _spread(idle, len(connections), batches, read):
        total.extents.update(result.extents)
        total.vanished |= result.vanished
        unreadable += result.unreadable
        done += len(batch)
        options.report_progress("columns", done, len(probe))
    _collide_carried(idle, len(connections), collide, options, total)
    unreadable += total.unreadable
    unread = [use for use, _ in unindexed]
    for _, found in _spread(
        idle, len(connections), list(_batches(unread, options.batch_size)), read_statistics
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


def _read_batch(
    conn: Connection,
    batch: Sequence[ColumnUse],
    positions: dict[int, SequenceState],
    options: ReadOptions,
) -> _Read:
    """One batch of columns: one statement, or, when it fails, one transaction per column."""
    result = _Read()
    try:
        with read_only_transaction(conn, options.timeouts):
            rows = _all_rows(conn, _ranges_query(batch))
        ranges = {batch[i].key: (high, low) for i, high, low in rows}
    except psycopg.Error:
        # One table locked, dropped or denied spoils the batch: read them one by one,
        # each in its own transaction, so that no lock is held while another is awaited.
        ranges = {}
        for use in batch:
            try:
                with read_only_transaction(conn, options.timeouts):
                    ((_, high, low),) = _all_rows(conn, _ranges_query([use]))
                ranges[use.key] = (high, low)
            except _VANISHED:
                result.vanished.add(use.key)
            except psycopg.Error as error:
                result.unreadable.append(
                    _failed(error, f"column {use.qualified}", column_key=use.key)
                )
    behind = []
    for use in batch:
        if use.key in ranges:
            high, low = ranges[use.key]
            extent = ColumnExtent(_number(high, math.ceil), _number(low, math.floor))
            result.extents[use.key] = extent
            if _is_behind(positions[use.sequence_oid], extent):
                behind.append((use, positions[use.sequence_oid]))
    if behind:
        _read_collisions(conn, behind, options, result)
    return result


def _read_collisions(
    conn: Connection,
    behind: Sequence[tuple[ColumnUse, SequenceState]],
    options: ReadOptions,
    result: _Read,
) -> None:
    """Add the first collision to the extents of the columns *behind* their sequences.

    All in one statement, or, when that fails, one column per transaction.
    """

    def read(some: Sequence[tuple[ColumnUse, SequenceState]]) -> None:
        with read_only_transaction(conn, options.timeouts):
            rows = _all_rows(conn, _collisions_query(some))
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
        except _VANISHED:
            result.vanished.add(use.key)
            del result.extents[use.key]
        except psycopg.Error as error:
            result.unreadable.append(_failed(error, f"column {use.qualified}", column_key=use.key))
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


def table_sql(use: ColumnUse) -> sql.Composable:
    """The table of *use* as the audit and the repairs read it."""
    # ONLY: an inheritance parent is judged on its own rows, each child on its
    # own; a partitioned table has no rows of its own and is read whole.
    table = sql.Identifier(use.schema, use.table)
    return sql.Composed([sql.SQL("ONLY "), table]) if use.relkind == "r" else table


def _ranges_query(batch: Sequence[ColumnUse]) -> sql.Composed:
    """Statements reading max() and min() of many columns, each from its own index.

    Each is a plain ``SELECT max(c), min(c) FROM t``, which the planner
    answers with two index descents (its MinMaxAgg plan), cast to numeric so
    that every column's row reads alike. One message of statements rather than
    a UNION of them: the planner's work on a UNION grows faster than its arms.
    """
    arms = []
    for i, use in enumerate(batch):
        column = sql.Identifier(use.column)
        # Composed directly rather than SQL.format(): this runs once per table.
        arms.append(
            sql.Composed(
                [
                    sql.SQL("SELECT "),
                    sql.Literal(i),
                    sql.SQL(", max("),
                    column,
                    sql.SQL(")::numeric, min("),
                    column,
                    sql.SQL(")::numeric FROM "),
                    table_sql(use),
                ]
            )
        )
    return sql.SQL(";\n").join(arms)


def _is_behind(seq: SequenceState, extent: ColumnExtent) -> bool:
    """The column holds values at or past the sequence's next value, in its direction."""
    following, high, low = seq.next_value, extent.max_value, extent.min_value
    if following is None or high is None or low is None:
        return False
    return high >= following if seq.ascending else low <= following


def _collisions_query(behind: Sequence[tuple[ColumnUse, SequenceState]]) -> sql.Composed:
    """Statements finding, for each column, the first value its sequence will collide with.

    That is the first value the sequence will actually hand out (same residue
    modulo the increment, within the sequence's own limit) that the column
    holds: two sequences interleaving odd and even ids, or explicit ids kept
    above a sequence's MAXVALUE, never collide. Each arm is one index range
    scan from the sequence's next value.
    """
    arms = []
    for i, (use, seq) in enumerate(behind):
        following = seq.next_value
        assert following is not None
        lower, upper = sorted((following, seq.limit))
        same_step: sql.Composable = sql.SQL("")
        if abs(seq.increment_by) != 1:
            same_step = sql.SQL(" AND ({c}::numeric - {next}) % {step} = 0").format(
                c=sql.Identifier(use.column),
                next=sql.Literal(following),
                step=sql.Literal(abs(seq.increment_by)),
            )
        arms.append(
            sql.SQL(
                "SELECT {i}, {pick}({c})::numeric FROM {t}"
                " WHERE {c} BETWEEN {lower} AND {upper}{step}"
            ).format(
                i=sql.Literal(i),
                pick=sql.SQL("min" if seq.ascending else "max"),
                c=sql.Identifier(use.column),
                t=table_sql(use),
                lower=sql.Literal(lower),
                upper=sql.Literal(upper),
                step=same_step,
            )
        )
    return sql.SQL(";\n").join(arms)
