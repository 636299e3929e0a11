"""A test database through one test session: what the pytest plugin and Django's runner share.

The session joins the processes using the database (:mod:`seqdoctor.guard.shared`),
installs the guard in turn with them, restarts sequences for each test
(:mod:`seqdoctor.guard.ids`) and puts back what committing tests moved, and,
when it is the last to leave, audits the database and removes the guard the
run installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from seqdoctor.auditing import audit
from seqdoctor.catalog.connection import connect
from seqdoctor.checks import Finding
from seqdoctor.errors import SeqdoctorError
from seqdoctor.guard import GuardResult, install, remove, shared, text
from seqdoctor.guard.ids import IdStrategy, Observed, Restarter

# How long a process waits for another to finish installing or removing the guard.
TURN_TIMEOUT = 120.0


class GuardNotInstalled(SeqdoctorError):
    """The guard could not be installed on a test database; the message says why, step by step."""


@dataclass
class SuiteDatabase:
    """One database a test session uses, and its place among the processes sharing it."""

    conninfo: str
    alias: str | None = None  # Django's alias, when the database is Django's
    membership: shared.Membership | None = None
    guard: GuardResult | None = None
    restarter: Restarter | None = None
    # Where sequences are put back after each test: one connection for the session.
    own: psycopg.Connection[Any] | None = None

    @property
    def joined(self) -> bool:
        return self.membership is not None

    def join(self) -> None:
        """Join the processes using the database (SeqdoctorError when it cannot be reached)."""
        self.membership = shared.join(self.conninfo, lock_timeout=TURN_TIMEOUT)

    def install_guard(self, mode: str) -> GuardResult:
        """The guard, installed in turn with the other processes (once joined)."""
        assert self.membership is not None, "join first"
        result = shared.in_turn(self.membership, lambda: install(self.conninfo, mode=mode))
        if not result.ok:
            raise GuardNotInstalled(
                f"seqdoctor could not install its guard:\n{text.outcome(result)}"
            )
        self.guard = result
        return result

    def restart(self, conn: Any, strategy: IdStrategy | str) -> list[Observed]:
        """Restart the sequences in *conn*'s transaction (see :class:`Restarter`)."""
        if self.restarter is None:
            self.restarter = Restarter(IdStrategy(strategy))
        return self.restarter.restart(conn)

    def restore(self, seen: Sequence[Observed]) -> None:
        """After a test that committed: put back the sequences it moved."""
        if not seen or self.restarter is None:
            return
        if self.own is None or self.own.closed:
            self.own = connect(self.conninfo)
        self.restarter.restore(self.own, seen)

    def finish(self, *, remove_guard: bool) -> list[str]:
        """Leave; the last to leave audits the database and removes the guard the run installed.

        Returns what the audit found, as lines to show (none unless this was the last).
        """
        if self.own is not None:
            self.own.close()
        problems: list[str] = []
        if self.membership is None:
            return problems

        def last(ours: bool) -> None:
            try:
                report = audit(self.conninfo, select="SEQ001", allow_seqscan=True)
            except SeqdoctorError as error:
                problems.append(f"seqdoctor could not audit the test database: {error}")
            else:
                if report.findings:
                    problems.append(describe(report.findings))
            if ours and remove_guard:
                removed = remove(self.conninfo)
                if not removed.ok:
                    outcome = text.outcome(removed)
                    problems.append(f"seqdoctor could not remove its guard:\n{outcome}")

        shared.leave(self.membership, last)
        self.membership = None
        return problems


def describe(findings: Sequence[Finding]) -> str:
    """Findings as a test run shows them: one line each, naming table and column."""
    lines = ["seqdoctor: sequences behind their data:"]
    lines += [f"  {f.column}: {f.message}" for f in findings]
    return "\n".join(lines)
