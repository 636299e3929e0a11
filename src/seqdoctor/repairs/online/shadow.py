"""Phase 2: a bigint shadow column beside each family column, and a trigger keeping it equal.

Per table, one transaction (ACCESS EXCLUSIVE for milliseconds, taken under a
short lock_timeout and retried by :mod:`.run`):

- ``ADD COLUMN IF NOT EXISTS seqdoctor_wide_<attnum> bigint``, ``NOT NULL
  DEFAULT 0`` when the column is NOT NULL: since PostgreSQL 11 a constant
  default is catalog-only (no rewrite, no scan), and a NOT NULL shadow makes
  the later primary key scan-free. Rows not yet copied read 0, which the
  verification counts as a difference.
- ``CREATE OR REPLACE FUNCTION <schema>.seqdoctor_sync_<table oid>()``:
  copies each key to its shadow. SECURITY INVOKER (it lends nobody anything),
  ``SET search_path = pg_catalog, pg_temp`` (it runs as every writer), no
  operator in its body, the type qualified.
- ``CREATE TRIGGER zz_seqdoctor_sync BEFORE INSERT OR UPDATE ... FOR EACH ROW
  WHEN (<a key differs from its shadow>)``, ``ENABLE ALWAYS`` so that
  sessions in ``session_replication_role = replica`` (logical replication's
  apply, some loaders) keep the columns equal too. The WHEN condition, with
  qualified operators, is fixed when the trigger is created: the writer's
  search_path never reaches it. Because it compares values rather than
  testing ``UPDATE OF``, any update of a row not yet copied copies it (an
  update never leaves a stale row version behind, whichever column it set and
  whatever another BEFORE trigger did to the key), and a row already copied
  costs no function call.

Revert drops the trigger, the function and the shadow columns, in one
transaction, with IF EXISTS: it can run at any point before the swap.
"""

from __future__ import annotations

from collections.abc import Iterable

from psycopg import sql

from seqdoctor.catalog.connection import PINNED_SEARCH_PATH
from seqdoctor.repairs.model import Statement, dollar_quoted, name_literal
from seqdoctor.repairs.online import names
from seqdoctor.repairs.online.model import TablePlan

ENABLED_ALWAYS = "A"  # pg_trigger.tgenabled of ENABLE ALWAYS
FUNCTION_SETTINGS = ("search_path=pg_catalog, pg_temp",)


def table_identifier(table: TablePlan) -> sql.Identifier:
    return sql.Identifier(table.table.schema, table.table.table)


def function_identifier(table: TablePlan) -> sql.Identifier:
    return sql.Identifier(table.table.schema, names.sync_function(table.table.table_oid))


def function_body(table: TablePlan) -> str:
    """The sync function's PL/pgSQL body: what :mod:`.state` compares with ``prosrc``.

    Identifiers are quoted by psycopg: the body is text, but no name in it can
    end an identifier early.
    """
    lines = [
        sql.SQL("    NEW.{} := NEW.{};")
        .format(sql.Identifier(table.shadow(c)), sql.Identifier(c.column))
        .as_string()
        for c in table.columns
    ]
    return "\nBEGIN\n" + "\n".join(lines) + "\n    RETURN NEW;\nEND\n"


def differs(table: TablePlan, row: str = "") -> sql.Composable:
    """A condition true when some column differs from its shadow, with qualified operators.

    NOT NULL columns compare with ``<>``; nullable ones spell out IS DISTINCT
    FROM, which has no qualified form. *row* prefixes each column (``NEW``).
    """
    parts = []
    for column in table.columns:
        key = sql.Identifier(*([row] if row else []), column.column)
        shadow = sql.Identifier(*([row] if row else []), table.shadow(column))
        if column.not_null:
            parts.append(sql.SQL("{} OPERATOR(pg_catalog.<>) {}").format(key, shadow))
        else:
            parts.append(
                sql.SQL(
                    "(({k} OPERATOR(pg_catalog.=) {s}) IS NOT TRUE"
                    " AND ({k} IS NOT NULL OR {s} IS NOT NULL))"
                ).format(k=key, s=shadow)
            )
    return sql.SQL(" OR ").join(parts)


def shadow_statements(table: TablePlan, lock_timeout: float) -> tuple[Statement, ...]:
    """Phase 2 on one table: its transaction's statements, idempotent."""
    target = table_identifier(table)
    function = function_identifier(table)
    trigger = sql.Identifier(names.SYNC_TRIGGER)
    statements: list[Statement] = [
        lock_timeout_statement(lock_timeout),
        PINNED_SEARCH_PATH,
    ]
    for column in table.columns:
        statements.append(
            sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} pg_catalog.int8{}").format(
                target,
                sql.Identifier(table.shadow(column)),
                sql.SQL(" NOT NULL DEFAULT 0" if column.not_null else ""),
            )
        )
    statements.append(still_as_planned(table))
    statements += [
        sql.SQL(
            "CREATE OR REPLACE FUNCTION {}() RETURNS pg_catalog.trigger\n"
            "LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp\n"
            "AS {}"
        ).format(function, dollar_quoted(function_body(table))),
        sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(trigger, target),
        sql.SQL(
            "CREATE TRIGGER {} BEFORE INSERT OR UPDATE ON {} FOR EACH ROW\n"
            "WHEN ({}) EXECUTE FUNCTION {}()"
        ).format(trigger, target, differs(table, "new"), function),
        sql.SQL("ALTER TABLE {} ENABLE ALWAYS TRIGGER {}").format(target, trigger),
    ]
    return tuple(statements)


def still_as_planned(table: TablePlan) -> sql.Composed:
    """A DO block that stops phase 2 if a column was renamed or retyped since the plan.

    The sync function names the columns: created for a name that is gone, it
    would make every insert fail. It runs after ALTER TABLE took the lock, so
    nothing it checks can change before the transaction ends.
    """
    tests = sql.SQL("\n").join(
        sql.SQL(
            "    IF (SELECT (attname, pg_catalog.format_type(atttypid, atttypmod))"
            " FROM pg_catalog.pg_attribute\n"
            "        WHERE attrelid = {table}::pg_catalog.regclass AND attnum = {n}"
            " AND NOT attisdropped)\n"
            "       IS DISTINCT FROM ({name}::pg_catalog.name, {type}::pg_catalog.text) THEN\n"
            "        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',\n"
            "            MESSAGE = {message};\n"
            "    END IF;"
        ).format(
            table=name_literal(table.table.schema, table.table.table),
            n=sql.Literal(column.attnum),
            name=sql.Literal(column.column),
            type=sql.Literal(column.column_type),
            message=sql.Literal(
                f"{column.qualified} ({column.column_type}, column {column.attnum}) changed "
                "since the plan: plan again"
            ),
        )
        for column in table.columns
    )
    return sql.SQL("DO {}").format(dollar_quoted("\nBEGIN\n" + tests.as_string() + "\nEND\n"))


def lock_timeout_statement(seconds: float) -> sql.Composed:
    return sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(f"{round(seconds * 1000)}ms"))


def set_statement_timeout(seconds: float) -> sql.Composed:
    return sql.SQL("SET LOCAL statement_timeout = {}").format(
        sql.Literal(f"{round(seconds * 1000)}ms")
    )


def revert_statements(
    table: TablePlan,
    shadows: Iterable[str],
    functions: Iterable[tuple[str, str]],
    lock_timeout: float,
) -> tuple[Statement, ...]:
    """Undo phase 2 on one table: drop its trigger, *functions* and *shadows* columns."""
    return (
        lock_timeout_statement(lock_timeout),
        PINNED_SEARCH_PATH,
        *drop_statements(table_identifier(table), names.SYNC_TRIGGER, functions, shadows),
    )


def drop_statements(
    target: sql.Composable,
    trigger: str,
    functions: Iterable[tuple[str, str]],
    columns: Iterable[str],
) -> list[Statement]:
    """*trigger* on *target*, its *functions* and *columns* dropped, each if it is there:
    run again after a crash, they finish the job."""
    return [
        sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(sql.Identifier(trigger), target),
        *(
            sql.SQL("DROP FUNCTION IF EXISTS {}()").format(sql.Identifier(schema, name))
            for schema, name in dict.fromkeys(functions)
        ),
        *(
            sql.SQL("ALTER TABLE {} DROP COLUMN IF EXISTS {}").format(target, sql.Identifier(name))
            for name in dict.fromkeys(columns)
        ),
    ]
