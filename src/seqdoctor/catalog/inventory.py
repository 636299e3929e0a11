"""The inventory: which sequences there are, and the columns and foreign keys they feed.

Read once per audit, or carried from an earlier snapshot while the catalog's
mark (its write counters) has not moved; with it, each table's change mark,
which says whose columns must be read again (see :mod:`.read`).
"""

from __future__ import annotations

import operator
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import psycopg

from seqdoctor.catalog.connection import Timeouts, read_only_transaction
from seqdoctor.catalog.filters import Filters
from seqdoctor.catalog.model import (
    ColumnExtent,
    ColumnUse,
    ForeignKeyColumn,
    Inventory,
    SequenceState,
    ServerInfo,
    Snapshot,
)
from seqdoctor.catalog.positions import PositionsRead
from seqdoctor.catalog.reading import (
    Connection,
    ReadOptions,
    fetch,
    load_query,
    oid_array,
)


def list_column_uses(conn: Connection, *, index_facts: bool = True) -> list[ColumnUse]:
    """Every column a sequence feeds, in order of schema, table and column number.

    Without *index_facts*, only the columns of cycling sequences say whether
    they have a unique index and an index to probe: the others say None.
    """
    uses = fetch(conn, load_query("list_column_uses"), ColumnUse, {"index_facts": index_facts})
    uses.sort(key=operator.attrgetter("schema", "table", "attnum"))
    return uses


def read_inventory(  # noqa: PLR0917 - read_snapshot()'s parts, one call site
    conn: Connection,
    more: Sequence[Connection],
    options: ReadOptions,
    idle: queue.SimpleQueue[Connection],
    list_sequences: Callable[[Connection], tuple[list[SequenceState], PositionsRead | None]],
    positions_alone: Callable[
        [queue.SimpleQueue[Connection], Sequence[SequenceState]], PositionsRead
    ]
    | None,
    beside: Callable[[Connection, ServerInfo, Inventory], Marked | None] = lambda *_: None,
) -> tuple[ServerInfo, Inventory, PositionsRead | None, Marked | None]:
    """Who we are, and the inventory: read, or carried from the earlier snapshot.

    The sequences are listed by *list_sequences* on the first connection of
    *more* while *conn* lists the columns; it may read their positions too
    (else None). *conn* is put in *idle* once done.

    With *positions_alone*, the first connection of *more* reads the positions
    of the earlier inventory's sequences while *conn* reads the catalog's
    mark: they are this snapshot's positions if the inventory is carried (no
    sequence was created, dropped or changed before the mark), else forgotten.
    An inventory carried, *conn* then reads what *beside* reads of it (the
    tables' marks) while those positions are read (None when not), and then
    joins in reading the positions left.
    """
    known = options.earlier.inventory if options.earlier is not None else None
    marked = None
    free: queue.SimpleQueue[Connection] = queue.SimpleQueue()
    with ThreadPoolExecutor(max_workers=1) as pool:
        guess = None
        if positions_alone and more and known is not None and known.mark is not None:
            free.put(more[0])
            guess = pool.submit(positions_alone, free, known.sequences)
        # Taken before the inventory is read, on its own: whatever changes after it
        # moves the next round's mark, whether this inventory saw the change or not.
        mark = None
        if options.mark_changes or options.earlier:
            mark = _read_catalog_mark(conn, options)
        carried = _carried_inventory(options.earlier, mark, options.read_columns)
        if carried is not None:
            with read_only_transaction(conn, options.timeouts):
                (server,) = fetch(conn, load_query("get_server_info"), ServerInfo)
            marked = beside(conn, server, carried)
            free.put(conn)  # taken back below, once every position is read
        guessed = guess.result() if guess is not None else None
    if carried is not None:
        idle.put(conn)
        return server, carried, guessed, marked
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
    return server, inventory, read, None


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


# By table oid: its change mark, and its rows inserted and row estimate.
Marked = tuple[dict[int, str], dict[int, tuple[int, int]]]


def read_change_marks(conn: Connection, uses: Sequence[ColumnUse], timeouts: Timeouts) -> Marked:
    """Each table's change mark, and its rows inserted and row estimate (list_table_changes.sql);
    none at all when they cannot be read (every column is read, the activity read apart)."""
    oids = oid_array(sorted({use.table_oid for use in uses}))
    try:
        with read_only_transaction(conn, timeouts):
            rows = conn.execute(load_query("list_table_changes").encode(), {"oids": oids})
            found = rows.fetchall()
    except psycopg.Error:
        return {}, {}
    marks = {oid: mark for oid, mark, _, _ in found}
    return marks, {oid: (inserted, estimate) for oid, _, inserted, estimate in found}


def unchanged(
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


def still_unfed(
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


def filtered(
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
