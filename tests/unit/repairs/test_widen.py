"""SEQ002-SEQ005: planning the widening of sequences, columns and foreign keys to bigint."""

from __future__ import annotations

from dataclasses import replace

from seqdoctor.catalog.dependents import (
    Attachment,
    Blocker,
    ColumnDependents,
    DependentRule,
    ViewDefinition,
)
from seqdoctor.catalog.model import ColumnKind
from seqdoctor.repairs import Safety
from tests.unit.factories import INT4_MAX, column, foreign_key, holding, sequence
from tests.unit.repairs.helpers import one, plans_for, report_of, text

MB = 1024**2


def shop() -> tuple[object, ...]:
    """An integer serial key near its end, and two integer foreign keys pointing at it."""
    orders_seq = sequence("orders_id_seq", last_value=2_000_000_000)
    orders_id = column("orders", "id", fed_by=orders_seq)
    invoices = foreign_key("invoices", "order_id", references=orders_id)
    lines = foreign_key("order_lines", "order_id", references=orders_id, attnum=3)
    return orders_seq, orders_id, invoices, lines


def test_an_integer_serial_near_its_end_widens_sequence_column_and_foreign_keys() -> None:
    orders_seq, orders_id, invoices, lines = shop()
    report = report_of(orders_seq, orders_id, invoices, lines)

    plan = one(plans_for(report, sizes={orders_id: 40 * MB, invoices: 8 * MB, lines: MB}), "widen")

    assert plan.safety is Safety.UNSAFE
    assert plan.applies
    assert plan.codes == ("SEQ002", "SEQ003")
    statements = text(plan)
    assert statements[0] == (
        'LOCK TABLE "public"."invoices", "public"."order_lines", "public"."orders" '
        "IN ACCESS EXCLUSIVE MODE"
    )
    assert statements[1].startswith("DO $seqdoctor$")
    # The sequence with its column: a serial widened alone stays AS integer.
    assert statements[2:] == [
        'ALTER SEQUENCE "public"."orders_id_seq" AS bigint',
        'ALTER TABLE "public"."orders" ALTER COLUMN "id" TYPE bigint',
        'ALTER TABLE "public"."invoices" ALTER COLUMN "order_id" TYPE bigint',
        'ALTER TABLE "public"."order_lines" ALTER COLUMN "order_id" TYPE bigint',
    ]
    assert plan.title == (
        "Widen public.orders.id, public.invoices.order_id, public.order_lines.order_id to "
        "bigint, and the sequence public.orders_id_seq"
    )
    assert plan.locks[0] == (
        "ACCESS EXCLUSIVE on public.orders (40 MB), public.invoices (8.0 MB), public.order_lines "
        "(1.0 MB) until it commits: every read and write of them waits while the rewrite runs"
    )
    assert plan.notes[0] == (
        "rewrites 49 MB of tables and indexes: roughly under a second at 50 MB/s "
        "(a guess: disks and indexes vary)"
    )


def test_the_precondition_checks_every_column_and_the_sequence_after_the_locks() -> None:
    orders_seq, orders_id, invoices, lines = shop()
    report = report_of(orders_seq, orders_id, invoices, lines)

    check = text(one(plans_for(report, sizes={orders_id: 1, invoices: 1, lines: 1}), "widen"))[1]

    assert "'public.orders.id is no longer integer'" in check
    assert "'public.order_lines.order_id is no longer integer'" in check
    assert "'sequence public.orders_id_seq is no longer integer 1..2,147,483,647'" in check
    assert "ERRCODE = 'object_not_in_prerequisite_state'" in check


def test_a_legacy_bigint_sequence_keeps_its_type_and_only_the_column_widens() -> None:
    things_seq = sequence("things_id_seq", type_name="int8", last_value=10)
    things_id = column("things", "id", fed_by=things_seq, type_name="int4")
    report = report_of(things_seq, things_id)  # SEQ004 alone: the column is narrower

    plan = one(plans_for(report, sizes={things_id: MB}), "widen")

    assert plan.codes == ("SEQ004",)
    assert text(plan)[2:] == ['ALTER TABLE "public"."things" ALTER COLUMN "id" TYPE bigint']
    assert not any("SEQUENCE" in lock for lock in plan.locks)


def test_a_sequence_at_its_own_maxvalue_gets_no_maxvalue_when_its_column_holds_bigint() -> None:
    numbers = sequence(
        "invoice_number_seq",
        type_name="int8",
        min_value=10_000,
        max_value=10_999,
        last_value=10_999,
    )
    invoices = column("invoices", "number", fed_by=numbers, kind=ColumnKind.DEFAULT)
    report = report_of(numbers, invoices)

    plan = one(plans_for(report), "raise-limit")

    assert plan.safety is Safety.SAFE
    assert plan.title == "Raise the MAXVALUE of public.invoice_number_seq"
    check, alter = text(plan)
    assert check.startswith("DO $seqdoctor$")
    assert alter == 'ALTER SEQUENCE "public"."invoice_number_seq" NO MAXVALUE'
    assert plan.locks == (
        "SHARE ROW EXCLUSIVE on the sequence public.invoice_number_seq until it commits: "
        "nextval() waits",
    )


def test_a_custom_limit_is_raised_only_as_far_as_an_integer_column_holds() -> None:
    tickets = sequence("ticket_seq", type_name="int8", max_value=1_000_000, last_value=990_000)
    ticket_no = column("tickets", "number", fed_by=tickets, type_name="int4")
    report = report_of(tickets, ticket_no)

    plan = one(plans_for(report), "raise-limit")

    # The column is not running out; the sequence's own limit is: raise it to the
    # integer's, not past it, and rewrite nothing.
    assert text(plan)[1] == f'ALTER SEQUENCE "public"."ticket_seq" MAXVALUE {INT4_MAX}'
    small = sequence("small_seq", max_value=1_000_000, last_value=990_000)
    small_no = column("small", "number", fed_by=small)
    raised = one(plans_for(report_of(small, small_no)), "raise-limit")
    assert text(raised)[1] == 'ALTER SEQUENCE "public"."small_seq" NO MAXVALUE'


def test_an_integer_sequence_on_a_bigint_column_goes_as_bigint() -> None:
    # The widened-serial trap: the column was widened, its sequence stayed AS integer.
    seq = sequence("orders_id_seq", last_value=2_100_000_000)
    orders_id = column("orders", "id", fed_by=seq, type_name="int8")
    report = report_of(seq, orders_id)

    plan = one(plans_for(report), "raise-limit")

    assert plan.title == "Widen the sequence public.orders_id_seq to bigint"
    assert text(plan)[1] == 'ALTER SEQUENCE "public"."orders_id_seq" AS bigint'


def test_a_descending_sequence_gets_no_minvalue() -> None:
    seq = sequence("countdown", type_name="int8", increment=-1, min_value=-1000, last_value=-990)
    ids = column("countdown", "id", fed_by=seq, kind=ColumnKind.DEFAULT)
    report = report_of(seq, ids)

    plan = one(plans_for(report), "raise-limit")

    assert plan.title == "Raise the MINVALUE of public.countdown"
    assert text(plan)[1] == 'ALTER SEQUENCE "public"."countdown" NO MINVALUE'


def test_a_sequence_that_feeds_no_column_is_display_only() -> None:
    seq = sequence("batch_no", last_value=2_100_000_000)
    report = report_of(seq)

    plan = one(plans_for(report), "raise-limit")

    assert not plan.applies
    assert plan.held_back is not None
    assert plan.held_back.startswith("display only: the sequence feeds no column")
    assert text(plan)[1] == 'ALTER SEQUENCE "public"."batch_no" AS bigint'


def test_a_narrow_foreign_key_to_a_bigint_key_widens_only_the_foreign_key() -> None:
    lines_seq = sequence("lines_id_seq", type_name="int8", last_value=7)
    lines_id = column("lines", "id", fed_by=lines_seq, kind=ColumnKind.IDENTITY)
    notes = foreign_key("notes", "line_id", references=lines_id)
    report = report_of(lines_seq, lines_id, notes)

    plan = one(plans_for(report, sizes={notes: MB}), "widen")

    assert plan.codes == ("SEQ005",)
    assert text(plan)[2:] == ['ALTER TABLE "public"."notes" ALTER COLUMN "line_id" TYPE bigint']


def test_a_rewrite_over_the_threshold_is_held_back_unless_rewrites_are_allowed() -> None:
    orders_seq, orders_id, invoices, lines = shop()
    report = report_of(orders_seq, orders_id, invoices, lines)
    sizes = {orders_id: 3 * 1024**3, invoices: MB, lines: MB}

    held = one(plans_for(report, sizes=sizes), "widen")
    allowed = one(plans_for(report, sizes=sizes, allow_rewrite=True), "widen")
    lower = one(plans_for(report, sizes=sizes, rewrite_threshold=10 * 1024**3), "widen")

    assert held.held_back == (
        "rewrites 3.0 GB, over the 1.0 GB --rewrite-threshold: pass --allow-rewrite to apply it "
        "anyway, or convert online (a new bigint column filled in batches, then swapped; a "
        "later release)"
    )
    assert allowed.applies
    assert lower.applies
    assert "raise --statement-timeout" in " ".join(held.notes)


def test_a_table_of_unknown_size_is_held_back() -> None:
    orders_seq, orders_id, invoices, lines = shop()
    report = report_of(orders_seq, orders_id, invoices, lines)

    plan = one(plans_for(report, sizes={orders_id: MB, invoices: MB}), "widen")

    assert plan.held_back == (
        "the size of public.order_lines could not be read: pass --allow-rewrite to rewrite it "
        "anyway"
    )
    assert "public.order_lines (size unknown)" in plan.locks[0]


def test_blockers_and_domains_make_the_plan_display_only() -> None:
    orders_seq, orders_id, invoices, lines = shop()
    report = report_of(orders_seq, orders_id, invoices, lines)
    blocked = ColumnDependents(
        blockers=(Blocker("trigger audit_orders on table orders", (orders_id.table_oid, 1)),)
    )

    plan = one(plans_for(report, sizes={}, dependents={orders_seq: blocked}), "widen")

    assert plan.held_back == (
        "display only: in the way of the type change, and not dropped by seqdoctor: "
        "public.orders.id: trigger audit_orders on table orders. Change them by hand, then run "
        "fix again"
    )
    domain_seq = sequence("orders_id_seq", last_value=2_000_000_000)
    domain = column("orders", "id", fed_by=domain_seq)
    report = report_of(domain_seq, replace(domain, column_type="order_id"))
    plan = one(plans_for(report), "widen")
    assert plan.held_back is not None
    assert "public.orders.id is of the domain type order_id" in plan.held_back


def test_the_partitions_of_one_table_are_named_in_one_reason() -> None:
    customer_seq = sequence("customer_customer_id_seq", type_name="int8", last_value=600)
    customer_id = column("customer", "customer_id", fed_by=customer_seq, type_name="int4")
    partitions = [
        foreign_key(f"payment_p{month}", "customer_id", references=customer_id)
        for month in (1, 2, 3)
    ]
    report = report_of(customer_seq, customer_id, *partitions)
    partition_of = "the column belongs to a partition of public.payment"
    blocked = ColumnDependents(
        blockers=tuple(Blocker(partition_of, (p.table_oid, p.attnum)) for p in partitions)
    )

    plan = one(
        plans_for(report, dependents={customer_seq: blocked}, asked=frozenset({"SEQ004"})),
        "widen",
    )

    assert plan.held_back == (
        "display only: in the way of the type change, and not dropped by seqdoctor: "
        "public.payment_p1.customer_id, public.payment_p2.customer_id, "
        "public.payment_p3.customer_id: the column belongs to a partition of public.payment. "
        "Change them by hand, then run fix again"
    )


def test_views_are_dropped_deepest_first_and_created_again_as_they_were() -> None:
    orders_seq, orders_id, invoices, _ = shop()
    report = report_of(orders_seq, orders_id, invoices)
    totals = ViewDefinition(
        oid=1,
        schema="public",
        name="order_totals",
        relkind="v",
        definition=" SELECT id\n   FROM public.orders;",
        options=("security_barrier=true",),
        tablespace=None,
        owner="app",
        acl="{app=arwdDxt/app,reporting=r/app}",
        populated=True,
        comment="per order",
        depth=1,
        attachments=(
            Attachment(1, "grant", None, "reporting", "SELECT", False, None),
            Attachment(1, "column-grant", "id", None, "SELECT", True, None),
        ),
    )
    recent = ViewDefinition(
        oid=2,
        schema="Reports",
        name="Recent",
        relkind="m",
        definition=" SELECT id\n   FROM public.order_totals;",
        options=(),
        tablespace=None,
        owner="app",
        acl=None,
        populated=True,
        comment=None,
        depth=2,
        attachments=(
            Attachment(
                2, "index", None, None, None, False, 'CREATE INDEX r ON "Reports"."Recent" (id)'
            ),
        ),
    )
    rule = DependentRule(
        3,
        "public",
        "log_orders",
        "orders_log",
        7,
        "CREATE RULE log_orders AS\n    ON INSERT TO public.orders_log DO  SELECT 1;",
    )
    dependents = ColumnDependents(views=(totals, recent), rules=(rule,))

    plan = one(
        plans_for(report, sizes={orders_id: MB, invoices: MB}, dependents={orders_seq: dependents}),
        "widen",
    )

    statements = text(plan)
    assert statements[2:5] == [
        'DROP RULE "log_orders" ON "public"."orders_log"',
        'DROP MATERIALIZED VIEW "Reports"."Recent"',
        'DROP VIEW "public"."order_totals"',
    ]
    assert statements[-9:] == [
        'CREATE VIEW "public"."order_totals" WITH ("security_barrier" = \'true\') AS\n'
        "SELECT id\n   FROM public.orders",
        'ALTER VIEW "public"."order_totals" OWNER TO "app"',
        'COMMENT ON VIEW "public"."order_totals" IS \'per order\'',
        'GRANT SELECT ON "public"."order_totals" TO "reporting"',
        'GRANT SELECT ("id") ON "public"."order_totals" TO PUBLIC WITH GRANT OPTION',
        'CREATE MATERIALIZED VIEW "Reports"."Recent" AS\nSELECT id\n   FROM public.order_totals\n'
        "WITH DATA",
        'ALTER MATERIALIZED VIEW "Reports"."Recent" OWNER TO "app"',
        'CREATE INDEX r ON "Reports"."Recent" (id)',
        "CREATE RULE log_orders AS\n    ON INSERT TO public.orders_log DO  SELECT 1",
    ]
    check = statements[1]
    assert "'view public.order_totals changed'" in check
    assert '\'materialized view "Reports"."Recent" changed\'' in check
    assert "'rule log_orders on public.orders_log changed'" in check
    assert plan.locks[1] == (
        'ACCESS EXCLUSIVE on public.order_totals, "Reports"."Recent": dropped and created again'
    )
    assert 'materialized view "Reports"."Recent" is filled again inside the transaction' in (
        plan.notes
    )


def test_inherited_columns_change_through_their_parent() -> None:
    seq = sequence("events_id_seq", last_value=2_000_000_000)
    parent = column("events", "id", fed_by=seq)
    child = column("events_2025", "id", fed_by=seq)
    report = report_of(seq, parent, child)
    inherited = ColumnDependents(inherited=frozenset({(child.table_oid, child.attnum)}))

    plan = one(
        plans_for(report, sizes={parent: MB}, dependents={seq: inherited}),
        "widen",
    )

    assert text(plan)[0] == 'LOCK TABLE "public"."events" IN ACCESS EXCLUSIVE MODE'
    assert 'ALTER TABLE "public"."events_2025" ALTER COLUMN "id" TYPE bigint' not in text(plan)
    # Its type is still checked: the parent's ALTER changes it.
    assert "'public.events_2025.id is no longer integer'" in text(plan)[1]


def test_a_sequence_with_nothing_left_to_change_gets_no_plan() -> None:
    seq = sequence("ok_seq", type_name="int8", last_value=10)
    ok = column("ok", "id", fed_by=seq)
    report = report_of(seq, ok, extents={ok: holding(1, 10)})

    assert plans_for(report) == ()
