"""The Nagios renderer: a status line a monitor reads, bounded perfdata, one finding per line."""

from __future__ import annotations

import io
import unicodedata
from dataclasses import replace

from hypothesis import example, given, settings

from seqdoctor.fleet import FleetReport, Target, TargetResult
from seqdoctor.render import nagios
from seqdoctor.render.nagios import TOP_COLUMNS
from seqdoctor.report import Report
from tests.unit.factories import column, holding, sequence, snapshot
from tests.unit.perfdata import parse
from tests.unit.render.sample import sample_report
from tests.unit.render.test_display import NAMES
from tests.unit.render.test_hostile_names import report_of


def rendered(report: Report) -> str:
    out = io.StringIO()
    nagios.render(report, out)
    return out.getvalue()


def test_the_first_line_names_the_worst_finding_then_counts_then_perfdata() -> None:
    report = sample_report()
    output = parse(rendered(report))
    assert (output.service, output.status) == ("SEQDOCTOR", "CRITICAL")
    assert output.text.startswith("sequence public.customers_id_seq is behind public.customers.id")
    assert output.text.endswith("; 2 critical, 1 unknown, 3 info (4 sequences, 3 columns)")
    used = output.perfdata["public.orders.id used"]
    assert (used.unit, used.warning, used.critical, used.minimum, used.maximum) == (
        "%",
        "75",
        "90",
        0,
        100,
    )
    assert output.perfdata["used_max"].value == used.value
    assert output.perfdata["public.orders.id left"].value == 147_483_647
    assert output.perfdata["columns_behind"].value == 1
    assert output.perfdata["findings_critical"].value == 2
    assert output.perfdata["duration"].unit == "s"
    assert len(output.long_output) == len(report.findings)
    assert [line.split()[0] for line in output.long_output] == [
        "CRITICAL",
        "CRITICAL",
        "UNKNOWN",
        "INFO",
        "INFO",
        "INFO",
    ]


def test_quiet_is_the_first_line_alone() -> None:
    report = sample_report()
    assert nagios.status_line(report) == rendered(report).splitlines()[0]


def test_an_ok_report_names_no_finding() -> None:
    fed = sequence("t_id_seq", last_value=10)
    use = column("t", "id", fed_by=fed)
    report = replace(sample_report(), snapshot=snapshot(fed, use, extents={use: holding(1, 10)}))
    report = replace(report, findings=())
    output = parse(rendered(report))
    assert output.status == "OK"
    assert output.text == "no findings (1 sequence, 1 column)"
    assert output.long_output == []


def test_perfdata_is_bounded_whatever_the_number_of_columns() -> None:
    pairs = []
    for i in range(50):
        fed = sequence(f"t{i}_id_seq", last_value=1000 * (i + 1))
        pairs += [fed, column(f"t{i}", "id", fed_by=fed)]
    report = replace(sample_report(), snapshot=snapshot(*pairs), findings=())
    output = parse(rendered(report))
    per_column = [label for label in output.perfdata if label.startswith("public.")]
    assert len(per_column) == 2 * TOP_COLUMNS
    assert per_column[0] == "public.t49.id used"  # the fullest first
    assert output.perfdata["columns"].value == 50


@settings(max_examples=40, deadline=None)
@given(NAMES, NAMES, NAMES)
@example("a'b", "t=1 | 'x'=2", "id\n\\! touch x")
def test_hostile_names_keep_the_grammar_and_the_terminal_safe(
    schema: str, table: str, name: str
) -> None:
    output = rendered(report_of(schema, table, name))
    assert all(c.isprintable() or unicodedata.category(c) == "Zs" or c == "\n" for c in output)
    parsed = parse(output)  # a quote, = or | in a name breaks neither label nor status line
    assert parsed.status == "CRITICAL"
    assert len(parsed.long_output) >= 1


def test_many_databases_name_the_worst_one_and_prefix_their_columns() -> None:
    report = sample_report()
    fleet = FleetReport(
        report.checked_at,
        1.5,
        (
            TargetResult(Target("db1/shop", ""), report=report),
            TargetResult(Target("db2/crm", ""), error="cannot connect: connection refused"),
        ),
    )
    out = io.StringIO()
    nagios.render_fleet(fleet, out)
    output = parse(out.getvalue())
    assert output.status == "CRITICAL"
    assert output.text.startswith("db1/shop: sequence public.customers_id_seq is behind")
    assert output.text.endswith("; 2 databases (1 critical, 1 unknown)")
    assert output.perfdata["databases"].value == 2
    assert "db1/shop public.orders.id used" in output.perfdata
    assert output.long_output[0].startswith("db1/shop: CRITICAL: 2 critical, 1 unknown")
    assert output.long_output[-1] == "db2/crm: UNKNOWN: cannot connect: connection refused"
    assert nagios.fleet_status_line(fleet) == out.getvalue().splitlines()[0]
