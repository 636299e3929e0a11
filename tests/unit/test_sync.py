"""sync without a database: margins, floors, matching, judging, planning and rendering.

After an intended change to the output, regenerate the golden files with
``SEQDOCTOR_UPDATE_GOLDEN=1 pytest tests/unit/test_sync.py`` and review the diff.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from fractions import Fraction

import pytest

from seqdoctor.catalog.model import ColumnUse, Reason, Snapshot, Unreadable
from seqdoctor.checks import REGISTRY, Settings, run_checks
from seqdoctor.cli import main
from seqdoctor.errors import ExitStatus, UsageError
from seqdoctor.render.plan import PlanFormat
from seqdoctor.render.sync import render_sync, render_sync_result
from seqdoctor.repairs import Outcome, PlanResult, RepairOptions, Step
from seqdoctor.report import Report, Status
from seqdoctor.sync import Margin, SyncPlan, SyncResult, compare, floor_of, match, moves
from tests.unit.factories import column, holding, sequence, snapshot
from tests.unit.golden import assert_golden


def report(snap: Snapshot, codes: tuple[str, ...] = ("SEQ001", "SEQ900")) -> Report:
    settings = Settings()
    checks = REGISTRY.select(codes, ())
    return Report(
        tool_version="0.1.0",
        checked_at=datetime(2026, 11, 22, 1, 30, tzinfo=UTC),
        duration_seconds=0.01,
        snapshot=snap,
        findings=tuple(run_checks(snap, settings, checks)),
        settings=settings,
        checks=codes,
    )


# --- margins and floors ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", Margin()), ("1000", Margin(count=1000)), (" 5% ", Margin(fraction=Fraction(1, 20)))],
)
def test_a_margin_is_a_count_or_a_percent(text: str, expected: Margin) -> None:
    assert Margin.parse(text) == expected


@pytest.mark.parametrize("text", ["-5", "ten", "5 %%", "150%", "", "1e3"])
def test_a_margin_that_is_neither_is_refused(text: str) -> None:
    with pytest.raises(UsageError, match="--margin"):
        Margin.parse(text)


def test_a_percent_margin_is_of_the_range_left_to_the_targets_limit() -> None:
    source = sequence("s", last_value=999)  # integer: next 1,000; 2,147,482,647 left
    target = sequence("s")
    assert floor_of(source, target, Margin.parse("10%")) == 1000 + 214_748_264
    wider = sequence("s", type_name="int8")
    assert floor_of(source, wider, Margin.parse("1%")) == 1000 + (2**63 - 1 - 1000) // 100


def test_floors_follow_the_direction_and_know_what_they_cannot_know() -> None:
    down = sequence("s", increment=-1, last_value=-100)
    assert floor_of(down, down, Margin(count=10)) == -111
    exhausted = sequence("s", type_name="int2", last_value=32767)
    assert floor_of(exhausted, exhausted, Margin()) == 32768  # past its limit: setval refuses it
    assert floor_of(sequence("s", readable=False), sequence("s"), Margin()) is None
    assert floor_of(down, sequence("s"), Margin()) is None  # opposite directions


def test_sequences_are_matched_by_schema_and_name() -> None:
    pairs, only_source, only_target = match(
        [sequence("a"), sequence("b"), sequence("c", schema="old")],
        [sequence("b"), sequence("a"), sequence("c", schema="new")],
    )
    assert [(s.name, t.name) for s, t in pairs] == [("a", "a"), ("b", "b")]
    assert [s.qualified for s in only_source] == ["old.c"]
    assert [s.qualified for s in only_target] == ["new.c"]


# --- judging and planning -------------------------------------------------


def sample_sync(margin: Margin | None = None) -> SyncPlan:
    """A target freshly replicated: behind the source and its data, one ahead, one unreadable,
    one sequence missing on each side."""
    margin = margin or Margin()
    on_source = snapshot(
        sequence("customers_id_seq", type_name="int8", last_value=50),
        sequence("orders_id_seq", last_value=30),
        sequence("invoice_numbers", last_value=7),
        sequence("Order Lines_id_seq", type_name="int8", increment=10, last_value=191),
        sequence("ticket_seq", schema="legacy", last_value=3),
        sequence("hidden_seq", schema="billing", last_value=9),
    )
    customers = sequence("customers_id_seq", type_name="int8")
    orders = sequence("orders_id_seq", last_value=5000)  # ahead: left where it is
    lines = sequence("Order Lines_id_seq", type_name="int8", increment=10)
    hidden = sequence("hidden_seq", schema="billing", readable=False)
    customers_id = column("customers", "id", fed_by=customers)
    lines_id = column("Order Lines", "id", fed_by=lines)
    on_target = snapshot(
        customers,
        customers_id,
        orders,
        column("orders", "id", fed_by=orders),
        sequence("invoice_numbers"),
        lines,
        lines_id,
        hidden,
        sequence("audit_seq"),
        extents={
            customers_id: holding(1, 50, first_collision=1),
            lines_id: holding(1, 191, first_collision=1),
        },
        unreadable=[
            Unreadable(
                Reason.PRIVILEGE,
                "role app may not read sequence billing.hidden_seq",
                sequence_oid=hidden.oid,
            )
        ],
    )
    source, target = report(on_source, ("SEQ003",)), report(on_target)
    comparison = compare(source, target, margin)
    options = RepairOptions()
    plans = moves(comparison, [customers_id, lines_id], margin, options)
    return SyncPlan(source, target, margin, comparison, plans, options, {})


def test_each_target_sequence_is_judged_against_the_source_and_its_data() -> None:
    sync = sample_sync()
    pairs = {p.target.name: p for p in sync.comparison.pairs}

    assert pairs["customers_id_seq"].behind_source
    assert pairs["customers_id_seq"].behind_data  # SEQ001 on the target
    assert pairs["invoice_numbers"].behind_source
    assert not pairs["invoice_numbers"].behind_data
    assert pairs["orders_id_seq"].status is Status.OK  # ahead of the source: never backwards
    assert pairs["hidden_seq"].status is Status.UNKNOWN
    assert "could not be read" in str(pairs["hidden_seq"].unknown)
    assert [s.qualified for s in sync.comparison.only_source] == ["legacy.ticket_seq"]
    assert [s.qualified for s in sync.comparison.only_target] == ["public.audit_seq"]
    assert sync.verdict == ExitStatus.CRITICAL
    assert sync.exit_status == ExitStatus.WARNING


def test_the_verdict_ranks_behind_over_unknown_over_missing() -> None:
    sync = sample_sync()
    level = tuple(p for p in sync.comparison.pairs if not p.behind)
    without_behind = type(sync.comparison)(level, sync.comparison.only_source, ())
    assert without_behind.status is Status.UNKNOWN
    known = tuple(p for p in level if not p.unknown)
    assert type(sync.comparison)(known, sync.comparison.only_source, ()).status is Status.WARNING
    assert type(sync.comparison)(known, (), ()).status is Status.OK


def test_a_move_is_a_safe_forward_only_setval_with_the_floor_as_one_more_edge() -> None:
    sync = sample_sync(Margin(count=1000))
    titles = [p.title for p in sync.plans]
    assert titles == [
        "Move public.customers_id_seq to 1,051 or past (the source's next value plus 1,000 values)",
        "Move public.invoice_numbers to 1,008 or past (the source's next value plus 1,000 values)",
        'Move public."Order Lines_id_seq" to 1,201 or past (the source\'s next value plus 1,000 '
        "values)",
    ]
    assert {(p.kind, str(p.safety), p.settle, p.moves) for p in sync.plans} == {
        ("sync", "safe", True, True)
    }
    customers, invoices, _ = (p.statements[-1].as_string() for p in sync.plans)
    assert 'max("id") FROM ONLY "public"."customers"' in customers
    assert "1050::numeric) AS edge" in customers  # the value just before the floor
    assert "greatest(\n           1007::numeric) AS edge" in invoices  # feeds no column


def test_a_descending_floor_is_reached_from_above() -> None:
    down = sequence("s", increment=-1, last_value=-100)
    source, target = (
        report(snapshot(down), ("SEQ003",)),
        report(snapshot(sequence("s", increment=-1))),
    )
    comparison = compare(source, target, Margin())
    (plan,) = moves(comparison, [], Margin(), RepairOptions())
    assert "-100::numeric) AS edge" in plan.statements[-1].as_string()


def test_lock_takes_no_table_lock_for_a_sequence_that_feeds_no_column() -> None:
    sync = sample_sync()
    options = RepairOptions(lock=True)
    fed: list[ColumnUse] = []
    plans = moves(sync.comparison, fed, Margin(), options)
    assert not any("LOCK TABLE" in s.as_string() for p in plans for s in p.statements)


# --- rendering ------------------------------------------------------------


def sample_result() -> SyncResult:
    sync = sample_sync()
    first, second, third = sync.plans
    steps = (
        Step(1, 1, "WITH sequence AS (…", 0.0042, True, "next_before 1, next_after 51"),
        Step(1, 1, "COMMIT", 0.0008, True, "ok"),
    )
    return SyncResult(
        sync,
        (
            PlanResult(first, Outcome.APPLIED, "next value 1 → 51", 0.0123, 1, steps),
            PlanResult(second, Outcome.APPLIED, "next value 1 → 8", 0.002, 1),
            PlanResult(third, Outcome.FAILED, "permission denied for sequence", 0.001, 1),
        ),
        type(sync.comparison)(sync.comparison.pairs[-1:], (), ()),
        seconds=0.0153,
    )


CASES = {
    "plan": lambda output_format, out: render_sync(sample_sync(), output_format, out),
    "verify": lambda output_format, out: render_sync(sample_sync(), output_format, out, True),
    "result": lambda output_format, out: render_sync_result(sample_result(), output_format, out),
}


@pytest.mark.parametrize(
    ("what", "output_format"),
    [
        ("plan", PlanFormat.TABLE),
        ("plan", PlanFormat.SQL),
        ("plan", PlanFormat.JSON),
        ("verify", PlanFormat.TABLE),
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
    assert_golden(f"sync.{what}.{output_format}.txt", out.getvalue())


def test_json_follows_the_documented_shape() -> None:
    out = io.StringIO()
    render_sync_result(sample_result(), PlanFormat.JSON, out)
    record = json.loads(out.getvalue())
    assert list(record) == [
        "schema_version",
        "tool",
        "source",
        "target",
        "planned_at",
        "margin",
        "options",
        "status",
        "sequences",
        "missing_on_target",
        "only_on_target",
        "plans",
        "result",
    ]
    assert list(record["sequences"][0]) == [
        "schema",
        "name",
        "source_next_value",
        "target_next_value",
        "least_next_value",
        "behind_source",
        "behind_data",
        "status",
        "unknown",
    ]
    assert record["plans"][0]["kind"] == "sync"
    assert list(record["result"]) == ["exit_status", "plans", "still_behind", "recheck_error"]
    assert record["result"]["exit_status"] == 2


def test_verify_has_no_script() -> None:
    with pytest.raises(ValueError, match="verify"):
        render_sync(sample_sync(), PlanFormat.SQL, io.StringIO(), verify=True)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--margin", "ten"], "--margin 'ten' is neither a count"),
        (["--apply", "--verify"], "--verify only reads"),
        (["--format", "sql", "--apply"], "--format sql prints a script"),
        (["--format", "sql", "--verify"], "--format sql prints a script"),
    ],
)
def test_bad_arguments_exit_3_before_connecting(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    unreachable = "host=127.0.0.1 port=1 connect_timeout=3"
    assert main(["sync", *argv, unreachable, unreachable]) == ExitStatus.UNKNOWN
    assert message in capsys.readouterr().err
