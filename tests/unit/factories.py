"""Small builders for snapshots, so that each unit test reads like a story.

Defaults are what PostgreSQL does when nothing is said: ``sequence()`` is a
fresh ascending ``AS integer`` sequence (MINVALUE 1, MAXVALUE 2,147,483,647,
START 1, never called), ``sequence(increment=-1)`` a descending one (MINVALUE
-2,147,483,648, MAXVALUE -1, START -1); ``column()`` is a serial primary key of
the type of the sequence that feeds it. Object ids derive from names, so that
a foreign key built from a column finds that column again::

    orders_seq = sequence("orders_id_seq", last_value=90)
    orders_id = column("orders", "id", fed_by=orders_seq)
    snap = snapshot(orders_seq, orders_id, extents={orders_id: holding(1, 90)})
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping

from seqdoctor.catalog.model import (
    TYPE_NAMES,
    TYPE_RANGES,
    ColumnExtent,
    ColumnKind,
    ColumnUse,
    ForeignKeyColumn,
    SequenceState,
    ServerInfo,
    Snapshot,
    Unreadable,
)
from seqdoctor.checks import Check, Finding, Settings

# Written out rather than read from seqdoctor, so that tests check its ranges.
INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1
INT8_MAX = 2**63 - 1

SERVER = ServerInfo(
    database="shop", server_version="18.1", server_version_num=180001, current_user="monitoring"
)


def oid_of(*names: str) -> int:
    """A stable object id for a name: the same name always gets the same oid."""
    return zlib.crc32("\0".join(names).encode())


def sequence(
    name: str = "orders_id_seq",
    *,
    schema: str = "public",
    type_name: str = "int4",
    increment: int = 1,
    min_value: int | None = None,
    max_value: int | None = None,
    start: int | None = None,
    cycle: bool = False,
    last_value: int | None = None,
    is_called: bool | None = None,
    readable: bool = True,
) -> SequenceState:
    """A sequence as ``CREATE SEQUENCE`` makes it, at the position given.

    Without *last_value* the sequence is fresh: ``last_value`` is its start and
    ``is_called`` false. With one, it has handed that value out (``is_called``
    true) unless *is_called* says otherwise. An unreadable sequence has no
    known position.
    """
    low, high = TYPE_RANGES[type_name]
    ascending = increment > 0
    if min_value is None:
        min_value = 1 if ascending else low
    if max_value is None:
        max_value = high if ascending else -1
    if start is None:
        start = min_value if ascending else max_value
    position: tuple[int | None, bool | None] = (None, None)
    if readable:
        called = last_value is not None if is_called is None else is_called
        position = (start if last_value is None else last_value, called)
    return SequenceState(
        oid=oid_of("sequence", schema, name),
        schema=schema,
        name=name,
        type_name=type_name,
        start_value=start,
        increment_by=increment,
        min_value=min_value,
        max_value=max_value,
        cycle=cycle,
        cache_size=1,
        readable=readable,
        last_value=position[0],
        is_called=position[1],
    )


def column(
    table: str = "orders",
    name: str = "id",
    *,
    fed_by: SequenceState,
    schema: str | None = None,
    type_name: str | None = None,
    kind: ColumnKind = ColumnKind.SERIAL,
    attnum: int = 1,
    unique: bool = True,
    indexed: bool | None = None,
    readable: bool = True,
    row_security: bool = False,
    relkind: str = "r",
) -> ColumnUse:
    """A column *fed_by* a sequence: by default a serial primary key, in the sequence's schema
    and of the sequence's type.

    *indexed* (a btree index led by the column, which the probes read) defaults
    to *unique*: a primary key is both.
    """
    type_name = type_name or fed_by.type_name
    schema = schema or fed_by.schema
    return ColumnUse(
        sequence_oid=fed_by.oid,
        table_oid=oid_of("table", schema, table),
        schema=schema,
        table=table,
        column=name,
        attnum=attnum,
        column_type=TYPE_NAMES.get(type_name, type_name),
        type_name=type_name,
        kind=kind,
        identity="by default" if kind is ColumnKind.IDENTITY else None,
        relkind=relkind,
        row_estimate=1000,
        has_unique_index=unique,
        has_probe_index=unique if indexed is None else indexed,
        readable=readable,
        row_security=row_security,
    )


def foreign_key(
    table: str,
    name: str,
    *,
    references: ColumnUse,
    schema: str = "public",
    type_name: str = "int4",
    attnum: int = 2,
) -> ForeignKeyColumn:
    """The column *table.name* of a foreign key to *references*, named as PostgreSQL names it."""
    return ForeignKeyColumn(
        constraint_name=f"{table}_{name}_fkey",
        table_oid=oid_of("table", schema, table),
        schema=schema,
        table=table,
        column=name,
        attnum=attnum,
        column_type=TYPE_NAMES[type_name],
        type_name=type_name,
        referenced_table_oid=references.table_oid,
        referenced_attnum=references.attnum,
    )


def holding(low: int, high: int, *, first_collision: int | None = None) -> ColumnExtent:
    """A column holding values from *low* to *high*, as the probe reads it."""
    return ColumnExtent(max_value=high, min_value=low, first_collision=first_collision)


def empty() -> ColumnExtent:
    """A column holding no value at all."""
    return ColumnExtent(max_value=None, min_value=None)


def snapshot(
    *objects: SequenceState | ColumnUse | ForeignKeyColumn,
    extents: Mapping[ColumnUse, ColumnExtent] | None = None,
    unreadable: Iterable[Unreadable] = (),
) -> Snapshot:
    """A snapshot of the sequences, columns and foreign keys given, in any order.

    Every column's sequence must be among them, as the catalog layer guarantees.
    """
    sequences = tuple(o for o in objects if isinstance(o, SequenceState))
    uses = tuple(o for o in objects if isinstance(o, ColumnUse))
    keys = tuple(o for o in objects if isinstance(o, ForeignKeyColumn))
    known = {s.oid for s in sequences}
    for use in uses:
        if use.sequence_oid not in known:
            raise ValueError(f"{use.qualified} is fed by a sequence missing from the snapshot")
    return Snapshot(
        server=SERVER,
        sequences=sequences,
        uses=uses,
        foreign_keys=keys,
        extents={use.key: extent for use, extent in (extents or {}).items()},
        unreadable=tuple(unreadable),
    )


def findings(check: Check, snap: Snapshot, settings: Settings | None = None) -> list[Finding]:
    """What *check* finds in *snap*, with the default thresholds unless *settings* are given."""
    return list(check.run(snap, settings or Settings()))
