"""What the online widening reads: a key family and everything attached to it.

A key family is an integer column running out and every foreign-key column
that references it, recursively (see ``queries/list_key_family.sql``). These
reads ignore the audit's ``--schema``/``--table`` filters, as
:mod:`.dependents` does: a foreign key in another schema is widened all the
same. Everything is read in one READ ONLY transaction bounded by the caller's
timeouts, with ``search_path = pg_catalog`` so that every definition the
server prints names its schemas.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import psycopg

from seqdoctor.catalog.connection import Timeouts, read_only_transaction
from seqdoctor.catalog.model import ServerInfo, qualify
from seqdoctor.catalog.reading import fetch, load_query

Connection = psycopg.Connection[Any]


@dataclass(frozen=True)
class FamilyColumn:
    """One column of a key family; depth 0 for the columns asked for."""

    table_oid: int
    schema: str
    table: str
    column: str
    attnum: int
    depth: int
    type_name: str  # int2 | int4 | int8 | ... (the domain's name for a domain)
    column_type: str  # format_type()
    domain: bool
    not_null: bool
    identity: str  # '' | a (ALWAYS) | d (BY DEFAULT)
    generated: str  # '' | s (STORED)
    default_expression: str | None
    inherited: bool
    acl: tuple[str, ...] | None  # attacl entries: grantee=privileges/grantor
    comment: str | None
    statistics_target: int | None = None  # ALTER COLUMN ... SET STATISTICS; None: default
    options: tuple[str, ...] | None = None  # attoptions: n_distinct=...

    @property
    def key(self) -> tuple[int, int]:
        return (self.table_oid, self.attnum)

    @property
    def qualified(self) -> str:
        return qualify(self.schema, self.table, self.column)


@dataclass(frozen=True)
class FamilyForeignKey:
    """A foreign key with a position on a family column, on either side."""

    oid: int
    name: str
    table_oid: int
    schema: str
    table: str
    attnums: tuple[int, ...]
    referenced_table_oid: int
    referenced_schema: str
    referenced_table: str
    referenced_attnums: tuple[int, ...]
    validated: bool
    definition: str  # pg_get_constraintdef(): FOREIGN KEY (...) REFERENCES ... options
    comment: str | None = None  # COMMENT ON the constraint


@dataclass(frozen=True)
class FamilySequence:
    """A sequence feeding a family column, and how (owned | identity | default)."""

    oid: int
    schema: str
    name: str
    table_oid: int
    attnum: int
    how: str
    type_name: str
    min_value: int
    max_value: int
    increment: int
    cycle: bool
    start_value: int = 1
    cache: int = 1

    @property
    def qualified(self) -> str:
        return qualify(self.schema, self.name)


@dataclass(frozen=True)
class FamilyTable:
    """A table with a family column: what decides whether and how it can be widened online."""

    table_oid: int
    schema: str
    table: str
    relkind: str
    persistence: str  # p | u | t
    partition: bool
    inheritance: bool  # has an inheritance parent or children
    owned: bool  # the current role is (a member of) its owner
    can_create: bool  # CREATE on its schema: the sync trigger's function goes there
    bytes: int
    rows_estimate: int
    columns: int  # highest attnum, dropped columns included (the limit is 1600)
    replica_identity: str  # d | n | f | i
    batch_key: str | None  # a unique NOT NULL integer column the backfill walks
    batch_attnum: int | None
    publications: tuple[str, ...] | None
    subscribed: bool
    row_type_users: tuple[str, ...] | None  # columns typed with this table's row type

    @property
    def qualified(self) -> str:
        return qualify(self.schema, self.table)


@dataclass(frozen=True)
class ColumnAttachment:
    """An object bound to a family column by its number, or a trigger of a family table."""

    kind: str  # index | constraint | trigger | view | rule | policy | statistics | ...
    oid: int
    name: str
    table_oid: int
    attnum: int | None  # None: a trigger of the table
    detail: str | None  # the server's definition
    constraint_name: str | None
    constraint_type: str | None  # p | u | x | c | n
    partial: bool
    expressions: bool
    replica_identity: bool
    clustered: bool
    valid: bool
    column_bound: bool  # a trigger naming the column (UPDATE OF, WHEN)
    trigger_type: int  # pg_trigger.tgtype bits
    enabled: str  # pg_trigger.tgenabled: O | D | R | A
    column_list: bool  # a trigger firing on UPDATE OF some columns only
    operator_class: str | None  # an index's non-default operator class on the column
    # Policies and extended statistics: detail creates them, undo drops them.
    undo: str | None = None
    comment: str | None = None  # COMMENT ON the object


@dataclass(frozen=True)
class OnlineObject:
    """Something named like the online widening's own objects (see list_online_objects.sql)."""

    kind: str  # column | trigger | function | index
    table_oid: int
    name: str
    attnum: int | None
    type_name: str | None
    not_null: bool | None
    detail: str | None  # column default, function body, index definition
    function_oid: int | None
    function_schema: str | None
    function_name: str | None
    settings: tuple[str, ...] | None  # proconfig
    security_definer: bool
    enabled: str
    valid: bool


@dataclass(frozen=True)
class KeyFamily:
    """Everything read about a key family, in one snapshot."""

    server: ServerInfo
    columns: tuple[FamilyColumn, ...]
    tables: tuple[FamilyTable, ...]
    foreign_keys: tuple[FamilyForeignKey, ...]
    sequences: tuple[FamilySequence, ...]
    attachments: tuple[ColumnAttachment, ...]
    objects: tuple[OnlineObject, ...]


def _pairs(columns: Iterable[tuple[int, int]]) -> dict[str, list[int]]:
    targets = sorted(set(columns))
    return {"tables": [t for t, _ in targets], "attnums": [a for _, a in targets]}


def _tuples(row: Any, *names: str) -> Any:
    """*row* with its array fields (lists from the driver) as tuples: rows stay hashable."""
    return replace(
        row,
        **{n: tuple(getattr(row, n)) for n in names if getattr(row, n) is not None},
    )


def read_family(
    conn: Connection, seeds: Collection[tuple[int, int]], timeouts: Timeouts
) -> KeyFamily:
    """The key family of the columns (table oid, attnum) given, and what surrounds it."""
    with read_only_transaction(conn, timeouts):  # search_path pinned: definitions qualified
        (server,) = fetch(conn, load_query("get_server_info"), ServerInfo)
        columns, foreign_keys, attachments = read_attached(conn, seeds)
        params = _pairs(c.key for c in columns)
        table_params = {"tables": sorted({c.table_oid for c in columns})}
        version = server.server_version_num
        tables = [
            _tuples(row, "publications", "row_type_users")
            for row in fetch(
                conn, load_query("list_family_tables", version), FamilyTable, table_params
            )
        ]
        sequences = fetch(conn, load_query("list_family_sequences"), FamilySequence, params)
        objects = read_online_objects(conn, table_params["tables"])
    return KeyFamily(
        server=server,
        columns=tuple(columns),
        tables=tuple(tables),
        foreign_keys=tuple(foreign_keys),
        sequences=tuple(sequences),
        attachments=tuple(attachments),
        objects=objects,
    )


def read_attached(
    conn: Connection, seeds: Collection[tuple[int, int]]
) -> tuple[list[FamilyColumn], list[FamilyForeignKey], list[ColumnAttachment]]:
    """The family's columns, foreign keys and attachments, inside the caller's transaction.

    The swap reads them again under its locks: what it changes must be what
    the plan saw.
    """
    columns = [
        _tuples(row, "acl", "options")
        for row in fetch(conn, load_query("list_key_family"), FamilyColumn, _pairs(seeds))
    ]
    params = _pairs(c.key for c in columns)
    foreign_keys = [
        _tuples(row, "attnums", "referenced_attnums")
        for row in fetch(conn, load_query("list_family_foreign_keys"), FamilyForeignKey, params)
    ]
    attachments = fetch(conn, load_query("list_family_attachments"), ColumnAttachment, params)
    return columns, foreign_keys, attachments


def read_online_objects(conn: Connection, tables: Sequence[int]) -> tuple[OnlineObject, ...]:
    """What exists of an online widening on *tables*, inside the caller's transaction."""
    return tuple(
        _tuples(row, "settings")
        for row in fetch(
            conn, load_query("list_online_objects"), OnlineObject, {"tables": list(tables)}
        )
    )


@dataclass(frozen=True)
class ReplicationLag:
    """Bytes of WAL the furthest standby and logical slot trail by; None: none, or not visible."""

    replica: int | None
    slot: int | None


@dataclass(frozen=True)
class OnlineWidening:
    """A table with an online widening's trigger, and that trigger's function body."""

    schema: str
    table: str
    trigger: str
    body: str


def list_online_widenings(conn: Connection, timeouts: Timeouts) -> list[OnlineWidening]:
    """Every table of the database with an online widening's sync or reverse trigger."""
    with read_only_transaction(conn, timeouts):
        return fetch(conn, load_query("list_online_widenings"), OnlineWidening)


@dataclass(frozen=True)
class LockHolder:
    """A session holding a lock on a table: its pid, state, application, transaction age."""

    pid: int
    state: str | None
    application_name: str | None
    seconds: float | None


def list_lock_holders(
    conn: Connection, tables: Sequence[int], timeouts: Timeouts
) -> list[LockHolder]:
    """Other sessions holding a lock on *tables* now."""
    with read_only_transaction(conn, timeouts):
        return fetch(conn, load_query("list_lock_holders"), LockHolder, {"tables": list(tables)})


@dataclass(frozen=True)
class _ColumnNumber:
    table_oid: int
    attnum: int


def read_replication_lag(conn: Connection, timeouts: Timeouts) -> ReplicationLag:
    with read_only_transaction(conn, timeouts):
        (lag,) = fetch(conn, load_query("get_replication_lag"), ReplicationLag)
    return lag


def find_column(
    conn: Connection, schema: str, table: str, column: str, timeouts: Timeouts
) -> tuple[int, int] | None:
    """(table oid, attnum) of a column named exactly, or None when there is none."""
    with read_only_transaction(conn, timeouts):
        rows = fetch(
            conn,
            load_query("get_column_number"),
            _ColumnNumber,
            {"schema": schema, "table": table, "column": column},
        )
    return (rows[0].table_oid, rows[0].attnum) if rows else None
