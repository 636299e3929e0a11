"""Planning the guard: from what the catalog says to the statements that install or remove it.

Pure functions over an :class:`~.model.Inventory`: they compose every
statement with ``psycopg.sql`` and never touch a connection, so a plan can
be printed (``--dry-run``), tested, and applied as printed.

A guarded column gets two triggers, both ``AFTER ... FOR EACH ROW``:

- ``seqdoctor_guard_insert_<attnum>`` on INSERT (COPY included);
- ``seqdoctor_guard_update_<attnum>`` on UPDATE, for rows whose value changes.

The per-row work is the trigger's WHEN condition, built from builtins only::

    (NEW.id OPERATOR(pg_catalog.>)
     pg_catalog.pg_sequence_last_value('public.users_id_seq'::pg_catalog.regclass)) IS NOT FALSE

which is false for every value at or behind the sequence's last_value, every
generated one among them: then no function runs and no event is queued. The
rest, rare, goes to the guard's function (``sql/guard_trigger.sql``). Why
this shape, and what it costs, is in docs/guard.md: PostgreSQL prepares a
WHEN condition for every statement, so its size is the guard's cost on a
one-row INSERT, and a function in it (an inlined SQL function is parsed
again each time) would double that.

AFTER, so that the value checked is the one stored (after any BEFORE trigger,
and not for a row ON CONFLICT DO NOTHING skipped), COPY keeps inserting in
batches, and a partitioned table's triggers are cloned to every partition,
present and future, checking rows routed there or written to a partition.

The condition names the column and the sequence in the trigger's own
expression, which PostgreSQL stores as a parse tree and records as
dependencies: renaming the table, the column, the sequence or their schemas
changes nothing, and pg_dump restores it as it was. DDL that would leave
the guard pointing nowhere is refused instead: ``ALTER COLUMN ... TYPE``
fails with "cannot alter type of a column used in a trigger definition", and
dropping the sequence (``DROP IDENTITY``) with "other objects depend on it".
Remove the guard from the table first, and install it again after.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from importlib import resources

from psycopg import sql

from seqdoctor.catalog.filters import Filters
from seqdoctor.catalog.model import ColumnUse, SequenceState, qualify
from seqdoctor.errors import UsageError
from seqdoctor.guard.model import (
    EVENTS,
    SCHEMA_MARKER,
    ColumnGuard,
    FunctionDefinition,
    GuardMode,
    GuardPlan,
    GuardState,
    GuardStatus,
    GuardTrigger,
    Inventory,
    Step,
    StepKind,
    UncheckedWriter,
    trigger_name,
    unsupported_reason,
)

# The guard's functions, by name and signature (for DROP FUNCTION, and for
# get_guard_schema.sql to tell them from other objects in the schema).
FUNCTIONS = {"guard": ""}


@cache
def load_sql(name: str) -> str:
    """The text of ``sql/<name>.sql``."""
    return resources.files("seqdoctor.guard").joinpath(f"sql/{name}.sql").read_text()


def function_statements(schema_name: str) -> tuple[sql.Composed, ...]:
    """CREATE OR REPLACE of every guard function, in the guard's schema."""
    return (sql.SQL(load_sql("guard_trigger")).format(schema=sql.Identifier(schema_name)),)


# The parts of CREATE FUNCTION that pg_proc keeps: the clauses before AS, and
# the dollar-quoted body, which it keeps as written (prosrc).
_CREATE_FUNCTION = re.compile(
    r"^CREATE OR REPLACE FUNCTION\b(?P<header>.*?)\bAS\s+\$(?P<tag>\w*)\$(?P<body>.*?)\$(?P=tag)\$",
    re.DOTALL | re.MULTILINE,
)
_SETTING = re.compile(r"\bSET\s+(\w+)\s*(?:=|\bTO\b)\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_LANGUAGE = re.compile(r"\bLANGUAGE\s+(\w+)", re.IGNORECASE)
_SECURITY_DEFINER = re.compile(r"\bSECURITY\s+DEFINER\b", re.IGNORECASE)


@cache
def expected_function(schema_name: str) -> FunctionDefinition:
    """What pg_proc records of the guard's trigger function once this seqdoctor created it:
    read from :func:`function_statements`, so that it follows the SQL."""
    (statement,) = function_statements(schema_name)
    return definition_of(statement.as_string())


def definition_of(statement: str) -> FunctionDefinition:
    r"""What pg_proc records of the function a CREATE OR REPLACE FUNCTION statement creates.

    The body (prosrc) as written between its dollar quotes, and the SET
    clauses as PostgreSQL stores them:

    >>> found = definition_of(
    ...     "CREATE OR REPLACE FUNCTION s.f() RETURNS trigger\n"
    ...     "LANGUAGE plpgsql\n"
    ...     "SET search_path TO pg_catalog,pg_temp\n"
    ...     "AS $body$\nBEGIN RETURN NULL; END\n$body$"
    ... )
    >>> found.config, found.language, found.security_definer
    (('search_path=pg_catalog, pg_temp',), 'plpgsql', False)
    """
    found = _CREATE_FUNCTION.search(statement)
    if found is None:
        raise ValueError("guard_trigger.sql: no CREATE OR REPLACE FUNCTION ... AS $tag$...$tag$")
    header = re.sub(r"--[^\n]*", "", found["header"])
    language = _LANGUAGE.search(header)
    return FunctionDefinition(
        source_hash=hashlib.sha256(found["body"].encode()).hexdigest(),
        config=tuple(
            f"{name.lower()}={', '.join(part.strip() for part in value.split(','))}"
            for name, value in _SETTING.findall(header)
        ),
        security_definer=_SECURITY_DEFINER.search(header) is not None,
        language=language[1].lower() if language else "sql",
    )


def functions_version(schema_name: str) -> str:
    """Which body of the guard's trigger function this seqdoctor installs, for people.

    Status shows the version of the body installed (get_guard_schema.sql
    computes it the same way), and install puts it in the function's comment.
    What decides is the whole definition: see :func:`function_problems`.
    """
    return f"{SCHEMA_MARKER} {expected_function(schema_name).source_hash[:12]}"


def function_problems(inventory: Inventory) -> tuple[str, ...]:
    """How the guard's function differs from the one this seqdoctor creates; () when it does not.

    Its body, the settings it runs with (the pinned search path), whether it
    runs as its owner, and its language: everything that decides what every
    writer of a guarded table runs. Not its comment, which its owner can keep.
    """
    found = inventory.schema.function
    if found is None:
        return ("it does not exist",)
    return definition_problems(found.definition, inventory.schema.name)


def definition_problems(found: FunctionDefinition, schema_name: str) -> tuple[str, ...]:
    """How *found* differs from the guard function this seqdoctor creates in *schema_name*."""
    expected = expected_function(schema_name)
    problems = []
    if found.source_hash != expected.source_hash:
        problems.append("its body is not the one this seqdoctor installs")
    if found.config != expected.config:
        problems.append(f"it runs with {_settings(found.config)}, not {_settings(expected.config)}")
    if found.security_definer != expected.security_definer:
        problems.append(
            "it is SECURITY DEFINER" if found.security_definer else "it is not SECURITY DEFINER"
        )
    if found.language != expected.language:
        problems.append(f"it is written in {found.language}, not {expected.language}")
    return tuple(problems)


def _settings(config: tuple[str, ...]) -> str:
    return "; ".join(f"SET {setting}" for setting in config) or "no SET clause"


def _roles(names: Iterable[str]) -> str:
    """Roles as GRANT and REVOKE name them.

    >>> _roles(["PUBLIC", "Ops Team"])
    'PUBLIC, "Ops Team"'
    """
    return ", ".join("PUBLIC" if name == "PUBLIC" else qualify(name) for name in names)


def _trusted(owner: str, owner_superuser: bool, inventory: Inventory) -> bool:
    """Whether an owner of the guard's schema or function may be trusted by this install:
    the installing role itself, or a superuser."""
    return owner_superuser or owner == inventory.server.current_user


def refusals(inventory: Inventory) -> list[str]:
    """Why install must not use the guard's schema or function as they are; [] when it may.

    Whoever owns the function, or may create it first in the schema, decides
    what every writer of a guarded table runs, superusers included: the
    schema and the function must belong to the installing role or to a
    superuser, no other role may create objects in the schema, and a function
    that differs is replaced only by its owner (or a superuser's by a superuser).
    """
    schema = inventory.schema
    if not schema.exists:
        return []
    name = qualify(schema.name)
    me = qualify(inventory.server.current_user)
    found: list[str] = []
    if schema.owner is not None and not _trusted(schema.owner, schema.owner_superuser, inventory):
        found.append(
            f"schema {name} belongs to role {qualify(schema.owner)}, neither {me} nor a superuser"
        )
    if schema.creators:
        roles = _roles(schema.creators)
        found.append(
            f"{roles} may create objects in schema {name} "
            f"(REVOKE CREATE ON SCHEMA {name} FROM {roles};)"
        )
    function = schema.function
    if function is not None:
        owner = qualify(function.owner)
        if not _trusted(function.owner, function.owner_superuser, inventory):
            found.append(
                f"function {name}.guard() belongs to role {owner}, neither {me} nor a superuser"
            )
        elif function_problems(inventory) and not (
            function.owner == inventory.server.current_user or schema.current_user_superuser
        ):
            found.append(
                f"function {name}.guard() is not the one this seqdoctor installs, and only its "
                f"owner {owner} or a superuser may replace it"
            )
    return found


def regclass(*names: str) -> sql.Composed:
    """A relation as a ``regclass`` constant: a trigger condition holding one depends on it.

    The type is qualified too: a type named regclass in a schema before
    pg_catalog on the installer's search_path would be the one used.

    >>> print(regclass("public", "Order Lines").as_string())
    '"public"."Order Lines"'::pg_catalog.regclass
    """
    name = sql.Literal(sql.Identifier(*names).as_string())
    return sql.SQL("{}::pg_catalog.regclass").format(name)


def select_uses(inventory: Inventory, filters: Filters) -> tuple[list[ColumnUse], list[ColumnUse]]:
    """The columns the filters select, one per table column: (guardable, not guardable)."""
    seen: set[tuple[int, int]] = set()
    guardable: list[ColumnUse] = []
    unsupported: list[ColumnUse] = []
    for use in inventory.uses:
        key = (use.table_oid, use.attnum)
        if key in seen or not filters.includes_table(use.schema, use.table):
            continue  # a column fed by two sequences at once is guarded against the first
        seen.add(key)
        (unsupported if unsupported_reason(use) else guardable).append(use)
    return guardable, unsupported


def _triggers_of(inventory: Inventory, use: ColumnUse) -> dict[str, GuardTrigger]:
    names = {trigger_name(event, use.attnum): event for event in EVENTS}
    return {names[t.name]: t for t in inventory.triggers_on(use.table_oid) if t.name in names}


def column_guard(
    inventory: Inventory, use: ColumnUse, *, function_replaced: bool = False
) -> ColumnGuard:
    """The state of one column's guard, judged from its triggers and the function they call.

    *function_replaced*: judge it as it will be once install has replaced the
    guard's function with its own.
    """
    sequence = inventory.sequence(use.sequence_oid)
    why_not = unsupported_reason(use)
    if why_not:
        return ColumnGuard(use, sequence.qualified, GuardState.UNSUPPORTED, detail=why_not)
    found = _triggers_of(inventory, use)
    if not found:
        return ColumnGuard(use, sequence.qualified, GuardState.NOT_GUARDED)
    modes = {t.mode for t in found.values()}
    mode = GuardMode(modes.pop()) if len(modes) == 1 and modes <= set(GuardMode) else None
    schema = inventory.schema.name
    ours = [t for t in found.values() if (t.function_schema, t.function_name) == (schema, "guard")]
    tampered = _tampering(inventory, use, ours, function_replaced)
    if tampered:
        return ColumnGuard(use, sequence.qualified, GuardState.TAMPERED, mode, tampered)
    problems = []
    if set(found) != set(EVENTS):
        missing = ", ".join(e.upper() for e in EVENTS if e not in found)
        problems.append(f"no trigger on {missing}")
    if mode is None:
        problems.append(f"modes {', '.join(sorted(t.mode for t in found.values()))}")
    if any(t.sequence_oid != use.sequence_oid for t in found.values()):
        problems.append(f"checks another sequence than {sequence.qualified}")
    if len(ours) != len(found):
        problems.append(f"not a trigger of the guard in schema {schema}")
    if problems:
        detail = "; ".join(problems) + ": run seqdoctor guard install again"
        return ColumnGuard(use, sequence.qualified, GuardState.STALE, mode, detail)
    if not all(t.enabled for t in found.values()):
        return ColumnGuard(
            use,
            sequence.qualified,
            GuardState.DISABLED,
            mode,
            "its triggers are disabled (ALTER TABLE ... ENABLE TRIGGER turns them back on)",
        )
    return ColumnGuard(use, sequence.qualified, GuardState.GUARDED, mode)


def _tampering(
    inventory: Inventory, use: ColumnUse, ours: Sequence[GuardTrigger], function_replaced: bool
) -> str:
    """Why what the guard's triggers on *use* run is not to be trusted; "" when it is."""
    if not ours:
        return ""
    function = f"{qualify(inventory.schema.name)}.guard()"
    problems = () if function_replaced else function_problems(inventory)
    if problems:
        return (
            f"function {function} is not what seqdoctor installs: {'; '.join(problems)} "
            "(changed by its owner, or by another version of seqdoctor): run seqdoctor guard "
            "install again, and find out who changed it"
        )
    calls = sorted({call for t in ours for call in t.condition_calls})
    if calls:
        return (
            f"its triggers' WHEN condition calls {', '.join(calls)}, not PostgreSQL's own, on "
            "every write: run seqdoctor guard install again, and find out who created it"
        )
    if not all(t.function_owner_trusted for t in ours):
        owner = inventory.schema.function.owner if inventory.schema.function else "?"
        return (
            f"function {function} belongs to role {qualify(owner)}, who may not create triggers "
            f"on {qualify(use.schema, use.table)}: it decides what every write there runs"
        )
    return ""


def status(
    inventory: Inventory, filters: Filters, writers: Sequence[UncheckedWriter] = ()
) -> GuardStatus:
    guardable, unsupported = select_uses(inventory, filters)
    fed = {(u.table_oid, u.attnum) for u in inventory.uses}
    strays = tuple(
        t
        for t in inventory.triggers
        if t.function_schema == inventory.schema.name
        and (t.table_oid, t.attnum) not in fed
        and filters.includes_table(t.schema, t.table)
    )
    columns = sorted(
        (column_guard(inventory, u) for u in [*guardable, *unsupported]),
        key=lambda c: (c.use.schema, c.use.table, c.use.attnum),
    )
    modes = {c.use.key: c.mode for c in columns}
    return GuardStatus(
        schema=inventory.schema,
        columns=tuple(columns),
        strays=strays,
        notes=(*schema_notes(inventory), *writer_notes(inventory, writers, modes)),
    )


def plan_install(
    inventory: Inventory, mode: GuardMode, filters: Filters, writers: Sequence[UncheckedWriter] = ()
) -> GuardPlan:
    """Create the functions if they are missing or differ, then guard every selected column.

    A column already guarded as asked is left alone; one guarded in another
    mode, against another sequence, half-guarded or disabled is guarded again.
    Each table's triggers change in a transaction of their own.

    A column is left unguarded while a role that may write its table may not
    read its sequence: the guard reads the sequence as the writer, and would
    stop every write of that role, generated ids included.

    A schema or function the installing role may not trust is refused, before
    anything changes, with :class:`UsageError` (see :func:`refusals`).
    """
    refused = refusals(inventory)
    if refused:
        raise UsageError(
            f"guard install refuses schema {qualify(inventory.schema.name)}: "
            + "; ".join(refused)
            + ". Whoever owns the guard's function decides what every writer runs, superusers "
            "included: choose another --schema-name, or have a superuser look into it"
        )
    schema_name = inventory.schema.name
    steps: list[Step] = []
    replacing = bool(function_problems(inventory))
    if replacing:
        steps.append(_functions_step(inventory, functions_version(schema_name)))
    guardable, unsupported = select_uses(inventory, filters)
    blocked = _blocked_by_writers(inventory, writers)
    left_out = [(u.qualified, unsupported_reason(u) or "") for u in unsupported]
    left_out += [(u.qualified, blocked[u.key]) for u in guardable if u.key in blocked]
    guardable = [u for u in guardable if u.key not in blocked]
    unchanged: list[str] = []
    by_table: dict[int, list[tuple[ColumnUse, bool]]] = {}
    for use in guardable:
        current = column_guard(inventory, use, function_replaced=replacing)
        if current.state is GuardState.GUARDED and current.mode is mode:
            unchanged.append(use.qualified)
            continue
        by_table.setdefault(use.table_oid, []).append(
            (use, current.state is not GuardState.NOT_GUARDED)
        )
    for columns in by_table.values():
        first = columns[0][0]
        table = qualify(first.schema, first.table)
        statements: list[sql.Composed] = []
        for use, replacing in columns:
            if replacing:
                statements += _drop_triggers(use.schema, use.table, use.attnum)
            statements += _create_triggers(
                use, inventory.sequence(use.sequence_oid), mode, schema_name
            )
        names = tuple(u.qualified for u, _ in columns)
        steps.append(
            Step(
                StepKind.TABLE,
                f"guard {', '.join(names)} ({mode})",
                tuple(statements),
                names,
                table,
            )
        )
    modes = {u.key: mode for u in guardable}
    return GuardPlan(
        action="install",
        schema_name=schema_name,
        mode=mode,
        steps=tuple(steps),
        unchanged=tuple(unchanged),
        unsupported=tuple(left_out),
        notes=(*schema_notes(inventory), *writer_notes(inventory, writers, modes)),
        creates_schema=not inventory.schema.exists,
    )


def schema_notes(inventory: Inventory) -> Iterator[str]:
    """What writers lack when the guard's functions live in a schema PUBLIC may not use, and
    who else may create objects in it."""
    schema = inventory.schema
    if schema.creators:
        name, roles = qualify(schema.name), _roles(schema.creators)
        yield (
            f"{roles} may create objects in schema {name}, where the guard's function lives: "
            f"guard install refuses it until REVOKE CREATE ON SCHEMA {name} FROM {roles};"
        )
    if schema.exists and not schema.public_usage:
        name = qualify(schema.name)
        yield (
            f"roles that write guarded tables need USAGE on schema {name} to run the guard's "
            f"functions, or their writes fail: GRANT USAGE ON SCHEMA {name} TO PUBLIC; "
            "(or to each of them)"
        )


def _functions_step(inventory: Inventory, version: str) -> Step:
    schema = sql.Identifier(inventory.schema.name)
    statements: list[sql.Composed] = []
    if not inventory.schema.exists:
        statements += [
            sql.SQL("CREATE SCHEMA {}").format(schema),
            # The mark that lets `guard remove` drop the schema, and only this one.
            sql.SQL("COMMENT ON SCHEMA {} IS {}").format(
                schema, sql.Literal(f"{SCHEMA_MARKER}: functions of seqdoctor's guard triggers")
            ),
            # Every role that writes a guarded table calls the functions (as itself).
            # A schema the guard did not create keeps its privileges: see schema_notes().
            sql.SQL("GRANT USAGE ON SCHEMA {} TO PUBLIC").format(schema),
        ]
    statements += function_statements(inventory.schema.name)
    statements.append(
        sql.SQL("COMMENT ON FUNCTION {}() IS {}").format(
            sql.Identifier(inventory.schema.name, "guard"), sql.Literal(version)
        )
    )
    verb = "create" if not inventory.schema.exists else "create or replace"
    return Step(
        StepKind.FUNCTIONS,
        f"{verb} the guard functions in schema {qualify(inventory.schema.name)}",
        tuple(statements),
    )


def _drop_triggers(schema: str, table: str, attnum: int) -> Iterator[sql.Composed]:
    for event in EVENTS:
        yield sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(
            sql.Identifier(trigger_name(event, attnum)), sql.Identifier(schema, table)
        )


def _create_triggers(
    use: ColumnUse, sequence: SequenceState, mode: GuardMode, schema_name: str
) -> Iterator[sql.Composed]:
    column = sql.Identifier(use.column)
    # NULL (sequence never called; from PostgreSQL 18, a role that may not read
    # it) is not false either: the function tells those apart. Before 18,
    # pg_sequence_last_value() raises for such a role instead: plan_install()
    # leaves the tables of the writers it knows of unguarded, and says why.
    # Operators are qualified: PostgreSQL resolves them when the trigger is
    # created, and one another role made in a schema on the installer's
    # search_path must not be the one stored. Hence <> IS NOT FALSE rather than
    # IS DISTINCT FROM, whose = is looked up by name: it answers the same but
    # when both values are NULL, and then the function returns at once.
    past = sql.SQL(
        "(NEW.{column} OPERATOR(pg_catalog.{beyond}) "
        "pg_catalog.pg_sequence_last_value({sequence})) IS NOT FALSE"
    ).format(
        column=column,
        beyond=sql.SQL(">" if sequence.ascending else "<"),
        sequence=regclass(sequence.schema, sequence.name),
    )
    conditions = {
        "insert": past,
        "update": sql.SQL(
            "(OLD.{column} OPERATOR(pg_catalog.<>) NEW.{column}) IS NOT FALSE AND {past}"
        ).format(column=column, past=past),
    }
    for event in EVENTS:
        yield sql.SQL(
            "CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW\n"
            "WHEN ({condition})\n"
            "EXECUTE FUNCTION {function}({mode})"
        ).format(
            name=sql.Identifier(trigger_name(event, use.attnum)),
            event=sql.SQL(event.upper()),
            table=sql.Identifier(use.schema, use.table),
            condition=conditions[event],
            function=sql.Identifier(schema_name, "guard"),
            mode=sql.Literal(str(mode)),
        )


def plan_remove(inventory: Inventory, filters: Filters) -> GuardPlan:
    """Drop the guard's triggers from the selected tables; without filters, its functions too.

    The schema goes with the functions when the guard created it (its comment
    says so) and nothing else lives in it.
    """
    schema_name = inventory.schema.name
    ours = [
        t
        for t in inventory.triggers
        if (t.function_schema, t.function_name) == (schema_name, "guard")
        and filters.includes_table(t.schema, t.table)
    ]
    steps: list[Step] = []
    by_table: dict[int, list[GuardTrigger]] = {}
    for trigger in ours:
        by_table.setdefault(trigger.table_oid, []).append(trigger)
    columns_of: dict[tuple[int, int | None], str] = {
        (u.table_oid, u.attnum): u.qualified for u in inventory.uses
    }
    for triggers in by_table.values():
        first = triggers[0]
        statements = tuple(
            sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(
                sql.Identifier(t.name), sql.Identifier(t.schema, t.table)
            )
            for t in triggers
        )
        names = tuple(
            dict.fromkeys(
                columns_of.get((t.table_oid, t.attnum), f"{first.table_name} (attnum {t.attnum})")
                for t in triggers
            )
        )
        steps.append(
            Step(StepKind.TABLE, f"unguard {', '.join(names)}", statements, names, first.table_name)
        )
    notes: list[str] = []
    if not filters.active and inventory.schema.exists:
        steps.append(_drop_functions_step(inventory, notes))
    return GuardPlan("remove", schema_name, None, tuple(steps), notes=tuple(notes))


def _drop_functions_step(inventory: Inventory, notes: list[str]) -> Step:
    schema = inventory.schema
    functions = sql.SQL(", ").join(
        sql.SQL("{}({})").format(sql.Identifier(schema.name, name), sql.SQL(signature))
        for name, signature in FUNCTIONS.items()
    )
    statements: list[sql.Composed] = [sql.SQL("DROP FUNCTION IF EXISTS {}").format(functions)]
    title = f"drop the guard functions from schema {qualify(schema.name)}"
    if schema.ours and not schema.other_objects:
        statements.append(sql.SQL("DROP SCHEMA {}").format(sql.Identifier(schema.name)))
        title = f"drop the guard functions and their schema {qualify(schema.name)}"
    elif schema.ours:
        notes.append(
            f"schema {qualify(schema.name)} stays: it holds {schema.other_objects} object(s) "
            "the guard did not create"
        )
    return Step(StepKind.DROP_FUNCTIONS, title, tuple(statements))


def _grant(inventory: Inventory, writer: UncheckedWriter) -> str:
    sequence = inventory.sequence(writer.sequence_oid).qualified
    grantee = "PUBLIC" if writer.role == "PUBLIC" else qualify(writer.role)
    return f"GRANT {writer.privilege} ON SEQUENCE {sequence} TO {grantee};"


def _blocked_by_writers(
    inventory: Inventory, writers: Iterable[UncheckedWriter]
) -> dict[tuple[int, int, int], str]:
    """Why each column whose writers may not read its sequence is not guarded."""
    lacking: dict[tuple[int, int], list[UncheckedWriter]] = {}
    for writer in writers:
        if writer.privilege == "SELECT":
            lacking.setdefault((writer.table_oid, writer.sequence_oid), []).append(writer)
    reasons = {}
    for use in inventory.uses:
        found = lacking.get((use.table_oid, use.sequence_oid))
        if found:
            roles = ", ".join(w.role for w in found)
            sequence = inventory.sequence(use.sequence_oid).qualified
            grants = " ".join(_grant(inventory, w) for w in found)
            reasons[use.key] = (
                f"role {roles} may write it but may not read {sequence}, and the guard, which "
                f"reads it as the writer, would stop every write: {grants} then install again"
            )
    return reasons


def writer_notes(
    inventory: Inventory,
    writers: Iterable[UncheckedWriter],
    modes: Mapping[tuple[int, int, int], GuardMode | None],
) -> Iterator[str]:
    """What the guard does to writers of a guarded table that lack a privilege on its sequence.

    Reading it, when the grants changed since the guard was installed; moving
    it, which heal does as the writer.
    """
    tables = {u.table_oid: qualify(u.schema, u.table) for u in inventory.uses}
    mode_of = {(key[1], key[0]): mode for key, mode in modes.items()}  # (table, sequence)
    for writer in writers:
        mode = mode_of.get((writer.table_oid, writer.sequence_oid))
        if mode is None:
            continue
        sequence = inventory.sequence(writer.sequence_oid).qualified
        table = tables[writer.table_oid]
        if writer.privilege == "UPDATE":
            yield (
                f"role {writer.role} may write {table} but may not move {sequence}: its writes "
                f"ahead of the sequence fail (heal moves it as the writer) until "
                f"{_grant(inventory, writer)}"
            )
        else:
            yield (
                f"role {writer.role} may write {table} but may not read {sequence}: "
                + (
                    "its writes are not checked, with a WARNING"
                    if mode is GuardMode.WARN
                    else "its every write to the table fails (SQLSTATE 42501)"
                )
                + f" until {_grant(inventory, writer)}"
            )
