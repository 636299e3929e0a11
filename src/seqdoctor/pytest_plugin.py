"""seqdoctor's pytest plugin: hard-coded ids fail on the first run, and sequences stay healthy.

Registered through the ``pytest11`` entry point, so installing seqdoctor
makes it available; it does nothing, and touches no database, until it is
given a database (``--seqdoctor-dsn`` or the ``seqdoctor_dsn`` ini setting).
Then:

- at the end of the session it audits that database and fails the run,
  naming table and column, when a sequence is behind its data;
- ``--seqdoctor-guard=raise|warn``: the ``seqdoctor_guard`` fixture installs
  the guard (docs/guard.md) for the session, so a row written with an id
  ahead of its sequence fails (or warns) the moment it is written;
- ``--seqdoctor-ids=restart``: the ``seqdoctor_ids`` fixture gives a
  function to call with the test's connection at the start of its
  transaction; every sequence then hands out the same ids whatever ran
  before (see :mod:`seqdoctor.guard.ids`);
- ``assert_sequences_healthy(conn)``, a function and a fixture, fails a test
  when a sequence is behind the data its connection sees.

The README shows how a plain psycopg suite, SQLAlchemy and pytest-django
turn it on. Everything but pytest is imported when first needed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import psycopg

    from seqdoctor.checks import Finding
    from seqdoctor.guard import GuardResult
    from seqdoctor.guard.ids import Restarter

GUARD_MODES = ("raise", "warn")


@dataclass(frozen=True)
class Settings:
    dsn: str | None
    guard: str | None
    ids: str | None


@dataclass
class _Session:
    """What the plugin keeps for one test session."""

    settings: Settings
    restarter: Restarter | None = None
    # Where sequences are put back after each test: one connection for the session.
    own: psycopg.Connection[tuple[object, ...]] | None = None
    audited: bool = False
    findings: tuple[Finding, ...] = ()
    audit_error: str | None = None


_SESSION = pytest.StashKey[_Session]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("seqdoctor", "seqdoctor: sequence health of the test database")
    group.addoption(
        "--seqdoctor-dsn",
        metavar="CONNINFO",
        help="The test database (a libpq conninfo). Turns the plugin on: at the end of the "
        "session, a sequence behind its data fails the run.",
    )
    group.addoption(
        "--seqdoctor-guard",
        choices=GUARD_MODES,
        help="Install seqdoctor's guard for the session (seqdoctor_guard fixture): a value "
        "written ahead of its sequence fails (raise) or warns (warn) at once.",
    )
    group.addoption(
        "--seqdoctor-ids",
        choices=("restart",),
        help="restart: every test sees the same generated ids (seqdoctor_ids fixture).",
    )
    parser.addini("seqdoctor_dsn", "The test database, as --seqdoctor-dsn.")


def pytest_configure(config: pytest.Config) -> None:
    dsn = config.getoption("seqdoctor_dsn") or config.getini("seqdoctor_dsn") or None
    settings = Settings(dsn, config.getoption("seqdoctor_guard"), config.getoption("seqdoctor_ids"))
    if dsn is None and (settings.guard or settings.ids):
        raise pytest.UsageError(
            "--seqdoctor-guard and --seqdoctor-ids need the test database: "
            "--seqdoctor-dsn or the seqdoctor_dsn ini setting"
        )
    config.stash[_SESSION] = _Session(settings)


def _session(config: pytest.Config) -> _Session:
    return config.stash[_SESSION]


def pytest_report_header(config: pytest.Config) -> str | None:
    settings = _session(config).settings
    if settings.dsn is None:
        return None
    return (
        f"seqdoctor: guard {settings.guard or 'off'}, ids {settings.ids or 'as they come'}, "
        "sequences audited at the end of the session"
    )


@pytest.fixture(scope="session")
def seqdoctor_dsn(pytestconfig: pytest.Config) -> str | None:
    """The test database the plugin was given, or None when it is off."""
    return _session(pytestconfig).settings.dsn


@pytest.fixture(scope="session")
def seqdoctor_guard(pytestconfig: pytest.Config) -> Iterator[GuardResult | None]:
    """The session's guard (with ``--seqdoctor-guard``), and its end-of-session audit.

    Request it once the tables exist (after migrations): the guard covers the
    columns present when it is installed. When the session ends, before a
    fixture that requested it drops the test database (pytest-django's does),
    the database is audited; a guard this fixture put on a database that had
    none is then removed. ``seqdoctor_ids`` requests it.
    """
    state = _session(pytestconfig)
    dsn, mode = state.settings.dsn, state.settings.guard
    if dsn is None or mode is None:
        yield None
        _finish(state)
        return
    from seqdoctor import guard  # noqa: PLC0415 - the plugin costs nothing until used

    result = guard.install(dsn, mode=mode)
    if not result.ok:
        from seqdoctor.guard import text  # noqa: PLC0415

        raise pytest.UsageError(f"seqdoctor could not install its guard:\n{text.outcome(result)}")
    yield result
    _finish(state)
    if result.plan.creates_schema:
        guard.remove(dsn)


@pytest.fixture
def seqdoctor_ids(
    pytestconfig: pytest.Config, seqdoctor_guard: GuardResult | None
) -> Iterator[Callable[[Any], None]]:
    """A function to call with the test's connection, inside its transaction, before it writes.

    With ``--seqdoctor-ids=restart`` it restarts the sequences past the data
    that transaction sees, so that generated ids do not depend on the tests
    that ran before; after the test, sequences a committing test moved are
    put back (never behind committed data). Otherwise it does nothing.
    Requesting it also installs the guard when ``--seqdoctor-guard`` is given.
    """
    session = _session(pytestconfig)
    if session.settings.ids != "restart" or session.settings.dsn is None:
        yield _nothing
        return
    from seqdoctor.catalog.connection import connect  # noqa: PLC0415
    from seqdoctor.guard.ids import Observed, Restarter  # noqa: PLC0415

    if session.restarter is None:
        session.restarter = Restarter()
    restarter = session.restarter
    seen: list[Observed] = []

    def restart(conn: Any) -> None:
        seen.extend(restarter.restart(conn))

    yield restart
    if seen:
        if session.own is None or session.own.closed:
            session.own = connect(session.settings.dsn)
        restarter.restore(session.own, seen)


def _nothing(conn: Any) -> None:
    """What ``seqdoctor_ids`` gives when ids are not restarted."""


def assert_sequences_healthy(conn: Any, *, tables: tuple[str, ...] = ()) -> None:
    """Fail the test, naming table and column, when a sequence is behind the data *conn* sees.

    *conn* is a psycopg 3 connection, in a transaction or not: the check reads
    inside a savepoint it rolls back, so it sees the test's uncommitted rows
    and leaves the transaction as it was. *tables* narrows it (``--table`` globs).
    """
    from seqdoctor.catalog.filters import Filters  # noqa: PLC0415
    from seqdoctor.catalog.read import ReadOptions, read_snapshot  # noqa: PLC0415
    from seqdoctor.checks import REGISTRY, Settings, run_checks  # noqa: PLC0415

    options = ReadOptions(filters=Filters(tables=tables), allow_seqscan=True)
    with conn.transaction(force_rollback=True):
        snapshot = read_snapshot(conn, options)
    findings = run_checks(snapshot, Settings(), REGISTRY.select(["SEQ001"]))
    if findings:
        pytest.fail(_describe(findings), pytrace=False)


@pytest.fixture(name="assert_sequences_healthy")
def assert_sequences_healthy_fixture() -> Callable[..., None]:
    """:func:`assert_sequences_healthy`, for tests that take their helpers as fixtures."""
    return assert_sequences_healthy


def _describe(findings: list[Finding]) -> str:
    lines = ["seqdoctor: sequences behind their data:"]
    lines += [f"  {f.column}: {f.message}" for f in findings]
    return "\n".join(lines)


def _finish(state: _Session) -> None:
    """Close the plugin's connection, and audit the test database, once per session."""
    if state.own is not None:
        state.own.close()
    if state.audited or state.settings.dsn is None:
        return
    state.audited = True
    from seqdoctor import audit  # noqa: PLC0415
    from seqdoctor.errors import SeqdoctorError  # noqa: PLC0415

    try:
        report = audit(state.settings.dsn, select="SEQ001", allow_seqscan=True)
    except SeqdoctorError as error:
        state.audit_error = str(error)
    else:
        state.findings = report.findings


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Audit the test database, unless ``seqdoctor_guard`` did (while it still existed)."""
    state = session.config.stash.get(_SESSION, None)
    if state is None:
        return
    _finish(state)
    if (state.findings or state.audit_error) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(_SESSION, None)
    if state is None:
        return
    if state.audit_error:
        terminalreporter.write_sep("=", "seqdoctor", red=True)
        terminalreporter.write_line(
            f"seqdoctor could not audit the test database: {state.audit_error}"
        )
    if state.findings:
        terminalreporter.write_sep("=", "seqdoctor", red=True)
        terminalreporter.write_line(_describe(list(state.findings)))
