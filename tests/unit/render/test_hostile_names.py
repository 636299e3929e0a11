"""Every renderer, given names an attacker chose: nothing a terminal acts on, and JSON exact."""

from __future__ import annotations

import io
import json
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given, settings

from seqdoctor.catalog.model import qualify
from seqdoctor.checks import Settings, run_checks
from seqdoctor.render import Format, render
from seqdoctor.render import forecast as forecast_text
from seqdoctor.render.plan import step_line
from seqdoctor.repairs import Step
from seqdoctor.report import Report
from tests.unit.factories import column, holding, sequence, snapshot
from tests.unit.render.test_display import NAMES


def terminal_safe(text: str) -> bool:
    return all(c.isprintable() or unicodedata.category(c) == "Zs" or c == "\n" for c in text)


def report_of(schema: str, table: str, name: str) -> Report:
    """Drift on a column and its sequence, every name chosen by the caller."""
    fed = sequence(f"{table}_seq", schema=schema)
    use = column(table, name, fed_by=fed, schema=schema)
    snap = snapshot(fed, use, extents={use: holding(1, 40, first_collision=1)})
    snap = replace(snap, server=replace(snap.server, database=f"db {name}"))
    found = tuple(run_checks(snap, Settings()))
    when = datetime(2026, 11, 22, tzinfo=UTC)
    return Report("0.1.0", when, 0.01, snap, found, Settings(), checks=("SEQ001",))


@settings(max_examples=30, deadline=None)
@given(NAMES, NAMES, NAMES)
def test_renderers_show_names_escaped_and_json_keeps_them(
    schema: str, table: str, name: str
) -> None:
    report = report_of(schema, table, name)
    assert report.findings
    for output_format in (Format.TABLE, Format.HTML, Format.JSON):
        out = io.StringIO()
        render(report, output_format, out)
        assert terminal_safe(out.getvalue()), output_format
    out = io.StringIO()
    forecast_text.render(report, out)
    assert terminal_safe(out.getvalue())

    out = io.StringIO()
    render(report, Format.JSON, out)
    record = json.loads(out.getvalue())
    assert record["findings"][0]["column"] == {"schema": schema, "table": table, "column": name}
    assert qualify(schema, table, name) in record["findings"][0]["message"]


def test_rich_markup_in_a_name_is_shown_as_written() -> None:
    report = report_of("public", "[bold red]orders[/]", "id")
    out = io.StringIO()
    render(report, Format.TABLE, out)
    assert '"[bold red]orders[/]"' in out.getvalue()


def test_the_apply_log_shows_a_statement_and_an_error_escaped() -> None:
    step = Step(1, 1, 'ALTER SEQUENCE "t\n\\! x\x1b[2J" AS bigint', 0.001, False, 'no "t\x1b[2J"')
    line = step_line(step)
    assert terminal_safe(line)
    assert "\n" not in line
    assert 'U&"t\\000a\\\\! x\\001b[2J"' in line
