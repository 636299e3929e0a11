"""``--schema``, ``--exclude-schema`` and ``--table``: which objects an audit looks at."""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqdoctor.catalog.filters import Filters
from seqdoctor.errors import UsageError


def test_no_filter_includes_everything() -> None:
    everything = Filters()

    assert not everything.active
    assert everything.includes_schema("anything")
    assert everything.includes_table("anything", "at_all")
    assert everything.describe() == ""


def test_schema_patterns_are_globs() -> None:
    shops = Filters(schemas=("shop_*", "billin?"))

    assert shops.active
    assert shops.includes_schema("shop_eu")
    assert shops.includes_schema("billing")
    assert not shops.includes_schema("public")
    assert not shops.includes_table("public", "orders")


def test_patterns_are_case_sensitive_raw_names() -> None:
    assert not Filters(schemas=("Shop",)).includes_schema("shop")
    assert Filters(tables=("Order Lines",)).includes_table("public", "Order Lines")
    assert not Filters(tables=("order lines",)).includes_table("public", "Order Lines")


def test_character_classes_match_one_of_their_characters() -> None:
    regions = Filters(schemas=("shop_[ab]",))

    assert regions.includes_schema("shop_a")
    assert not regions.includes_schema("shop_c")


def test_an_excluded_schema_stays_out_even_when_a_schema_pattern_names_it() -> None:
    shops_but_test = Filters(schemas=("shop*",), exclude_schemas=("shop_test",))

    assert shops_but_test.includes_schema("shop_eu")
    assert not shops_but_test.includes_schema("shop_test")
    assert not shops_but_test.includes_table("shop_test", "orders")


def test_excluding_alone_keeps_every_other_schema() -> None:
    no_audit = Filters(exclude_schemas=("audit*",))

    assert no_audit.active
    assert no_audit.includes_schema("public")
    assert not no_audit.includes_schema("audit_log")


def test_a_table_pattern_without_a_dot_matches_the_table_in_any_schema() -> None:
    orders = Filters(tables=("order?",))

    assert orders.includes_table("public", "orders")
    assert orders.includes_table("shop_eu", "orders")
    assert not orders.includes_table("public", "order_items")


def test_a_table_pattern_with_a_dot_matches_schema_and_table() -> None:
    public_orders = Filters(tables=("public.orders", "shop_*.invoices"))

    assert public_orders.includes_table("public", "orders")
    assert not public_orders.includes_table("shop_eu", "orders")
    assert public_orders.includes_table("shop_eu", "invoices")
    assert not public_orders.includes_table("public", "invoices")


def test_table_and_schema_patterns_must_both_match() -> None:
    both = Filters(schemas=("shop_eu",), tables=("orders",))

    assert both.includes_table("shop_eu", "orders")
    assert not both.includes_table("public", "orders")
    assert not both.includes_table("shop_eu", "invoices")


def test_table_patterns_do_not_narrow_schemas() -> None:
    # Sequences that feed no column are kept by schema alone (see catalog.inventory.filtered).
    assert Filters(tables=("orders",)).includes_schema("billing")


@pytest.mark.parametrize("option", ["schemas", "exclude_schemas", "tables"])
@pytest.mark.parametrize("pattern", ["", "  "])
def test_an_empty_pattern_is_a_usage_error(option: str, pattern: str) -> None:
    flag = "--" + option.removesuffix("s").replace("_", "-")

    with pytest.raises(UsageError, match=f"^{flag} needs a non-empty pattern$"):
        Filters(**{option: ("public", pattern)})


def test_describe_prints_the_options_as_given() -> None:
    filters = Filters(schemas=("shop*",), exclude_schemas=("shop_test",), tables=("public.orders",))

    assert filters.describe() == "--schema shop* --exclude-schema shop_test --table public.orders"


names = st.text(alphabet="ab.*?[]", min_size=1, max_size=4)


@given(st.lists(names, max_size=4), names, names)
def test_looked_up_patterns_match_as_globs_do(tables: list[str], schema: str, table: str) -> None:
    """Patterns without a wildcard are looked up, not matched: with the same outcome."""
    expected = not tables or any(
        fnmatchcase(f"{schema}.{table}" if "." in p else table, p) for p in tables
    )
    assert Filters(tables=tuple(tables)).includes_table(schema, table) is expected
