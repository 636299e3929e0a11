"""Reading what the guard needs, and applying its plans, one transaction per step.

Reads run in one short transaction bounded by the lock and statement timeouts
(:func:`~seqdoctor.catalog.connection.read_only_transaction`). Each step of a
plan runs in a transaction of its own with ``SET LOCAL`` timeouts too, so a
table locked by another session costs at most the lock timeout and holds up
no other table. Errors become outcomes that say what to do, never tracebacks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from typing import Any

import psycopg
from psycopg import errors

from seqdoctor.catalog.connection import (
    Target,
    Timeouts,
    error_message,
    opened,
    read_only_transaction,
    session,
    timeout_statements,
)
from seqdoctor.catalog.inventory import list_column_uses
from seqdoctor.catalog.model import ColumnUse, SequenceState, ServerInfo, Snapshot, qualify
from seqdoctor.catalog.reading import fetch, load_query
from seqdoctor.errors import ConnectionFailed, UsageError
from seqdoctor.guard.model import (
    MIN_SERVER_VERSION,
    SCHEMA_MARKER,
    GuardFunction,
    GuardMode,
    GuardPlan,
    GuardResult,
    GuardSchema,
    GuardTrigger,
    Inventory,
    Outcome,
    Step,
    StepKind,
    StepResult,
    UncheckedWriter,
)
from seqdoctor.guard.plan import FUNCTIONS, definition_problems, load_sql

Connection = psycopg.Connection[Any]


@contextmanager
def guard_session(target: Target, *, writes: bool = True) -> Iterator[Connection]:
    """A connection for the guard: opened from a conninfo, or the caller's, which must be idle.

    Read-only unless it *writes*: a hot standby refuses a read-write session.
    """
    with ExitStack() as stack:
        yield stack.enter_context(session(opened(target, stack), writes=writes, who="the guard"))


def read_inventory(conn: Connection, schema_name: str, timeouts: Timeouts) -> Inventory:
    """The sequences, the columns they feed, the guard's triggers and its schema."""
    with read_only_transaction(conn, timeouts):
        (server,) = fetch(conn, load_query("get_server_info"), ServerInfo)
        if server.server_version_num < MIN_SERVER_VERSION:
            raise UsageError(
                f"seqdoctor guard needs PostgreSQL 13 or later; this is {server.server_version}"
            )
        sequences = fetch(conn, load_query("list_sequences"), SequenceState)
        uses = list_column_uses(conn)
        triggers = fetch(conn, load_sql("list_guard_triggers"), GuardTrigger)
        (schema,) = fetch(
            conn,
            load_sql("get_guard_schema"),
            GuardSchema,
            {"name": schema_name, "functions": list(FUNCTIONS), "marker": SCHEMA_MARKER},
        )
        functions = fetch(
            conn, load_sql("list_guard_functions"), GuardFunction, {"name": schema_name, "oids": []}
        )
    schema = replace(schema, function=functions[0] if functions else None)
    return Inventory(server, tuple(sequences), tuple(uses), tuple(triggers), schema)


def read_unchecked_writers(
    conn: Connection,
    guarded: Iterable[tuple[ColumnUse, GuardMode]],
    timeouts: Timeouts,
) -> list[UncheckedWriter]:
    """Roles that may write a guarded table but lack what the guard needs on its sequence."""
    pairs = {(use.table_oid, use.sequence_oid): mode for use, mode in guarded}
    wanted = [("SELECT", list(pairs))]
    healed = [pair for pair, mode in pairs.items() if mode is GuardMode.HEAL]
    if healed:
        wanted.append(("UPDATE", healed))
    found: list[UncheckedWriter] = []
    with read_only_transaction(conn, timeouts):
        for privilege, chosen in wanted:
            if chosen:
                found += fetch(
                    conn,
                    load_sql("list_unchecked_writers"),
                    UncheckedWriter,
                    {
                        "tables": [t for t, _ in chosen],
                        "sequences": [s for _, s in chosen],
                        "privilege": privilege,
                    },
                )
    return found


def apply_plan(
    conn: Connection, plan: GuardPlan, server: ServerInfo, timeouts: Timeouts
) -> GuardResult:
    """Run each step in its own transaction; a failed step rolls back and the others go on.

    When the functions cannot be created, nothing after them can work, and
    nothing after them runs.
    """
    results: list[StepResult] = []
    stopped = False
    for step in plan.steps:
        if stopped:
            results.append(StepResult(step, Outcome.NOT_RUN))
            continue
        try:
            with conn.transaction():
                for statement in (*timeout_statements(timeouts), *step.statements):
                    conn.execute(statement)
        except psycopg.Error as error:
            if conn.broken:
                raise ConnectionFailed(f"lost the connection: {error_message(error)}") from None
            detail = explain(error, step, plan, server, timeouts)
            results.append(StepResult(step, Outcome.FAILED, detail))
            stopped = step.kind is StepKind.FUNCTIONS
            continue
        results.append(StepResult(step, Outcome.APPLIED))
    return GuardResult(plan, tuple(results))


def explain(
    error: psycopg.Error, step: Step, plan: GuardPlan, server: ServerInfo, timeouts: Timeouts
) -> str:
    """Why a step failed, in the server's words, and what would let it succeed."""
    message = error_message(error)
    role = qualify(server.current_user)
    where = step.table or f"schema {qualify(plan.schema_name)}"
    if isinstance(error, errors.LockNotAvailable):
        return (
            f"{where} is locked by another session: gave up after {timeouts.lock:g} s "
            f"(--lock-timeout); run it again ({message})"
        )
    if isinstance(error, errors.QueryCanceled):
        return f"took longer than {timeouts.statement:g} s (--statement-timeout) ({message})"
    if not isinstance(error, errors.InsufficientPrivilege):
        return message
    database = qualify(server.database)
    if step.kind is StepKind.FUNCTIONS:
        return (
            f"{message}: role {role} may not create the guard's schema and functions. Run it as "
            f"the database owner, or GRANT CREATE ON DATABASE {database} TO {role}; to replace "
            "functions installed before, run it as their owner"
        )
    if step.kind is StepKind.DROP_FUNCTIONS:
        return f"{message}: dropping the guard's functions and schema needs their owner"
    if plan.action == "install":
        return (
            f"{message}: role {role} may not guard {step.table}. Creating a trigger needs "
            f"the TRIGGER privilege (GRANT TRIGGER ON {step.table} TO {role};), replacing "
            "one needs ownership of the table"
        )
    return f"{message}: dropping the guard's triggers from {step.table} needs ownership of it"


def untrusted_guards(snapshot: Snapshot, timeouts: Timeouts, conn: Connection) -> Snapshot:
    """*snapshot* with every guard whose function is not this seqdoctor's marked 'tampered'.

    The column inventory judges what the catalog shows of each guard trigger
    (list_column_uses.sql); whether its function runs this seqdoctor's body,
    with its settings, is read here, once per function.
    """
    oids = sorted({u.guard_function for u in snapshot.uses if u.guard_function is not None})
    if not oids:
        return snapshot
    with read_only_transaction(conn, timeouts):
        called = fetch(
            conn, load_sql("list_guard_functions"), GuardFunction, {"name": None, "oids": oids}
        )
    foreign = {f.oid for f in called if definition_problems(f.definition, f.schema)}
    foreign |= set(oids) - {f.oid for f in called}  # dropped since: nothing known of it
    if not foreign:
        return snapshot
    uses = tuple(
        replace(u, guard="tampered") if u.guard_function in foreign and u.guard else u
        for u in snapshot.uses
    )
    return replace(snapshot, uses=uses)
