"""The guard's text output: a psql script of a plan, outcomes, and the status table."""

from __future__ import annotations

from psycopg import sql

from seqdoctor.catalog.connection import Timeouts
from seqdoctor.guard.model import (
    ColumnGuard,
    GuardMode,
    GuardPlan,
    GuardResult,
    GuardSchema,
    GuardState,
    GuardStatus,
    Outcome,
    Step,
    StepKind,
    StepResult,
)
from seqdoctor.guard.text import outcome, script, status
from tests.unit.factories import column, sequence

STEP = Step(
    StepKind.TABLE,
    "guard public.orders.id (raise)",
    (sql.SQL("CREATE TRIGGER x AFTER INSERT ON {} FOR EACH ROW").format(sql.Identifier("orders")),),
    ("public.orders.id",),
    "public.orders",
)
PLAN = GuardPlan(
    "install",
    "seqdoctor",
    GuardMode.RAISE,
    (STEP,),
    unchanged=("public.users.id",),
    unsupported=(("public.notes.code", "a text column"),),
    notes=("a note",),
)


def test_a_plan_is_a_psql_script_of_one_transaction_per_step() -> None:
    assert script(PLAN, Timeouts(2, 30)) == (
        "-- seqdoctor guard install: the plan; nothing has been changed\n"
        "\n"
        "-- guard public.orders.id (raise)\n"
        "BEGIN;\n"
        "SET LOCAL lock_timeout = '2000ms';\n"
        "SET LOCAL statement_timeout = '30000ms';\n"
        "SET LOCAL search_path = pg_catalog, pg_temp;\n"
        'CREATE TRIGGER x AFTER INSERT ON "orders" FOR EACH ROW;\n'
        "COMMIT;\n"
        "-- note: a note\n"
    )


def test_outcome_says_each_step_and_what_was_left_alone() -> None:
    failed = GuardResult(PLAN, (StepResult(STEP, Outcome.FAILED, "table locked"),))
    assert outcome(failed) == (
        "guard public.orders.id (raise): failed: table locked\n"
        "already guarded (raise): public.users.id\n"
        "not guardable: public.notes.code: a text column\n"
        "note: a note\n"
        "0 columns guarded (raise), 1 of 1 steps failed or did not run\n"
    )


def test_status_is_a_table_with_a_summary() -> None:
    seq = sequence("orders_id_seq")
    guarded = ColumnGuard(
        column("orders", fed_by=seq), seq.qualified, GuardState.GUARDED, GuardMode.HEAL
    )
    stale = ColumnGuard(
        column("Order Lines", fed_by=seq), seq.qualified, GuardState.STALE, GuardMode.RAISE, "why"
    )
    report = GuardStatus(
        GuardSchema("seqdoctor", True, "seqdoctor guard", 0, "seqdoctor guard 1234", True),
        (guarded, stale),
    )

    assert status(report) == (
        "guard functions: installed in schema seqdoctor (seqdoctor guard 1234)\n"
        "column                   sequence              guard\n"
        "public.orders.id         public.orders_id_seq  heal\n"
        'public."Order Lines".id  public.orders_id_seq  stale  why\n'
        "1 of 2 columns guarded, 1 heal, 1 stale\n"
    )
