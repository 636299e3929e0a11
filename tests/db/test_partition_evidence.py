"""A column no index leads with, judged from the planner's statistics: pagila's ``payment``.

pagila's ``payment`` is partitioned by month on ``payment_date`` and its
primary key is ``(payment_date, payment_id)``: no index leads with
``payment_id``, whose max() only a scan of every partition would read, and
the key accepts the same ``payment_id`` twice on different dates. Rows
copied in with their ids leave the sequence behind; the inserts that follow
then create duplicate ids in silence.
"""

from __future__ import annotations

from typing import Any

import psycopg

import seqdoctor
from seqdoctor.checks import Finding
from seqdoctor.repairs import Outcome, apply_fix, plan_fix

Connection = psycopg.Connection[tuple[Any, ...]]
COLUMN = "public.payment.payment_id"
ROWS = 1_000  # copied with ids 1..1,000, spread over three months

PAYMENT = """
CREATE TABLE payment (
    payment_id serial,
    payment_date timestamptz NOT NULL,
    amount numeric,
    PRIMARY KEY (payment_date, payment_id)
) PARTITION BY RANGE (payment_date);
-- No autoanalyze during the test: the statistics are the test's to gather.
CREATE TABLE payment_p2022_01 PARTITION OF payment
    FOR VALUES FROM ('2022-01-01 00:00+00') TO ('2022-02-01 00:00+00')
    WITH (autovacuum_enabled = false);
CREATE TABLE payment_p2022_02 PARTITION OF payment
    FOR VALUES FROM ('2022-02-01 00:00+00') TO ('2022-03-01 00:00+00')
    WITH (autovacuum_enabled = false);
CREATE TABLE payment_p2022_03 PARTITION OF payment
    FOR VALUES FROM ('2022-03-01 00:00+00') TO ('2022-04-01 00:00+00')
    WITH (autovacuum_enabled = false);
-- Copied from the old system with their ids: the sequence stays at 1.
INSERT INTO payment (payment_id, payment_date, amount)
SELECT i, '2022-01-01 00:00+00'::timestamptz + i * interval '2 hours', 4.99
FROM generate_series(1, 1000) AS i;
"""
NEW_PAYMENT = (
    "INSERT INTO payment (payment_date, amount) VALUES ('2022-03-31 12:00+00', 0.99)"
    " RETURNING payment_id"
)


def _about(findings: tuple[Finding, ...], code: str) -> list[Finding]:
    return [f for f in findings if f.code == code and str(f.column) == COLUMN]


def test_statistics_that_hold_ids_ahead_of_the_sequence_say_it_is_likely_behind(
    conn: Connection, dsn: str
) -> None:
    conn.execute(PAYMENT)
    conn.execute("ANALYZE payment")

    report = seqdoctor.audit(dsn)

    (finding,) = _about(report.findings, "SEQ001")
    assert finding.severity == "critical"
    assert finding.message.startswith(
        "sequence public.payment_payment_id_seq is likely behind public.payment.payment_id: "
        "the planner's statistics of public.payment"
    )
    assert "show the column held 1 (sampled max 1,000)" in finding.message
    assert "(--allow-seqscan reads it)" in finding.message
    assert finding.details["evidence"] == "statistics"
    assert finding.details["next_value"] == 1
    # ANALYZE sampled every row of so small a table: its min and max are bounds.
    assert finding.details["first_collision"] == 1
    (sample,) = finding.details["statistics"]
    assert sample["analyzed_at"] is not None
    assert sample["sampled_max"] == ROWS
    # Judged, if from a sample: not also reported as not checked.
    assert _about(report.findings, "SEQ900") == []


def test_without_statistics_it_stays_not_checked_and_says_what_would_judge_it(
    conn: Connection, dsn: str
) -> None:
    conn.execute(PAYMENT)

    report = seqdoctor.audit(dsn)

    assert _about(report.findings, "SEQ001") == []
    (finding,) = _about(report.findings, "SEQ900")
    assert finding.message == (
        "not checked: no btree index leads with public.payment.payment_id: reading its max() "
        "would scan the table; public.payment has no planner statistics yet: ANALYZE "
        "public.payment would let the audit judge it from them, --allow-seqscan reads its max()"
    )
    assert finding.details["statistics"] == []


def test_statistics_that_show_nothing_ahead_leave_it_not_fully_checked(
    conn: Connection, dsn: str
) -> None:
    conn.execute(PAYMENT)
    conn.execute("SELECT setval('payment_payment_id_seq', 1000)")
    conn.execute("ANALYZE payment")
    # Copied after the ANALYZE: the statistics cannot know.
    conn.execute(
        "INSERT INTO payment (payment_id, payment_date, amount)"
        " VALUES (5000, '2022-02-14 00:00+00', 1)"
    )

    report = seqdoctor.audit(dsn)

    assert _about(report.findings, "SEQ001") == []
    (finding,) = _about(report.findings, "SEQ900")
    assert finding.severity == "unknown"
    assert "show no value nextval() will return (sampled max 1,000)" in finding.message
    assert finding.message.endswith("but they are a sample: not fully checked")
    tables = {s["table"] for s in finding.details["statistics"]}
    assert tables == {"payment", "payment_p2022_01", "payment_p2022_02", "payment_p2022_03"}
    # With --allow-seqscan the scan finds the row the statistics missed.
    scanned = seqdoctor.audit(dsn, allow_seqscan=True)
    (behind,) = _about(scanned.findings, "SEQ001")
    assert behind.details["evidence"] == "scan"
    assert behind.details["first_collision"] == 5000
    assert "read by scanning the table" in behind.message


def test_a_primary_key_that_holds_the_partition_key_does_not_make_the_id_unique(
    conn: Connection, dsn: str
) -> None:
    conn.execute(PAYMENT)
    # The key takes the same id again on another date.
    conn.execute("INSERT INTO payment (payment_id, payment_date) VALUES (7, '2022-03-05 00:00+00')")

    report = seqdoctor.audit(dsn, select="SEQ008")

    (finding,) = _about(report.findings, "SEQ008")
    assert finding.message == (
        "public.payment.payment_id takes ids from public.payment_payment_id_seq but is unique "
        "only together with payment_date: the same id can be inserted again with another "
        "payment_date, and duplicate ids go unnoticed; drift not checked (no index to read "
        "max() from)"
    )
    assert finding.details["unique_with"] == "payment_date"


def test_fix_holds_a_repair_from_statistics_back_until_a_scan_is_allowed(
    conn: Connection, dsn: str
) -> None:
    conn.execute(PAYMENT)
    conn.execute("ANALYZE payment")

    held = plan_fix(dsn, codes="SEQ001")

    (plan,) = held.plans
    assert plan.kind == "advance"
    assert not plan.applies
    assert plan.held_back is not None
    assert "--allow-seqscan" in plan.held_back
    assert apply_fix(dsn, held).results[0].outcome is Outcome.SKIPPED
    assert conn.execute(NEW_PAYMENT).fetchone() == (1,)  # still behind: a duplicate id

    fix = plan_fix(dsn, codes="SEQ001", allow_seqscan=True)

    (plan,) = fix.plans
    assert plan.applies
    assert any(
        "public.payment.payment_id is unique only together with payment_date" in note
        for note in plan.notes
    )
    result = apply_fix(dsn, fix)
    assert [r.outcome for r in result.results] == [Outcome.APPLIED]
    assert result.still_found == ()
    # Checked again by the same scan: judged, and clean.
    (findings,) = [c for c in result.comparisons if c.aspect == "findings"]
    assert (findings.before, findings.after) == ("SEQ001", "none")
    for _ in range(20):
        (new_id,) = conn.execute(NEW_PAYMENT).fetchone() or (None,)
        assert new_id is not None
        assert new_id > ROWS
    (duplicates,) = conn.execute(
        "SELECT count(*) - count(DISTINCT payment_id) FROM payment WHERE payment_id > 1"
    ).fetchone() or (None,)
    assert duplicates == 0


def test_fix_never_shows_a_column_it_could_not_judge_as_clean(conn: Connection, dsn: str) -> None:
    conn.execute(PAYMENT)
    # A bigint sequence on an integer column (SEQ004), as old dumps leave them.
    conn.execute("ALTER SEQUENCE payment_payment_id_seq AS bigint")

    fix = plan_fix(dsn, codes="SEQ004")
    result = apply_fix(dsn, fix)

    assert [r.outcome for r in result.results] == [Outcome.APPLIED]
    (findings,) = [c for c in result.comparisons if c.aspect == "findings"]
    assert (findings.object, findings.before, findings.after) == (
        COLUMN,
        "SEQ004, not checked",
        "not checked",
    )
