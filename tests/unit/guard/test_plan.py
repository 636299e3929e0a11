"""Planning the guard from a catalog inventory: which statements, for which columns, and why not."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from seqdoctor.catalog.filters import Filters
from seqdoctor.catalog.model import ColumnUse, SequenceState
from seqdoctor.errors import UsageError
from seqdoctor.guard.model import (
    GuardFunction,
    GuardMode,
    GuardSchema,
    GuardState,
    GuardTrigger,
    Inventory,
    Step,
    StepKind,
    UncheckedWriter,
    check_schema_name,
    trigger_name,
)
from seqdoctor.guard.plan import (
    column_guard,
    expected_function,
    function_problems,
    functions_version,
    plan_install,
    plan_remove,
    status,
)
from tests.unit.factories import SERVER, column, sequence

ORDERS_SEQ = sequence("orders_id_seq")
ORDERS = column("orders", fed_by=ORDERS_SEQ)
DOWN_SEQ = sequence("Order Lines_id_seq", increment=-1)
LINES = column("Order Lines", "Line Id", fed_by=DOWN_SEQ, attnum=3)
CODES_SEQ = sequence("codes_seq")
CODES = column("vouchers", "code", fed_by=CODES_SEQ, type_name="text")
REMOTE = column("remote_orders", fed_by=ORDERS_SEQ, relkind="f")
SERVER_16 = replace(SERVER, server_version_num=160004)


def installed_function(**changes: Any) -> GuardFunction:
    """The guard's function as this seqdoctor creates it, owned by a superuser."""
    expected = expected_function("seqdoctor")
    function = GuardFunction(
        oid=16384,
        schema="seqdoctor",
        owner="postgres",
        owner_superuser=True,
        source_hash=expected.source_hash,
        config=list(expected.config),
        security_definer=expected.security_definer,
        language=expected.language,
    )
    return replace(function, **changes)


def schema(
    *,
    exists: bool = False,
    installed: bool = False,
    other_objects: int = 0,
    ours: bool = True,
    **changes: Any,
) -> GuardSchema:
    found = GuardSchema(
        name="seqdoctor",
        exists=exists or installed,
        comment="seqdoctor guard: functions" if ours and (exists or installed) else None,
        other_objects=other_objects,
        function_version=functions_version("seqdoctor") if installed else None,
        public_usage=exists or installed,
        owner="postgres" if exists or installed else None,
        owner_superuser=exists or installed,
        function=installed_function() if installed else None,
    )
    return replace(found, **changes)


def trigger(
    use: ColumnUse,
    event: str,
    *,
    mode: str = "raise",
    seq: SequenceState = ORDERS_SEQ,
    **changes: Any,
) -> GuardTrigger:
    found = GuardTrigger(
        table_oid=use.table_oid,
        schema=use.schema,
        table=use.table,
        name=trigger_name(event, use.attnum),
        function_schema="seqdoctor",
        function_name="guard",
        mode=mode,
        sequence_oid=seq.oid,
        attnum=use.attnum,
        enabled=True,
    )
    return replace(found, **changes)


def inventory(*triggers: GuardTrigger, guard_schema: GuardSchema | None = None) -> Inventory:
    return Inventory(
        server=SERVER_16,
        sequences=(ORDERS_SEQ, DOWN_SEQ, CODES_SEQ),
        uses=(LINES, ORDERS, CODES, REMOTE),
        triggers=triggers,
        schema=guard_schema or schema(installed=bool(triggers)),
    )


def sql_of(step: Step) -> list[str]:
    return [s.as_string() for s in step.statements]


def test_first_install_creates_schema_functions_and_two_triggers_per_column() -> None:
    plan = plan_install(inventory(), GuardMode.RAISE, Filters())

    functions, lines, orders = plan.steps
    assert functions.kind is StepKind.FUNCTIONS
    assert sql_of(functions)[:3] == [
        'CREATE SCHEMA "seqdoctor"',
        "COMMENT ON SCHEMA \"seqdoctor\" IS 'seqdoctor guard: functions of seqdoctor''s guard "
        "triggers'",
        'GRANT USAGE ON SCHEMA "seqdoctor" TO PUBLIC',
    ]
    assert sql_of(functions)[-1].startswith('COMMENT ON FUNCTION "seqdoctor"."guard"() IS')
    assert plan.creates_schema
    assert orders.title == "guard public.orders.id (raise)"
    assert sql_of(orders) == [
        'CREATE TRIGGER "seqdoctor_guard_insert_1" AFTER INSERT ON "public"."orders" FOR EACH ROW\n'
        'WHEN ((NEW."id" OPERATOR(pg_catalog.>) pg_catalog.pg_sequence_last_value('
        '\'"public"."orders_id_seq"\'::pg_catalog.regclass)) IS NOT FALSE)\n'
        'EXECUTE FUNCTION "seqdoctor"."guard"(\'raise\')',
        'CREATE TRIGGER "seqdoctor_guard_update_1" AFTER UPDATE ON "public"."orders" FOR EACH ROW\n'
        'WHEN ((OLD."id" OPERATOR(pg_catalog.<>) NEW."id") IS NOT FALSE AND '
        '(NEW."id" OPERATOR(pg_catalog.>) pg_catalog.pg_sequence_last_value('
        '\'"public"."orders_id_seq"\'::pg_catalog.regclass)) IS NOT FALSE)\n'
        'EXECUTE FUNCTION "seqdoctor"."guard"(\'raise\')',
    ]
    assert (
        '(NEW."Line Id" OPERATOR(pg_catalog.<) pg_catalog.pg_sequence_last_value('
        in sql_of(lines)[0]
    )
    assert plan.unsupported == (
        (
            "public.vouchers.code",
            "a text column: its values cannot be compared with the sequence's",
        ),
        (
            "public.remote_orders.id",
            "a foreign table: its rows and their keys live on another server",
        ),
    )


def test_the_expected_function_follows_its_sql() -> None:
    expected = expected_function("seqdoctor")

    assert expected.language == "plpgsql"
    assert not expected.security_definer
    assert functions_version("ops") == f"seqdoctor guard {expected.source_hash[:12]}"
    assert function_problems(inventory(guard_schema=schema(installed=True))) == ()


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"source_hash": "0" * 64}, "its body is not the one this seqdoctor installs"),
        (
            {"config": ["search_path=public"]},
            "it runs with SET search_path=public, not "
            + (
                "; ".join(f"SET {c}" for c in expected_function("seqdoctor").config)
                or "no SET clause"
            ),
        ),
        ({"security_definer": True}, "it is SECURITY DEFINER"),
        ({"language": "plperlu"}, "it is written in plperlu, not plpgsql"),
    ],
)
def test_a_function_changed_in_what_it_runs_is_tampered_never_guarded(
    changes: dict[str, Any], problem: str
) -> None:
    changed = schema(
        installed=True, function=installed_function(**changes), current_user_superuser=True
    )
    guarded = inventory(trigger(ORDERS, "insert"), trigger(ORDERS, "update"), guard_schema=changed)

    judged = column_guard(guarded, ORDERS)
    assert function_problems(guarded) == (problem,)
    assert (judged.state, judged.mode) == (GuardState.TAMPERED, GuardMode.RAISE)
    assert judged.detail.startswith(
        f"function seqdoctor.guard() is not what seqdoctor installs: {problem} ("
    )
    # Install, as the function's owner or a superuser, replaces the function and
    # leaves the triggers as they are.
    plan = plan_install(guarded, GuardMode.RAISE, Filters(tables=("orders",)))
    assert [s.kind for s in plan.steps] == [StepKind.FUNCTIONS]
    assert plan.unchanged == ("public.orders.id",)


def test_a_function_whose_owner_may_not_create_triggers_on_the_table_is_tampered() -> None:
    guarded = inventory(
        trigger(ORDERS, "insert"),
        trigger(ORDERS, "update", function_owner_trusted=False),
        guard_schema=schema(installed=True, function=installed_function(owner="app")),
    )

    judged = column_guard(guarded, ORDERS)

    assert judged.state is GuardState.TAMPERED
    assert judged.detail == (
        "function seqdoctor.guard() belongs to role app, who may not create triggers on "
        "public.orders: it decides what every write there runs"
    )


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        (
            {"owner": "mallory", "owner_superuser": False},
            "schema seqdoctor belongs to role mallory, neither monitoring nor a superuser",
        ),
        (
            {"creators": ["PUBLIC", "mallory"]},
            "PUBLIC, mallory may create objects in schema seqdoctor "
            "(REVOKE CREATE ON SCHEMA seqdoctor FROM PUBLIC, mallory;)",
        ),
        (
            {"function": installed_function(owner="mallory", owner_superuser=False)},
            "function seqdoctor.guard() belongs to role mallory, neither monitoring nor a "
            "superuser",
        ),
        (
            {"function": installed_function(source_hash="0" * 64)},
            "function seqdoctor.guard() is not the one this seqdoctor installs, and only its "
            "owner postgres or a superuser may replace it",
        ),
    ],
)
def test_install_refuses_a_schema_or_function_it_may_not_trust(
    changes: dict[str, Any], refusal: str
) -> None:
    untrusted = inventory(guard_schema=schema(installed=True, **changes))

    with pytest.raises(UsageError) as raised:
        plan_install(untrusted, GuardMode.RAISE, Filters())

    assert str(raised.value) == (
        f"guard install refuses schema seqdoctor: {refusal}. Whoever owns the guard's function "
        "decides what every writer runs, superusers included: choose another --schema-name, "
        "or have a superuser look into it"
    )


def test_install_trusts_its_own_role_and_superusers() -> None:
    mine = installed_function(owner="monitoring", owner_superuser=False, source_hash="0" * 64)
    own = schema(installed=True, owner="monitoring", owner_superuser=False, function=mine)
    superuser_replaces = schema(
        installed=True,
        function=installed_function(source_hash="0" * 64),
        current_user_superuser=True,
    )

    for trusted in (own, superuser_replaces):
        plan = plan_install(inventory(guard_schema=trusted), GuardMode.RAISE, Filters())
        assert plan.steps[0].kind is StepKind.FUNCTIONS


def test_installed_as_asked_is_left_alone_and_other_modes_are_replaced() -> None:
    guarded = inventory(
        trigger(ORDERS, "insert"),
        trigger(ORDERS, "update"),
        guard_schema=schema(installed=True),
    )

    again = plan_install(guarded, GuardMode.RAISE, Filters())
    healed = plan_install(guarded, GuardMode.HEAL, Filters(tables=("orders",)))

    assert [s.title for s in again.steps] == ['guard public."Order Lines"."Line Id" (raise)']
    assert again.unchanged == ("public.orders.id",)
    (step,) = healed.steps
    assert sql_of(step)[:2] == [
        'DROP TRIGGER IF EXISTS "seqdoctor_guard_insert_1" ON "public"."orders"',
        'DROP TRIGGER IF EXISTS "seqdoctor_guard_update_1" ON "public"."orders"',
    ]
    assert not healed.creates_schema


@pytest.mark.parametrize(
    ("triggers", "state", "detail"),
    [
        ((), GuardState.NOT_GUARDED, ""),
        (("insert", "update"), GuardState.GUARDED, ""),
        (("insert",), GuardState.STALE, "no trigger on UPDATE: run seqdoctor guard install again"),
    ],
)
def test_column_states(triggers: tuple[str, ...], state: GuardState, detail: str) -> None:
    found = column_guard(inventory(*(trigger(ORDERS, e) for e in triggers)), ORDERS)
    assert (found.state, found.detail) == (state, detail)


def test_disabled_other_sequence_and_other_schema() -> None:
    disabled = inventory(trigger(ORDERS, "insert", enabled=False), trigger(ORDERS, "update"))
    other = inventory(*(trigger(ORDERS, e, seq=CODES_SEQ) for e in ("insert", "update")))
    elsewhere = inventory(
        *(trigger(ORDERS, e, function_schema="ops") for e in ("insert", "update"))
    )

    assert column_guard(disabled, ORDERS).state is GuardState.DISABLED
    assert column_guard(other, ORDERS).detail == (
        "checks another sequence than public.orders_id_seq: run seqdoctor guard install again"
    )
    assert column_guard(elsewhere, ORDERS).detail == (
        "not a trigger of the guard in schema seqdoctor: run seqdoctor guard install again"
    )


def test_remove_drops_triggers_then_functions_and_only_a_schema_it_created() -> None:
    triggers = (trigger(ORDERS, "insert"), trigger(ORDERS, "update"))

    everything = plan_remove(inventory(*triggers, guard_schema=schema(installed=True)), Filters())
    crowded = plan_remove(
        inventory(*triggers, guard_schema=schema(installed=True, other_objects=2)), Filters()
    )
    foreign = plan_remove(inventory(guard_schema=schema(installed=True, ours=False)), Filters())
    one_table = plan_remove(
        inventory(*triggers, guard_schema=schema(installed=True)), Filters(tables=("orders",))
    )

    unguard, drop = everything.steps
    assert unguard.title == "unguard public.orders.id"
    assert sql_of(drop)[-1] == 'DROP SCHEMA "seqdoctor"'
    assert sql_of(drop)[0] == 'DROP FUNCTION IF EXISTS "seqdoctor"."guard"()'
    assert [s.title for s in crowded.steps][-1] == "drop the guard functions from schema seqdoctor"
    assert crowded.notes == (
        "schema seqdoctor stays: it holds 2 object(s) the guard did not create",
    )
    assert sql_of(foreign.steps[-1])[-1].startswith("DROP FUNCTION")
    assert [s.kind for s in one_table.steps] == [StepKind.TABLE]


def test_a_column_whose_writers_cannot_read_its_sequence_is_left_unguarded() -> None:
    writers = [
        UncheckedWriter(ORDERS.table_oid, ORDERS_SEQ.oid, "app", "SELECT"),
        UncheckedWriter(ORDERS.table_oid, ORDERS_SEQ.oid, "PUBLIC", "UPDATE"),
    ]

    plan = plan_install(inventory(), GuardMode.HEAL, Filters(tables=("orders",)), writers)
    heal = plan_install(inventory(), GuardMode.HEAL, Filters(tables=("orders",)), writers[1:])

    assert [s.kind for s in plan.steps] == [StepKind.FUNCTIONS]
    assert plan.unsupported == (
        (
            "public.orders.id",
            "role app may write it but may not read public.orders_id_seq, and the guard, which "
            "reads it as the writer, would stop every write: GRANT SELECT ON SEQUENCE "
            "public.orders_id_seq TO app; then install again",
        ),
    )
    assert heal.notes == (
        "role PUBLIC may write public.orders but may not move public.orders_id_seq: its writes "
        "ahead of the sequence fail (heal moves it as the writer) until GRANT UPDATE "
        "ON SEQUENCE public.orders_id_seq TO PUBLIC;",
    )


def test_status_lists_every_column_and_stray_triggers() -> None:
    stray = trigger(ORDERS, "insert", attnum=7, name=trigger_name("insert", 7))
    report = status(
        inventory(trigger(ORDERS, "insert"), trigger(ORDERS, "update"), stray), Filters()
    )

    assert [(c.column, c.state) for c in report.columns] == [
        ('public."Order Lines"."Line Id"', GuardState.NOT_GUARDED),
        ("public.orders.id", GuardState.GUARDED),
        ("public.remote_orders.id", GuardState.UNSUPPORTED),
        ("public.vouchers.code", GuardState.UNSUPPORTED),
    ]
    assert report.strays == (stray,)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "must be 1 to 63 bytes long"),
        ("x" * 64, "must be 1 to 63 bytes long"),
        ("pg_guard", "names starting with pg_ are reserved"),
        ("a$b", "must not contain $"),
    ],
)
def test_schema_names_the_functions_cannot_live_in(name: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem.replace("$", r"\$")):
        check_schema_name(name)
