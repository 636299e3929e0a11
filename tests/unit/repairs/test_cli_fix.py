"""``seqdoctor fix`` without a database: its help, and arguments refused before connecting."""

from __future__ import annotations

import subprocess
import sys

import pytest

from seqdoctor.cli import main
from tests.unit.golden import assert_golden

UNREACHABLE = "host=127.0.0.1 port=1 connect_timeout=3"


def test_help_matches_golden_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    status = main(["fix", "--help"])
    out = capsys.readouterr().out
    assert status == 0
    assert_golden("help.fix.txt", out)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--code", "SEQ007"], "SEQ007 unused-sequence has no repair (repairable: SEQ001, "),
        (["--code", "nonsense"], "unknown check 'nonsense'"),
        (["--rewrite-threshold", "lots"], "'lots' is not a size such as 500MB or 1GB"),
        (["--retries", "-1"], "--retries"),
        (["--format", "sql", "--apply"], "--format sql prints a script for psql"),
        (["--lock-timeout", "0"], "--lock-timeout"),
        (["--swap-deadline", "5"], "--swap-deadline goes with --online"),
        (["--allow-user-triggers"], "--allow-user-triggers goes with --online"),
        (
            ["--online", "--swap-lock-timeout", "2", "--swap-deadline", "1"],
            "the lock deadline must be at least one lock timeout",
        ),
        (["--online", "--max-wal-rate", "0"], "the WAL rate limit must be more than 0"),
        (["--online", "--max-slot-lag", "lots"], "'lots' is not a size such as 500MB or 1GB"),
        (["--online", "--max-batch", "0"], "--max-batch"),
        (["--online", "--batch-pause", "nan"], "--batch-pause"),
        (["--jobs", "2"], "--jobs goes with --online"),
        (["--online", "-j", "0"], "--jobs"),
        (["--online", "--jobs", "65"], "jobs must be from 1 to 64"),
    ],
)
def test_bad_arguments_exit_3_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["fix", *argv, UNREACHABLE])
    err = capsys.readouterr().err
    assert status == 3
    assert message in err
    assert err.count("\n") == 1, err


def test_an_unreachable_server_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["fix", UNREACHABLE])
    assert status == 3
    assert capsys.readouterr().err.startswith("seqdoctor: cannot connect: ")


def test_a_plain_fix_does_not_load_the_online_module() -> None:
    # Its import costs a noticeable part of a small fix: only --online needs it.
    code = (
        "import sys; from seqdoctor.cli import main; main(['fix', sys.argv[1]]); "
        "print('seqdoctor.repairs.online' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, UNREACHABLE], capture_output=True, text=True, check=True
    )
    assert done.stdout == "False\n"
