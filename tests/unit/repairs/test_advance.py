"""SEQ001: planning the forward-only move of a sequence past its data."""

from __future__ import annotations

from dataclasses import replace

from seqdoctor.catalog.model import ColumnKind, StatisticsSample
from seqdoctor.checks import Settings, run_checks
from seqdoctor.repairs import Safety
from tests.unit.factories import column, holding, sequence
from tests.unit.repairs.helpers import one, plans_for, report_of, text


def test_a_sequence_behind_its_data_gets_a_safe_setval_plan() -> None:
    users_seq = sequence("users_id_seq")
    users_id = column("users", "id", fed_by=users_seq)
    report = report_of(users_seq, users_id, extents={users_id: holding(3, 6, first_collision=3)})

    plan = one(plans_for(report), "advance")

    assert plan.safety is Safety.SAFE
    assert plan.applies
    assert plan.codes == ("SEQ001",)
    assert plan.title == "Move public.users_id_seq forward past the data in public.users.id"
    assert plan.reason.startswith("sequence public.users_id_seq is behind public.users.id: ")
    assert plan.reason.endswith("only ever moves forward, and no row is touched.")
    (statement,) = text(plan)
    # Position, definition and data are read by the statement that sets the sequence.
    assert 'FROM "public"."users_id_seq" AS d, pg_catalog.pg_sequence AS s' in statement
    assert (
        '(SELECT max("id") FROM ONLY "public"."users" WHERE "id" BETWEEN s.seqmin '
        "AND s.seqmax)" in statement
    )
    assert '\'"public"."users_id_seq"\'::regclass AS seq' in statement
    # Never behind the position read again as it sets: only ever forward.
    assert "greatest(next_after - step, pg_catalog.pg_sequence_last_value(seq))" in statement
    assert "pg_catalog.setval(seq, " in statement
    assert plan.tables == (("public", "users"),)


def test_without_lock_the_plan_settles_and_takes_no_table_lock() -> None:
    users_seq = sequence("users_id_seq")
    users_id = column("users", "id", fed_by=users_seq)
    report = report_of(users_seq, users_id, extents={users_id: holding(1, 9, first_collision=1)})

    plan = one(plans_for(report), "advance")

    assert plan.settle
    assert not any(s.startswith("LOCK") for s in text(plan))
    assert plan.locks[0].startswith("none on the tables")
    assert any("run seqdoctor check" in note for note in plan.notes)


def test_a_shared_sequence_is_judged_against_every_column_it_feeds() -> None:
    ids = sequence("shop_item_ids", type_name="int8")
    gift_cards = column("gift_cards", "id", fed_by=ids, kind=ColumnKind.DEFAULT)
    vouchers = column("vouchers", "id", fed_by=ids, kind=ColumnKind.DEFAULT)
    report = report_of(
        ids,
        gift_cards,
        vouchers,
        extents={gift_cards: holding(1, 2), vouchers: holding(5, 7, first_collision=5)},
    )

    plan = one(plans_for(report), "advance")

    (statement,) = text(plan)
    assert "greatest(" in statement
    assert 'FROM ONLY "public"."gift_cards"' in statement
    assert 'FROM ONLY "public"."vouchers"' in statement
    assert plan.title.endswith("public.gift_cards.id, public.vouchers.id")


def test_lock_takes_share_row_exclusive_on_every_fed_table_partitions_included() -> None:
    ids = sequence("event_ids", type_name="int8")
    events = column("events", "id", fed_by=ids, relkind="p", kind=ColumnKind.DEFAULT)
    archive = column("Archive", "id", fed_by=ids, kind=ColumnKind.DEFAULT)
    report = report_of(ids, events, archive, extents={events: holding(1, 50, first_collision=1)})

    plan = one(plans_for(report, lock=True), "advance")

    lock, _ = text(plan)
    # ONLY for a plain table (its inheritance children are fed columns of their own);
    # a partitioned table is locked with its partitions. Tables in order of their names,
    # whatever the order of the columns: two fixes cannot deadlock on them.
    assert lock == (
        'LOCK TABLE ONLY "public"."Archive", "public"."events" IN SHARE ROW EXCLUSIVE MODE'
    )
    assert not plan.settle
    assert plan.locks[0].startswith('SHARE ROW EXCLUSIVE on public."Archive", public.events')


def test_a_descending_sequence_moves_down_past_the_minimum() -> None:
    seq = sequence("countdown", increment=-1, last_value=-1)
    ids = column("countdown", "id", fed_by=seq, kind=ColumnKind.DEFAULT)
    report = report_of(seq, ids, extents={ids: holding(-50, -1, first_collision=-2)})

    plan = one(plans_for(report), "advance")

    (statement,) = text(plan)
    assert "least(" in statement
    assert 'SELECT min("id")' in statement
    assert "down (it descends)" in plan.title


def test_columns_that_cannot_be_compared_are_not_read_and_the_plan_says_so() -> None:
    ids = sequence("doc_ids", type_name="int8")
    docs = column("docs", "id", fed_by=ids, kind=ColumnKind.DEFAULT)
    codes = column("codes", "code", fed_by=ids, type_name="text", kind=ColumnKind.DEFAULT)
    remote = column("remote_docs", "id", fed_by=ids, relkind="f", kind=ColumnKind.DEFAULT)
    report = report_of(ids, docs, codes, remote, extents={docs: holding(1, 9, first_collision=1)})

    plan = one(plans_for(report), "advance")

    (statement,) = text(plan)
    assert '"codes"' not in statement
    assert '"remote_docs"' not in statement
    assert "public.codes.code is text: its values cannot be compared, unread" in plan.notes
    assert (
        "public.remote_docs.id is a foreign table: its rows live on another server, unread"
        in plan.notes
    )


def test_a_column_without_index_is_read_anyway_and_the_plan_warns() -> None:
    ids = sequence("log_ids", type_name="int8")
    logged = column("log", "id", fed_by=ids, kind=ColumnKind.DEFAULT)
    copied = column("log_copy", "id", fed_by=ids, unique=False, kind=ColumnKind.DEFAULT)
    report = report_of(ids, logged, copied, extents={logged: holding(1, 9, first_collision=1)})

    plan = one(plans_for(report), "advance")

    assert '"log_copy"' in text(plan)[0]
    assert "no index leads with public.log_copy.id: reading its max() scans the table" in (
        plan.notes
    )


def test_names_that_need_quoting_are_quoted_everywhere() -> None:
    seq = sequence('Order "Lines"_seq', schema="Sales Dept")
    lines = column("Order Lines", "Line Id", fed_by=seq)
    report = report_of(seq, lines, extents={lines: holding(1, 9, first_collision=1)})

    (statement,) = text(one(plans_for(report), "advance"))

    assert 'FROM "Sales Dept"."Order ""Lines""_seq" AS d' in statement
    assert """'"Sales Dept"."Order ""Lines""_seq"'::regclass""" in statement
    assert 'SELECT max("Line Id") FROM ONLY "Sales Dept"."Order Lines"' in statement


def test_a_finding_from_statistics_holds_the_plan_back_until_a_scan_is_allowed() -> None:
    seq = sequence("payment_payment_id_seq")
    payment_id = replace(
        column("payment", "payment_id", fed_by=seq, indexed=False, relkind="p"),
        unique_with="payment_date",
    )
    report = report_of(seq, payment_id)
    sample = StatisticsSample("public", "payment", None, (1, 1000))
    snap = replace(report.snapshot, statistics={payment_id.key: (sample,)})
    report = replace(report, snapshot=snap, findings=tuple(run_checks(snap, Settings())))

    plan = one(plans_for(report), "advance")

    assert plan.held_back == (
        "judged from the planner's statistics: no index leads with public.payment.payment_id, "
        "and reading the real max() scans the table; run fix with --allow-seqscan to read it "
        "and apply"
    )
    assert (
        "public.payment.payment_id is unique only together with payment_date: ids handed out "
        "while the sequence was behind may already repeat, which this does not undo; find them "
        "with SELECT payment_id, count(*) FROM public.payment GROUP BY 1 HAVING count(*) > 1"
    ) in plan.notes
