"""The snapshot model: where a sequence goes next, how far it has left, and how names print."""

from __future__ import annotations

import pytest

from seqdoctor.catalog.model import ColumnKind, qualify, quote_ident
from tests.unit.factories import (
    INT4_MAX,
    INT4_MIN,
    column,
    foreign_key,
    sequence,
    snapshot,
)

# next_value ----------------------------------------------------------------


def test_a_fresh_sequence_hands_out_its_start_value_next() -> None:
    assert sequence(start=100).next_value == 100


def test_setval_with_is_called_false_hands_out_that_very_value_next() -> None:
    assert sequence(last_value=5, is_called=False).next_value == 5


@pytest.mark.parametrize(
    ("increment", "last_value", "expected"),
    [(1, 41, 42), (10, 21, 31), (-1, -41, -42), (-10, -21, -31)],
    ids=["ascending", "increment-10", "descending", "descending-increment-10"],
)
def test_a_called_sequence_steps_by_its_increment(
    increment: int, last_value: int, expected: int
) -> None:
    assert sequence(increment=increment, last_value=last_value).next_value == expected


def test_an_ascending_sequence_at_maxvalue_without_cycle_has_no_next_value() -> None:
    at_limit = sequence(max_value=100, last_value=100)

    assert at_limit.next_value is None
    assert at_limit.exhausted


def test_a_descending_sequence_at_minvalue_without_cycle_has_no_next_value() -> None:
    at_limit = sequence(increment=-1, min_value=-100, last_value=-100)

    assert at_limit.next_value is None
    assert at_limit.exhausted


def test_a_step_that_would_overshoot_maxvalue_fails_like_one_at_it() -> None:
    # 91 + 10 = 101 is past MAXVALUE 100: nextval() fails although 100 was never handed out.
    assert sequence(increment=10, max_value=100, last_value=91).next_value is None


def test_an_ascending_cycling_sequence_wraps_to_minvalue() -> None:
    assert sequence(min_value=5, max_value=100, cycle=True, last_value=100).next_value == 5


def test_a_descending_cycling_sequence_wraps_to_maxvalue() -> None:
    wrapping = sequence(increment=-1, min_value=-100, max_value=-3, cycle=True, last_value=-100)

    assert wrapping.next_value == -3
    assert not wrapping.exhausted


def test_an_unread_sequence_has_no_next_value_and_is_not_called_exhausted() -> None:
    unread = sequence(readable=False)

    assert not unread.position_known
    assert unread.next_value is None
    assert not unread.exhausted


# limit, origin, type ----------------------------------------------------------


def test_an_ascending_sequence_runs_up_to_maxvalue_and_cycles_back_to_minvalue() -> None:
    ascending = sequence(min_value=10, max_value=1000)

    assert (ascending.origin, ascending.limit) == (10, 1000)
    assert ascending.ascending


def test_a_descending_sequence_runs_down_to_minvalue_and_cycles_back_to_maxvalue() -> None:
    descending = sequence(increment=-1)

    assert (descending.origin, descending.limit) == (-1, INT4_MIN)
    assert not descending.ascending


def test_data_type_is_the_sql_name() -> None:
    assert sequence(type_name="int8").data_type == "bigint"
    assert sequence(type_name="int2").data_type == "smallint"


# calls_left --------------------------------------------------------------------


def test_a_fresh_sequence_has_its_whole_range_left() -> None:
    assert sequence(max_value=100).calls_left(100) == 100


def test_calls_left_count_the_values_after_the_last_one_handed_out() -> None:
    assert sequence(max_value=100, last_value=90).calls_left(100) == 10


def test_an_exhausted_sequence_has_no_calls_left() -> None:
    assert sequence(max_value=100, last_value=100).calls_left(100) == 0


def test_calls_left_step_by_the_increment() -> None:
    # 1, 11, ..., 91: ten calls; 101 would be past MAXVALUE.
    assert sequence(increment=10, max_value=100).calls_left(100) == 10
    assert sequence(increment=10, max_value=100, last_value=81).calls_left(100) == 1


def test_calls_left_of_a_descending_sequence_count_down() -> None:
    assert sequence(increment=-1, min_value=-100, last_value=-90).calls_left(-100) == 10
    # -1, -11, ..., -91: ten calls.
    assert sequence(increment=-10, min_value=-100).calls_left(-100) == 10


def test_a_limit_equal_to_the_next_value_leaves_one_call() -> None:
    assert sequence(last_value=99).calls_left(100) == 1


def test_a_limit_the_sequence_has_already_passed_leaves_no_call() -> None:
    past_integer = sequence(type_name="int8", last_value=3_000_000_000)

    assert past_integer.calls_left(INT4_MAX) == 0


def test_a_cycling_sequence_at_its_limit_has_a_whole_lap_left() -> None:
    assert sequence(max_value=100, cycle=True, last_value=100).calls_left(100) == 100


# used_ratio --------------------------------------------------------------------


def test_a_fresh_sequence_has_used_nothing() -> None:
    assert sequence(max_value=100).used_ratio(100) == 0.0


def test_used_ratio_is_the_share_of_the_range_handed_out() -> None:
    assert sequence(max_value=100, last_value=90).used_ratio(100) == 0.9


def test_an_exhausted_sequence_has_used_everything() -> None:
    assert sequence(max_value=100, last_value=100).used_ratio(100) == 1.0


def test_a_descending_sequence_uses_its_range_downwards() -> None:
    assert sequence(increment=-1, min_value=-100, last_value=-90).used_ratio(-100) == 0.9


def test_used_ratio_steps_by_the_increment() -> None:
    # 1, 11, ..., 51 handed out; 61, 71, 81, 91 left: 40 of 100 values.
    assert sequence(increment=10, max_value=100, last_value=51).used_ratio(100) == 0.6


def test_a_custom_origin_measures_only_the_part_of_the_range_from_it() -> None:
    around_zero = sequence(min_value=-100, max_value=100, last_value=50)

    assert around_zero.used_ratio(100) == pytest.approx(151 / 201)
    assert around_zero.used_ratio(100, origin=1) == 0.5


def test_a_custom_origin_and_limit_measure_a_wide_sequence_against_a_narrow_type() -> None:
    bigint = sequence(type_name="int8", last_value=1_932_735_282)  # 90 % of integer

    assert bigint.used_ratio(INT4_MAX, origin=1) == pytest.approx(0.9)
    assert sequence(type_name="int8", last_value=3_000_000_000).used_ratio(INT4_MAX, 1) == 1.0


def test_used_ratio_never_goes_below_zero() -> None:
    # Ten calls of ten fit in a span of 95: the raw share would be negative.
    assert sequence(increment=10, max_value=95).used_ratio(95) == 0.0


def test_values_before_the_start_do_not_count_as_used() -> None:
    # START 51: 1 to 50 were never this sequence's to hand out, so a fresh one has used
    # nothing, and one at 75 has used half of 51 to 100.
    assert sequence(start=51, max_value=100).used_ratio(100) == 0.0
    assert sequence(start=51, max_value=100, last_value=75).used_ratio(100) == 0.5


def test_a_sequence_started_for_a_reserved_block_has_used_nothing_before_its_first_call() -> None:
    assert sequence(start=1_000_000).used_ratio(INT4_MAX) == 0.0


def test_values_before_the_start_of_a_descending_sequence_do_not_count_as_used() -> None:
    descending = sequence(increment=-1, min_value=-100, start=-51, last_value=-75)

    assert descending.used_ratio(-100) == 0.5


# columns, keys and names ---------------------------------------------------------


def test_a_column_use_is_keyed_by_sequence_table_and_attnum() -> None:
    seq = sequence()
    use = column("orders", "id", fed_by=seq, attnum=3)

    assert use.key == (seq.oid, use.table_oid, 3)


def test_a_column_knows_its_integer_range() -> None:
    seq = sequence(type_name="int8")

    assert column(fed_by=seq, type_name="int4").type_range == (INT4_MIN, INT4_MAX)
    assert column(fed_by=seq, type_name="numeric").type_range is None


@pytest.mark.parametrize(
    ("type_name", "comparable"),
    [("int2", True), ("int4", True), ("int8", True), ("numeric", True), ("text", False)],
)
def test_only_numeric_columns_are_compared_with_their_sequence(
    type_name: str, comparable: bool
) -> None:
    assert column(fed_by=sequence(), type_name=type_name).comparable is comparable


def test_qualified_names_are_quoted_as_psql_needs_them() -> None:
    seq = sequence("Order Lines_id_seq", schema="Shop")
    use = column("Order Lines", "select", fed_by=seq, kind=ColumnKind.IDENTITY)
    key = foreign_key("refunds", "order_line_id", references=use)

    assert seq.qualified == '"Shop"."Order Lines_id_seq"'
    assert use.qualified == '"Shop"."Order Lines"."select"'
    assert key.qualified == "public.refunds.order_line_id"


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("orders", "orders"),
        ("order_items2", "order_items2"),
        ("Orders", '"Orders"'),
        ("order items", '"order items"'),
        ('a"b', '"a""b"'),
        ("select", '"select"'),
        ("user", '"user"'),
        ("2fa_codes", '"2fa_codes"'),
        ("café", '"café"'),
        ("_1", "_1"),
        ("values", '"values"'),
        ("int", '"int"'),
    ],
)
def test_quote_ident_quotes_what_postgresql_would(name: str, quoted: str) -> None:
    assert quote_ident(name) == quoted


def test_qualify_quotes_each_part_on_its_own() -> None:
    assert qualify("public", "Order Lines", "id") == 'public."Order Lines".id'


# the snapshot's lookups ------------------------------------------------------------


def test_a_snapshot_finds_sequences_and_the_columns_they_feed() -> None:
    shared = sequence("ids")
    unused = sequence("invoice_no")
    gift_cards = column("gift_cards", "id", fed_by=shared)
    vouchers = column("vouchers", "id", fed_by=shared)
    snap = snapshot(shared, unused, gift_cards, vouchers)

    assert snap.sequence(shared.oid) == shared
    assert snap.uses_of(shared) == (gift_cards, vouchers)
    assert snap.uses_of(unused) == ()
    assert snap.use(vouchers.key) == vouchers
    assert list(snap.pairs) == [(shared, gift_cards), (shared, vouchers)]


def test_a_snapshot_finds_every_sequence_feeding_one_column() -> None:
    first, second = sequence("a_seq"), sequence("b_seq")
    via_first = column("events", "id", fed_by=first)
    via_second = column("events", "id", fed_by=second)
    snap = snapshot(first, second, via_first, via_second)

    assert snap.uses_of_column(via_first.table_oid, 1) == (via_first, via_second)
    assert snap.uses_of_column(via_first.table_oid, 2) == ()
