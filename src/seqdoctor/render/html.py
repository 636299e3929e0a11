"""The HTML report: one self-contained page to read, attach to a ticket, or print.

No script, no font, no image from anywhere: styles and charts are inline
(SVG), so the file shows the same offline, in a mail client, and on paper.
It has the status, the findings with what they mean and how to fix them, the
exhaustion forecast with a chart of each at-risk sequence's positions when a
history exists, and a capacity bar per column.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Sequence
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
from seqdoctor.fleet import FleetReport
from seqdoctor.report import Report

SEVERITY_ORDER = (Severity.CRITICAL, Severity.UNKNOWN, Severity.WARNING, Severity.INFO)
EXPLAINED = ("Why it matters", "How to fix", "Fix safety")
CHART_WIDTH, CHART_HEIGHT, MARGIN = 640, 220, 48

STYLE = """
:root { --critical: #b3261e; --unknown: #7b1fa2; --warning: #a15c00; --info: #1f5f8b;
        --ok: #2e7d32; --line: #d0d4d9; --muted: #5f6368; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b;
       max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { font-size: 1.5em; margin: 0 0 4px; }
h2 { font-size: 1.2em; border-bottom: 1px solid var(--line); padding-bottom: 4px; margin-top: 2em; }
h3 { font-size: 1.05em; margin: 1.4em 0 0.4em; }
code, pre, .object { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
                     font-size: 0.92em; }
pre { background: #f5f6f7; border: 1px solid var(--line); border-radius: 4px; padding: 8px 10px;
      white-space: pre-wrap; word-break: break-word; }
.meta { color: var(--muted); margin: 0; }
.status { display: inline-block; font-weight: 600; padding: 6px 12px; border-radius: 4px;
          color: #fff; margin: 12px 0 4px; }
.status-ok { background: var(--ok); } .status-warning { background: var(--warning); }
.status-critical { background: var(--critical); } .status-unknown { background: var(--unknown); }
.counts span { margin-right: 16px; }
.finding { border-left: 4px solid var(--line); padding: 4px 12px; margin: 10px 0;
           break-inside: avoid; }
.finding p { margin: 2px 0; }
.sev-critical { border-color: var(--critical); } .sev-warning { border-color: var(--warning); }
.sev-unknown { border-color: var(--unknown); } .sev-info { border-color: var(--info); }
.label { font-weight: 600; font-size: 0.85em; text-transform: uppercase; }
.label.sev-critical { color: var(--critical); } .label.sev-warning { color: var(--warning); }
.label.sev-unknown { color: var(--unknown); } .label.sev-info { color: var(--info); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line);
         vertical-align: top; }
td.number, th.number { text-align: right; white-space: nowrap; }
.bar { width: 160px; height: 12px; border: 1px solid #9aa0a6; background: #fff;
       display: inline-block; vertical-align: middle; }
.bar span { display: block; height: 100%; }
.fill-ok { background: var(--ok); } .fill-warning { background: var(--warning); }
.fill-critical { background: var(--critical); }
figure { margin: 16px 0; break-inside: avoid; }
figcaption { color: var(--muted); font-size: 0.9em; }
svg text { font: 11px system-ui, sans-serif; fill: #3c4043; }
footer { color: var(--muted); font-size: 0.85em; margin-top: 3em; }
@media print {
  body { padding: 0; font-size: 11pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
}
"""


def escape(text: str) -> str:
    r"""*text* for HTML: markup escaped, and characters a terminal or browser acts on shown.

    >>> escape('<b>"t\x1b[2J"')
    '&lt;b&gt;&quot;t\\x1b[2J&quot;'
    """
    return html.escape(printable(text, keep="\n"))


def render(report: Report, out: TextIO) -> None:
    database = report.snapshot.server.database
    out.write(_page(f"seqdoctor: {database} - {report.status.name}", _report(report, 2)))


def render_fleet(fleet: FleetReport, out: TextIO) -> None:
    body = [
        "<header>",
        f"<h1>seqdoctor report: {plural(len(fleet.results), 'database')}</h1>",
        f'<p class="status status-{fleet.status}">{escape(fleet.headline())}</p>',
        "</header>",
        "<table><tr><th>database</th><th>status</th><th>findings</th></tr>",
    ]
    for result in fleet.results:
        summary = result.report.headline() if result.report else f"UNKNOWN: {result.error}"
        body.append(
            f"<tr><td><code>{escape(result.target.name)}</code></td>"
            f'<td><span class="label sev-{_severity_class(str(result.status))}">'
            f"{result.status}</span></td><td>{escape(summary)}</td></tr>"
        )
    body.append("</table>")
    for result in fleet.results:
        if result.report is not None:
            body.append(f"<section><h2>{escape(result.target.name)}</h2>")
            body.extend(_report(result.report, 3))
            body.append("</section>")
    out.write(_page(f"seqdoctor: {len(fleet.results)} databases - {fleet.status.name}", body))


def _page(title: str, body: Sequence[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title>",
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            *body,
            "</body>",
            "</html>",
            "",
        ]
    )


def _severity_class(status: str) -> str:
    return "info" if status == "ok" else status


def _report(report: Report, level: int) -> list[str]:
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
    lines += _findings(report, h)
    found = list(forecasts(snapshot))  # the forecast and the capacity sections share them
    lines += _forecast(report, found, h)
    lines += _capacity(report, found, h)
    lines += _explanations(report, h)
    lines.append(
        f"<footer>Generated by seqdoctor {escape(report.tool_version)}. "
        "<code>seqdoctor fix</code> prints the exact statements that repair these findings; "
        "<code>seqdoctor explain CODE</code> explains a check.</footer>"
    )
    return [line for line in lines if line]


def _findings(report: Report, h: str) -> Iterator[str]:
    yield f'<section id="findings"><{h}>Findings</{h}>'
    if not report.findings:
        yield "<p>No findings: every sequence checked is healthy.</p>"
    for severity in SEVERITY_ORDER:
        found = [f for f in report.findings if f.severity is severity]
        if found:
            yield f'<h3 class="label sev-{severity}">{severity} ({len(found)})</h3>'
            yield from (_finding(f) for f in found)
    yield "</section>"


def _finding(finding: Finding) -> str:
    subject = finding.column or finding.sequence
    parts = [
        f'<article class="finding sev-{finding.severity}">',
        f'<p><a href="#{finding.code}"><strong>{finding.code}</strong></a> {finding.check}'
        + (f' · <span class="object">{escape(str(subject))}</span>' if subject else "")
        + "</p>",
        f"<p>{escape(finding.message)}</p>",
    ]
    remedy = finding.details.get("remedy")
    if remedy:
        parts.append(f'<p>Fix:</p><pre class="sql">{escape(str(remedy))}</pre>')
    parts.append("</article>")
    return "\n".join(parts)


def _forecast(report: Report, found: Sequence[Forecast], h: str) -> Iterator[str]:
    rows = by_days_left(judged_of(found))
    dated = [f for f in rows if f.days_left is not None]
    if not dated:
        return
    yield f'<section id="forecast"><{h}>Exhaustion forecast</{h}>'
    yield (
        "<table><tr><th>column or sequence</th><th>type</th><th class='number'>used</th>"
        "<th class='number'>values a day</th><th class='number'>runs out</th><th>basis</th></tr>"
    )
    for forecast in dated:
        rate, when, days = forecast.rate, forecast.exhausted_at, forecast.days_left
        if rate is None or when is None or days is None:
            continue
        yield (
            f"<tr><td><code>{escape(forecast.subject)}</code></td><td>{_type(forecast)}</td>"
            f"<td class='number'>{percent(forecast.used_ratio)}</td>"
            f"<td class='number'>{per_day(rate.per_day)}</td>"
            f"<td class='number'>{when:%Y-%m-%d} ({in_days(days)})</td>"
            f"<td>{escape(rate.describe())}</td></tr>"
        )
    yield "</table>"
    settings = report.settings
    for forecast in dated:
        days = forecast.days_left
        at_risk = days is not None and days < settings.warning_days
        if at_risk or forecast.used_ratio >= settings.warning_ratio:
            yield from _chart(report, forecast)
    yield "</section>"


def _type(forecast: Forecast) -> str:
    return escape(forecast.column.column_type if forecast.column else forecast.sequence.data_type)


def _chart(report: Report, forecast: Forecast) -> Iterator[str]:
    """The sequence's recorded positions, and the line to its limit: only with a history."""
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

    def x(moment: datetime) -> float:
        span = (when - start[0]).total_seconds() or 1.0
        return MARGIN + (moment - start[0]).total_seconds() / span * (CHART_WIDTH - 2 * MARGIN)

    def y(value: int) -> float:
        travelled = max((value - start[1]) * sign, 0) / height
        return CHART_HEIGHT - MARGIN - travelled * (CHART_HEIGHT - 2 * MARGIN)

    line = " ".join(f"{x(at):.1f},{y(v):.1f}" for at, v in points)
    dots = "".join(
        f'<circle cx="{x(at):.1f}" cy="{y(v):.1f}" r="2.5" fill="#1f5f8b"/>' for at, v in points
    )
    title = f"{forecast.subject}: position over time, projected to {number(limit)}"
    yield "<figure>"
    yield (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" height="{CHART_HEIGHT}"'
        f' viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" role="img" aria-label="{escape(title)}">'
        f'<rect x="0" y="0" width="{CHART_WIDTH}" height="{CHART_HEIGHT}" fill="#fff"/>'
        f'<line x1="{MARGIN}" y1="{y(limit):.1f}" x2="{CHART_WIDTH - MARGIN}" y2="{y(limit):.1f}"'
        ' stroke="#b3261e" stroke-dasharray="4 3"/>'
        f'<text x="{MARGIN}" y="{y(limit) - 6:.1f}">limit {number(limit)}</text>'
        f'<line x1="{x(when):.1f}" y1="{MARGIN / 2}" x2="{x(when):.1f}"'
        f' y2="{CHART_HEIGHT - MARGIN}" stroke="#b3261e"/>'
        f'<text x="{x(when) - 4:.1f}" y="{MARGIN / 2 - 4}" text-anchor="end">'
        f"runs out {when:%Y-%m-%d}</text>"
        f'<polyline points="{line}" fill="none" stroke="#1f5f8b" stroke-width="2"/>{dots}'
        f'<line x1="{x(now):.1f}" y1="{y(current):.1f}" x2="{x(when):.1f}" y2="{y(limit):.1f}"'
        ' stroke="#1f5f8b" stroke-dasharray="6 4"/>'
        f'<line x1="{MARGIN}" y1="{CHART_HEIGHT - MARGIN}" x2="{CHART_WIDTH - MARGIN}"'
        f' y2="{CHART_HEIGHT - MARGIN}" stroke="#9aa0a6"/>'
        f'<text x="{MARGIN}" y="{CHART_HEIGHT - MARGIN + 16}">{start[0]:%Y-%m-%d}</text>'
        f'<text x="{x(now):.1f}" y="{CHART_HEIGHT - MARGIN + 30}" text-anchor="middle">'
        f"now {now:%Y-%m-%d}</text>"
        f'<text x="{MARGIN + 4}" y="{y(start[1]) - 8:.1f}">{number(start[1])}</text>'
        "</svg>"
    )
    yield f"<figcaption>{escape(title)}.</figcaption>"
    yield "</figure>"


def _capacity(report: Report, found: Sequence[Forecast], h: str) -> Iterator[str]:
    columns = sorted(
        (f for f in found if f.column is not None),
        key=lambda f: (-f.used_ratio, f.subject),
    )
    if not columns:
        return
    settings = report.settings
    yield f'<section id="capacity"><{h}>Capacity</{h}>'
    yield "<p>Share of each sequence-fed integer column's range used, fullest first.</p>"
    yield (
        "<table><tr><th>column</th><th>type</th><th>used</th><th class='number'></th>"
        "<th class='number'>values left</th><th>limited by</th></tr>"
    )
    for forecast in columns:
        ratio = forecast.used_ratio
        fill = settings.severity_for(ratio) or "ok"
        yield (
            f"<tr><td><code>{escape(forecast.subject)}</code></td><td>{_type(forecast)}</td>"
            f'<td><span class="bar"><span class="fill-{fill}" style="width: {ratio * 100:.1f}%">'
            f"</span></span></td><td class='number'>{percent(ratio)}</td>"
            f"<td class='number'>{number(forecast.values_left)}</td>"
            f"<td>{escape(_limited_by(forecast))}</td></tr>"
        )
    yield "</table></section>"


def _limited_by(forecast: Forecast) -> str:
    if forecast.column is None or forecast.limited_by == "sequence":
        return f"sequence {forecast.sequence.qualified}"
    return TYPE_NAMES.get(forecast.column.type_name, forecast.limited_by)


def _explanations(report: Report, h: str) -> Iterator[str]:
    codes = sorted({f.code for f in report.findings})
    if not codes:
        return
    yield f'<section id="explanations"><{h}>What the findings mean</{h}>'
    for code in codes:
        check = REGISTRY.get(code)
        yield f'<h3 id="{code}">{code} {check.name}</h3>'
        yield f"<p><em>{escape(check.summary)}.</em></p>"
        found = sections(check.documentation)
        for heading in EXPLAINED:
            yield f"<h4>{heading}</h4>"
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
