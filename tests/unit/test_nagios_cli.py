"""check as a Nagios/Icinga plugin, without a database: what a monitor reads when there is no
report (bad arguments, no connection, no time left), the connect timeout the user set, -V."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from seqdoctor._version import __version__
from tests.fix_db import seqdoctor_cli

UNREACHABLE = "host=127.0.0.1 port=1 connect_timeout=3"


@pytest.fixture
def silent() -> Iterator[str]:
    """A conninfo for a server that takes the connection and never says a word.

    The kernel completes the TCP handshake for a listening socket's backlog:
    libpq's startup packet then waits for a reply that never comes, as with a
    host whose firewall drops the replies, but deterministically.
    """
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"host=127.0.0.1 port={listener.getsockname()[1]} dbname=x user=x sslmode=disable"


def timed(
    *args: str, env: dict[str, str] | None = None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.monotonic()
    done = seqdoctor_cli(*args, env=env)
    return time.monotonic() - started, done


@pytest.mark.parametrize("where", ["conninfo", "environment"])
def test_the_connect_timeout_the_user_set_is_the_one_waited(silent: str, where: str) -> None:
    # psql gives up after 2 s here; seqdoctor waited its own 10 s whatever was set.
    if where == "conninfo":
        took, done = timed("check", "-q", f"{silent} connect_timeout=2")
    else:
        took, done = timed("check", "-q", silent, env={"PGCONNECT_TIMEOUT": "2"})
    assert done.returncode == 3
    assert done.stdout == "SEQDOCTOR UNKNOWN: cannot connect: connection timeout expired\n"
    assert 1.9 < took < 6, took


def test_timeout_bounds_the_whole_run_connecting_included(silent: str) -> None:
    took, done = timed("check", "--format", "nagios", "-t", "1", silent)
    assert done.returncode == 3, done.stderr
    assert done.stdout == (
        "SEQDOCTOR UNKNOWN: no result within 1 s (--timeout): connecting, or reading the catalog\n"
    )
    assert done.stderr.startswith("seqdoctor: no result within 1 s")
    assert took < 4, took  # the default connect timeout is 10 s


def test_timeout_keeps_the_stdout_of_other_formats_for_their_own_output(silent: str) -> None:
    _, done = timed("check", "--format", "json", "--timeout", "0.5", silent)
    assert (done.returncode, done.stdout) == (3, "")
    assert done.stderr.count("\n") == 1


@pytest.mark.parametrize("plugin", [["-q"], ["--format", "nagios"], ["--format=nagios"]])
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([UNREACHABLE], "cannot connect"),
        (["--warning", "120", UNREACHABLE], "--warning"),
        (["--select", "nonsense", UNREACHABLE], "unknown check 'nonsense'"),
        (["--no-such-option"], "--no-such-option"),
        (["-t", "0", UNREACHABLE], "--timeout"),
        (["this is not a conninfo"], "invalid connection string"),
    ],
)
def test_a_monitor_reads_every_error_as_unknown_on_stdout(
    plugin: list[str], argv: list[str], message: str
) -> None:
    done = seqdoctor_cli("check", *plugin, *argv)
    assert done.returncode == 3
    assert done.stdout.startswith("SEQDOCTOR UNKNOWN: ")
    assert done.stdout.count("\n") == 1
    assert message in done.stdout
    assert done.stderr == "seqdoctor: " + done.stdout.removeprefix("SEQDOCTOR UNKNOWN: ")


@pytest.mark.parametrize("argv", [["-V"], ["--version"], ["check", "-V"]])
def test_v_prints_the_version(argv: list[str]) -> None:
    done = seqdoctor_cli(*argv)
    assert (done.returncode, done.stdout) == (0, f"seqdoctor {__version__}\n")


def python(code: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    return time.monotonic() - started, done


def test_the_deadline_says_how_far_the_audit_got() -> None:
    took, done = python(
        "import time\n"
        "from seqdoctor.cli.deadline import Deadline\n"
        "with Deadline(0.5, for_monitor=True) as deadline:\n"
        "    deadline.progress('columns', 1200, 2000)\n"
        "    time.sleep(30)\n"
    )
    assert done.returncode == 3
    assert done.stdout == (
        "SEQDOCTOR UNKNOWN: no result within 0.5 s (--timeout): read 1,200 of 2,000 columns\n"
    )
    assert took < 10, took


def test_a_result_settled_before_the_deadline_is_written_whole() -> None:
    _, done = python(
        "import time\n"
        "from seqdoctor.cli.deadline import Deadline\n"
        "with Deadline(0.2, for_monitor=True) as deadline:\n"
        "    deadline.settle()\n"
        "    time.sleep(0.6)  # writing a long report, past the deadline\n"
        "    print('the report')\n"
    )
    assert (done.returncode, done.stdout) == (0, "the report\n")
