"""The report: the overall verdict a monitor reads, and its one-line headline."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from seqdoctor.catalog.model import Snapshot
from seqdoctor.checks import REGISTRY, Finding, Settings, Severity
from seqdoctor.errors import ExitStatus
from seqdoctor.report import Report, Status, overall_status
from tests.unit.factories import column, sequence, snapshot

INFO, WARNING, UNKNOWN, CRITICAL = (
    Severity.INFO,
    Severity.WARNING,
    Severity.UNKNOWN,
    Severity.CRITICAL,
)


def finding(severity: Severity) -> Finding:
    return Finding(code="SEQ000", check="test", severity=severity, message=f"a {severity} finding")


def report(*severities: Severity, snap: Snapshot | None = None) -> Report:
    return Report(
        tool_version="0.1.0",
        checked_at=datetime(2025, 1, 1, tzinfo=UTC),
        duration_seconds=0.25,
        snapshot=snap or snapshot(),
        findings=tuple(finding(severity) for severity in severities),
        settings=Settings(),
        checks=tuple(check.code for check in REGISTRY),
    )


@pytest.mark.parametrize(
    ("severities", "status"),
    [
        ((), Status.OK),
        ((INFO, INFO), Status.OK),
        ((INFO, WARNING), Status.WARNING),
        ((WARNING, UNKNOWN, WARNING), Status.UNKNOWN),
        ((UNKNOWN, CRITICAL, WARNING), Status.CRITICAL),
        ((CRITICAL, INFO), Status.CRITICAL),
    ],
    ids=["nothing", "info-is-ok", "warning", "unknown-over-warning", "critical-over-all", "crit"],
)
def test_the_overall_status_is_the_most_severe_finding(
    severities: tuple[Severity, ...], status: Status
) -> None:
    assert overall_status([finding(severity) for severity in severities]) is status
    assert report(*severities).status is status


@pytest.mark.parametrize(
    ("status", "exit_status"),
    [
        (Status.OK, ExitStatus.OK),
        (Status.WARNING, ExitStatus.WARNING),
        (Status.CRITICAL, ExitStatus.CRITICAL),
        (Status.UNKNOWN, ExitStatus.UNKNOWN),
    ],
)
def test_each_status_has_its_nagios_exit_status(status: Status, exit_status: ExitStatus) -> None:
    assert status.exit_status is exit_status


def test_nagios_exit_statuses_are_0_to_3() -> None:
    assert [int(status) for status in ExitStatus] == [0, 1, 2, 3]


def test_a_report_exits_with_its_status() -> None:
    assert report(WARNING, UNKNOWN).exit_status is ExitStatus.UNKNOWN


def test_counts_name_every_severity() -> None:
    assert report(WARNING, WARNING, INFO).counts() == {
        "info": 1,
        "warning": 2,
        "critical": 0,
        "unknown": 0,
    }


def test_the_headline_gives_the_status_then_counts_from_most_severe() -> None:
    orders_seq, invoice_no = sequence("orders_id_seq"), sequence("invoice_no")
    orders_id = column("orders", "id", fed_by=orders_seq)
    snap = snapshot(orders_seq, invoice_no, orders_id)

    headline = report(INFO, WARNING, CRITICAL, WARNING, UNKNOWN, snap=snap).headline()

    assert headline == "CRITICAL: 1 critical, 1 unknown, 2 warning, 1 info (2 sequences, 1 column)"


def test_the_headline_counts_one_sequence_and_several_columns() -> None:
    shared = sequence("card_ids")
    gift_cards = column("gift_cards", "id", fed_by=shared)
    vouchers = column("vouchers", "id", fed_by=shared)

    headline = report(snap=snapshot(shared, gift_cards, vouchers)).headline()

    assert headline == "OK: no findings (1 sequence, 2 columns)"


def test_the_headline_of_a_clean_audit() -> None:
    assert report().headline() == "OK: no findings (0 sequences, 0 columns)"


def test_the_headline_of_an_audit_with_only_info_is_ok() -> None:
    assert report(INFO, INFO).headline() == "OK: 2 info (0 sequences, 0 columns)"
