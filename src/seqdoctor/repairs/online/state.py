"""Where an online widening stands, from the catalog alone (docs/online-widening.md, "State").

No job table, no journal: each table's phase is read from what exists of the
widening's own objects, named by :mod:`.names`. Phase 2 is one transaction
per table, so a table has either all of it or none of it, unless the family
grew (a new foreign key), an older seqdoctor made it, or someone changed it
by hand: then it is *incomplete*, and running phase 2 again completes it.
Whether the rows are copied is a fact about the data, which the backfill and
the verification establish by reading it (:mod:`.backfill`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from seqdoctor.catalog.family import (
    ColumnAttachment,
    FamilyForeignKey,
    FamilyTable,
    OnlineObject,
)
from seqdoctor.repairs.online import names, rebuild
from seqdoctor.repairs.online.model import Phase, Refusal, TablePlan
from seqdoctor.repairs.online.shadow import ENABLED_ALWAYS, FUNCTION_SETTINGS, function_body


class TableState(StrEnum):
    ABSENT = "absent"  # nothing of the widening on this table
    FOREIGN = "foreign"  # objects with seqdoctor's names, but no sync trigger: not ours
    INCOMPLETE = "incomplete"  # some of phase 2: run it again
    SHADOWED = "shadowed"  # phase 2 complete and current
    SWAPPED = "swapped"  # an old column exists: past the swap


# States in which a table holds objects of the widening: what revert undoes.
OURS = frozenset({TableState.INCOMPLETE, TableState.SHADOWED})


@dataclass(frozen=True)
class TableStatus:
    table: TablePlan
    state: TableState
    shadows: tuple[str, ...]  # shadow columns present, expected or not
    functions: tuple[tuple[str, str], ...]  # (schema, name) of the sync function, when ours
    missing: tuple[str, ...]  # what phase 2 still has to create or correct


@dataclass(frozen=True)
class SwappedTable:
    """A table past the swap: its old columns, and the reverse trigger's function."""

    table: FamilyTable
    olds: tuple[str, ...]  # seqdoctor_old_<n> columns
    functions: tuple[tuple[str, str], ...]  # (schema, name) of the reverse trigger's function
    # (old column, the column it mirrors, the old column's type), read from the
    # reverse trigger's function: what undoing the swap takes back.
    pairs: tuple[tuple[str, str, str], ...] = ()

    @property
    def qualified(self) -> str:
        return self.table.qualified


_PAIR = re.compile(r'NEW\.("(?:[^"]|"")*") := CASE WHEN NEW\.("(?:[^"]|"")*") ')


def _pairs(body: str) -> list[tuple[str, str]]:
    """(old column, new column) of each line of a reverse trigger's body (swap.py wrote it).

    >>> _pairs('NEW."seqdoctor_old_1" := CASE WHEN NEW."a ""b"" c" OPERATOR ...')
    [('seqdoctor_old_1', 'a "b" c')]
    """

    def unquoted(name: str) -> str:
        return name[1:-1].replace('""', '"')

    return [(unquoted(m.group(1)), unquoted(m.group(2))) for m in _PAIR.finditer(body)]


_SYNCED = re.compile(r'NEW\.("(?:[^"]|"")*") := NEW\.("(?:[^"]|"")*");')


def widened_columns(body: str) -> list[str]:
    """The columns a sync or reverse trigger's body (shadow.py, swap.py wrote it) copies from.

    >>> widened_columns('NEW."seqdoctor_wide_1" := NEW."id";')
    ['id']
    """
    synced = [m.group(2)[1:-1].replace('""', '"') for m in _SYNCED.finditer(body)]
    return synced + [new for _, new in _pairs(body)]


def swapped_tables(
    tables: Iterable[FamilyTable], objects: Iterable[OnlineObject]
) -> tuple[tuple[SwappedTable, ...], tuple[Refusal, ...]]:
    """Tables past the swap, recognised by their reverse trigger (the mark of ownership).

    Old columns on a table without it are not ours, or were changed by hand:
    refused, never dropped.
    """
    found = list(objects)
    swapped = []
    conflicts = []
    for table in tables:
        mine = [o for o in found if o.table_oid == table.table_oid]
        olds = tuple(o.name for o in mine if o.kind == "column" and names.parse_old_column(o.name))
        back = [o for o in mine if o.kind == "trigger" and o.name == names.BACK_TRIGGER]
        if back:
            types = {o.name: o.type_name or "" for o in mine if o.kind == "column"}
            swapped.append(
                SwappedTable(
                    table,
                    olds,
                    tuple(
                        (o.function_schema, o.function_name)
                        for o in back
                        if o.function_schema and o.function_name
                    ),
                    tuple(
                        (old, new, types.get(old, ""))
                        for o in back
                        for old, new in _pairs(o.detail or "")
                        if old in olds
                    ),
                )
            )
        elif olds:
            conflicts.append(
                Refusal(
                    table.qualified,
                    f"column {', '.join(olds)} exists without seqdoctor's reverse trigger "
                    f"{names.BACK_TRIGGER}: it is not seqdoctor's, or was changed by hand",
                )
            )
    return tuple(swapped), tuple(conflicts)


@dataclass(frozen=True)
class Status:
    tables: tuple[TableStatus, ...]
    conflicts: tuple[Refusal, ...]
    # Phase 5: every index and foreign key on the shadows exists, valid (and
    # validated where the old key was). Built only right after a clean
    # verification, so it also says that one passed.
    built: bool = False
    swapped: tuple[SwappedTable, ...] = ()  # tables past the swap, before the cleanup

    @property
    def phase(self) -> Phase:
        """The phase every table has reached, from the catalog: PLANNED to CLEANED."""
        states = {t.state for t in self.tables}
        if not self.tables:  # nothing narrow left: swapped, or cleaned up (or never narrow)
            return Phase.SWAPPED if self.swapped else Phase.CLEANED
        if states and states <= {TableState.SHADOWED}:
            return Phase.BUILT if self.built else Phase.SHADOWED
        return Phase.PLANNED

    @property
    def started(self) -> bool:
        return any(t.state in OURS for t in self.tables)


def table_status(
    table: TablePlan, objects: Iterable[OnlineObject]
) -> tuple[TableStatus, list[Refusal]]:
    """The state of one table from its objects, and anything in the way of the widening."""
    oid = table.table.table_oid
    mine = [o for o in objects if o.table_oid == oid]
    columns = {o.name: o for o in mine if o.kind == "column"}
    triggers = [o for o in mine if o.kind == "trigger" and o.name == names.SYNC_TRIGGER]
    trigger = triggers[0] if triggers else None
    expected_function = names.sync_function(oid)
    conflicts: list[Refusal] = []
    missing: list[str] = []

    shadows = tuple(n for n in columns if names.parse_shadow_column(n) is not None)
    olds = [n for n in columns if names.parse_old_column(n) is not None]
    for column in table.columns:
        name = names.shadow_column(column.attnum)
        found = columns.get(name)
        if found is None:
            missing.append(f"column {name}")
        elif found.type_name != "int8":
            conflicts.append(
                Refusal(
                    table.qualified,
                    f"column {name} exists and is {found.type_name}, not the bigint "
                    "shadow seqdoctor would create: rename or drop it",
                )
            )
        elif bool(found.not_null) != column.not_null:
            conflicts.append(
                Refusal(
                    table.qualified,
                    f"column {name} is {'' if found.not_null else 'not '}NOT NULL and "
                    f"{column.column} is {'' if column.not_null else 'not '}NOT NULL: it was "
                    "changed by hand; revert and start again",
                )
            )
    # The sync trigger is what makes the rest ours: phase 2 creates the columns,
    # the function and the trigger in one transaction, and revert drops them in
    # one. Columns or a function with our names on a table without it are
    # someone else's (or changed by hand): refused, and never dropped.
    functions = (
        [(trigger.function_schema, trigger.function_name)]
        if trigger is not None and trigger.function_schema and trigger.function_name
        else []
    )
    if trigger is None and shadows:
        conflicts.append(
            Refusal(
                table.qualified,
                f"column {', '.join(shadows)} exists without seqdoctor's sync trigger: it is "
                "not seqdoctor's, or its trigger was dropped by hand; rename or drop it",
            )
        )
    for o in mine:
        if o.kind == "function" and trigger is None and o.name == expected_function:
            conflicts.append(
                Refusal(
                    table.qualified,
                    f"function {o.function_schema}.{o.function_name}() exists but no "
                    "seqdoctor trigger uses it: seqdoctor would replace it; drop or "
                    "rename it first",
                )
            )
    if trigger is None:
        missing.append(f"trigger {names.SYNC_TRIGGER}")
    else:
        if trigger.detail != function_body(table):
            missing.append("the sync function's body for the current family")
        if tuple(trigger.settings or ()) != FUNCTION_SETTINGS or trigger.security_definer:
            missing.append("the sync function's settings")
        if trigger.function_name != expected_function:
            missing.append(f"the sync function {expected_function}")
        if trigger.enabled != ENABLED_ALWAYS:
            missing.append(f"ENABLE ALWAYS on {names.SYNC_TRIGGER}")

    if olds:
        state = TableState.SWAPPED
    elif not missing:
        state = TableState.SHADOWED
    elif trigger is None:
        state = TableState.FOREIGN if shadows or functions or conflicts else TableState.ABSENT
    else:
        state = TableState.INCOMPLETE
    status = TableStatus(
        table=table,
        state=state,
        shadows=shadows if trigger is not None else (),
        functions=tuple((s, n) for s, n in functions if s and n),
        missing=tuple(missing),
    )
    if olds:
        conflicts.append(
            Refusal(
                table.qualified,
                f"{', '.join(olds)} exist while {table.qualified} still has integer columns "
                "to widen: finish or revert the earlier widening first",
            )
        )
    return status, conflicts


def detect(
    tables: Sequence[TablePlan],
    objects: Iterable[OnlineObject],
    attachments: Iterable[ColumnAttachment] = (),
    foreign_keys: Iterable[FamilyForeignKey] = (),
    swapped: tuple[SwappedTable, ...] = (),
) -> Status:
    """The state of every table of a plan from the objects read with its family.

    With the family's *attachments* and *foreign_keys*, it also says whether
    phase 5 is complete.
    """
    found = list(objects)
    statuses = []
    conflicts: list[Refusal] = []
    for table in tables:
        status, problems = table_status(table, found)
        statuses.append(status)
        conflicts += problems
    listed = list(attachments)
    indexes = {(o.table_oid, o.name) for o in found if o.kind == "index" and o.valid}
    constraints = {(o.table_oid, o.name): o.valid for o in found if o.kind == "constraint"}
    expected = [
        (table.table.table_oid, index.name, True)
        for table in tables
        for index in rebuild.index_builds(table, listed)
    ] + [
        (key.old.table_oid, key.name, key.validate)
        for key in rebuild.foreign_key_builds(tables, foreign_keys)
    ]
    # Nothing to build is no evidence that a verification passed: not BUILT.
    built = bool(expected) and all(
        (oid, name) in indexes
        or ((oid, name) in constraints and (constraints[oid, name] or not validate))
        for oid, name, validate in expected
    )
    return Status(tuple(statuses), tuple(conflicts), built, swapped)
