"""Phase 5 definitions: columns renamed by token, side by side for foreign keys; the round trip."""

from __future__ import annotations

from dataclasses import replace

import pytest

from seqdoctor.catalog.family import FamilyForeignKey
from seqdoctor.repairs.online import OnlineOptions
from seqdoctor.repairs.online.plan import build
from seqdoctor.repairs.online.rebuild import (
    foreign_key_builds,
    index_builds,
    rename_columns,
    rename_foreign_key,
)
from tests.unit.repairs.test_online_plan import CHILD, PARENT, family, trigger

RENAMES = {"id": "seqdoctor_wide_1"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("btree (id)", "btree (seqdoctor_wide_1)"),
        ('btree ("id")', "btree (seqdoctor_wide_1)"),  # quoted where it need not be: the same name
        (
            "btree (id DESC NULLS LAST) INCLUDE (id)",
            "btree (seqdoctor_wide_1 DESC NULLS LAST) INCLUDE (seqdoctor_wide_1)",
        ),
        (
            "btree ((id + 1)) WHERE (id IS NOT NULL)",
            "btree ((seqdoctor_wide_1 + 1)) WHERE (seqdoctor_wide_1 IS NOT NULL)",
        ),
        ('btree ("ID")', 'btree ("ID")'),  # another column: case matters when quoted
        ("btree (ID)", "btree (seqdoctor_wide_1)"),  # unquoted folds to lower case
        ("btree (note) WHERE (note = 'id'::text)", "btree (note) WHERE (note = 'id'::text)"),
        ("btree (note) WHERE (note = $x$ id $x$)", "btree (note) WHERE (note = $x$ id $x$)"),
        ("btree (id(note))", "btree (id(note))"),  # a function named id
        ("btree (((r).id))", "btree (((r).id))"),  # a field named id
        ("gist (id) TABLESPACE id", "gist (seqdoctor_wide_1) TABLESPACE id"),
        ("btree (id) WITH (id='1')", "btree (seqdoctor_wide_1) WITH (id='1')"),
    ],
)
def test_columns_are_renamed_by_token(text: str, expected: str) -> None:
    assert rename_columns(text, RENAMES) == expected


def test_the_access_method_is_never_a_column() -> None:
    assert rename_columns("btree (btree)", {"btree": "x"}) == "btree (x)"


def test_foreign_key_sides_are_renamed_with_their_own_tables_columns() -> None:
    definition = (
        'FOREIGN KEY (id, "Order Id") REFERENCES "S"."P"(id, "Order Id") MATCH FULL '
        "ON DELETE SET NULL (id) DEFERRABLE INITIALLY DEFERRED"
    )

    renamed = rename_foreign_key(definition, {"Order Id": "seqdoctor_wide_3"}, RENAMES)

    assert renamed == (
        'FOREIGN KEY (id, seqdoctor_wide_3) REFERENCES "S"."P"(seqdoctor_wide_1, "Order Id") '
        "MATCH FULL ON DELETE SET NULL (id) DEFERRABLE INITIALLY DEFERRED"
    )


def key(**changes: object) -> FamilyForeignKey:
    base = FamilyForeignKey(
        oid=555,
        name="child_parent_id_fkey",
        table_oid=CHILD,
        schema="public",
        table="child",
        attnums=(2,),
        referenced_table_oid=PARENT,
        referenced_schema="public",
        referenced_table="parent",
        referenced_attnums=(1,),
        validated=True,
        definition="FOREIGN KEY (parent_id) REFERENCES public.parent(id) ON DELETE CASCADE",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_foreign_key_is_added_not_valid_then_validated_and_recognised_by_round_trip() -> None:
    tables = build(family(), OnlineOptions()).tables
    back = {PARENT: {"seqdoctor_wide_1": "id"}, CHILD: {"seqdoctor_wide_2": "parent_id"}}

    (made,) = foreign_key_builds(tables, [key()])

    assert made.name == "seqdoctor_wide_555"
    assert made.validate
    add = " ".join(s.as_string() for s in made.add())
    assert add.startswith('LOCK TABLE "public"."parent", "public"."child" IN SHARE ROW EXCLUSIVE')
    assert add.endswith(
        "FOREIGN KEY (seqdoctor_wide_2) REFERENCES public.parent(seqdoctor_wide_1)"
        " ON DELETE CASCADE NOT VALID"
    )
    shadow = "FOREIGN KEY (seqdoctor_wide_2) REFERENCES public.parent(seqdoctor_wide_1)"
    assert made.matches(shadow + " ON DELETE CASCADE", back)
    assert made.matches(shadow + " ON DELETE CASCADE NOT VALID", back)
    assert not made.matches(shadow, back)  # the action was lost
    assert not made.matches(shadow.replace("seqdoctor_wide_1", "id") + " ON DELETE CASCADE", {})


def test_a_key_that_was_not_valid_stays_so() -> None:
    tables = build(family(), OnlineOptions()).tables

    (made,) = foreign_key_builds(
        tables,
        [key(validated=False, definition=key().definition + " NOT VALID")],
    )

    assert not made.validate
    assert "NOT VALID NOT VALID" not in made.add()[1].as_string()


def test_indexes_are_built_once_each_and_exclusions_never() -> None:
    tables = build(family(), OnlineOptions()).tables
    index = replace(
        trigger("parent_pkey", 0),
        kind="index",
        oid=77,
        table_oid=PARENT,
        attnum=1,
        detail="CREATE UNIQUE INDEX parent_pkey ON public.parent USING btree (id)",
        constraint_type="p",
    )
    exclusion = replace(
        index, oid=78, constraint_type="x", detail="CREATE INDEX x ON public.parent USING gist (id)"
    )

    builds = index_builds(tables[0], [index, index, exclusion])

    assert [(b.name, b.unique, b.tail) for b in builds] == [
        ("seqdoctor_wide_77", True, "btree (seqdoctor_wide_1)")
    ]
    (made,) = builds
    assert made.matches(
        "CREATE UNIQUE INDEX seqdoctor_wide_77 ON public.parent USING btree (seqdoctor_wide_1)",
        tables[0],
    )
    assert not made.matches(
        "CREATE INDEX seqdoctor_wide_77 ON public.parent USING btree (seqdoctor_wide_1)",
        tables[0],
    )
    statement = made.statement(tables[0]).as_string()
    assert statement == (
        'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "seqdoctor_wide_77" ON "public"."parent"'
        " USING btree (seqdoctor_wide_1)"
    )
