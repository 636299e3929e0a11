"""The package's public names, and what importing it costs a pytest run that never audits."""

from __future__ import annotations

import pytest

import seqdoctor
from seqdoctor.auditing import audit
from seqdoctor.checks.base import ColumnRef, Finding, SequenceRef, Severity
from seqdoctor.guard.explicit import allow_explicit_ids
from seqdoctor.report import Report, Status
from tests.unit.fresh import modules_after, python


def test_loading_the_pytest_plugin_imports_no_database_driver() -> None:
    # pytest loads the plugin through its entry point in every run of every
    # project that has seqdoctor installed.
    loaded = modules_after("import seqdoctor.pytest_plugin")
    assert "seqdoctor" in loaded
    assert not loaded & {"psycopg", "click", "rich"}


def test_the_public_names_are_the_library_objects() -> None:
    assert (seqdoctor.audit, seqdoctor.Report, seqdoctor.Status) == (audit, Report, Status)
    assert (seqdoctor.Finding, seqdoctor.Severity) == (Finding, Severity)
    assert (seqdoctor.ColumnRef, seqdoctor.SequenceRef) == (ColumnRef, SequenceRef)
    assert seqdoctor.allow_explicit_ids is allow_explicit_ids
    assert sorted(seqdoctor.__all__) == [
        "ColumnRef",
        "Finding",
        "Report",
        "SequenceRef",
        "Severity",
        "Status",
        "__version__",
        "allow_explicit_ids",
        "audit",
    ]


def test_audit_stays_the_function_whatever_was_imported_first() -> None:
    # The function's module is not called "audit": importing a submodule binds
    # its name on the package, and would hide a function of the same name.
    code = "import seqdoctor.fleet, seqdoctor.cli, seqdoctor; print(callable(seqdoctor.audit))"
    assert python(code).strip() == "True"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        _ = seqdoctor.missing  # type: ignore[attr-defined]
