"""A statement timeout that cancels a COMMIT: one clear line at most, never psycopg's words.

A SET LOCAL statement_timeout bounds the COMMIT too, and a timeout that fires as a
statement ends can cancel the COMMIT after it before it takes effect: the server's
transaction stays open and aborted while psycopg takes it for ended. Every transaction
after it then became a savepoint of the failed one: hundreds of lines of "error
ignored in rollback ... savepoint _pg3_1 does not exist", and "can't change 'autocommit'
now" at the end. Here a COMMIT is made to run past the timeout on purpose.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from seqdoctor.cli import main
from seqdoctor.repairs import Outcome, apply_fix, plan_fix
from tests.db.test_cli import DRIFTED_TABLES
from tests.db.test_fix_failures import SETUP

Connection = psycopg.Connection[tuple[Any, ...]]
TABLES = """
    DO $$ BEGIN FOR i IN 1..30 LOOP
        EXECUTE format('CREATE TABLE drifted_%s (id serial PRIMARY KEY)', i);
        EXECUTE format('INSERT INTO drifted_%s (id) VALUES (1), (2)', i);
    END LOOP; END $$
"""
INTERNAL = ("savepoint", "can't change", "error ignored", "psycopg", "Traceback")


def slow_commit(monkeypatch: pytest.MonkeyPatch, which: int) -> None:
    """The *which*-th COMMIT of the process (from 1) runs past any statement timeout."""
    commits = itertools.count(1)
    original = psycopg.Transaction._get_commit_commands

    def commands(self: psycopg.Transaction) -> Iterator[bytes]:
        for command in original(self):
            if command == b"COMMIT" and next(commits) == which:
                yield b"SELECT pg_catalog.pg_sleep(5)"  # canceled: the transaction stays open
            else:
                yield command

    monkeypatch.setattr(psycopg.Transaction, "_get_commit_commands", commands)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def psycopg_said(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("psycopg")]


@pytest.mark.parametrize("which", [2, 4, 6])
def test_a_canceled_commit_while_auditing_costs_one_batch_at_most(
    *,
    which: int,
    conn: Connection,
    dsn: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conn.execute(TABLES)
    slow_commit(monkeypatch, which)

    status, out, err = run(
        capsys, "check", "--connections", "1", "--statement-timeout", "0.5", "--quiet", dsn
    )

    assert psycopg_said(caplog) == []
    assert not any(word in err for word in INTERNAL), err
    if status == 3 and err:  # the catalog itself could not be read: one line
        assert err.count("\n") == 1, err
        assert err.startswith("seqdoctor: could not read the catalog: canceling statement"), err
    else:  # the audit went on: every table judged, or not checked (SEQ900)
        assert err == ""
        assert out.startswith(("SEQDOCTOR CRITICAL: ", "SEQDOCTOR UNKNOWN: ")), out


def test_a_canceled_commit_while_applying_fails_that_repair_and_the_rest_goes_on(
    conn: Connection, dsn: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn.execute(SETUP)
    fix = plan_fix(dsn, codes=["SEQ001", "SEQ002"], statement_timeout=0.5)
    # The move commits twice (it runs again to see that nothing landed past it); then the
    # first widening's COMMIT is canceled.
    slow_commit(monkeypatch, 3)

    result = apply_fix(dsn, fix)

    assert [r.outcome for r in result.results] == [
        Outcome.APPLIED,
        Outcome.FAILED,
        Outcome.NOT_RUN,
    ]
    assert result.results[1].detail == (
        "canceling statement due to statement timeout: a statement ran past the statement "
        "timeout; nothing was changed"
    )
    assert result.recheck_error is None
    assert result.after is not None  # checked again, on the same connection
    assert int(result.exit_status) == 2
    assert psycopg_said(caplog) == []


def test_tiny_statement_timeouts_on_hundreds_of_tables_say_one_line_at_most(
    conn: Connection,
    dsn: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    conn.execute(DRIFTED_TABLES)
    runs = [
        [*command, "--statement-timeout", timeout, dsn]
        for timeout in ("0.03", "0.04", "0.05", "0.06")
        for command in (["check"], ["fix"])
    ]

    for argv in [*runs, ["fix", "--apply", "--yes", "--statement-timeout", "0.04", dsn]]:
        status, _, err = run(capsys, *argv)

        said = [line for line in err.splitlines() if not line.startswith("[")]  # fix's log
        assert not any(word in err for word in INTERNAL), err
        assert len(said) <= 1, said
        assert status in {0, 1, 2, 3}
        if said:
            assert said[0].startswith("seqdoctor: "), said
    assert psycopg_said(caplog) == []
