"""Phase 5: every index and foreign key on a family column built again on the shadows.

The definition is the server's own (``pg_get_indexdef()``, read with
``search_path = pg_catalog``) with the family columns replaced by their
shadows. The replacement works on tokens, not on text: quoted identifiers,
string constants and dollar quotes are skipped whole, and a name is replaced
only where it is an identifier of its own (not a function's name before
``(``, not a field after ``.``), not the access method, a tablespace or a
storage parameter. Whatever the replacement gets wrong, the **round trip**
catches: once built, the new index's definition, with the shadows named back,
must be the old one's, else the new index is dropped and the widening stops
with the index named. Nothing is ever built from text a user wrote.

Foreign keys are added ``NOT VALID`` (SHARE ROW EXCLUSIVE on both tables,
for milliseconds, under a short lock_timeout and retried), then validated
(SHARE UPDATE EXCLUSIVE: writes go on during the scan), from
``pg_get_constraintdef()`` with the referencing columns renamed as the
referencing table's, the referenced ones as the referenced table's: the same
MATCH, ON UPDATE/DELETE (and their SET NULL column lists), DEFERRABLE. A key
that was NOT VALID stays so. The round trip checks them too.

``CREATE INDEX CONCURRENTLY`` runs outside a transaction, with the session's
``lock_timeout`` bounding its waits (for its lock, and for older
transactions) and a generous ``statement_timeout``. One killed midway leaves
an INVALID index with our name: it is dropped (``DROP INDEX CONCURRENTLY``) and
built again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from seqdoctor.catalog.family import ColumnAttachment, FamilyForeignKey, OnlineObject
from seqdoctor.catalog.model import quote_ident
from seqdoctor.repairs.online import names
from seqdoctor.repairs.online.model import OnlineError, TablePlan

Connection = psycopg.Connection[Any]
# Session settings around CREATE INDEX CONCURRENTLY, which cannot run in a
# transaction (so SET LOCAL cannot bound it): set, then given back as they were.
_SET = (
    b"SELECT pg_catalog.set_config('lock_timeout', %s, false),"
    b" pg_catalog.set_config('statement_timeout', %s, false),"
    b" pg_catalog.set_config('search_path', %s, false)"
)

_TOKEN = re.compile(
    r"""
    (?P<quoted>"(?:[^"]|"")*")
    | (?P<string>'(?:[^']|'')*')
    | (?P<dollar>\$(?P<tag>[A-Za-z_][A-Za-z0-9_]*)?\$.*?\$(?P=tag)\$)
    | (?P<word>[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*)
    | (?P<space>\s+)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    """(kind, text) of each token of a definition the server printed."""
    return [(m.lastgroup or "other", m.group()) for m in _TOKEN.finditer(text)]


def _identifier(kind: str, text: str) -> str | None:
    if kind == "quoted":
        return text[1:-1].replace('""', '"')
    if kind == "word":
        return text.lower()
    return None


def rename_columns(text: str, renames: Mapping[str, str], *, method: bool = True) -> str:
    """*text* with each identifier naming a column in *renames* replaced, quoted as the server does.

    *method*: the first word is an index's access method, never a column.

    >>> rename_columns('btree (id, "Order Id") WHERE (id > 0 AND f(id) AND (r).id)',
    ...     {"id": "wide_1", "Order Id": "wide_2"})
    'btree (wide_1, wide_2) WHERE (wide_1 > 0 AND f(wide_1) AND (r).id)'
    >>> rename_columns("btree (lower(note)) WHERE (note <> 'id')", {"id": "x"})
    "btree (lower(note)) WHERE (note <> 'id')"
    >>> rename_columns("hash (id) WITH (fillfactor='70') TABLESPACE id",
    ...     {"id": "x", "fillfactor": "y"})
    "hash (x) WITH (fillfactor='70') TABLESPACE id"
    >>> rename_columns("btree (id)", {"btree": "x", "id": "Upper Case"})
    'btree ("Upper Case")'
    """
    tokens = _tokens(text)
    out = []
    significant = [i for i, (kind, _) in enumerate(tokens) if kind != "space"]
    position = {index: n for n, index in enumerate(significant)}
    skip_depth = 0  # inside WITH ( ... ): storage parameters
    depth = 0
    first_word_seen = not method
    for i, (kind, value) in enumerate(tokens):
        n = position.get(i)
        before = tokens[significant[n - 1]] if n is not None and n > 0 else ("", "")
        after = (
            tokens[significant[n + 1]] if n is not None and n + 1 < len(significant) else ("", "")
        )
        if value == "(":
            depth += 1
            if before[0] == "word" and before[1].upper() == "WITH" and not skip_depth:
                skip_depth = depth
        elif value == ")":
            if skip_depth == depth:
                skip_depth = 0
            depth -= 1
        name = _identifier(kind, value)
        replace = (
            name is not None
            and name in renames
            and first_word_seen
            and not skip_depth
            and before[1] != "."
            and after[1] != "("
            and not (before[0] == "word" and before[1].upper() == "TABLESPACE")
        )
        if kind == "word":
            first_word_seen = True
        out.append(quote_ident(renames[name]) if replace and name is not None else value)
    return "".join(out)


def _tail(definition: str) -> str:
    """What follows ``USING`` in a ``pg_get_indexdef()``: method, columns, options, predicate."""
    tokens = _tokens(definition)
    seen_on = False
    for i, (kind, value) in enumerate(tokens):
        if kind == "word" and value.upper() == "ON":
            seen_on = True
        elif seen_on and kind == "word" and value.upper() == "USING":
            return "".join(v for _, v in tokens[i + 1 :]).strip()
    raise OnlineError(f"cannot read the index definition {definition!r}")


@dataclass(frozen=True)
class IndexBuild:
    """One index to build on the shadows, and how to recognise it once built."""

    old: ColumnAttachment
    name: str  # seqdoctor_wide_<old index oid>
    unique: bool
    tail: str  # after USING, shadows in place of the family columns

    def statement(self, table: TablePlan) -> sql.Composed:
        return sql.SQL("CREATE {}INDEX CONCURRENTLY IF NOT EXISTS {} ON {} USING {}").format(
            sql.SQL("UNIQUE " if self.unique else ""),
            sql.Identifier(self.name),
            sql.Identifier(table.table.schema, table.table.table),
            sql.SQL(self.tail),  # the server's own text, columns renamed by token
        )

    def matches(self, definition: str, table: TablePlan) -> bool:
        """Whether *definition* (of our index) is the old one's on the shadows: the round trip."""
        back = {table.shadow(c): c.column for c in table.columns}
        unique = definition.upper().startswith("CREATE UNIQUE")
        return unique == self.unique and rename_columns(_tail(definition), back) == _tail(
            self.old.detail or ""
        )


def index_builds(table: TablePlan, attachments: Iterable[ColumnAttachment]) -> list[IndexBuild]:
    """The indexes of *table* to rebuild on its shadows: all on a family column but exclusions."""
    renames = {c.column: table.shadow(c) for c in table.columns}
    seen: set[int] = set()
    builds = []
    for item in attachments:
        if (
            item.kind != "index"
            or item.table_oid != table.table.table_oid
            or item.oid in seen
            or item.constraint_type == "x"
            or not item.detail
        ):
            continue
        seen.add(item.oid)
        builds.append(
            IndexBuild(
                old=item,
                name=names.replacement(item.oid),
                unique=item.detail.upper().startswith("CREATE UNIQUE"),
                tail=rename_columns(_tail(item.detail), renames),
            )
        )
    return builds


def build_indexes(
    conn: Connection,
    table: TablePlan,
    builds: Iterable[IndexBuild],
    existing: Iterable[OnlineObject],
    settings: tuple[str, str],
) -> Iterator[str]:
    """Build what is missing of *builds* on *table*; yield the names built.

    *settings*: (lock_timeout, statement_timeout) for the CREATE INDEX
    CONCURRENTLY statements, set for the session and reset afterwards.
    """
    oid = table.table.table_oid
    found = {o.name: o for o in existing if o.kind == "index" and o.table_oid == oid}
    saved = conn.execute(
        b"SELECT pg_catalog.current_setting('lock_timeout'),"
        b" pg_catalog.current_setting('statement_timeout'),"
        b" pg_catalog.current_setting('search_path')"
    ).fetchone()
    conn.execute(_SET, [*settings, "pg_catalog, pg_temp"])
    try:
        for build in builds:
            index = found.get(build.name)
            if index is not None and index.valid and build.matches(index.detail or "", table):
                continue
            if index is not None and index.valid:
                raise OnlineError(
                    f"index {build.name} on {table.qualified} exists and is not "
                    f"{build.old.name} on the shadow columns: drop it, or revert"
                )
            identifier = sql.Identifier(table.table.schema, build.name)
            if index is not None:  # INVALID: a build that was interrupted
                conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(identifier))
            conn.execute(build.statement(table))
            row = conn.execute(
                b"SELECT pg_catalog.pg_get_indexdef(c.oid), i.indisvalid"
                b" FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_index AS i"
                b" ON i.indexrelid = c.oid"
                b" WHERE c.relname = %s AND i.indrelid = %s",
                [build.name, oid],
            ).fetchone()
            if row is None or not row[1] or not build.matches(row[0], table):
                conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(identifier))
                raise OnlineError(
                    f"index {build.old.name} on {table.qualified} could not be built again "
                    "on the shadow columns with the same definition: it was "
                    f"{build.old.detail!r}"
                )
            yield build.name
    finally:
        if saved is not None and not conn.broken:  # the caller's connection, as it was
            conn.execute(_SET, list(saved))


NOT_VALID = " NOT VALID"


def _group_end(tokens: list[tuple[str, str]], start: int) -> int:
    """The index of the ``)`` closing the ``(`` at *start*."""
    depth = 0
    for i in range(start, len(tokens)):
        if tokens[i][1] == "(":
            depth += 1
        elif tokens[i][1] == ")":
            depth -= 1
            if depth == 0:
                return i
    raise OnlineError("unbalanced parentheses in a definition the server printed")


def rename_foreign_key(
    definition: str, referencing: Mapping[str, str], referenced: Mapping[str, str]
) -> str:
    """A ``pg_get_constraintdef()`` of a foreign key with its columns renamed, side by side.

    >>> rename_foreign_key(
    ...     "FOREIGN KEY (id) REFERENCES s.p(id) ON DELETE SET NULL (id)",
    ...     {"id": "child_2"}, {"id": "parent_1"})
    'FOREIGN KEY (child_2) REFERENCES s.p(parent_1) ON DELETE SET NULL (child_2)'
    """
    tokens = _tokens(definition)
    opening = next(i for i, (_, v) in enumerate(tokens) if v == "(")
    closing = _group_end(tokens, opening)
    refs = next(
        i
        for i, (k, v) in enumerate(tokens)
        if i > closing and k == "word" and v.upper() == "REFERENCES"
    )
    ref_open = next(i for i in range(refs, len(tokens)) if tokens[i][1] == "(")
    ref_close = _group_end(tokens, ref_open)

    def text(start: int, end: int) -> str:
        return "".join(v for _, v in tokens[start:end])

    return (
        text(0, opening)
        + rename_columns(text(opening, closing + 1), referencing, method=False)
        + text(closing + 1, ref_open)
        + rename_columns(text(ref_open, ref_close + 1), referenced, method=False)
        + rename_columns(text(ref_close + 1, len(tokens)), referencing, method=False)
    )


@dataclass(frozen=True)
class ForeignKeyBuild:
    """One foreign key to add on the shadows, and how to recognise it once added."""

    old: FamilyForeignKey
    name: str  # seqdoctor_wide_<old constraint oid>
    definition: str  # shadows in place of the family columns, without NOT VALID
    validate: bool  # the old key was validated: validate the new one

    @property
    def table(self) -> sql.Identifier:
        return sql.Identifier(self.old.schema, self.old.table)

    @property
    def referenced(self) -> sql.Identifier:
        return sql.Identifier(self.old.referenced_schema, self.old.referenced_table)

    def add(self) -> tuple[sql.Composed, sql.Composed]:
        """Lock the referenced table first, as writers do (insert a parent, then its
        children; delete a parent, cascading), or ours and theirs deadlock."""
        return (
            sql.SQL("LOCK TABLE {}, {} IN SHARE ROW EXCLUSIVE MODE").format(
                self.referenced, self.table
            ),
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {} NOT VALID").format(
                self.table, sql.Identifier(self.name), sql.SQL(self.definition)
            ),
        )

    def validation(self) -> tuple[sql.Composed, sql.Composed]:
        return (
            sql.SQL("LOCK TABLE {} IN ROW SHARE MODE").format(self.referenced),
            sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(
                self.table, sql.Identifier(self.name)
            ),
        )

    def matches(self, definition: str, back: Mapping[int, Mapping[str, str]]) -> bool:
        """Whether *definition* (of ours) is the old key's on the shadows: the round trip."""
        restored = rename_foreign_key(
            definition.removesuffix(NOT_VALID),
            back.get(self.old.table_oid, {}),
            back.get(self.old.referenced_table_oid, {}),
        )
        return restored == self.old.definition.removesuffix(NOT_VALID)


def renames(tables: Iterable[TablePlan]) -> dict[int, dict[str, str]]:
    """Column name to shadow name, per table oid."""
    return {t.table.table_oid: {c.column: t.shadow(c) for c in t.columns} for t in tables}


def foreign_key_builds(
    tables: Iterable[TablePlan], foreign_keys: Iterable[FamilyForeignKey]
) -> list[ForeignKeyBuild]:
    """Every foreign key with a family column on either side, on the shadows."""
    forward = renames(tables)
    builds = []
    for key in foreign_keys:
        mine = forward.get(key.table_oid, {})
        theirs = forward.get(key.referenced_table_oid, {})
        if not mine and not theirs:
            continue
        builds.append(
            ForeignKeyBuild(
                old=key,
                name=names.replacement(key.oid),
                definition=rename_foreign_key(key.definition.removesuffix(NOT_VALID), mine, theirs),
                validate=key.validated,
            )
        )
    return builds
