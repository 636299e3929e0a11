"""Plans and results as each format renders them, compared with files under golden/.

After an intended change, regenerate with
``SEQDOCTOR_UPDATE_GOLDEN=1 pytest tests/unit/repairs`` and review the diff.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace

import pytest
from rich.console import Console

from seqdoctor.catalog.dependents import Attachment, ColumnDependents, ViewDefinition
from seqdoctor.render.plan import PlanFormat, as_script, render_plan, render_result, write_plain
from seqdoctor.repairs import (
    Comparison,
    FixPlan,
    FixResult,
    Outcome,
    PlanResult,
    RepairContext,
    RepairOptions,
    Step,
    plan_repairs,
    unrepaired,
)
from tests.unit.golden import assert_golden
from tests.unit.render.sample import sample_report


def sample_fix() -> FixPlan:
    """The sample report's repairs: a sequence behind its data, an integer key near its end
    with a view on it, and a sequence that could not be read."""
    report = sample_report()
    # The checks of this release only: a check added later must not change these files.
    known = {f"SEQ00{n}" for n in range(1, 10)} | {"SEQ900"}
    report = replace(report, findings=tuple(f for f in report.findings if f.code in known))
    snap = report.snapshot
    orders_id = next(u for u in snap.uses if u.table == "orders")
    view = ViewDefinition(
        oid=99,
        schema="public",
        name="order_totals",
        relkind="v",
        definition=" SELECT id,\n    'it''s' AS note\n   FROM public.orders;",
        options=(),
        tablespace=None,
        owner="shop",
        acl="{shop=arwdDxt/shop,reporting=r/shop}",
        populated=True,
        comment=None,
        attachments=(Attachment(99, "grant", None, "reporting", "SELECT", False, None),),
    )
    context = RepairContext(
        uses=snap.uses,
        foreign_keys=snap.foreign_keys,
        sizes={orders_id.table_oid: 3 * 1024**3},
        dependents={orders_id.sequence_oid: ColumnDependents(views=(view,))},
    )
    options = RepairOptions()
    plans = plan_repairs(report, context, options)
    return FixPlan(report, plans, unrepaired(report, plans), options, ("SEQ001", "SEQ900"))


def sample_result() -> FixResult:
    fix = sample_fix()
    advance, widen = fix.plans
    steps = (
        Step(1, 1, "SET LOCAL lock_timeout = '2000ms'", 0.0001, True, "ok"),
        Step(1, 1, "WITH sequence AS (…", 0.0042, True, "next_before 1, next_after 41"),
        Step(1, 1, "COMMIT", 0.0008, True, "ok"),
    )
    return FixResult(
        fix,
        (
            PlanResult(advance, Outcome.APPLIED, "next value 1 → 41", 0.0123, 1, steps),
            PlanResult(widen, Outcome.SKIPPED, widen.held_back or ""),
        ),
        None,
        (
            Comparison("public.customers.id", "findings", "SEQ001", "none"),
            Comparison("public.customers_id_seq", "next value", "1", "41"),
        ),
        (),
        seconds=0.0123,
    )


CASES = {
    "plan": lambda output_format, out: render_plan(sample_fix(), output_format, out),
    "result": lambda output_format, out: render_result(sample_result(), output_format, out),
}


@pytest.mark.parametrize(
    ("what", "output_format"),
    [
        ("plan", PlanFormat.TABLE),
        ("plan", PlanFormat.SQL),
        ("plan", PlanFormat.JSON),
        ("result", PlanFormat.TABLE),
        ("result", PlanFormat.JSON),
    ],
)
def test_renderer_matches_golden_file(
    what: str, output_format: PlanFormat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    out = io.StringIO()
    CASES[what](output_format, out)
    assert_golden(f"fix.{what}.{output_format}.txt", out.getvalue())


def test_the_script_comments_out_what_apply_would_hold_back() -> None:
    script = as_script(sample_fix())

    assert script.count("\nBEGIN;\n") == 1  # the setval; the 3 GB rewrite is held back
    assert "\n-- BEGIN;\n" in script
    assert '\n-- ALTER TABLE "public"."orders" ALTER COLUMN "id" TYPE bigint;\n' in script
    assert script.splitlines()[5] == r"\set ON_ERROR_STOP on"


def test_a_result_cannot_be_a_script() -> None:
    with pytest.raises(ValueError, match="psql script"):
        render_result(sample_result(), PlanFormat.SQL, io.StringIO())


def test_json_follows_the_documented_shape() -> None:
    out = io.StringIO()
    render_result(sample_result(), PlanFormat.JSON, out)
    record = json.loads(out.getvalue())

    assert list(record) == [
        "schema_version",
        "tool",
        "database",
        "planned_at",
        "options",
        "plans",
        "unrepaired",
        "result",
    ]
    assert list(record["plans"][0]) == [
        "number",
        "kind",
        "title",
        "codes",
        "safety",
        "applies",
        "held_back",
        "reason",
        "locks",
        "notes",
        "tables",
        "statements",
        "findings",
    ]
    assert list(record["result"]) == [
        "exit_status",
        "plans",
        "comparisons",
        "still_found",
        "recheck_error",
        "connection_lost",
    ]
    assert list(record["result"]["plans"][0]) == [
        "number",
        "outcome",
        "detail",
        "seconds",
        "attempts",
        "steps",
    ]
    # A sequence could not be read (SEQ900): unknown outranks the rewrite held back.
    assert record["result"]["exit_status"] == 3


def test_no_name_can_break_out_of_a_script_comment() -> None:
    fix = sample_fix()
    server = replace(fix.report.snapshot.server, database="shop\n\\! echo owned\r\\q")
    hostile = replace(
        fix, report=replace(fix.report, snapshot=replace(fix.report.snapshot, server=server))
    )

    lines = as_script(hostile).splitlines()

    assert all(
        line.startswith("--") or not line.startswith("\\") or line == r"\set ON_ERROR_STOP on"
        for line in lines
    )
    assert r'database U&"shop\000a\\! echo owned\000d\\q"' in lines[0]


def test_many_repairs_are_plain_unwrapped_lines_without_their_sql(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setattr("seqdoctor.render.plan.PLAIN_PAST", 1)
    fix = sample_fix()
    advance = fix.plans[0]
    fix = replace(fix, plans=(replace(advance, title=advance.title + "\x07\r"), *fix.plans[1:]))
    plain = io.StringIO()
    render_plan(fix, PlanFormat.TABLE, plain)

    lines = plain.getvalue().splitlines()
    assert f"1. {advance.title}" + r"\x07\r" in lines  # shown escaped, as on every other line
    assert f"   Why: {advance.reason}" in lines  # one line, however long
    assert all(f"   Note: {note}" in lines for note in advance.notes)
    assert max(map(len, lines)) > 120
    # 2 KB of SQL a repair is left to the psql script, which the plan points to.
    assert not sql_of(plain.getvalue())
    assert "each is listed without its SQL. seqdoctor fix --format sql prints" in lines[2]
    assert all(statement.as_string() in as_script(fix) for statement in advance.statements)

    out = io.StringIO()
    render_result(sample_result(), PlanFormat.TABLE, out)
    table = out.getvalue().splitlines()
    row = ["1", "applied", *advance.title.split(), "next", "value", "1", "→", "41", "0.01", "s"]
    assert any(line.split() == row for line in table)
    assert "  public.customers_id_seq   next value   1        41" in table


def test_the_time_applying_took_is_its_wall_time_not_the_sum_of_its_batched_plans() -> None:
    # Plans moved in one batch each report the batch's time; batches run on two connections.
    result = sample_result()
    advance = result.results[0]
    batched = tuple(replace(advance, seconds=0.5) for _ in range(3))
    out = io.StringIO()

    render_result(replace(result, results=batched, seconds=0.6), PlanFormat.TABLE, out)

    assert out.getvalue().splitlines()[0] == "Applied 3 of 3 repairs in 0.60 s"


def sql_of(text: str) -> list[list[str]]:
    """The SQL printed under each plan: the lines after its heading, to the blank line."""
    return [
        part.split("\n\n")[0].splitlines()[1:]
        for part in text.split("SQL, as it runs (between BEGIN and COMMIT):")[1:]
    ]


@pytest.mark.parametrize("text", ["plain · text", "plain text"])
def test_plain_lines_lose_the_control_codes_rich_strips_and_nothing_else(text: str) -> None:
    out = io.StringIO()
    console = Console(file=out)

    write_plain(console, [f"{text}\x07\x08\x0b\x0c\r!", text, f"\t{text}"])

    assert out.getvalue() == f"{text}!\n{text}\n\t{text}\n"
