"""The online widening's planner and state detection, on key families built in Python."""

from __future__ import annotations

from dataclasses import replace

import pytest

from seqdoctor.catalog.family import (
    ColumnAttachment,
    FamilyColumn,
    FamilyTable,
    KeyFamily,
    OnlineObject,
)
from seqdoctor.catalog.model import ServerInfo
from seqdoctor.errors import UsageError
from seqdoctor.repairs.online import OnlineOptions, Phase, TableState, record, script
from seqdoctor.repairs.online.plan import build
from seqdoctor.repairs.online.shadow import function_body
from seqdoctor.repairs.online.state import detect

PARENT, CHILD = 100, 200


def column(table_oid: int, name: str, attnum: int, *, depth: int = 0, **kw: object) -> FamilyColumn:
    fields: dict[str, object] = {
        "table_oid": table_oid,
        "schema": "public",
        "table": "parent" if table_oid == PARENT else "child",
        "column": name,
        "attnum": attnum,
        "depth": depth,
        "type_name": "int4",
        "column_type": "integer",
        "domain": False,
        "not_null": True,
        "identity": "",
        "generated": "",
        "default_expression": None,
        "inherited": False,
        "acl": None,
        "comment": None,
    }
    fields.update(kw)
    return FamilyColumn(**fields)  # type: ignore[arg-type]


def table(table_oid: int, **kw: object) -> FamilyTable:
    fields: dict[str, object] = {
        "table_oid": table_oid,
        "schema": "public",
        "table": "parent" if table_oid == PARENT else "child",
        "relkind": "r",
        "persistence": "p",
        "partition": False,
        "inheritance": False,
        "owned": True,
        "can_create": True,
        "bytes": 8192,
        "rows_estimate": 10,
        "columns": 3,
        "replica_identity": "d",
        "batch_key": "id",
        "batch_attnum": 1,
        "publications": None,
        "subscribed": False,
        "row_type_users": None,
    }
    fields.update(kw)
    return FamilyTable(**fields)  # type: ignore[arg-type]


def trigger(name: str, tgtype: int, *, column_list: bool = False) -> ColumnAttachment:
    return ColumnAttachment(
        kind="trigger",
        oid=1,
        name=name,
        table_oid=CHILD,
        attnum=None,
        detail=None,
        constraint_name=None,
        constraint_type=None,
        partial=False,
        expressions=False,
        replica_identity=False,
        clustered=False,
        valid=True,
        column_bound=False,
        trigger_type=tgtype,
        enabled="O",
        column_list=column_list,
        operator_class=None,
    )


def family(version: int = 160004, **changes: object) -> KeyFamily:
    base = KeyFamily(
        server=ServerInfo("db", str(version), version, "me"),
        columns=(column(PARENT, "id", 1), column(CHILD, "parent_id", 2, depth=1, not_null=False)),
        tables=(table(CHILD), table(PARENT)),
        foreign_keys=(),
        sequences=(),
        attachments=(),
        objects=(),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def reasons(fam: KeyFamily, **options: object) -> list[str]:
    return [r.reason for r in build(fam, OnlineOptions(**options)).refusals]  # type: ignore[arg-type]


def test_a_plain_family_is_planned_parent_first_with_every_phase() -> None:
    built = build(family(), OnlineOptions())

    assert not built.refusals
    assert [t.table.table for t in built.tables] == ["parent", "child"]
    # Phase 6: one swap for the family, then per table its statistics (and CHECKs validated).
    assert [int(s.phase) for s in built.steps] == [2, 2, 3, 3, 4, 4, 6, 6, 6]
    assert built.steps[6].subject == "public.parent, public.child"
    assert built.revert_steps == ()  # nothing of the widening exists yet
    text = script(built)
    assert 'ADD COLUMN IF NOT EXISTS "seqdoctor_wide_1" pg_catalog.int8 NOT NULL DEFAULT 0' in text
    assert 'ADD COLUMN IF NOT EXISTS "seqdoctor_wide_2" pg_catalog.int8;' in text
    assert "SET search_path = pg_catalog, pg_temp" in text
    assert record(built)["phases"][0]["name"] == "shadowed"


@pytest.mark.parametrize(
    ("version", "refused"), [(140003, True), (140004, False), (130010, False), (180001, False)]
)
def test_create_index_concurrently_bug_of_14_0_to_14_3_is_refused(
    version: int, refused: bool
) -> None:
    found = reasons(family(version))

    assert any("14.4" in r for r in found) is refused


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"relkind": "p"}, "partitioned"),
        ({"partition": True}, "partitioned"),
        ({"inheritance": True}, "inheritance"),
        ({"owned": False}, "owner"),
        ({"can_create": False}, "CREATE on schema public"),
        ({"publications": ("pub",)}, "published (pub)"),
        ({"subscribed": True}, "logical replication target"),
        ({"columns": 1600}, "limit of 1600"),
        ({"row_type_users": ("public.x.r",)}, "its row type is the type of public.x.r"),
    ],
)
def test_tables_the_online_method_cannot_handle_are_refused(
    changes: dict[str, object], expected: str
) -> None:
    fam = family(tables=(table(CHILD, **changes), table(PARENT)))

    assert any(expected in r for r in reasons(fam)), reasons(fam)


def test_replication_is_allowed_when_the_user_handles_it() -> None:
    fam = family(tables=(table(CHILD, publications=("pub",), subscribed=True), table(PARENT)))

    assert reasons(fam, allow_replication=True) == []


def test_ctid_ranges_need_14() -> None:
    fam = family(version=130010, tables=(table(CHILD, batch_key=None), table(PARENT)))

    assert any("ctid ranges need PostgreSQL 14" in r for r in reasons(fam))
    assert reasons(replace(fam, server=ServerInfo("db", "14.4", 140004, "me"))) == []


def test_user_triggers_firing_on_every_update_are_refused_unless_allowed() -> None:
    update_row = 1 | 16
    fam = family(
        attachments=(
            trigger("audit", update_row),
            trigger("only_some", update_row, column_list=True),  # UPDATE OF other columns
            trigger("seqdoctor_guard_update_1", update_row),  # the guard: no side effect
            trigger("on_insert", 1 | 4),
        )
    )

    assert reasons(fam) == [
        "trigger audit fires on every UPDATE, so on every backfilled row: "
        "allow user triggers to go ahead"
    ]
    assert reasons(fam, allow_user_triggers=True) == []


def test_a_before_trigger_sorting_after_the_sync_trigger_is_refused() -> None:
    before_insert_row = 1 | 2 | 4
    fam = family(attachments=(trigger("zzz_fix_key", before_insert_row),))

    assert any("fires after zz_seqdoctor_sync" in r for r in reasons(fam))
    after = family(attachments=(trigger("zzz_fix_key", 1 | 4),))
    assert reasons(after) == []


def test_domains_and_generated_dependents_are_refused() -> None:
    generated = replace(trigger("twice", 0), kind="generated", attnum=1, table_oid=PARENT)
    fam = family(
        columns=(
            column(PARENT, "id", 1),
            column(CHILD, "parent_id", 2, depth=1, domain=True, column_type="my_int"),
        ),
        attachments=(generated,),
    )

    found = reasons(fam)

    assert any("domain my_int" in r for r in found)
    assert any("twice is computed from it" in r for r in found)


def test_already_wide_columns_are_left_alone_and_said_so() -> None:
    fam = family(
        columns=(
            column(PARENT, "id", 1),
            column(CHILD, "parent_id", 2, depth=1, type_name="int8", column_type="bigint"),
        )
    )

    built = build(fam, OnlineOptions())

    assert [t.table.table for t in built.tables] == ["parent"]
    assert any("already wide" in note for note in built.notes)


def obj(kind: str, name: str, **kw: object) -> OnlineObject:
    fields: dict[str, object] = {
        "kind": kind,
        "table_oid": PARENT,
        "name": name,
        "attnum": None,
        "type_name": None,
        "not_null": None,
        "detail": None,
        "function_oid": None,
        "function_schema": None,
        "function_name": None,
        "settings": None,
        "security_definer": False,
        "enabled": "",
        "valid": True,
    }
    fields.update(kw)
    return OnlineObject(**fields)  # type: ignore[arg-type]


def shadowed_parent(**trigger_changes: object) -> tuple[OnlineObject, ...]:
    parent = build(family(), OnlineOptions()).tables[0]
    return (
        obj("column", "seqdoctor_wide_1", attnum=4, type_name="int8", not_null=True),
        obj(
            "trigger",
            "zz_seqdoctor_sync",
            **{
                "detail": function_body(parent),
                "function_oid": 9,
                "function_schema": "public",
                "function_name": f"seqdoctor_sync_{PARENT}",
                "settings": ("search_path=pg_catalog, pg_temp",),
                "enabled": "A",
                **trigger_changes,
            },
        ),
        obj("function", f"seqdoctor_sync_{PARENT}", function_oid=9, function_schema="public"),
    )


def test_the_state_of_each_table_is_read_from_its_objects() -> None:
    tables = build(family(), OnlineOptions()).tables

    status = detect(tables, shadowed_parent())

    assert [t.state for t in status.tables] == [TableState.SHADOWED, TableState.ABSENT]
    assert status.phase is Phase.PLANNED  # the child is not there yet
    assert status.started
    assert not status.conflicts
    # Revert undoes what exists, and only that: the trigger, its function, the columns.
    (step,) = build(family(objects=shadowed_parent()), OnlineOptions()).revert_steps
    assert step.subject == "public.parent"
    assert [s.as_string() for s in step.statements[2:]] == [
        'DROP TRIGGER IF EXISTS "zz_seqdoctor_sync" ON "public"."parent"',
        f'DROP FUNCTION IF EXISTS "public"."seqdoctor_sync_{PARENT}"()',
        'ALTER TABLE "public"."parent" DROP COLUMN IF EXISTS "seqdoctor_wide_1"',
    ]


@pytest.mark.parametrize(
    ("changes", "missing"),
    [
        ({"enabled": "O"}, "ENABLE ALWAYS"),
        ({"detail": "BEGIN RETURN NEW; END"}, "body"),
        ({"settings": None}, "settings"),
        ({"security_definer": True}, "settings"),
    ],
)
def test_a_trigger_not_as_seqdoctor_makes_it_is_incomplete(
    changes: dict[str, object], missing: str
) -> None:
    tables = build(family(), OnlineOptions()).tables

    (parent, _) = detect(tables, shadowed_parent(**changes)).tables

    assert parent.state is TableState.INCOMPLETE
    assert any(missing in m for m in parent.missing)


def test_what_is_not_seqdoctors_is_a_conflict() -> None:
    tables = build(family(), OnlineOptions()).tables
    wrong_type = obj("column", "seqdoctor_wide_1", type_name="text", not_null=True)
    foreign_function = obj(
        "function", f"seqdoctor_sync_{PARENT}", function_oid=3, function_schema="public"
    )

    assert detect(tables, (wrong_type,)).conflicts
    assert detect(tables, (foreign_function,)).conflicts
    # A bigint column with our name, but no sync trigger: not ours, and never dropped.
    lookalike = obj("column", "seqdoctor_wide_1", attnum=4, type_name="int8", not_null=True)
    (parent, _) = detect(tables, (lookalike,)).tables
    assert parent.state is TableState.FOREIGN
    assert parent.shadows == ()
    assert "without seqdoctor's sync trigger" in detect(tables, (lookalike,)).conflicts[0].reason
    plan = build(family(objects=(lookalike,)), OnlineOptions())
    assert plan.refusals
    assert plan.revert_steps == ()
    swapped = detect(tables, (obj("column", "seqdoctor_old_1", type_name="int4"),))
    assert swapped.tables[0].state is TableState.SWAPPED
    assert "finish or revert the earlier widening" in swapped.conflicts[0].reason


@pytest.mark.parametrize(
    "options",
    [
        {"lock_timeout": 0},
        {"statement_timeout": 0},
        {"lock_deadline": 0.1},
        {"first_batch": 0},
        {"first_batch": 10, "max_batch": 5},
    ],
)
def test_options_that_would_wait_for_ever_or_never_run_are_refused(
    options: dict[str, float],
) -> None:
    with pytest.raises(UsageError):
        OnlineOptions(**options)  # type: ignore[arg-type]


def test_the_plan_says_whether_the_online_path_finishes_before_the_key_runs_out() -> None:
    big = family(tables=(table(CHILD), table(PARENT, rows_estimate=36_000_000)))

    unknown = build(big, OnlineOptions())
    late = build(big, OnlineOptions(runway=1800))
    early = build(big, OnlineOptions(runway=30 * 86400, rows_per_second=50_000))

    assert unknown.in_time is None
    assert unknown.seconds > 36_000_000 / 20_000  # the backfill, and the rest
    assert late.in_time is False
    assert "it would run out first" in late.notes[0]
    assert early.in_time is True
    assert "the online widening finishes first" in early.notes[0]
    assert "at 50,000 rows/s" in early.notes[0]


def test_the_swap_stops_writers_key_table_first_then_readers_each_wait_bounded() -> None:
    built = build(family(), OnlineOptions(lock_timeout=0.3))

    (swap_step,) = [s for s in built.steps if s.phase is Phase.SWAPPED and "Swap" in s.title]
    text = [s.as_string() for s in swap_step.statements]
    locks = [i for i, t in enumerate(text) if t.startswith("LOCK TABLE")]
    # Writers stopped first, the key's table first; then everything taken from readers.
    assert [text[i] for i in locks] == [
        'LOCK TABLE "public"."parent" IN SHARE ROW EXCLUSIVE MODE',
        'LOCK TABLE "public"."child" IN SHARE ROW EXCLUSIVE MODE',
        'LOCK TABLE "public"."parent", "public"."child" IN ACCESS EXCLUSIVE MODE',
    ]
    assert text[locks[0] - 2 : locks[0]] == [
        "SET LOCAL lock_timeout = '300ms'",
        "SET LOCAL statement_timeout = '300ms'",  # each lock statement's wait as a whole
    ]
    # A child's lock is waited for briefly: its writer may be about to write the
    # parent. So is the last: it waits only for the reads under way.
    assert text[locks[1] - 1] == "SET LOCAL lock_timeout = '30ms'"
    assert locks[2] == locks[1] + 1  # under the same brief lock_timeout
    assert (
        text[locks[2] + 1] == "SET LOCAL statement_timeout = '1000ms'"
    )  # the swap's statements, once its locks are held
    # The reverse trigger is created last; the sync trigger dropped first.
    assert text[-1].startswith('ALTER TABLE "public"."child" ENABLE ALWAYS TRIGGER')
    assert any(t.startswith('DROP TRIGGER "zz_seqdoctor_sync"') for t in text[locks[-1] :])
