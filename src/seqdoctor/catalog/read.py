"""Reading a snapshot: the inventory, the sequence positions, and the column probes.

Every read happens in a short READ ONLY transaction bounded by ``lock_timeout``
and ``statement_timeout`` (see :mod:`.connection`): the inventory in one, then
positions and probes in batches, each batch its own transaction, so the audit
never holds locks on many tables at once and never queues behind a lock for
longer than the lock timeout. Anything that cannot be read becomes an
:class:`Unreadable` entry, and the audit goes on.

This module puts the parts together: :mod:`.inventory` (the sequences, the
columns they feed, the catalog's and the tables' marks), :mod:`.positions`,
:mod:`.probes` (the columns' values), over what :mod:`.reading` gives them all.
"""

from __future__ import annotations

import queue
from collections.abc import Sequence

from psycopg import errors

from seqdoctor.catalog.connection import read_only_transaction
from seqdoctor.catalog.inventory import (
    Marked,
    filtered,
    read_change_marks,
    read_inventory,
    still_unfed,
    unchanged,
)
from seqdoctor.catalog.model import (
    Inventory,
    SequenceState,
    ServerInfo,
    Snapshot,
)
from seqdoctor.catalog.positions import (
    PositionsRead,
    positioned,
    read_positions,
    unreadable_sequences,
)
from seqdoctor.catalog.probes import Probed, probe_columns
from seqdoctor.catalog.reading import (
    MIN_SERVER_VERSION,
    Connection,
    ReadOptions,
    fetch,
    load_query,
)


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
        return sequences, read_positions(idle, len(connections), version, sequences, options)

    def positions_alone(
        free: queue.SimpleQueue[Connection], sequences: Sequence[SequenceState]
    ) -> PositionsRead:
        # On the connections put in *free*: one at first, *conn* too once done.
        return read_positions(free, len(connections), version, list(sequences), options)

    def marking(server: ServerInfo) -> bool:
        # A standby counts no write it replays: its marks would never move.
        return (
            options.read_columns
            and bool(options.mark_changes or options.earlier)
            and (not server.in_recovery)
        )

    def tables_marked(on: Connection, server: ServerInfo, carried: Inventory) -> Marked | None:
        """The marks of the carried inventory's tables, read while the positions are."""
        if not marking(server):
            return None
        _, marked_uses = filtered(list(carried.sequences), list(carried.uses), options.filters)
        return read_change_marks(on, marked_uses, options.timeouts)

    server, inventory, read, marked = read_inventory(
        conn, more, options, idle, list_sequences, positions_alone if early else None, tables_marked
    )
    sequences, uses = filtered(list(inventory.sequences), list(inventory.uses), options.filters)
    if read is None:
        for extra in more:
            idle.put(extra)
        read = read_positions(idle, len(connections), version, sequences, options)
    positions, failures = read
    unreadable = [*unreadable_sequences(server, sequences), *failures]
    # With the inventory carried, the earlier snapshot's sequences have the same definitions.
    carried = options.earlier is not None and inventory is options.earlier.inventory
    kept = {s.oid: s for s in options.earlier.sequences} if options.earlier and carried else {}
    sequences = positioned(sequences, positions, unreadable, kept)
    if server.in_recovery:
        sequences = [s.replayed() for s in sequences]
    # The sequences and the columns were listed at the same time, each in its
    # own snapshot: a column whose sequence was created since, or dropped
    # since, is left out (and a sequence the columns did not see fed is
    # looked at again below).
    known = {s.oid for s in sequences}
    listed = len(uses)
    uses = [u for u in uses if u.sequence_oid in known]
    columns = Probed()
    marks: dict[int, str] = {}
    counted: dict[int, tuple[int, int]] = {}
    if options.read_columns:
        if marked is None and marking(server):
            marked = read_change_marks(conn, uses, options.timeouts)
        if marked is not None:
            marks, counted = marked
            if len(uses) != listed:  # the marks of the columns left out go with them
                tables = {u.table_oid for u in uses}
                marks = {oid: m for oid, m in marks.items() if oid in tables}
                counted = {oid: c for oid, c in counted.items() if oid in tables}
        # On a standby, collisions are looked for from the primary's earliest position.
        columns = probe_columns(
            connections,
            server,
            uses,
            {s.oid: s.earliest for s in sequences},
            options,
            unreadable,
            unchanged(options.earlier, uses, marks),
            options.earlier,
        )
    uses = [u for u in uses if u.key not in columns.vanished]
    return Snapshot(
        server=server,
        sequences=tuple(still_unfed(conn, sequences, uses, options)),
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
