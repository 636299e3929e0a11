"""The HTML report: one self-contained page to read, attach to a ticket, or print.

No font, no image, no script from anywhere: styles, charts (SVG) and the few
lines of script that sort and filter the tables are inline, so the file shows
the same offline, in a mail client, and on paper. A Content-Security-Policy
lets the page run only that script and that style sheet (by hash) and fetch
nothing. Names reach the page only as escaped text, never inside the script,
which is a constant.

It has the status, the findings with the repairs ``seqdoctor fix`` plans for
them, the exhaustion forecast with a chart of each at-risk sequence's
positions when a history exists, and a capacity bar per column; healthy rows
are folded away when there are many. It fits a phone: tables scroll inside
their own box, charts scale with their viewBox, and it follows the reader's
dark mode.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

from seqdoctor.catalog.display import printable
from seqdoctor.catalog.model import TYPE_NAMES, handed_out
from seqdoctor.checks import REGISTRY, Finding, Severity
from seqdoctor.checks.base import number, percent, plural
from seqdoctor.checks.seq011_exhaustion_forecast import (
    Forecast,
    by_days_left,
    forecasts,
    in_days,
    judged_of,
    per_day,
)
from seqdoctor.fleet import FleetReport, TargetResult
from seqdoctor.render.plan import label, script_item
from seqdoctor.repairs import Plan, RepairOptions, plan_repairs
from seqdoctor.report import Report

SEVERITY_ORDER = (Severity.CRITICAL, Severity.UNKNOWN, Severity.WARNING, Severity.INFO)
EXPLAINED = ("Why it matters", "How to fix", "Fix safety")
# The chart's coordinates; labels go in the margins, outside the plot where the data is.
CHART_WIDTH, CHART_HEIGHT = 600, 260
LEFT, RIGHT, TOP, BOTTOM = 12, 12, 40, 62
# Past this many healthy rows a table lists only the rows at risk, the rest behind "show all".
FOLD_PAST = 10

STYLE = """
:root { color-scheme: light dark; --bg: #fff; --fg: #1b1b1b; --code-bg: #f5f6f7;
        --critical: #b3261e; --unknown: #7b1fa2; --warning: #a15c00; --info: #1f5f8b;
        --ok: #2e7d32; --on-status: #fff; --line: #d0d4d9; --muted: #5f6368; --track: #fff; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #16181b; --fg: #e6e6e6; --code-bg: #202328; --critical: #f28b82;
          --unknown: #d7aefb; --warning: #fdd663; --info: #8ab4f8; --ok: #81c995;
          --on-status: #16181b; --line: #3c4043; --muted: #a8adb3; --track: #2a2d31; }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--fg); background: var(--bg); max-width: 1100px; margin: 0 auto;
       padding: 24px; overflow-wrap: anywhere; }
a { color: var(--info); }
h1 { font-size: 1.5em; margin: 0 0 4px; }
h2 { font-size: 1.2em; border-bottom: 1px solid var(--line); padding-bottom: 4px; margin-top: 2em; }
h3 { font-size: 1.05em; margin: 1.4em 0 0.4em; }
code, pre, .object { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
                     font-size: 0.92em; }
pre { background: var(--code-bg); border: 1px solid var(--line); border-radius: 4px;
      padding: 8px 10px; overflow-x: auto; overflow-wrap: normal; }
.meta { color: var(--muted); margin: 0; }
.status { display: inline-block; font-weight: 600; padding: 6px 12px; border-radius: 4px;
          color: var(--on-status); margin: 12px 0 4px; }
.status-ok { background: var(--ok); } .status-warning { background: var(--warning); }
.status-critical { background: var(--critical); } .status-unknown { background: var(--unknown); }
.counts span { margin-right: 16px; display: inline-block; }
.finding { border-left: 4px solid var(--line); padding: 4px 12px; margin: 10px 0;
           break-inside: avoid; min-width: 0; }
.finding p { margin: 2px 0; }
.repair { margin: 6px 0 2px; }
.sev-critical { border-color: var(--critical); } .sev-warning { border-color: var(--warning); }
.sev-unknown { border-color: var(--unknown); } .sev-info { border-color: var(--info); }
.label { font-weight: 600; font-size: 0.85em; text-transform: uppercase; }
.label.sev-critical { color: var(--critical); } .label.sev-warning { color: var(--warning); }
.label.sev-unknown { color: var(--unknown); } .label.sev-info { color: var(--info); }
.scroll { overflow-x: auto; max-width: 100%; margin: 8px 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line);
         vertical-align: top; overflow-wrap: normal; }
td code { white-space: nowrap; }
td.number, th.number { text-align: right; white-space: nowrap; }
th button { font: inherit; font-weight: 600; color: inherit; background: none; border: 0;
            padding: 0; cursor: pointer; text-align: inherit; }
th[aria-sort=ascending] button::after { content: " \\25B2"; }
th[aria-sort=descending] button::after { content: " \\25BC"; }
.tools input { font: inherit; padding: 4px 8px; width: min(100%, 22em); color: var(--fg);
               background: var(--bg); border: 1px solid var(--line); border-radius: 4px; }
details summary { cursor: pointer; color: var(--info); margin: 8px 0; }
svg.bar { width: 120px; height: 12px; vertical-align: middle; }
.bar .track { fill: var(--track); stroke: var(--muted); stroke-width: 1;
              vector-effect: non-scaling-stroke; }
.fill-ok { fill: var(--ok); } .fill-warning { fill: var(--warning); }
.fill-critical { fill: var(--critical); }
figure { margin: 16px 0; break-inside: avoid; max-width: 640px; }
figcaption { color: var(--muted); font-size: 0.9em; }
svg.chart { display: block; width: 100%; height: auto; }
.chart text { font: 14px system-ui, sans-serif; fill: var(--fg); }
.chart .plot { fill: var(--bg); stroke: none; }
.chart .limit { stroke: var(--critical); stroke-dasharray: 4 3; }
.chart .end { stroke: var(--critical); }
.chart .data { fill: none; stroke: var(--info); stroke-width: 2; }
.chart .projection { stroke: var(--info); stroke-dasharray: 6 4; }
.chart .axis { stroke: var(--muted); }
.chart circle { fill: var(--info); }
footer { color: var(--muted); font-size: 0.85em; margin-top: 3em; }
@media (max-width: 600px) {
  body { padding: 12px; font-size: 14px; }
  .chart text { font-size: 19px; }  /* the chart is drawn at about half its size */
  .counts span { margin-right: 10px; }
}
@media print {
  body { padding: 0; font-size: 11pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
  .tools { display: none; }
}
"""

# Sorts a table by the column whose header is clicked (by each cell's data-sort
# number when it has one, else by its text), and filters each section's rows by
# what is typed. It reads names from the page's text, never from its own code.
SCRIPT = """
"use strict";
function key(cell) {
  var value = cell.getAttribute("data-sort");
  return value === null ? cell.textContent.trim().toLowerCase() : parseFloat(value);
}
document.querySelectorAll("table.sortable th button").forEach(function (button) {
  button.addEventListener("click", function () {
    var th = button.parentNode, table = th.closest("table"), body = table.tBodies[0];
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var up = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th").forEach(function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", up ? "ascending" : "descending");
    Array.prototype.slice.call(body.rows).sort(function (a, b) {
      var x = key(a.cells[index]), y = key(b.cells[index]);
      var order = typeof x === "number" ? x - y : x.localeCompare(y);
      return up ? order : -order;
    }).forEach(function (row) { body.appendChild(row); });
  });
});
document.querySelectorAll(".tools").forEach(function (tools) {
  var input = tools.querySelector("input"), section = tools.closest("section");
  tools.hidden = false;
  input.addEventListener("input", function () {
    var words = input.value.trim().toLowerCase();
    section.querySelectorAll("tbody tr").forEach(function (row) {
      row.hidden = words !== "" && row.textContent.toLowerCase().indexOf(words) < 0;
    });
    if (words) { section.querySelectorAll("details").forEach(function (d) { d.open = true; }); }
  });
});
"""


def _digest(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# Only the page's own style sheet and script run; nothing is fetched, no form is sent.
POLICY = (
    f"default-src 'none'; style-src {_digest(STYLE)}; script-src {_digest(SCRIPT)}; "
    "base-uri 'none'; form-action 'none'"
)


def escape(text: str) -> str:
    r"""*text* for HTML: markup escaped, and characters a terminal or browser acts on shown.

    >>> escape('<b>"t\x1b[2J"')
    '&lt;b&gt;&quot;t\\x1b[2J&quot;'
    """
    return html.escape(printable(text, keep="\n"))


def render(report: Report, out: TextIO, plans: Sequence[Plan] | None = None) -> None:
    """The report of one database; *plans*: the repairs ``seqdoctor fix`` plans for it.

    Without *plans* they are planned from the audit's snapshot alone: the
    statements are the same, but without what fix also reads (every column a
    sequence feeds, dependent views, table sizes) a widening may differ, and
    the page says so.
    """
    database = report.snapshot.server.database
    body = _report(report, 2, _Repairs.of(report, plans))
    out.write(_page(f"seqdoctor: {database} - {report.status.name}", body))


def render_fleet(fleet: FleetReport, out: TextIO) -> None:
    body = [
        "<header>",
        f"<h1>seqdoctor report: {plural(len(fleet.results), 'database')}</h1>",
        f'<p class="status status-{fleet.status}">{escape(fleet.headline())}</p>',
        "</header>",
        "<section>",
        *_table(
            "databases",
            [("database", False), ("status", False), ("findings", False)],
            [
                f"<tr><td><code>{escape(result.target.name)}</code></td>"
                f'<td data-sort="{result.status.exit_status}">'
                f'<span class="label sev-{_severity_class(str(result.status))}">'
                f"{result.status}</span></td><td>{escape(_summary(result))}</td></tr>"
                for result in fleet.results
            ],
            [],
        ),
        "</section>",
    ]
    for index, result in enumerate(fleet.results, 1):
        if result.report is not None:
            repairs = _Repairs.of(result.report, None, prefix=f"db{index}-")
            body.append(f"<section><h2>{escape(result.target.name)}</h2>")
            body.extend(_report(result.report, 3, repairs))
            body.append("</section>")
    out.write(_page(f"seqdoctor: {len(fleet.results)} databases - {fleet.status.name}", body))


def _summary(result: TargetResult) -> str:
    return result.report.headline() if result.report else f"UNKNOWN: {result.error}"


def _page(title: str, body: Sequence[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title>",
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            *body,
            f"<script>{SCRIPT}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )


def _severity_class(status: str) -> str:
    return "info" if status == "ok" else status


@dataclass(frozen=True)
class _Repairs:
    """The plans for one report's findings, numbered as ``seqdoctor fix`` numbers them."""

    plans: tuple[Plan, ...]
    complete: bool  # planned with what fix reads beyond the audit
    prefix: str = ""  # of the page's anchors: a fleet's page holds many reports
    # Each finding's plans by the finding's id(): looked up once per finding, not searched.
    by_finding: Mapping[int, list[tuple[int, Plan]]] = field(default_factory=dict)

    @classmethod
    def of(cls, report: Report, plans: Sequence[Plan] | None, prefix: str = "") -> _Repairs:
        complete = plans is not None
        planned = plan_repairs(report) if plans is None else tuple(plans)
        by_finding: dict[int, list[tuple[int, Plan]]] = {}
        for n, plan in enumerate(planned, 1):
            for finding in plan.findings:
                by_finding.setdefault(id(finding), []).append((n, plan))
        return cls(planned, complete, prefix, by_finding)

    def of_finding(self, finding: Finding) -> list[tuple[int, Plan]]:
        return self.by_finding.get(id(finding), [])

    def anchor(self, name: str) -> str:
        return f"{self.prefix}{name}"


def _report(report: Report, level: int, repairs: _Repairs) -> list[str]:
    """One database's report; *level* is the heading level of its sections."""
    snapshot = report.snapshot
    h = f"h{level}"
    lines = [
        "<header>",
        f"<h1>seqdoctor report: database <code>{escape(snapshot.server.database)}</code></h1>"
        if level == 2
        else "",
        f'<p class="meta">PostgreSQL {escape(snapshot.server.server_version)} · checked '
        f"{report.checked_at:%Y-%m-%d %H:%M} UTC · {report.duration_seconds:.2f} s · "
        f"{plural(len(snapshot.sequences), 'sequence')}, {plural(len(snapshot.uses), 'column')} · "
        f"seqdoctor {escape(report.tool_version)}</p>",
        f'<p class="status status-{report.status}">{escape(report.headline())}</p>',
        '<p class="counts">'
        + "".join(
            f'<span class="label sev-{severity}">{severity}: {report.counts()[severity]}</span>'
            for severity in SEVERITY_ORDER
        )
        + "</p>",
        "</header>",
    ]
    lines += _findings(report, h, repairs)
    found = list(forecasts(snapshot))  # the forecast and the capacity sections share them
    lines += _forecast(report, found, h, repairs.anchor("forecast"))
    lines += _capacity(report, found, h, repairs.anchor("capacity"))
    lines += _explanations(report, h, repairs)
    lines.append(
        f"<footer>Generated by seqdoctor {escape(report.tool_version)}. "
        "<code>seqdoctor fix</code> prints the repairs as a psql script and "
        "<code>--apply</code> runs them; "
        "<code>seqdoctor explain CODE</code> explains a check.</footer>"
    )
    return [line for line in lines if line]


def _findings(report: Report, h: str, repairs: _Repairs) -> Iterator[str]:
    yield f'<section id="{repairs.anchor("findings")}"><{h}>Findings</{h}>'
    if not report.findings:
        yield "<p>No findings: every sequence checked is healthy.</p>"
    if repairs.plans and not repairs.complete:
        yield (
            "<p>The repairs below were planned from the audit alone: "
            "<code>seqdoctor fix</code> also reads the views that depend on a column and the "
            "tables' sizes, and may plan a widening differently.</p>"
        )
    shown: set[int] = set()  # the plans whose statements are already on the page
    for severity in SEVERITY_ORDER:
        found = [f for f in report.findings if f.severity is severity]
        if not found:
            continue
        yield f'<h3 class="label sev-{severity}">{severity} ({len(found)})</h3>'
        # Many informational findings (a serial column each, say) would bury the rest.
        folded = severity is Severity.INFO and len(found) > FOLD_PAST
        if folded:
            yield f"<details><summary>Show all {number(len(found))} {severity} findings</summary>"
        yield from (_finding(f, repairs, shown) for f in found)
        if folded:
            yield "</details>"
    yield "</section>"


def _finding(finding: Finding, repairs: _Repairs, shown: set[int]) -> str:
    subject = finding.column or finding.sequence
    parts = [
        f'<article class="finding sev-{finding.severity}">',
        f'<p><a href="#{repairs.anchor(finding.code)}"><strong>{finding.code}</strong></a> '
        f"{finding.check}"
        + (f' · <span class="object">{escape(str(subject))}</span>' if subject else "")
        + "</p>",
        f"<p>{escape(finding.message)}</p>",
    ]
    remedy = finding.details.get("remedy")
    if remedy:
        parts.append(f'<p>Fix:</p><pre class="sql">{escape(str(remedy))}</pre>')
    for n, plan in repairs.of_finding(finding):
        link = f'<a href="#{repairs.anchor(f"repair-{n}")}">repair {n}</a>'
        if n in shown:
            parts.append(f'<p class="repair">How to fix: {link} above, {plan.safety}.</p>')
            continue
        shown.add(n)
        script = "\n".join(script_item(n, plan, RepairOptions().timeouts)).strip("\n")
        # The statements fold under their title: a report of many findings stays scannable.
        parts += [
            f'<details class="repair" id="{repairs.anchor(f"repair-{n}")}"><summary>How to fix '
            f"({escape(label(plan))}, {plan.safety}): {escape(plan.title)}</summary>",
            f'<pre class="sql">{escape(script)}</pre></details>',
        ]
    parts.append("</article>")
    return "\n".join(parts)


def _table(
    name: str, header: Sequence[tuple[str, bool]], rows: Sequence[str], healthy: Sequence[str]
) -> Iterator[str]:
    """A sortable table of *rows*, and the *healthy* rows folded behind "show all" when many.

    *header* is each column's title and whether it holds numbers; a row's
    cells may carry a ``data-sort`` number to sort by.
    """
    head = "".join(
        f'<th scope="col"{" class=number" if numeric else ""}>'
        f'<button type="button">{title}</button></th>'
        for title, numeric in header
    )

    def table(body: Sequence[str]) -> str:
        return (
            f'<div class="scroll"><table class="sortable"><thead><tr>{head}</tr></thead>'
            "<tbody>\n" + "\n".join(body) + "\n</tbody></table></div>"
        )

    yield (
        f'<p class="tools" hidden><label>Filter <input type="search" '
        f'aria-label="filter the {name}" placeholder="part of a name"></label></p>'
    )
    if len(healthy) <= FOLD_PAST:
        yield table([*rows, *healthy])
        return
    if rows:
        yield table(rows)
    yield f"<details><summary>Show all {number(len(healthy))} healthy {name}</summary>"
    yield table(healthy)
    yield "</details>"


def _forecast(report: Report, found: Sequence[Forecast], h: str, anchor: str) -> Iterator[str]:
    rows = by_days_left(judged_of(found))
    dated = [f for f in rows if f.days_left is not None]
    if not dated:
        return
    settings = report.settings
    at_risk = [f for f in dated if _at_risk(report, f)]
    yield f'<section id="{anchor}"><{h}>Exhaustion forecast</{h}>'
    yield from _table(
        "forecasts",
        [
            ("column or sequence", False),
            ("type", False),
            ("used", True),
            ("values a day", True),
            ("runs out", True),
            ("basis", False),
        ],
        [_forecast_row(f) for f in at_risk],
        [_forecast_row(f) for f in dated if not _at_risk(report, f)],
    )
    if len(dated) - len(at_risk) > FOLD_PAST and not at_risk:
        yield (
            f"<p>None runs out within {settings.warning_days:g} days, "
            f"nor has used {percent(settings.warning_ratio)} of its range.</p>"
        )
    for forecast in at_risk:
        yield from _chart(report, forecast)
    yield "</section>"


def _at_risk(report: Report, forecast: Forecast) -> bool:
    settings, days = report.settings, forecast.days_left
    return (days is not None and days < settings.warning_days) or (
        forecast.used_ratio >= settings.warning_ratio
    )


def _forecast_row(forecast: Forecast) -> str:
    rate, when, days = forecast.rate, forecast.exhausted_at, forecast.days_left
    # Only dated forecasts have a row: running out, so with a rate and a date.
    assert rate is not None
    assert when is not None
    assert days is not None
    return (
        f"<tr><td><code>{escape(forecast.subject)}</code></td><td>{_type(forecast)}</td>"
        f"<td class='number' data-sort='{forecast.used_ratio!r}'>"
        f"{percent(forecast.used_ratio)}</td>"
        f"<td class='number' data-sort='{rate.per_day!r}'>{per_day(rate.per_day)}</td>"
        f"<td class='number' data-sort='{days!r}'>{when:%Y-%m-%d} ({in_days(days)})</td>"
        f"<td>{escape(rate.describe())}</td></tr>"
    )


def _type(forecast: Forecast) -> str:
    return escape(forecast.column.column_type if forecast.column else forecast.sequence.data_type)


def _chart(report: Report, forecast: Forecast) -> Iterator[str]:
    """The sequence's recorded positions, and the line to its limit: only with a history.

    The data stays inside the plot area, which runs from the first position
    (bottom) to the limit (top): every label is in the margins around it.
    """
    activity = report.snapshot.activity
    history = activity.history.get(forecast.sequence.oid, ()) if activity else ()
    when, now = forecast.exhausted_at, forecast.now
    sequence = forecast.sequence
    if not history or when is None or now is None or sequence.last_value is None:
        return
    current = handed_out(sequence.last_value, bool(sequence.is_called), sequence.increment_by)
    points = [(p.at, p.value) for p in history if p.at < now] + [(now, current)]
    start, limit = points[0], forecast.limit
    sign = 1 if sequence.ascending else -1
    # Plotted as the distance travelled from the first position, in the sequence's direction.
    height = max((limit - start[1]) * sign, 1)
    right, bottom = CHART_WIDTH - RIGHT, CHART_HEIGHT - BOTTOM

    def x(moment: datetime) -> float:
        span = (when - start[0]).total_seconds() or 1.0
        return LEFT + (moment - start[0]).total_seconds() / span * (right - LEFT)

    def y(value: int) -> float:
        travelled = min(max((value - start[1]) * sign, 0) / height, 1.0)
        return bottom - travelled * (bottom - TOP)

    line = " ".join(f"{x(at):.1f},{y(v):.1f}" for at, v in points)
    dots = "".join(f'<circle cx="{x(at):.1f}" cy="{y(v):.1f}" r="2.5"/>' for at, v in points)
    # "now" starts at its position, or ends there in the right half: inside the chart either way.
    now_anchor = "end" if x(now) > CHART_WIDTH / 2 else "start"
    title = f"{forecast.subject}: position over time, projected to {number(limit)}"
    yield "<figure>"
    yield (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg"'
        f' viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" role="img" aria-label="{escape(title)}">'
        f'<rect class="plot" x="{LEFT}" y="{TOP}" width="{right - LEFT}"'
        f' height="{bottom - TOP}"/>'
        f'<line class="limit" x1="{LEFT}" y1="{TOP}" x2="{right}" y2="{TOP}"/>'
        f'<line class="end" x1="{x(when):.1f}" y1="{TOP}" x2="{x(when):.1f}" y2="{bottom}"/>'
        f'<line class="axis" x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}"/>'
        f'<polyline class="data" points="{line}"/>{dots}'
        f'<line class="projection" x1="{x(now):.1f}" y1="{y(current):.1f}"'
        f' x2="{x(when):.1f}" y2="{TOP}"/>'
        f'<text x="{LEFT}" y="{TOP - 12}">limit {number(limit)}</text>'
        f'<text x="{right}" y="{TOP - 12}" text-anchor="end">runs out {when:%Y-%m-%d}</text>'
        f'<text x="{LEFT}" y="{bottom + 22}">{start[0]:%Y-%m-%d}: {number(start[1])}</text>'
        f'<text x="{x(now):.1f}" y="{bottom + 48}" text-anchor="{now_anchor}">'
        f"now {number(current)}</text>"
        "</svg>"
    )
    yield f"<figcaption>{escape(title)}.</figcaption>"
    yield "</figure>"


def _capacity(report: Report, found: Sequence[Forecast], h: str, anchor: str) -> Iterator[str]:
    columns = sorted(
        (f for f in found if f.column is not None),
        key=lambda f: (-f.used_ratio, f.subject),
    )
    if not columns:
        return
    settings = report.settings
    yield f'<section id="{anchor}"><{h}>Capacity</{h}>'
    yield "<p>Share of each sequence-fed integer column's range used, fullest first.</p>"
    at_risk = [f for f in columns if settings.severity_for(f.used_ratio)]
    healthy = [f for f in columns if not settings.severity_for(f.used_ratio)]
    yield from _table(
        "columns",
        [
            ("column", False),
            ("type", False),
            ("used", True),
            ("values left", True),
            ("limited by", False),
        ],
        [_capacity_row(report, f) for f in at_risk],
        [_capacity_row(report, f) for f in healthy],
    )
    if len(healthy) > FOLD_PAST and not at_risk:
        yield f"<p>No column has used {percent(settings.warning_ratio)} of its range.</p>"
    yield "</section>"


def _capacity_row(report: Report, forecast: Forecast) -> str:
    ratio = forecast.used_ratio
    fill = report.settings.severity_for(ratio) or "ok"
    return (
        f"<tr><td><code>{escape(forecast.subject)}</code></td><td>{_type(forecast)}</td>"
        f"<td class='number' data-sort='{ratio!r}'>"
        f'<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">'
        f'<rect class="track" width="100" height="10"/>'
        f'<rect class="fill-{fill}" width="{ratio * 100:.1f}" height="10"/></svg> '
        f"{percent(ratio)}</td>"
        f"<td class='number' data-sort='{forecast.values_left}'>"
        f"{number(forecast.values_left)}</td>"
        f"<td>{escape(_limited_by(forecast))}</td></tr>"
    )


def _limited_by(forecast: Forecast) -> str:
    if forecast.column is None or forecast.limited_by == "sequence":
        return f"sequence {forecast.sequence.qualified}"
    return TYPE_NAMES.get(forecast.column.type_name, forecast.limited_by)


def _explanations(report: Report, h: str, repairs: _Repairs) -> Iterator[str]:
    codes = sorted({f.code for f in report.findings})
    if not codes:
        return
    yield f'<section id="{repairs.anchor("explanations")}"><{h}>What the findings mean</{h}>'
    for code in codes:
        check = REGISTRY.get(code)
        yield f'<h3 id="{repairs.anchor(code)}">{code} {check.name}</h3>'
        yield f"<p><em>{escape(check.summary)}.</em></p>"
        found = sections(check.documentation)
        planned = [n for n, plan in enumerate(repairs.plans, 1) if code in plan.codes]
        for heading in EXPLAINED:
            yield f"<h4>{heading}</h4>"
            if heading == "How to fix" and planned:
                # The documentation's example names tables this database may not have.
                links = ", ".join(
                    f'<a href="#{repairs.anchor(f"repair-{n}")}">repair {n}</a>' for n in planned
                )
                yield f"<p>The statements for this database are with the findings: {links}.</p>"
            else:
                yield from doc_html(found.get(heading, ""))
    yield "</section>"


def sections(documentation: str) -> dict[str, str]:
    """A check's documentation by section: a heading alone on its line, then its indented body."""
    found: dict[str, str] = {}
    heading = None
    for line in documentation.splitlines()[1:]:
        if line and not line[0].isspace():
            heading = line.strip()
            found[heading] = ""
        elif heading is not None:
            found[heading] += line + "\n"
    return found


def doc_html(body: str) -> Iterator[str]:
    """A section's text as HTML: paragraphs, and the literal blocks after ``::`` as code.

    >>> list(doc_html("    Widen it::\\n\\n        ALTER SEQUENCE s AS bigint;\\n\\n    Then.\\n"))
    ['<p>Widen it:</p>', '<pre>ALTER SEQUENCE s AS bigint;</pre>', '<p>Then.</p>']
    """
    lines = body.splitlines()
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    base = min(indents, default=0)
    blocks: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            blocks[-1].append(line[base:])
        elif blocks[-1]:
            blocks.append([])
    literal = False
    for block in filter(None, blocks):
        if literal and block[0].startswith(" "):
            code = "\n".join(line[_indent(block) :] for line in block)
            yield f"<pre>{escape(code)}</pre>"
            continue
        text = " ".join(line.strip() for line in block)
        literal = text.endswith("::")
        text = escape(text.removesuffix(":") if literal else text)
        yield "<p>" + re.sub(r"``(.+?)``", r"<code>\1</code>", text) + "</p>"


def _indent(block: Sequence[str]) -> int:
    return min(len(line) - len(line.lstrip()) for line in block if line.strip())
