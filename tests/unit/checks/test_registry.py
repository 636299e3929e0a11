"""The registry of checks, and meta-tests every registered check must pass.

A new check is done when it is registered, documented in its module docstring
with the five sections ``seqdoctor explain`` prints, and has a test module here
with at least one ``test_finding*`` and one ``test_ok*`` case.
"""

from __future__ import annotations

import ast
import pkgutil
import re
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

import seqdoctor.checks
from seqdoctor.checks import REGISTRY, Check, Registry, Severity, run_checks
from seqdoctor.checks import seq001_sequence_behind_data as seq001
from seqdoctor.checks import seq002_column_near_overflow as seq002
from seqdoctor.errors import UsageError
from tests.unit.factories import column, findings, sequence, snapshot

SECTIONS = ("What it checks", "Why it matters", "How to fix", "Fix safety", "References")
TESTS = Path(__file__).parent
ALL_CODES = [check.code for check in REGISTRY]


def short_name(check: Check) -> str:
    return check.module.__name__.rpartition(".")[2]


def sections(documentation: str) -> dict[str, str]:
    """The documentation's sections: a heading alone on its line, then its indented body."""
    found: dict[str, str] = {}
    heading = None
    for line in documentation.splitlines():
        if line and not line[0].isspace():
            heading = line
            found[heading] = ""
        elif heading is not None:
            found[heading] += line.strip() + "\n"
    return found


# Meta-tests: every check ---------------------------------------------------------


def test_every_check_module_is_registered() -> None:
    modules = {
        info.name
        for info in pkgutil.iter_modules(seqdoctor.checks.__path__)
        if re.fullmatch(r"seq\d{3}_\w+", info.name)
    }

    assert {short_name(check) for check in REGISTRY} == modules


@pytest.mark.parametrize("check", list(REGISTRY), ids=ALL_CODES)
def test_a_check_has_a_stable_identity(check: Check) -> None:
    assert re.fullmatch(r"SEQ\d{3}", check.code)
    assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)+", check.name)
    assert short_name(check) == f"{check.code.lower()}_{check.name.replace('-', '_')}"
    assert isinstance(check.severity, Severity)
    assert check.summary
    assert "\n" not in check.summary


@pytest.mark.parametrize("check", list(REGISTRY), ids=ALL_CODES)
def test_a_check_is_its_module_run_function(check: Check) -> None:
    assert check.module.CHECK is check
    assert check.run is check.module.run


@pytest.mark.parametrize("check", list(REGISTRY), ids=ALL_CODES)
def test_a_check_is_documented_in_fixed_sections(check: Check) -> None:
    documentation = check.documentation
    title, *_ = documentation.splitlines()
    found = sections(documentation)

    assert title.startswith(f"{check.code} {check.name}: ")
    assert [heading for heading in found if heading != title] == list(SECTIONS)
    assert all(found[heading].strip() for heading in SECTIONS)
    assert "https://www.postgresql.org/docs/" in found["References"]


@pytest.mark.parametrize("check", list(REGISTRY), ids=ALL_CODES)
def test_a_check_has_unit_tests_with_a_finding_case_and_an_ok_case(check: Check) -> None:
    path = TESTS / f"test_{short_name(check)}.py"
    assert path.is_file(), f"{check.code} has no unit tests: write {path.name}"

    tests = {
        node.name
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef)
    }

    assert any(name.startswith("test_finding") for name in tests)
    assert any(name.startswith("test_ok") for name in tests)


# The registry --------------------------------------------------------------------


def module_with(check: Check) -> ModuleType:
    module = ModuleType(f"fake_{check.code.lower()}")
    vars(module)["CHECK"] = check
    return module


def test_the_registry_lists_checks_in_code_order() -> None:
    registry = Registry([seq002, seq001])

    assert [check.code for check in registry] == ["SEQ001", "SEQ002"]
    assert len(registry) == 2


@pytest.mark.parametrize(
    "clash",
    [
        replace(seq001.CHECK, name="another-name"),
        replace(seq001.CHECK, code="SEQ099"),
        seq001.CHECK,
    ],
    ids=["same-code", "same-name", "same-check"],
)
def test_the_registry_refuses_duplicates(clash: Check) -> None:
    with pytest.raises(ValueError, match=r"^duplicate check"):
        Registry([seq001, module_with(clash)])


@pytest.mark.parametrize(
    "wanted", ["SEQ002", "seq002", " SEQ002 ", "column-near-overflow", "Column-Near-Overflow"]
)
def test_get_accepts_a_code_or_a_name_in_any_case(wanted: str) -> None:
    assert REGISTRY.get(wanted) is seq002.CHECK


@pytest.mark.parametrize("wanted", ["SEQ999", "near-overflow", "", "2"])
def test_get_refuses_an_unknown_check(wanted: str) -> None:
    known = ", ".join(ALL_CODES)

    with pytest.raises(UsageError, match=re.escape(f"unknown check {wanted!r} (known: {known})")):
        REGISTRY.get(wanted)


def test_select_without_arguments_is_every_check() -> None:
    assert REGISTRY.select() == list(REGISTRY)


def test_select_names_the_checks_to_run() -> None:
    chosen = REGISTRY.select(["SEQ001", "column-near-overflow"])

    assert [check.code for check in chosen] == ["SEQ001", "SEQ002"]


def test_ignore_leaves_out_checks_by_code_or_name() -> None:
    chosen = REGISTRY.select(ignore=["SEQ007", "serial-could-be-identity"])

    assert [check.code for check in chosen] == [
        code for code in ALL_CODES if code not in {"SEQ007", "SEQ009"}
    ]


def test_ignore_wins_over_select() -> None:
    assert REGISTRY.select(["SEQ001", "SEQ002"], ignore=["seq001"]) == [seq002.CHECK]


@pytest.mark.parametrize(("select", "ignore"), [(["SEQ001", "SEQ999"], []), ([], ["nope"])])
def test_select_and_ignore_refuse_unknown_checks(select: list[str], ignore: list[str]) -> None:
    with pytest.raises(UsageError, match=r"^unknown check"):
        REGISTRY.select(select, ignore)


def test_a_check_selected_twice_runs_once() -> None:
    assert REGISTRY.select(["SEQ001", "sequence-behind-data"]) == [seq001.CHECK]


def test_selected_checks_run_in_registry_order() -> None:
    assert REGISTRY.select(["SEQ002", "SEQ001"]) == [seq001.CHECK, seq002.CHECK]


# run_checks ----------------------------------------------------------------------


def test_run_checks_puts_the_most_severe_first_then_orders_by_code_and_object() -> None:
    invoice_no = sequence("invoice_no", max_value=1000, last_value=950)  # SEQ003, SEQ007
    hidden = sequence("hidden", readable=False)  # SEQ007
    users_seq = sequence("users_id_seq")
    users_id = column("users", "id", fed_by=users_seq)  # SEQ009
    orders_seq = sequence("orders_id_seq", type_name="int8", last_value=1_800_000_000)
    orders_id = column("orders", "id", fed_by=orders_seq, type_name="int4")  # SEQ002, 4, 9
    snap = snapshot(invoice_no, hidden, users_seq, users_id, orders_seq, orders_id)

    found = run_checks(snap, seqdoctor.checks.Settings())

    assert [(f.severity.value, f.code, str(f.column or f.sequence)) for f in found] == [
        ("critical", "SEQ003", "public.invoice_no"),
        ("warning", "SEQ002", "public.orders.id"),
        ("info", "SEQ004", "public.orders.id"),
        ("info", "SEQ007", "public.hidden"),
        ("info", "SEQ007", "public.invoice_no"),
        ("info", "SEQ009", "public.orders.id"),
        ("info", "SEQ009", "public.users.id"),
    ]


def test_run_checks_runs_only_the_checks_given() -> None:
    invoice_no = sequence("invoice_no", max_value=1000, last_value=950)
    snap = snapshot(invoice_no)

    found = run_checks(snap, seqdoctor.checks.Settings(), REGISTRY.select(["SEQ007"]))

    assert [f.code for f in found] == ["SEQ007"]
    assert findings(REGISTRY.get("SEQ003"), snap)  # which would have found more
