"""Deterministic ids for test suites: every test sees the same generated ids, whatever ran before.

Sequences ignore ROLLBACK, so a test suite that rolls back each test's
transaction still leaves its sequences further along after every test, and
the ids a test gets depend on which tests ran before it. A test that inserts
a row with a generated id and then one with a hard-coded id passes or fails
depending on the order of the suite.

``ALTER SEQUENCE ... RESTART`` is transactional, unlike ``nextval()`` and
``setval()``: it gives the sequence a new relation file, which a rollback
throws away. So at the start of a test, inside its transaction, every
sequence that feeds a column is restarted at the first value past the data
that transaction sees (its START when the columns are empty); the rollback at
the end brings back the old position, and the next test starts from the same
place. A sequence already there is left alone: a RESTART costs a file.

A test that commits keeps what it did. After each test its sequences are put
back where they were, or, when rows it committed reach further, just past
those rows: never backwards past committed data.

Any DB-API connection works (psycopg 3, psycopg2, Django's): only
``cursor()``, ``execute()`` with no parameters and ``fetchall()`` are used,
on statements composed with ``psycopg.sql``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from psycopg import sql

from seqdoctor.catalog.model import ColumnKind, ColumnUse, SequenceState
from seqdoctor.catalog.reading import load_query

# When pg_class or pg_attrdef change (a table, a sequence or a default created,
# dropped, renamed or altered), the sequences and the columns they feed are
# read again; otherwise they are read once.
CATALOG_FINGERPRINT = sql.SQL(
    "SELECT (SELECT count(*) FROM pg_catalog.pg_class),"
    " (SELECT max(xmin::text::int8) FROM pg_catalog.pg_class),"
    " (SELECT count(*) FROM pg_catalog.pg_attrdef),"
    " (SELECT max(xmin::text::int8) FROM pg_catalog.pg_attrdef)"
)


# The test's transaction runs under the test's search_path, which may list a
# schema others create objects in (public) before pg_catalog: the catalog
# queries run with it pinned (SET LOCAL), and it is set back as it was after.
PIN_LOCALLY = (
    "SELECT pg_catalog.current_setting('search_path') AS path,"
    " pg_catalog.current_setting('lock_timeout') AS lock_timeout,"
    " pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true) AS pinned"
)


@dataclass(frozen=True)
class Position:
    """Where a sequence stands: ``last_value`` and ``is_called``, as the relation holds them."""

    last_value: int
    is_called: bool

    def next_value(self, sequence: SequenceState) -> int:
        """What nextval() returns next, ignoring the limit (the restart never passes it)."""
        return self.last_value + sequence.increment_by if self.is_called else self.last_value


@dataclass(frozen=True)
class FedSequence:
    """A sequence and the columns it feeds whose values can be compared with its own."""

    sequence: SequenceState
    columns: tuple[ColumnUse, ...]


@dataclass(frozen=True)
class Observed:
    """A sequence's position and the furthest value of its columns, read in one statement."""

    fed: FedSequence
    position: Position
    edge: int | None  # max() of its columns (min() descending); None when they are empty


def rows(conn: Any, statement: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    cursor = conn.cursor()
    try:
        cursor.execute(statement, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        cursor.close()


def read_fed_sequences(conn: Any) -> tuple[FedSequence, ...]:
    """The readable sequences that feed at least one comparable column of a table."""
    sequences = {
        row["oid"]: SequenceState(**row) for row in rows(conn, load_query("list_sequences"))
    }
    fed: dict[int, list[ColumnUse]] = {}
    for row in rows(conn, load_query("list_column_uses"), {"index_facts": False}):
        use = ColumnUse(**{**row, "kind": ColumnKind(row["kind"])})
        sequence = sequences.get(use.sequence_oid)
        if (
            sequence
            and sequence.readable
            and use.readable
            and use.comparable
            and use.relkind != "f"
        ):
            fed.setdefault(use.sequence_oid, []).append(use)
    return tuple(FedSequence(sequences[oid], tuple(uses)) for oid, uses in fed.items())


def observe_statement(fed: Sequence[FedSequence]) -> sql.Composed:
    """One statement reading every sequence's position and the edge of the data it feeds."""
    parts = []
    for item in fed:
        seq = item.sequence
        extreme = sql.SQL("max" if seq.ascending else "min")
        edges = sql.SQL(", ").join(
            sql.SQL("(SELECT {}({})::numeric FROM {})").format(
                extreme, sql.Identifier(u.column), sql.Identifier(u.schema, u.table)
            )
            for u in item.columns
        )
        parts.append(
            sql.SQL(
                "SELECT {oid}::int8 AS oid, s.last_value, s.is_called, {furthest}({edges}) AS edge"
                " FROM {sequence} AS s"
            ).format(
                oid=sql.Literal(seq.oid),
                furthest=sql.SQL("greatest" if seq.ascending else "least"),
                edges=edges,
                sequence=sql.Identifier(seq.schema, seq.name),
            )
        )
    return sql.SQL("\nUNION ALL ").join(parts)


def observe(conn: Any, fed: Sequence[FedSequence]) -> list[Observed]:
    if not fed:
        return []
    by_oid = {item.sequence.oid: item for item in fed}
    return [
        Observed(
            by_oid[row["oid"]],
            Position(row["last_value"], row["is_called"]),
            None if row["edge"] is None else int(row["edge"]),
        )
        for row in rows(conn, observe_statement(fed).as_string())
    ]


def past(sequence: SequenceState, anchor: int, edge: int | None) -> int | None:
    """The first value of the sequence's progression from *anchor* that is past *edge*.

    *anchor* itself when the data does not reach it; None when that value is
    beyond the sequence's limit (it cannot get past the data).

    >>> tens = SequenceState(1, "public", "s", "int4", 1, 10, 1, 100, False, 1, True)
    >>> past(tens, 1, None), past(tens, 1, 35), past(tens, 1, 91)
    (1, 41, None)
    >>> down = SequenceState(1, "public", "d", "int4", -1, -1, -100, -1, False, 1, True)
    >>> past(down, -1, -7)
    -8
    """
    if edge is None or (edge - anchor) * sequence.increment_by < 0:
        return anchor
    steps = (edge - anchor) // sequence.increment_by + 1
    value = anchor + steps * sequence.increment_by
    return value if sequence.min_value <= value <= sequence.max_value else None


class IdStrategy(StrEnum):
    """Where each sequence starts in every test (``--seqdoctor-ids``)."""

    RESTART = "restart"  # at its START: the same ids whatever ran before
    OFFSET = "offset"  # each at a value of its own: an id of the wrong table matches nothing
    BEYOND_INT = "beyond-int"  # past integer's range: a bigint id in an integer column fails


# How far apart the sequences start under OFFSET: room for 100,000 rows a table in one test.
OFFSET_STRIDE = 100_000
INT4_MAX = 2_147_483_647


def anchor(sequence: SequenceState, strategy: IdStrategy, rank: int) -> int:
    """The value *sequence* starts from in every test, before the data is taken into account.

    *rank* numbers the sequences from 1, in the order of their names. A value
    the sequence cannot take (its type's limit) falls back to its START.

    >>> seq = SequenceState(1, "public", "s", "int8", 1, 1, 1, 2**63 - 1, False, 1, True)
    >>> anchor(seq, IdStrategy.RESTART, 3), anchor(seq, IdStrategy.OFFSET, 3)
    (1, 300001)
    >>> anchor(seq, IdStrategy.BEYOND_INT, 3)
    2147483648
    >>> small = SequenceState(2, "public", "t", "int4", 1, 1, 1, INT4_MAX, False, 1, True)
    >>> anchor(small, IdStrategy.BEYOND_INT, 1)
    1
    """
    start = sequence.start_value
    if strategy is IdStrategy.OFFSET:
        value = start + rank * OFFSET_STRIDE * sequence.increment_by
        return value if sequence.min_value <= value <= sequence.max_value else start
    if strategy is IdStrategy.BEYOND_INT:
        edge = INT4_MAX if sequence.increment_by > 0 else -INT4_MAX - 1
        beyond = past(sequence, start, edge)
        return start if beyond is None else beyond
    return start


def restarts(
    observed: Sequence[Observed], strategy: IdStrategy = IdStrategy.RESTART
) -> Iterator[tuple[Observed, int]]:
    """The sequences to restart for a test, with the value each restarts at.

    The restart value is the first value of the progression from the
    sequence's :func:`anchor` past the data: a START of 1000 stays 1000 on
    empty tables, an increment of 10 keeps its step. Sequences already there,
    and those that cannot get past the data before their limit, are left alone.
    """
    ranks = _ranks(o.fed.sequence for o in observed)
    for item in observed:
        seq = item.fed.sequence
        target = past(seq, anchor(seq, strategy, ranks[seq.oid]), item.edge)
        if target is not None and target != item.position.next_value(seq):
            yield item, target


def _ranks(sequences: Iterable[SequenceState]) -> dict[int, int]:
    """Each sequence's number, from 1, in the order of their names: the same in every database."""
    ordered = sorted(sequences, key=lambda s: (s.schema, s.name))
    return {s.oid: rank for rank, s in enumerate(ordered, start=1)}


def restart_statement(sequence: SequenceState, value: int) -> sql.Composed:
    return sql.SQL("ALTER SEQUENCE {} RESTART WITH {}").format(
        sql.Identifier(sequence.schema, sequence.name), sql.Literal(value)
    )


def restore(before: Observed, now: Observed) -> Position | None:
    """Where to put a sequence after a test that moved it: back, but never behind committed data.

    *before* is what the test's transaction saw at its start, *now* what is
    committed after it. None when the sequence is where it was.
    """
    if now.position == before.position:
        return None
    seq = before.fed.sequence
    following = before.position.next_value(seq)
    target = past(seq, following, now.edge)
    if target is None or target == now.position.next_value(seq):
        return None
    if target == following:
        return before.position
    return Position(target, False)


def setval_statement(sequence: SequenceState, position: Position) -> sql.Composed:
    return sql.SQL("SELECT pg_catalog.setval({}, {}, {})").format(
        sql.Literal(sql.Identifier(sequence.schema, sequence.name).as_string()),
        sql.Literal(position.last_value),
        sql.Literal(position.is_called),
    )


class Restarter:
    """Restarts sequences inside tests' transactions, and puts them back after the tests.

    One per test session: it keeps the sequences it read, and reads them again
    when the catalog changed.
    """

    def __init__(self, strategy: IdStrategy = IdStrategy.RESTART) -> None:
        self.strategy = strategy
        self._fingerprint: tuple[Any, ...] | None = None
        self._fed: tuple[FedSequence, ...] = ()

    def _fed_sequences(self, conn: Any) -> tuple[FedSequence, ...]:
        (fingerprint,) = [
            tuple(row.values()) for row in rows(conn, CATALOG_FINGERPRINT.as_string())
        ]
        if fingerprint != self._fingerprint:
            self._fed = read_fed_sequences(conn)
            self._fingerprint = fingerprint
        return self._fed

    def restart(self, conn: Any) -> list[Observed]:
        """Restart, in *conn*'s transaction, the sequences that are not past its data.

        Returns what it saw before restarting, for :meth:`restore`.
        """
        with pinned(conn):
            observed = observe(conn, self._fed_sequences(conn))
            for item, value in restarts(observed, self.strategy):
                execute(conn, restart_statement(item.fed.sequence, value).as_string())
        return observed

    def restore(
        self, conn: Any, before: Sequence[Observed]
    ) -> list[tuple[SequenceState, Position]]:
        """After a test: put back the sequences it moved for good, on *conn* (autocommit).

        Sequences dropped since are left out. Returns the sequences set, and where.
        """
        seen = {b.fed.sequence.oid for b in before}
        present = [f for f in self._fed_sequences(conn) if f.sequence.oid in seen]
        now = {o.fed.sequence.oid: o for o in observe(conn, present)}
        done = []
        for item in before:
            after = now.get(item.fed.sequence.oid)
            position = restore(item, after) if after else None
            if position is not None:
                execute(conn, setval_statement(item.fed.sequence, position).as_string())
                done.append((item.fed.sequence, position))
        return done


@contextmanager
def pinned(conn: Any, *, lock_timeout: float | None = None) -> Iterator[None]:
    """The search path pinned in *conn*'s transaction (and its lock timeout set, when given),
    then set back as they were (SET LOCAL all).

    After an error the transaction is aborted and its rollback sets them back.
    """
    (saved,) = rows(conn, PIN_LOCALLY)
    if lock_timeout is not None:
        execute(conn, _set_locally("lock_timeout", f"{round(lock_timeout * 1000)}ms"))
    yield
    execute(conn, _set_locally("search_path", saved["path"]))
    if lock_timeout is not None:
        execute(conn, _set_locally("lock_timeout", saved["lock_timeout"]))


def _set_locally(name: str, value: str) -> str:
    return (
        sql.SQL("SELECT pg_catalog.set_config({}, {}, true)")
        .format(sql.Literal(name), sql.Literal(value))
        .as_string()
    )


def execute(conn: Any, statement: str) -> None:
    cursor = conn.cursor()
    try:
        cursor.execute(statement)
    finally:
        cursor.close()
