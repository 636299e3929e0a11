"""``seqdoctor fix --online``'s own options reach the plan, and so does the exhaustion forecast."""

from __future__ import annotations

import io

import psycopg
import pytest

from seqdoctor.render import online as render_online
from seqdoctor.render.online import fix_online
from seqdoctor.repairs.online import OnlineOptions
from tests.db.test_online_widen import FAMILY
from tests.fix_db import seqdoctor_cli


@pytest.fixture
def near(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)  # its key at 93 % of integer: SEQ002 reports it
        conn.execute("ANALYZE")  # the estimate counts the rows the statistics know
    return dsn


def test_the_swap_s_lock_options_reach_the_plan(near: str) -> None:
    planned = seqdoctor_cli(
        "fix", "--online", "--swap-lock-timeout", "0.25", "--swap-deadline", "7", near
    )

    assert planned.returncode == 1, planned.stderr
    assert "taken under a 0.25 s lock_timeout and retried for up to 7 s" in planned.stdout
    assert "0.5 s" not in planned.stdout


@pytest.mark.parametrize(
    ("seconds_left", "verdict"),
    [
        (30 * 86_400.0, "the online widening finishes first"),
        (60.0, "it would run out first: widen offline in a maintenance window"),
    ],
)
def test_the_plan_says_whether_it_finishes_before_the_forecast_runs_out(
    near: str, seconds_left: float, verdict: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A forecast needs an hour of history or counters: the one the audit would give.
    forecast = render_online.runways
    monkeypatch.setattr(
        render_online,
        "runways",
        lambda snapshot: {**forecast(snapshot), ("shop", "orders", "id"): seconds_left},
    )
    out = io.StringIO()

    slow = OnlineOptions(rows_per_second=1)  # the family's hundreds of rows: minutes

    status = fix_online(near, "table", False, False, False, lambda _: False, {}, slow, out=out)

    assert status == 1
    text = " ".join(out.getvalue().split())
    assert "the key runs out in about" in text
    assert verdict in text
