"""Planning as a whole: display-only repairs, order, what is left unrepaired, small helpers."""

from __future__ import annotations

import pytest

from seqdoctor.catalog.model import ColumnKind
from seqdoctor.repairs import REPAIRABLE, Safety, plan_repairs, transaction, unrepaired
from seqdoctor.repairs.model import RepairOptions, dollar_quoted, parse_size
from tests.unit.factories import column, foreign_key, holding, sequence
from tests.unit.repairs.helpers import one, plans_for, report_of, text

MB = 1024**2


def test_a_cycling_sequence_on_a_key_gets_a_display_only_plan() -> None:
    seq = sequence("ring_seq", type_name="int8", cycle=True, last_value=5)
    ring = column("ring", "id", fed_by=seq, kind=ColumnKind.IDENTITY)
    report = report_of(seq, ring, extents={ring: holding(1, 5)})

    plan = one(plans_for(report), "no-cycle")

    assert plan.safety is Safety.DISPLAY_ONLY
    assert not plan.applies
    assert text(plan) == ['ALTER SEQUENCE "public"."ring_seq" NO CYCLE']


@pytest.mark.parametrize(
    ("relkind", "create"),
    [
        ("r", 'CREATE UNIQUE INDEX CONCURRENTLY ON "public"."events" ("id")'),
        ("p", 'CREATE UNIQUE INDEX ON "public"."events" ("id")'),
    ],
)
def test_a_column_without_unique_index_gets_a_display_only_plan(relkind: str, create: str) -> None:
    seq = sequence("events_id_seq")
    events = column("events", "id", fed_by=seq, unique=False, indexed=True, relkind=relkind)
    report = report_of(seq, events, extents={events: holding(1, 5)})

    plan = one(plans_for(report), "unique-index")

    assert plan.safety is Safety.DISPLAY_ONLY
    assert text(plan) == [
        'SELECT "id", count(*) FROM "public"."events" GROUP BY 1 HAVING count(*) > 1',
        create,
    ]
    assert ("partition key" in " ".join(plan.notes)) is (relkind == "p")


def test_safe_plans_come_first_then_rewrites_then_what_a_person_decides() -> None:
    behind = sequence("users_id_seq")
    users = column("users", "id", fed_by=behind)
    full = sequence("orders_id_seq", last_value=2_000_000_000)
    orders = column("orders", "id", fed_by=full)
    numbers = sequence("numbers", type_name="int8", max_value=100, last_value=99)
    invoices = column("invoices", "number", fed_by=numbers, kind=ColumnKind.DEFAULT)
    ring_seq = sequence("ring_seq", type_name="int8", cycle=True, last_value=5)
    ring = column("ring", "id", fed_by=ring_seq)
    report = report_of(
        behind,
        users,
        full,
        orders,
        numbers,
        invoices,
        ring_seq,
        ring,
        extents={users: holding(1, 9, first_collision=1)},
    )

    plans = plans_for(report, sizes={orders: 1})

    assert [p.kind for p in plans] == ["advance", "raise-limit", "widen", "no-cycle"]


def test_findings_without_a_repair_are_left_unrepaired() -> None:
    orphan = sequence("orphan_seq")  # SEQ007: nothing to repair automatically
    seq = sequence("users_id_seq")
    users = column("users", "id", fed_by=seq)  # SEQ009: serial could be identity
    report = report_of(orphan, seq, users, extents={users: holding(1, 9, first_collision=1)})

    plans = plan_repairs(report)

    assert [p.codes for p in plans] == [("SEQ001",)]
    assert sorted(f.code for f in unrepaired(report, plans)) == ["SEQ007", "SEQ009"]
    assert {"SEQ001", "SEQ002", "SEQ003", "SEQ004", "SEQ005", "SEQ006", "SEQ008"} == REPAIRABLE


def test_every_transaction_is_bounded_and_pins_the_search_path() -> None:
    seq = sequence("users_id_seq")
    users = column("users", "id", fed_by=seq)
    (plan,) = plan_repairs(report_of(seq, users, extents={users: holding(1, 9, first_collision=1)}))

    prologue = [s.as_string() for s in transaction(plan, RepairOptions().timeouts)][:3]

    assert prologue == [
        "SET LOCAL lock_timeout = '2000ms'",
        "SET LOCAL statement_timeout = '30000ms'",
        "SET LOCAL search_path = pg_catalog, pg_temp",
    ]


def test_a_do_body_cannot_end_its_own_quoting() -> None:
    body = "SELECT '$seqdoctor$', '$seqdoctor_$'"

    quoted = dollar_quoted(body).as_string()

    assert quoted == f"$seqdoctor__${body}$seqdoctor__$"


@pytest.mark.parametrize("bad", ["", "1 XB", "-1GB", "GB", "1.2.3MB"])
def test_sizes_must_be_sizes(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a size such as 500MB or 1GB"):
        parse_size(bad)


def test_a_rewrite_for_an_info_finding_is_applied_only_when_asked_for() -> None:
    film_seq = sequence("film_film_id_seq", type_name="int8", last_value=10)
    film_id = column("film", "film_id", fed_by=film_seq, type_name="int4")
    report = report_of(film_seq, film_id)  # SEQ004, info: the column is narrower, 0 % used

    held = one(plans_for(report, sizes={film_id: MB}), "widen")
    asked = one(plans_for(report, sizes={film_id: MB}, asked=frozenset({"SEQ004"})), "widen")

    assert held.held_back == (
        "not applied by default: it rewrites tables, and no column it changes is running out; "
        "ask for it with --code SEQ004"
    )
    assert asked.applies


@pytest.mark.parametrize(("last_value", "applies"), [(10, False), (1_700_000_000, True)])
def test_a_narrower_foreign_key_is_rewritten_by_default_once_it_runs_out(
    last_value: int, applies: bool
) -> None:
    orders_seq = sequence("orders_id_seq", type_name="int8", last_value=last_value)
    orders_id = column("orders", "id", fed_by=orders_seq, type_name="int8")
    lines = foreign_key("lines", "order_id", references=orders_id)  # SEQ005: integer
    report = report_of(orders_seq, orders_id, lines)

    plan = one(plans_for(report, sizes={lines: MB}), "widen")

    assert plan.codes == ("SEQ005",)
    assert plan.applies is applies
