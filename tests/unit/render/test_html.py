"""The HTML page: one script and one style sheet of its own, names only as text, rows folded."""

from __future__ import annotations

import base64
import hashlib
import io
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from seqdoctor.checks import Settings, run_checks
from seqdoctor.fleet import FleetReport, Target, TargetResult
from seqdoctor.render import html
from seqdoctor.repairs import plan_repairs
from seqdoctor.report import Report
from tests.unit.factories import column, holding, sequence, snapshot
from tests.unit.render.sample import sample_report
from tests.unit.render.test_display import NAMES

NOW = datetime(2026, 11, 22, tzinfo=UTC)


class Page(HTMLParser):
    """The elements of a page, their attributes, and its inline script and style."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline: dict[str, list[str]] = {"script": [], "style": []}
        self._in: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in = tag if tag in self.inline else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.inline[self._in].append(data)


def page_of(report: Report, **options: object) -> str:
    out = io.StringIO()
    html.render(report, out, **options)  # type: ignore[arg-type]
    return out.getvalue()


def digest(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def report_of(*names: tuple[str, str], healthy: int = 0) -> Report:
    """A drifted column per (table, column) name, public.orders.id 93 % used, and *healthy*
    columns at 0 %."""
    full = sequence("orders_id_seq", type_name="int8", last_value=2_000_000_000)
    orders = column("orders", "id", fed_by=full, type_name="int4")
    objects: list[object] = [full, orders]
    extents = {orders: holding(1, 2_000_000_000)}
    for table, name in names:
        fed = sequence(f"{table}_seq")
        use = column(table, name, fed_by=fed)
        objects += [fed, use]
        extents[use] = holding(1, 40, first_collision=1)
    for n in range(healthy):
        fed = sequence(f"t{n}_id_seq", type_name="int8", last_value=n + 1)
        use = column(f"t{n}", "id", fed_by=fed, type_name="int8")
        objects += [fed, use]
        extents[use] = holding(1, n + 1)
    snap = snapshot(*objects, extents=extents)  # type: ignore[arg-type]
    found = tuple(run_checks(snap, Settings()))
    return Report("0.1.0", NOW, 0.01, snap, found, Settings(), checks=("SEQ001", "SEQ002"))


def test_the_policy_lets_only_the_pages_own_script_and_style_run() -> None:
    page = Page(page_of(sample_report()))
    policy = [
        a["content"] for tag, a in page.tags if a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert policy == [html.POLICY]
    assert page.inline["script"] == [html.SCRIPT]
    assert page.inline["style"] == [html.STYLE]
    assert f"script-src {digest(html.SCRIPT)};" in html.POLICY
    assert f"style-src {digest(html.STYLE)};" in html.POLICY
    assert html.POLICY.startswith("default-src 'none';")  # nothing fetched from anywhere
    assert not any(key.startswith("on") or key == "style" for _, a in page.tags for key in a)


@settings(max_examples=25, deadline=None)
@given(NAMES, st.sampled_from(["</script><script>alert(1)</script>", '"><svg onload=alert(1)>']))
def test_a_name_never_reaches_the_script_nor_an_attribute_it_could_leave(
    name: str, markup: str
) -> None:
    text = page_of(report_of((markup + name, name)))
    page = Page(text)
    assert page.inline["script"] == [html.SCRIPT]
    assert not any(key.startswith("on") for _, a in page.tags for key in a)
    assert [tag for tag, _ in page.tags].count("script") == 1
    assert "alert(1)" in text  # shown, as text


def test_two_thousand_healthy_columns_are_folded_behind_show_all() -> None:
    report = report_of(healthy=2000)
    text = page_of(report)
    capacity = text[text.index('<section id="capacity">') :]
    listed, folded = capacity.split("<details>", 1)
    assert "public.orders.id" in listed
    assert "<summary>Show all 2,000 healthy columns</summary>" in folded
    assert listed.count("<tr><td>") == 1  # the one at risk
    assert folded.count("<tr><td>") == 2000


def test_a_few_healthy_columns_are_listed_with_the_rest() -> None:
    text = page_of(report_of(healthy=html.FOLD_PAST))
    capacity = text[text.index('<section id="capacity">') :]
    assert "<details>" not in capacity
    assert capacity.count("<tr><td>") == html.FOLD_PAST + 1


def test_how_to_fix_is_the_plan_for_the_database_not_the_documentations_example() -> None:
    report = sample_report()
    planned = page_of(report, plans=plan_repairs(report))
    assert "planned from the audit alone" not in planned
    assert "SELECT setval(&#x27;public.users_id_seq&#x27;" not in planned
    assert "customers_id_seq&quot;&#x27;::regclass" in planned  # fix's statement for customers
    assert re.search(
        r"The statements for this database are with the findings: <a[^>]*>repair 1", planned
    )

    alone = page_of(report)  # the Python API without plans: planned from the snapshot, saying so
    assert "planned from the audit alone" in alone
    assert "customers_id_seq&quot;&#x27;::regclass" in alone

    none = page_of(report, plans=())
    assert 'class="repair"' not in none
    assert "public.users" in none  # no plan: the documentation's example is all there is


def test_a_fleet_page_has_each_anchor_once() -> None:
    results = tuple(
        TargetResult(Target(f"db{n}", f"dbname=db{n}"), report=sample_report()) for n in (1, 2)
    )
    text = io.StringIO()
    html.render_fleet(FleetReport(NOW, 1.0, results), text)
    ids = [a["id"] for _, a in Page(text.getvalue()).tags if "id" in a]
    assert len(ids) == len(set(ids))
    links = {a["href"] for _, a in Page(text.getvalue()).tags if "href" in a}
    assert {f"#{i}" for i in ids} >= links
