"""The command line without a database: arguments, help, explain, and honest errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from seqdoctor.checks import REGISTRY
from seqdoctor.cli import main
from tests.unit.golden import assert_golden

UNREACHABLE = "host=127.0.0.1 port=1 connect_timeout=3"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("command", ["--help", "check --help"])
def test_help_matches_golden_file(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    status, out, _ = run(capsys, *command.split())
    assert status == 0
    assert_golden(f"help.{command.split(maxsplit=1)[0].strip('-')}.txt", out)


def test_explain_lists_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "explain")
    assert status == 0
    assert [line.split()[0] for line in out.splitlines()] == [c.code for c in REGISTRY]


@pytest.mark.parametrize("name", ["SEQ001", "seq001", "sequence-behind-data"])
def test_explain_prints_the_documentation(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "explain", name)
    assert status == 0
    assert out.startswith("SEQ001 sequence-behind-data (critical)\n")
    for section in ("What it checks", "Why it matters", "How to fix", "Fix safety", "References"):
        assert section in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["explain", "SEQ999"], "unknown check 'SEQ999'"),
        (["check", "--select", "nonsense", UNREACHABLE], "unknown check 'nonsense'"),
        (["check", "--warning", "120", UNREACHABLE], "--warning"),
        (["check", "--warning", "95", "--critical", "90", UNREACHABLE], "thresholds"),
        (["check", "--table", "", UNREACHABLE], "--table needs a non-empty pattern"),
        (["check", "--format", "xml", UNREACHABLE], "--format"),
        (["check", "--no-such-option"], "--no-such-option"),
        (["check", "host=127.0.0.1 port=notaport"], "invalid"),
        (["check", "this is not a conninfo"], "invalid connection string"),
        (["check", UNREACHABLE], "cannot connect"),
    ],
)
def test_bad_input_gets_one_line_and_exit_3(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 3
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("seqdoctor: ")
    assert message in err


def test_console_script_exits_3_on_an_unreachable_host() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "seqdoctor", "check", UNREACHABLE],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 3
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
