"""What every part of a snapshot's read shares: the SQL, the rows, the options, the batches.

The queries live in ``queries/*.sql`` (a file per server version where they
differ); :func:`fetch` builds a frozen row from each result row. Positions and
probes are read in batches spread over the connections an audit has, each
batch its own short READ ONLY transaction; a batch that fails becomes an
:class:`Unreadable` entry (:func:`failed`), and the audit goes on.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from importlib import resources
from itertools import zip_longest
from typing import Any, TypeVar

import psycopg
from psycopg import errors, sql

from seqdoctor.catalog.connection import Timeouts, error_message
from seqdoctor.catalog.filters import Filters
from seqdoctor.catalog.model import (
    Reason,
    Snapshot,
    Unreadable,
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


def oid_array(oids: Iterable[int]) -> str:
    """*oids* as the text of an array, for a ``%(oids)s::oid[]`` parameter: psycopg's dump
    of a list of ints looks at each one's type and size, which took 0.15 s of a round of
    ``serve`` at 100,000 tables (its tables' marks), where this takes 0.02 s.

    >>> oid_array([16384, 16390])
    '{16384,16390}'
    """
    return "{" + ",".join(map(str, oids)) + "}"


def in_batches(items: Sequence[Row], size: int) -> Iterator[Sequence[Row]]:
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
VANISHED = (errors.UndefinedTable, errors.UndefinedColumn, errors.UndefinedObject)


def spread(
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


def owner(sequence_oid: int, count: int) -> int:
    """Which of *count* connections reads the columns a sequence feeds, and moves it: always
    the same one for the same sequence, so that ``fix``, applying over the connections its
    audit read with, finds the sequence's tables and indexes open in that server process
    (a backend opening a relation for the first time takes about three times as long as
    afterwards: at 10,000 sequences, 1.2 s of the server's time in applying).

    A multiplicative hash of the oid: tables made one after another take oids at a fixed
    stride, which a remainder alone could send all to one connection.

    >>> [owner(oid, 2) for oid in range(16384, 16440, 7)]
    [1, 0, 1, 1, 0, 1, 1, 0]
    """
    return ((sequence_oid * 0x9E3779B1) & 0xFFFFFFFF) * count >> 32


def spread_owned(
    connections: Sequence[Connection],
    items: Sequence[Item],
    sequence_of: Callable[[Item], int],
    size: int,
    read: Callable[[Connection, Sequence[Item]], Result],
) -> Iterator[tuple[Sequence[Item], Result]]:
    """Each item read on the connection that :func:`owner` gives its sequence, *size* at a
    time, one thread a connection; the results in the order the batches take turns.

    An error raised by one batch is raised here; the batches not yet started are not.
    """
    shares: list[list[Item]] = [[] for _ in connections]
    for item in items:
        shares[owner(sequence_of(item), len(connections))].append(item)
    failed = threading.Event()

    def read_unless_failed(conn: Connection, batch: Sequence[Item]) -> Result:
        if failed.is_set():
            raise _NotRead
        try:
            return read(conn, batch)
        except BaseException:
            failed.set()  # seen by the next batch of every connection
            raise

    with ExitStack() as stack:
        pools = [stack.enter_context(ThreadPoolExecutor(max_workers=1)) for _ in connections]
        queued: list[tuple[Sequence[Item], Future[Result]]] = [
            (batch, pool.submit(read_unless_failed, conn, batch))
            for turn in zip_longest(*(in_batches(share, size) for share in shares))
            for batch, pool, conn in zip(turn, pools, connections, strict=True)
            if batch is not None
        ]
        try:
            for batch, done in queued:
                try:
                    result = done.result()
                except _NotRead:
                    # A batch later in turn, on another connection, failed first: its error.
                    raise next(
                        error
                        for _, future in queued
                        if (error := future.exception()) and not isinstance(error, _NotRead)
                    ) from None
                yield batch, result
        finally:
            for _, future in queued:
                future.cancel()


class _NotRead(Exception):
    """A batch of :func:`spread_owned` not read: one before it failed."""


def all_rows(conn: Connection, statements: sql.Composable | str) -> list[tuple[Any, ...]]:
    """The rows of every statement in *statements*, sent as one message, in order.

    The server runs them one after another and none after an error, which
    is raised as one statement's would be. Text is sent in the connection's
    encoding, as composed statements are.
    """
    rows: list[tuple[Any, ...]] = []
    if isinstance(statements, str):
        message = statements.encode(conn.info.encoding)
    else:
        message = statements.as_bytes(conn)
    with psycopg.ClientCursor(conn) as cursor:
        cursor.execute(message)
        while True:  # a result per statement; a SET's holds no rows
            # Asked of the result's status: cursor.description makes an object a
            # column, for each of the 20,000 results of fix's batches at 10,000 sequences.
            result = cursor.pgresult
            if result is not None and result.status == psycopg.pq.ExecStatus.TUPLES_OK:
                rows += cursor.fetchall()
            if not cursor.nextset():
                return rows


def failed(error: psycopg.Error, what: str, **where: Any) -> Unreadable:
    """A read that failed, as the report shows it: on what, why, and the server's words."""
    message = error_message(error)
    return Unreadable(_reason(error), f"{what}: {message}", **where)
