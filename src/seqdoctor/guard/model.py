"""What the guard reads, plans and reports: frozen rows, plans of SQL statements, outcomes.

Nothing here touches a connection: plans are built from these objects by
:mod:`.plan`, printed by :mod:`.text`, and run by :mod:`.database`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from psycopg import sql

from seqdoctor.catalog.model import ColumnUse, SequenceState, ServerInfo, qualify
from seqdoctor.errors import ExitStatus, UsageError

DEFAULT_SCHEMA = "seqdoctor"
# The SQLSTATE of a write the guard stops (raise mode) or warns about (warn
# mode). Class SD is in the range the SQL standard leaves to implementations
# (first character I-Z) and used by neither the standard nor PostgreSQL, so
# drivers map it to their generic database error, not to IntegrityError.
SQLSTATE = "SD001"
# A guard's triggers are named after the column's attnum, which survives renames.
TRIGGER_PREFIX = "seqdoctor_guard_"
EVENTS = ("insert", "update")
MIN_SERVER_VERSION = 130000  # pg_trigger.tgparentid tells clones on partitions apart
# COMMENT ON SCHEMA marks a schema the guard created, and the version of its functions.
SCHEMA_MARKER = "seqdoctor guard"


class GuardMode(StrEnum):
    """What a guard does with a value written ahead of its sequence."""

    RAISE = "raise"  # the statement fails with SQLSTATE SD001
    HEAL = "heal"  # the sequence is moved past the value
    WARN = "warn"  # a WARNING (SQLSTATE SD001), and the row goes in


class GuardState(StrEnum):
    GUARDED = "guarded"
    NOT_GUARDED = "not guarded"
    DISABLED = "disabled"  # ALTER TABLE ... DISABLE TRIGGER
    STALE = "stale"  # half of it, another sequence, or another guard schema: install again
    # Its function is not the one this seqdoctor installs, or belongs to a role
    # that may not create triggers on the table: what runs is someone else's.
    TAMPERED = "tampered"
    UNSUPPORTED = "not guardable"


def trigger_name(event: str, attnum: int) -> str:
    """The name of the guard trigger for one event on one column.

    >>> trigger_name("insert", 1)
    'seqdoctor_guard_insert_1'
    """
    return f"{TRIGGER_PREFIX}{event}_{attnum}"


def check_schema_name(name: str) -> str:
    """The guard's schema name, refused when PostgreSQL or the function bodies could not take it.

    >>> check_schema_name("ops guard")
    'ops guard'
    >>> check_schema_name("pg_guard")
    Traceback (most recent call last):
    ...
    seqdoctor.errors.UsageError: --schema-name pg_guard: names starting with pg_ are reserved
    """
    if not name or len(name.encode()) > 63:
        problem = "must be 1 to 63 bytes long"
    elif name.startswith("pg_"):
        problem = "names starting with pg_ are reserved"
    elif "$" in name:
        # The functions' bodies are dollar-quoted and name the schema inside.
        problem = "must not contain $"
    else:
        return name
    raise UsageError(f"--schema-name {name}: {problem}")


@dataclass(frozen=True)
class GuardTrigger:
    """A trigger named like a guard's, as pg_trigger records it (list_guard_triggers.sql)."""

    table_oid: int
    schema: str
    table: str
    name: str
    function_schema: str  # the schema of its function: the guard's, when it is one of ours
    function_name: str
    mode: str  # its first argument
    sequence_oid: int | None  # its second argument
    attnum: int | None  # its third argument
    enabled: bool  # not ALTER TABLE ... DISABLE TRIGGER
    # The owner of its function is a superuser or may create triggers on the
    # table: whatever the function runs, its owner could have run there anyway.
    function_owner_trusted: bool = True
    # Objects its WHEN condition calls that are not PostgreSQL's own: what a
    # trigger bound under a hostile search_path runs on every write.
    condition_calls: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "condition_calls", tuple(self.condition_calls))  # a list, read

    @property
    def table_name(self) -> str:
        return qualify(self.schema, self.table)


@dataclass(frozen=True)
class FunctionDefinition:
    """What decides what the guard's function runs, as pg_proc records it."""

    source_hash: str  # sha256 of its body (prosrc), in hex
    config: tuple[str, ...]  # its SET clauses (proconfig): "search_path=pg_catalog, pg_temp"
    security_definer: bool
    language: str


@dataclass(frozen=True)
class GuardFunction:
    """A guard trigger function as found (list_guard_functions.sql)."""

    oid: int
    schema: str
    owner: str
    owner_superuser: bool
    source_hash: str
    config: Sequence[str]
    security_definer: bool
    language: str

    @property
    def definition(self) -> FunctionDefinition:
        return FunctionDefinition(
            self.source_hash, tuple(self.config), self.security_definer, self.language
        )


@dataclass(frozen=True)
class GuardSchema:
    """The guard's schema as found (get_guard_schema.sql)."""

    name: str
    exists: bool
    comment: str | None  # starts with SCHEMA_MARKER when the guard created it
    other_objects: int  # objects in it that are not the guard's functions
    # Which body its guard() function has (plan.functions_version), from the body itself.
    function_version: str | None
    public_usage: bool  # every role may use it, so every writer can run the guard's functions
    owner: str | None = None
    owner_superuser: bool = False
    # Roles other than its owner and the current one that may create objects in
    # it (PUBLIC for every role); superusers, who may anyway, are left out.
    creators: Sequence[str] = ()
    current_user_superuser: bool = False
    function: GuardFunction | None = None  # its guard() function, when there is one

    @property
    def ours(self) -> bool:
        return (self.comment or "").startswith(SCHEMA_MARKER)


@dataclass(frozen=True)
class UncheckedWriter:
    """A role that may write a guarded table but may not read (or move) its sequence."""

    table_oid: int
    sequence_oid: int
    role: str  # PUBLIC for every role
    privilege: str  # what it lacks on the sequence: SELECT, or UPDATE for heal


@dataclass(frozen=True)
class Inventory:
    """Everything planning and status need, read in one transaction."""

    server: ServerInfo
    sequences: tuple[SequenceState, ...]
    uses: tuple[ColumnUse, ...]
    triggers: tuple[GuardTrigger, ...]
    schema: GuardSchema

    def sequence(self, oid: int) -> SequenceState:
        return self._sequences[oid]

    def triggers_on(self, table_oid: int) -> tuple[GuardTrigger, ...]:
        """The guard-named triggers of one table."""
        return self._triggers_by_table.get(table_oid, ())

    @cached_property
    def _sequences(self) -> Mapping[int, SequenceState]:
        return {s.oid: s for s in self.sequences}

    @cached_property
    def _triggers_by_table(self) -> Mapping[int, tuple[GuardTrigger, ...]]:
        grouped: dict[int, list[GuardTrigger]] = {}
        for trigger in self.triggers:
            grouped.setdefault(trigger.table_oid, []).append(trigger)
        return {oid: tuple(triggers) for oid, triggers in grouped.items()}


def unsupported_reason(use: ColumnUse) -> str | None:
    """Why a sequence-fed column cannot be guarded, or None when it can."""
    if use.relkind == "f":
        return "a foreign table: its rows and their keys live on another server"
    if not use.comparable:
        return f"a {use.column_type} column: its values cannot be compared with the sequence's"
    return None


@dataclass(frozen=True)
class ColumnGuard:
    """One sequence-fed column and its guard, as ``seqdoctor guard status`` lists it."""

    use: ColumnUse
    sequence: str  # qualified name
    state: GuardState
    mode: GuardMode | None = None
    detail: str = ""

    @property
    def column(self) -> str:
        return self.use.qualified


class StepKind(StrEnum):
    FUNCTIONS = "functions"  # create or replace the schema and functions
    TABLE = "table"  # create or drop the triggers of one table
    DROP_FUNCTIONS = "drop-functions"  # drop the functions, and the schema when it is ours


@dataclass(frozen=True)
class Step:
    """Statements that run in one transaction, and what they do, for a person to read."""

    kind: StepKind
    title: str
    statements: tuple[sql.Composed, ...]
    columns: tuple[str, ...] = ()  # qualified columns a table step guards or unguards
    table: str | None = None  # qualified table of a table step


@dataclass(frozen=True)
class GuardPlan:
    """What install or remove will do: steps, and what needs nothing or cannot be done."""

    action: str  # install | remove
    schema_name: str
    mode: GuardMode | None  # install only
    steps: tuple[Step, ...]
    unchanged: tuple[str, ...] = ()  # columns already as asked
    unsupported: tuple[tuple[str, str], ...] = ()  # (column, why)
    notes: tuple[str, ...] = ()
    creates_schema: bool = False  # the guard's schema does not exist yet

    @property
    def empty(self) -> bool:
        return not self.steps


class Outcome(StrEnum):
    APPLIED = "applied"
    FAILED = "failed"  # rolled back
    NOT_RUN = "not run"  # the functions could not be created: nothing after them ran


@dataclass(frozen=True)
class StepResult:
    step: Step
    outcome: Outcome
    detail: str = ""


@dataclass(frozen=True)
class GuardResult:
    plan: GuardPlan
    results: tuple[StepResult, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return all(r.outcome is Outcome.APPLIED for r in self.results)


@dataclass(frozen=True)
class GuardStatus:
    """Which sequence-fed columns are guarded, and how."""

    schema: GuardSchema
    columns: tuple[ColumnGuard, ...]
    strays: tuple[GuardTrigger, ...] = ()  # guard triggers on columns no sequence feeds now
    notes: tuple[str, ...] = ()

    @property
    def exit_status(self) -> ExitStatus:
        """2 when a guard runs someone else's code, 1 when one is disabled or stale, else 0.

        Columns left unguarded are a choice, not a fault: they do not count.
        """
        states = {c.state for c in self.columns}
        if GuardState.TAMPERED in states:
            return ExitStatus.CRITICAL
        if states & {GuardState.DISABLED, GuardState.STALE} or self.strays:
            return ExitStatus.WARNING
        return ExitStatus.OK
