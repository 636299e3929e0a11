"""SEQ004 sequence-wider-than-column: the sequence can hand out values the column cannot hold."""

from __future__ import annotations

import pytest

from seqdoctor.checks import Severity
from seqdoctor.checks.base import ColumnRef, SequenceRef
from seqdoctor.checks.seq004_sequence_wider_than_column import CHECK
from tests.unit.factories import INT4_MAX, INT4_MIN, INT8_MAX, column, findings, sequence, snapshot


def test_finding_for_a_bigint_sequence_feeding_an_integer_column() -> None:
    things_seq = sequence("things_id_seq", type_name="int8")
    things_id = column("things", "id", fed_by=things_seq, type_name="int4")

    (finding,) = findings(CHECK, snapshot(things_seq, things_id))

    assert finding.message == (
        "sequence public.things_id_seq (bigint, MAXVALUE 9,223,372,036,854,775,807) feeds "
        "public.things.id (integer), which stops at 2,147,483,647: past it inserts fail with "
        "'integer out of range'"
    )
    assert finding.severity is Severity.INFO
    assert finding.sequence == SequenceRef("public", "things_id_seq")
    assert finding.column == ColumnRef("public", "things", "id")
    assert finding.details == {
        "sequence_limit": INT8_MAX,
        "column_limit": INT4_MAX,
        "column_type": "integer",
        "sequence_type": "bigint",
    }


def test_finding_for_an_integer_sequence_feeding_a_smallint_column() -> None:
    tags_seq = sequence("tags_id_seq", type_name="int4")
    tags_id = column("tags", "id", fed_by=tags_seq, type_name="int2")

    (finding,) = findings(CHECK, snapshot(tags_seq, tags_id))

    assert finding.message == (
        "sequence public.tags_id_seq (integer, MAXVALUE 2,147,483,647) feeds public.tags.id "
        "(smallint), which stops at 32,767: past it inserts fail with 'smallint out of range'"
    )


def test_finding_for_a_descending_sequence_names_minvalue() -> None:
    credits_seq = sequence("credits_id_seq", type_name="int8", increment=-1)
    credits_id = column("credits", "id", fed_by=credits_seq, type_name="int4")

    (finding,) = findings(CHECK, snapshot(credits_seq, credits_id))

    assert finding.message == (
        "sequence public.credits_id_seq (bigint, MINVALUE -9,223,372,036,854,775,808) feeds "
        "public.credits.id (integer), which stops at -2,147,483,648: past it inserts fail with "
        "'integer out of range'"
    )
    assert finding.details["column_limit"] == INT4_MIN


def test_finding_for_a_bigint_maxvalue_past_the_type_whatever_the_sequence_type() -> None:
    big_limit = sequence("things_id_seq", type_name="int8", max_value=5_000_000_000)
    things_id = column("things", "id", fed_by=big_limit, type_name="int4")

    (finding,) = findings(CHECK, snapshot(big_limit, things_id))

    assert finding.details["sequence_limit"] == 5_000_000_000


def test_finding_only_for_the_narrow_column_of_a_shared_sequence() -> None:
    shared = sequence("order_ids", type_name="int8")
    legacy = column("legacy_orders", "id", fed_by=shared, type_name="int4")
    current = column("orders", "id", fed_by=shared, type_name="int8")

    (finding,) = findings(CHECK, snapshot(shared, legacy, current))

    assert finding.column == ColumnRef("public", "legacy_orders", "id")


@pytest.mark.parametrize(
    ("sequence_type", "column_type"),
    [("int4", "int4"), ("int8", "int8"), ("int4", "int8"), ("int2", "int4")],
    ids=["same-type", "bigint", "widened-serial", "narrower-sequence"],
)
def test_ok_when_the_column_holds_everything_the_sequence_hands_out(
    sequence_type: str, column_type: str
) -> None:
    seq = sequence("things_id_seq", type_name=sequence_type)
    use = column("things", "id", fed_by=seq, type_name=column_type)

    assert findings(CHECK, snapshot(seq, use)) == []


def test_ok_when_a_bigint_sequence_has_the_column_limit_as_maxvalue() -> None:
    capped = sequence("things_id_seq", type_name="int8", max_value=INT4_MAX)
    things_id = column("things", "id", fed_by=capped, type_name="int4")

    assert findings(CHECK, snapshot(capped, things_id)) == []


@pytest.mark.parametrize("type_name", ["numeric", "text"])
def test_ok_for_a_column_of_no_integer_type(type_name: str) -> None:
    seq = sequence("things_id_seq", type_name="int8")
    use = column("things", "id", fed_by=seq, type_name=type_name)

    assert findings(CHECK, snapshot(seq, use)) == []
