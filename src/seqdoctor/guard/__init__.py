"""The guard: triggers that stop values written ahead of a sequence from breaking it later.

A row written with an explicit id (a migration, a fixture, ``COPY``, a test
that hard-codes a key) does not move the sequence that feeds the column; the
sequence later hands out that id again and the insert fails with a
duplicate key. For each sequence-fed column the guard installs triggers that
notice such a value when it is written, and, by mode:

- ``raise``: the statement fails with SQLSTATE ``SD001``, naming the table,
  column, value and the sequence's next value;
- ``heal``: the sequence is moved past the value, forward only;
- ``warn``: a WARNING (SQLSTATE ``SD001``), and the row goes in.

>>> import seqdoctor.guard
>>> seqdoctor.guard.install("postgresql:///shop", mode="heal")  # doctest: +SKIP
>>> seqdoctor.guard.status("postgresql:///shop").columns  # doctest: +SKIP
>>> seqdoctor.guard.remove("postgresql:///shop")  # doctest: +SKIP

See docs/guard.md for the design and its cost.
"""

from __future__ import annotations

from collections.abc import Sequence

from seqdoctor.catalog.connection import Target, Timeouts
from seqdoctor.catalog.filters import Filters
from seqdoctor.errors import UsageError
from seqdoctor.guard import plan as planning
from seqdoctor.guard.database import (
    apply_plan,
    guard_session,
    read_inventory,
    read_unchecked_writers,
)
from seqdoctor.guard.model import (
    DEFAULT_SCHEMA,
    SQLSTATE,
    ColumnGuard,
    GuardMode,
    GuardPlan,
    GuardResult,
    GuardState,
    GuardStatus,
    check_schema_name,
)

__all__ = [
    "DEFAULT_SCHEMA",
    "SQLSTATE",
    "ColumnGuard",
    "GuardMode",
    "GuardPlan",
    "GuardResult",
    "GuardState",
    "GuardStatus",
    "install",
    "remove",
    "status",
]


def install(
    target: Target = "",
    *,
    mode: GuardMode | str = GuardMode.RAISE,
    schemas: str | Sequence[str] = (),
    exclude_schemas: str | Sequence[str] = (),
    tables: str | Sequence[str] = (),
    schema_name: str = DEFAULT_SCHEMA,
    lock_timeout: float = 2.0,
    statement_timeout: float = 30.0,
    dry_run: bool = False,
) -> GuardResult:
    """Guard every sequence-fed column the filters select; with *dry_run*, only plan it.

    *target* is a libpq connection string or an idle psycopg connection (left
    open). Running it again changes only what differs: columns guarded in
    another mode are switched, columns already guarded are left alone.
    """
    chosen = GuardMode(mode)
    filters = Filters.of(schemas, exclude_schemas, tables)
    timeouts = Timeouts(lock_timeout, statement_timeout)
    with guard_session(target) as conn:
        inventory = read_inventory(conn, check_schema_name(schema_name), timeouts)
        guardable, unsupported = planning.select_uses(inventory, filters)
        if filters.active and not guardable and not unsupported:
            raise UsageError(f"nothing matches {filters.describe()}")
        writers = read_unchecked_writers(conn, [(u, chosen) for u in guardable], timeouts)
        plan = planning.plan_install(inventory, chosen, filters, writers)
        if dry_run:
            return GuardResult(plan)
        return apply_plan(conn, plan, inventory.server, timeouts)


def remove(
    target: Target = "",
    *,
    schemas: str | Sequence[str] = (),
    exclude_schemas: str | Sequence[str] = (),
    tables: str | Sequence[str] = (),
    schema_name: str = DEFAULT_SCHEMA,
    lock_timeout: float = 2.0,
    statement_timeout: float = 30.0,
    dry_run: bool = False,
) -> GuardResult:
    """Take the guard off the selected tables; without filters, drop its functions and schema too.

    Leaves nothing of the guard behind, and is a no-op when there is nothing to remove.
    """
    filters = Filters.of(schemas, exclude_schemas, tables)
    timeouts = Timeouts(lock_timeout, statement_timeout)
    with guard_session(target) as conn:
        inventory = read_inventory(conn, check_schema_name(schema_name), timeouts)
        plan = planning.plan_remove(inventory, filters)
        if dry_run:
            return GuardResult(plan)
        return apply_plan(conn, plan, inventory.server, timeouts)


def status(
    target: Target = "",
    *,
    schemas: str | Sequence[str] = (),
    exclude_schemas: str | Sequence[str] = (),
    tables: str | Sequence[str] = (),
    schema_name: str = DEFAULT_SCHEMA,
    lock_timeout: float = 2.0,
    statement_timeout: float = 30.0,
) -> GuardStatus:
    """Which sequence-fed columns are guarded, in which mode, and which are not."""
    filters = Filters.of(schemas, exclude_schemas, tables)
    timeouts = Timeouts(lock_timeout, statement_timeout)
    with guard_session(target, writes=False) as conn:
        inventory = read_inventory(conn, check_schema_name(schema_name), timeouts)
        guardable, _ = planning.select_uses(inventory, filters)
        guarded = [
            (use, guard.mode)
            for use in guardable
            if (guard := planning.column_guard(inventory, use)).mode is not None
        ]
        writers = read_unchecked_writers(conn, guarded, timeouts)
        return planning.status(inventory, filters, writers)
