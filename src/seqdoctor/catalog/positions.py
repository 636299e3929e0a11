"""Where each sequence is: its position, read in batches, one statement per batch.

A sequence never called (``is_called`` false, as after a copy with explicit
ids) is read from its relation before PostgreSQL 18; one the role may not read
is reported with the GRANT it lacks.
"""

from __future__ import annotations

import dataclasses
import operator
import queue
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg import sql

from seqdoctor.catalog.connection import read_only_transaction
from seqdoctor.catalog.model import (
    Reason,
    SequenceState,
    ServerInfo,
    Unreadable,
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
    oid_array,
    spread,
)


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


def unreadable_sequences(server: ServerInfo, sequences: list[SequenceState]) -> list[Unreadable]:
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


def read_positions(
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
                rows = conn.execute(query, {"oids": oid_array(s.oid for s in batch)}).fetchall()
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
    batches = list(in_batches(readable, options.batch_size * 5))
    for _, (found, failures) in spread(idle, workers, batches, read):
        positions.update(found)
        unreadable += failures
        options.report_progress("sequences", len(positions), len(readable))
    return positions, unreadable


def positioned(
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


def _relations_query(batch: Sequence[SequenceState]) -> str:
    """Statements reading the sequence relations themselves, one each: last_value, is_called.

    Sent as one message, not as one UNION: the planner's work on a UNION
    grows faster than its arms (1,000 arms: 0.3 s, where 1,000 statements
    in one message take 0.02 s).
    """
    # Joined as text, every name quoted by psycopg.sql, as the probes are: a copy's
    # sequences, never called, are all read this way.
    return ";\n".join(
        f"SELECT {int(seq.oid)}::int8, last_value, is_called FROM "
        + sql.Identifier(seq.schema, seq.name).as_string()
        for seq in batch
    )


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
            rows = all_rows(conn, _relations_query(batch))
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
        except VANISHED:
            positions[seq.oid] = None
        except psycopg.Error as error:
            unreadable.append(failed(error, f"sequence {seq.qualified}", sequence_oid=seq.oid))
            positions[seq.oid] = None
    return positions
