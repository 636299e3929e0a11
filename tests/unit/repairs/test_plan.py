"""Planning as a whole: display-only repairs, order, what is left unrepaired, small helpers."""

from __future__ import annotations

import pytest

from seqdoctor.catalog.model import ColumnKind
from seqdoctor.repairs import REPAIRABLE, Safety, plan_repairs, transaction, unrepaired
from seqdoctor.repairs.model import RepairOptions, dollar_quoted, parse_size
from tests.unit.factories import column, holding, sequence
from tests.unit.repairs.helpers import one, plans_for, report_of, text


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
