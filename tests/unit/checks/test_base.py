"""What a check is and produces: severities, thresholds, findings, and how numbers print."""

from __future__ import annotations

import pytest

from seqdoctor.checks import Settings, Severity
from seqdoctor.checks.base import ColumnRef, SequenceRef, number, percent
from seqdoctor.checks.seq002_column_near_overflow import CHECK as SEQ002
from tests.unit.factories import column, sequence


def test_severities_rank_critical_over_unknown_over_warning_over_info() -> None:
    ranked = sorted(Severity, key=lambda s: s.rank, reverse=True)

    assert ranked == [Severity.CRITICAL, Severity.UNKNOWN, Severity.WARNING, Severity.INFO]


@pytest.mark.parametrize(
    ("ratio", "severity"),
    [
        (0.0, None),
        (0.7499, None),
        (0.75, Severity.WARNING),
        (0.8999, Severity.WARNING),
        (0.90, Severity.CRITICAL),
        (1.0, Severity.CRITICAL),
    ],
)
def test_thresholds_are_inclusive(ratio: float, severity: Severity | None) -> None:
    assert Settings().severity_for(ratio) == severity


def test_thresholds_can_be_changed() -> None:
    strict = Settings(warning_ratio=0.5, critical_ratio=0.6)

    assert strict.severity_for(0.55) is Severity.WARNING
    assert strict.severity_for(0.6) is Severity.CRITICAL


def test_a_warning_threshold_equal_to_the_critical_one_gives_critical() -> None:
    assert Settings(warning_ratio=0.8, critical_ratio=0.8).severity_for(0.8) is Severity.CRITICAL


@pytest.mark.parametrize(
    ("ratio", "shown"),
    [(0.0, "0%"), (0.0000001, "0%"), (0.75, "75%"), (0.9, "90%"), (0.99999, "99%"), (1.0, "100%")],
)
def test_percent_never_rounds_up(ratio: float, shown: str) -> None:
    assert percent(ratio) == shown


@pytest.mark.parametrize("whole", [29, 57, 58])
def test_percent_of_an_exact_share_shows_that_share(whole: int) -> None:
    assert percent(whole / 100) == f"{whole}%"


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0, "0"), (1000, "1,000"), (2_147_483_647, "2,147,483,647"), (-32_768, "-32,768")],
)
def test_number_separates_thousands(value: int, shown: str) -> None:
    assert number(value) == shown


def test_a_finding_takes_the_check_identity_and_default_severity() -> None:
    seq = sequence("orders_id_seq")
    use = column("orders", "id", fed_by=seq)

    finding = SEQ002.finding("message", sequence=seq, column=use, limit=10)

    assert (finding.code, finding.check, finding.severity) == (
        "SEQ002",
        "column-near-overflow",
        Severity.WARNING,
    )
    assert finding.sequence == SequenceRef("public", "orders_id_seq")
    assert finding.column == ColumnRef("public", "orders", "id")
    assert finding.details == {"limit": 10}


def test_a_finding_may_raise_its_severity_and_name_no_object() -> None:
    finding = SEQ002.finding("message", severity=Severity.CRITICAL)

    assert finding.severity is Severity.CRITICAL
    assert (finding.sequence, finding.column) == (None, None)
    assert finding.details == {}


def test_references_print_as_quoted_qualified_names() -> None:
    assert str(SequenceRef("public", "orders_id_seq")) == "public.orders_id_seq"
    assert str(ColumnRef("Shop", "Order Lines", "id")) == '"Shop"."Order Lines".id'


def test_a_check_documentation_is_its_module_docstring() -> None:
    assert SEQ002.documentation.startswith("SEQ002 column-near-overflow: ")
    assert "\nWhat it checks\n" in SEQ002.documentation
