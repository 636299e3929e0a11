"""A hot standby audited: its sequences are read up to 32 nextval() calls ahead of its primary's.

The primary writes each sequence's position to the WAL 32 calls ahead of what
it hands out (SEQ_LOG_VALS), and a standby replays and reads that position:
the primary may be anywhere between it and 32 calls back. These tests run a
real streaming replica (fixture ``replicated``), one pair per server version.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

import seqdoctor
from seqdoctor import guard
from seqdoctor.checks.seq011_exhaustion_forecast import judged
from seqdoctor.history import History, open_store
from seqdoctor.report import Report
from tests.fix_db import Replicated, seqdoctor_cli

GENERATED = """
CREATE TABLE sb (id bigserial PRIMARY KEY, v text);
INSERT INTO sb(v) SELECT 'g' FROM generate_series(1, 5);
"""
# The primary's next inserts fail on id 20.
SEED = GENERATED + "INSERT INTO sb(id, v) VALUES (20, 'x');"


@pytest.fixture
def pair(replicated: Replicated) -> Iterator[tuple[str, str]]:
    """A database on the primary and the standby: (primary conninfo, standby conninfo)."""
    with replicated.database() as pair:
        yield pair


def on_both(
    replicated: Replicated, primary: str, standby: str, setup: str
) -> tuple[Report, Report]:
    """Run *setup* on the primary; the audits of the primary and, once it caught up, the standby."""
    with psycopg.connect(primary, autocommit=True) as conn:
        conn.execute(setup)
    replicated.caught_up()
    return seqdoctor.audit(primary), seqdoctor.audit(standby)


def findings(report: Report, code: str) -> list[seqdoctor.checks.Finding]:
    return [f for f in report.findings if f.code == code]


def test_the_seed_scenario_is_not_healthy_on_the_standby(
    replicated: Replicated, pair: tuple[str, str]
) -> None:
    primary, standby = on_both(replicated, *pair, SEED)

    assert str(primary.status) == "critical"
    (sequence,) = standby.snapshot.sequences
    assert (sequence.last_value, sequence.ahead_by) == (33, 32)  # the primary is at 5
    assert standby.snapshot.server.in_recovery
    (finding,) = findings(standby, "SEQ001")
    # 20 lies between where the primary can be (next value 2 to 34): it may be
    # a value the primary handed out, or an explicit id ahead of it.
    assert str(finding.severity) == "unknown"
    assert str(standby.status) == "unknown"
    assert finding.message == (
        "sequence public.sb_id_seq may be behind public.sb.id: on a hot standby, the primary's "
        "next value is between 2 and 34, and the column holds values in that range (the first 2,"
        " column max 20): only the primary's position tells whether nextval() will return them;"
        " check on the primary"
    )
    assert finding.details["next_value"] == 2
    assert finding.details["latest_next_value"] == 34


def test_a_table_fed_only_by_its_sequence_cannot_be_judged_either(
    replicated: Replicated, pair: tuple[str, str]
) -> None:
    # Why "unknown" rather than "critical" between the bounds: a healthy table's newest
    # rows lie there too, whenever its last nextval() did not write to the WAL.
    primary, standby = on_both(replicated, *pair, GENERATED)

    assert str(primary.status) == "ok"
    (finding,) = findings(standby, "SEQ001")
    assert str(finding.severity) == "unknown"
    assert finding.details["column_max"] == 5


def test_data_past_even_the_standby_position_is_critical(
    replicated: Replicated, pair: tuple[str, str]
) -> None:
    _, standby = on_both(
        replicated, *pair, SEED + "INSERT INTO sb(id, v) VALUES (100, 'far ahead');"
    )

    (finding,) = findings(standby, "SEQ001")
    assert str(finding.severity) == "critical"
    assert finding.message == (
        "sequence public.sb_id_seq is behind public.sb.id: the column holds 100, which nextval()"
        " will return wherever the primary is; on a hot standby, the primary's next value is"
        " between 2 and 34; from the earliest, the next nextval() returns 2"
    )
    assert finding.details["first_collision"] == 2


def test_a_sequence_well_ahead_of_its_data_is_ok_on_the_standby(
    replicated: Replicated, pair: tuple[str, str]
) -> None:
    primary, standby = on_both(
        replicated,
        *pair,
        SEED + "SELECT setval('sb_id_seq', 1000); INSERT INTO sb(v) VALUES ('after');",
    )

    assert str(primary.status) == "ok"
    assert str(standby.status) == "ok"
    (sequence,) = standby.snapshot.sequences
    assert (sequence.last_value, sequence.earliest.last_value) == (1033, 1001)


def test_capacity_is_judged_from_the_standby_position(
    replicated: Replicated, pair: tuple[str, str]
) -> None:
    setup = """
        CREATE TABLE c (id serial PRIMARY KEY);
        SELECT setval('c_id_seq', 2000000000);
        INSERT INTO c DEFAULT VALUES;
    """
    primary, standby = on_both(replicated, *pair, setup)

    (on_primary,) = findings(primary, "SEQ002")
    (on_standby,) = findings(standby, "SEQ002")
    assert on_primary.details["last_value"] == 2_000_000_001
    # The standby's position is the highest the primary can be at: the fewest values left.
    assert on_standby.details["last_value"] == 2_000_000_033
    assert on_standby.details["values_left"] == on_primary.details["values_left"] - 32
    assert findings(standby, "SEQ001") == []


def test_the_reports_say_the_positions_are_uncertain(
    replicated: Replicated, pair: tuple[str, str]
) -> None:
    primary_dsn, standby_dsn = pair
    on_both(replicated, primary_dsn, standby_dsn, SEED)

    result = seqdoctor_cli("check", "--format", "json", standby_dsn)
    record = json.loads(result.stdout)
    assert record["database"]["in_recovery"] is True
    (sequence,) = record["sequences"]
    assert sequence["position_bounds"] == {
        "nextval_calls": 32,
        "earliest_next_value": 2,
        "latest_next_value": 34,
    }
    on_primary = json.loads(seqdoctor_cli("check", "--format", "json", primary_dsn).stdout)
    assert on_primary["database"]["in_recovery"] is False
    assert on_primary["sequences"][0]["position_bounds"] is None

    table = seqdoctor_cli("check", standby_dsn).stdout
    assert "Hot standby: each sequence's position is its primary's" in table
    assert "Hot standby" not in seqdoctor_cli("check", primary_dsn).stdout


T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)


def test_recording_on_a_standby_and_its_primary_keeps_both_forecasts(
    replicated: Replicated, pair: tuple[str, str], tmp_path: Path
) -> None:
    primary_dsn, standby_dsn = pair
    history = History(open_store(tmp_path / "history.sqlite3"), record=True)
    with psycopg.connect(primary_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id integer GENERATED BY DEFAULT AS IDENTITY)")
        for day in range(4):
            # 10,000,000 values a day; the standby reads each position 32 calls ahead.
            conn.execute("SELECT setval('orders_id_seq', %s)", [1_000_000_000 + day * 10**7])
            conn.execute("INSERT INTO orders DEFAULT VALUES")
            replicated.caught_up()
            # The standby's audit first: under one key, each primary sample would step back.
            standby = seqdoctor.audit(standby_dsn, history=history, now=T0 + day * DAY)
            primary = seqdoctor.audit(primary_dsn, history=history, now=T0 + day * DAY + MINUTE)

    for report in (primary, standby):
        (forecast,) = [f for f in judged(report.snapshot) if f.column is not None]
        assert forecast.rate is not None
        assert str(forecast.rate.basis) == "history"
        assert forecast.rate.samples == 4
        assert forecast.rate.per_day == 10**7


def test_guard_status_reads_a_standby(replicated: Replicated, pair: tuple[str, str]) -> None:
    primary_dsn, standby_dsn = pair
    with psycopg.connect(primary_dsn, autocommit=True) as conn:
        conn.execute(SEED)
    guard.install(primary_dsn)
    replicated.caught_up()

    report = guard.status(standby_dsn)

    assert [(c.column, c.mode) for c in report.columns] == [("public.sb.id", "raise")]
