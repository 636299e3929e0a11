"""What repairs need to know beyond the audit's snapshot: every column a sequence
feeds, every foreign key, table sizes, and what stands in the way of changing
a column's type.

The audit's snapshot is cut to the ``--schema``/``--table`` filters; a repair
must not be. Moving a shared sequence is judged against every column it
feeds, and widening a key widens every foreign key pointing at it, wherever
they are. So these reads ignore the filters. Each runs in one short READ ONLY
transaction bounded by the caller's timeouts, as the audit's do.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import psycopg

from seqdoctor.catalog.connection import PINNED_SEARCH_PATH, Timeouts, read_only_transaction
from seqdoctor.catalog.inventory import list_column_uses
from seqdoctor.catalog.model import ColumnUse, ForeignKeyColumn, qualify
from seqdoctor.catalog.reading import fetch, load_query

Connection = psycopg.Connection[Any]


@dataclass(frozen=True)
class Attachment:
    """Something a DROP VIEW takes with it that must be created again afterwards.

    kind is ``grant``, ``column-grant``, ``column-comment``, ``column-default``,
    ``index``, ``trigger`` or ``rule``; *definition* is the server's own text
    (``pg_get_indexdef()``, ``pg_get_triggerdef()``, ``pg_get_ruledef()``, an
    expression, a comment).
    """

    view_oid: int
    kind: str
    column: str | None
    grantee: str | None  # None: PUBLIC
    privilege: str | None
    grantable: bool
    definition: str | None


@dataclass(frozen=True)
class ViewDefinition:
    """A view or materialized view, as needed to create it again."""

    oid: int
    schema: str
    name: str
    relkind: str  # v | m
    definition: str  # pg_get_viewdef(): the query, ending with a semicolon
    options: Sequence[str]  # reloptions: "security_barrier=true", "check_option=local"
    tablespace: str | None
    owner: str
    acl: str | None  # relacl as text: compared before the view is dropped
    populated: bool
    comment: str | None
    depth: int = 1  # 1: reads a column directly; n: reads a view of depth n - 1
    attachments: tuple[Attachment, ...] = ()

    @property
    def qualified(self) -> str:
        return qualify(self.schema, self.name)


@dataclass(frozen=True)
class DependentRule:
    """A rule on a table that reads a column (or view) a repair must change."""

    oid: int
    schema: str
    name: str
    table: str
    table_oid: int
    definition: str  # pg_get_ruledef(): CREATE RULE ...;


@dataclass(frozen=True)
class Blocker:
    """An object that keeps a column from changing type, which seqdoctor will not touch."""

    description: str
    column: tuple[int, int] | None  # (table oid, attnum) it blocks; None: a view's dependent


@dataclass(frozen=True)
class ColumnDependents:
    """What stands around columns whose type a repair changes."""

    views: tuple[ViewDefinition, ...] = ()  # deepest last: drop in reverse, create in order
    rules: tuple[DependentRule, ...] = ()
    blockers: tuple[Blocker, ...] = ()
    inherited: frozenset[tuple[int, int]] = frozenset()  # changed through their parent


@dataclass(frozen=True)
class _DependentRow:
    kind: str
    oid: int | None
    schema: str | None
    name: str | None
    table: str | None
    depth: int
    table_oid: int | None
    attnum: int | None
    detail: str | None


@dataclass(frozen=True)
class _SizeRow:
    table_oid: int
    bytes: int


def list_fed_columns(
    conn: Connection, sequence_oids: Collection[int], timeouts: Timeouts
) -> tuple[ColumnUse, ...]:
    """Every column the given sequences feed, in any schema and table."""
    if not sequence_oids:
        return ()
    with read_only_transaction(conn, timeouts):
        rows = list_column_uses(conn)
    return tuple(use for use in rows if use.sequence_oid in sequence_oids)


def list_referencing_columns(conn: Connection, timeouts: Timeouts) -> tuple[ForeignKeyColumn, ...]:
    """Every integer foreign-key column of the database and the column it references."""
    with read_only_transaction(conn, timeouts):
        return tuple(fetch(conn, load_query("list_foreign_keys"), ForeignKeyColumn))


def list_table_sizes(
    conn: Connection, table_oids: Collection[int], timeouts: Timeouts
) -> dict[int, int]:
    """Bytes on disk per table, partitions and children included.

    A table missing from the answer could not be measured (its lock was held
    past the lock timeout, or it is gone): the caller treats its size as unknown.
    """
    sizes: dict[int, int] = {}
    for oid in sorted(table_oids):  # one at a time: a locked table spoils only its own answer
        try:
            with read_only_transaction(conn, timeouts):
                rows = fetch(conn, load_query("list_table_sizes"), _SizeRow, {"oids": [oid]})
        except psycopg.Error:
            if conn.broken:
                raise
            continue
        sizes.update((row.table_oid, row.bytes) for row in rows)
    return sizes


def list_column_dependents(
    conn: Connection, columns: Iterable[tuple[int, int]], timeouts: Timeouts
) -> ColumnDependents:
    """The views, rules and blockers around the columns (table oid, attnum) given."""
    targets = sorted(set(columns))
    if not targets:
        return ColumnDependents()
    params = {"tables": [t for t, _ in targets], "attnums": [a for _, a in targets]}
    with read_only_transaction(conn, timeouts):
        # pg_get_viewdef() and friends qualify every name the search path does
        # not reach: with only pg_catalog on it, the definitions name every
        # schema, and mean the same whoever runs them again.
        conn.execute(PINNED_SEARCH_PATH)
        rows: list[_DependentRow] = fetch(
            conn, load_query("list_column_dependents"), _DependentRow, params
        )
        depths = {row.oid: row.depth for row in rows if row.kind == "relation" and row.oid}
        views = fetch(
            conn, load_query("list_view_definitions"), ViewDefinition, {"oids": list(depths)}
        )
        attachments = fetch(
            conn, load_query("list_view_attachments"), Attachment, {"oids": list(depths)}
        )
    by_view: dict[int, list[Attachment]] = {}
    for attachment in attachments:
        by_view.setdefault(attachment.view_oid, []).append(attachment)
    ordered = sorted(
        (
            replace(
                view,
                options=tuple(view.options),
                depth=depths[view.oid],
                attachments=tuple(by_view.get(view.oid, ())),
            )
            for view in views
        ),
        key=lambda v: (v.depth, v.schema, v.name),
    )
    return ColumnDependents(
        views=tuple(ordered),
        rules=tuple(
            DependentRule(r.oid, r.schema, r.name, r.table, r.table_oid, r.detail)
            for r in rows
            if r.kind == "rule"
            and r.oid
            and r.schema
            and r.name
            and r.table
            and r.table_oid
            and r.detail
        ),
        blockers=tuple(
            Blocker(
                r.detail or "",
                (r.table_oid, r.attnum) if r.table_oid and r.attnum else None,
            )
            for r in rows
            if r.kind == "blocker"
        ),
        inherited=frozenset(
            (r.table_oid, r.attnum)
            for r in rows
            if r.kind == "inherited" and r.table_oid and r.attnum
        ),
    )
