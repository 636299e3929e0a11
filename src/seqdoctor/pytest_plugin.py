"""seqdoctor's pytest plugin: hard-coded ids fail on the first run, and sequences stay healthy.

Registered through the ``pytest11`` entry point, so installing seqdoctor
makes it available; it does nothing, and touches no database, until it is
given one: ``--seqdoctor-dsn`` (or the ``seqdoctor_dsn`` ini setting), or,
with pytest-django, any of ``--seqdoctor-guard``, ``--seqdoctor-ids`` and
``--seqdoctor-audit``, which then use Django's test databases (each xdist
worker's ``test_<name>_gwN`` included). Then:

- at the end of the session each database is audited, once, and a sequence
  behind its data fails the run, naming table and column;
- ``--seqdoctor-guard=raise|warn|heal`` installs the guard (docs/guard.md)
  for the session, so a row written with an id ahead of its sequence fails,
  warns (a pytest warning naming table, column and value) or moves the
  sequence, the moment it is written; Django's fixture loads are let through
  (:func:`seqdoctor.allow_explicit_ids`);
- ``--seqdoctor-ids=restart|offset|beyond-int``: every test starts with the
  same sequences whatever ran before (see :mod:`seqdoctor.guard.ids`); with
  pytest-django automatically, otherwise through the ``seqdoctor_ids``
  fixture, called with the test's connection at the start of its transaction;
- ``assert_sequences_healthy(conn)``, a function and a fixture, fails a test
  when a sequence is behind the data its connection sees.

Under pytest-xdist, workers sharing a database install and remove the guard
in turn and count themselves (:mod:`seqdoctor.guard.shared`); the controller
touches no database and reports what the workers found. docs/pytest.md has
the recipes. Everything but pytest is imported when first needed.
"""

from __future__ import annotations

import contextlib
import warnings
import weakref
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from seqdoctor.checks import Finding
    from seqdoctor.guard import GuardResult
    from seqdoctor.guard.ids import Observed
    from seqdoctor.suite import SuiteDatabase

GUARD_MODES = ("raise", "warn", "heal")
ID_STRATEGIES = ("restart", "offset", "beyond-int")
_OUTPUT_KEY = "seqdoctor"


class GuardWarning(UserWarning):
    """A row written ahead of its sequence under ``--seqdoctor-guard=warn`` (SQLSTATE SD001)."""


@dataclass(frozen=True)
class Settings:
    dsn: str | None
    guard: str | None
    ids: str | None
    django: bool  # the databases are Django's (pytest-django), found once they are set up

    @property
    def active(self) -> bool:
        return self.dsn is not None or self.django


@dataclass
class _Session:
    """What the plugin keeps for one test session (one xdist worker, or the whole run)."""

    settings: Settings
    databases: list[SuiteDatabase] | None = None  # None until first needed
    finished: bool = False
    problems: list[str] = field(default_factory=list)  # lines for the summary, from every worker
    pending_warnings: list[str] = field(default_factory=list)
    watched: weakref.WeakSet[Any] = field(default_factory=weakref.WeakSet)
    stack: ExitStack = field(default_factory=ExitStack)


_SESSION = pytest.StashKey[_Session]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("seqdoctor", "seqdoctor: sequence health of the test database")
    group.addoption(
        "--seqdoctor-dsn",
        metavar="CONNINFO",
        help="The test database (a libpq conninfo; {worker} becomes _gw0, _gw1 ... under "
        "pytest-xdist, and nothing otherwise). Turns the plugin on: at the end of the "
        "session, a sequence behind its data fails the run.",
    )
    group.addoption(
        "--seqdoctor-guard",
        choices=GUARD_MODES,
        help="Install seqdoctor's guard for the session: a value written ahead of its "
        "sequence fails (raise), warns (warn) or moves the sequence past it (heal) at once.",
    )
    group.addoption(
        "--seqdoctor-ids",
        choices=ID_STRATEGIES,
        help="Every test starts from the same ids: each sequence at its START (restart), at "
        "a value of its own (offset), or past integer's range (beyond-int).",
    )
    group.addoption(
        "--seqdoctor-audit",
        action="store_true",
        help="With pytest-django: audit Django's test databases at the end of the session.",
    )
    parser.addini("seqdoctor_dsn", "The test database, as --seqdoctor-dsn.")
    parser.addini("seqdoctor_audit", "As --seqdoctor-audit.", type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "seqdoctor_allow_explicit_ids: the guard lets this test write explicit ids "
        "(Django's database; see seqdoctor.allow_explicit_ids)",
    )
    dsn = config.getoption("seqdoctor_dsn") or config.getini("seqdoctor_dsn") or None
    guard, ids = config.getoption("seqdoctor_guard"), config.getoption("seqdoctor_ids")
    asked = bool(
        guard or ids or config.getoption("seqdoctor_audit") or config.getini("seqdoctor_audit")
    )
    django = dsn is None and asked and _django_configured(config)
    if dsn is None and asked and not django:
        raise pytest.UsageError(
            "--seqdoctor-guard, --seqdoctor-ids and --seqdoctor-audit need the test database: "
            "--seqdoctor-dsn, the seqdoctor_dsn ini setting, or pytest-django's settings"
        )
    if dsn is not None:
        dsn = dsn.replace("{worker}", _worker_suffix(config))
    config.stash[_SESSION] = _Session(Settings(dsn, guard, ids, django))


def _django_configured(config: pytest.Config) -> bool:
    if not config.pluginmanager.hasplugin("django"):
        return False
    from pytest_django.lazy_django import django_settings_is_configured  # noqa: PLC0415

    return bool(django_settings_is_configured())


def _worker_suffix(config: pytest.Config) -> str:
    """``_gw0`` in xdist's first worker, as pytest-django names its databases; '' otherwise."""
    worker = getattr(config, "workerinput", {}).get("workerid")
    return f"_{worker}" if worker else ""


def _controller(config: pytest.Config) -> bool:
    """Whether this process is xdist's controller, which runs no test and uses no database."""
    return not hasattr(config, "workerinput") and config.getoption("dist", "no") != "no"


def _session(config: pytest.Config) -> _Session:
    return config.stash[_SESSION]


def pytest_report_header(config: pytest.Config) -> str | None:
    settings = _session(config).settings
    if not settings.active:
        return None
    where = "Django's test databases" if settings.django else "the test database"
    return (
        f"seqdoctor: guard {settings.guard or 'off'}, ids {settings.ids or 'as they come'}, "
        f"{where} audited at the end of the session"
    )


@pytest.fixture(scope="session")
def seqdoctor_dsn(pytestconfig: pytest.Config) -> str | None:
    """The test database the plugin was given (--seqdoctor-dsn), or None."""
    return _session(pytestconfig).settings.dsn


@pytest.fixture(scope="session")
def seqdoctor_guard(request: pytest.FixtureRequest) -> Iterator[GuardResult | None]:
    """The session's guard (with ``--seqdoctor-guard``), and its end-of-session audit.

    Request it once the tables exist (after migrations; with pytest-django
    the plugin requests it, after ``django_db_setup``): the guard covers the
    columns present when it is installed. When the session ends, before the
    test database is dropped, each database is audited (by the last worker
    using it) and a guard the run installed is removed.
    """
    state = _session(request.config)
    if not state.settings.active:
        yield None
        return
    if state.settings.django:
        request.getfixturevalue("django_db_setup")
    databases = _databases(state)
    for database in databases:
        if not database.joined:
            _join_for_guard(database)
        if state.settings.guard and database.guard is None:
            _install(state, database)
    yield databases[0].guard if databases else None
    _finish(state)


def _databases(state: _Session) -> list[SuiteDatabase]:
    if state.databases is None:
        from seqdoctor.suite import SuiteDatabase  # noqa: PLC0415 - costs nothing until used

        if state.settings.django:
            from seqdoctor.django.databases import conninfo, postgresql_aliases  # noqa: PLC0415

            state.databases = [SuiteDatabase(conninfo(a), a) for a in postgresql_aliases()]
            # Fixture loads write explicit ids: let through, for as long as the guard is on.
            if state.settings.guard:
                from seqdoctor.django.databases import fixture_loads_allowed  # noqa: PLC0415

                state.stack.enter_context(fixture_loads_allowed())
        else:
            assert state.settings.dsn is not None  # active
            state.databases = [SuiteDatabase(state.settings.dsn)]
    return state.databases


def _join_for_guard(database: SuiteDatabase) -> None:
    from seqdoctor.errors import SeqdoctorError  # noqa: PLC0415

    try:
        database.join()
    except SeqdoctorError as error:
        raise pytest.UsageError(f"seqdoctor: the test database: {error}") from None


def _join_to_audit(state: _Session, database: SuiteDatabase) -> None:
    """Join at the end of the session, to audit a database that could not be joined before."""
    from seqdoctor.errors import SeqdoctorError  # noqa: PLC0415

    try:
        database.join()
    except SeqdoctorError as error:
        state.problems.append(f"seqdoctor could not audit the test database: {error}")


def _install(state: _Session, database: SuiteDatabase) -> None:
    """The guard on *database*, installed in turn with the other workers that share it."""
    from seqdoctor.suite import GuardNotInstalled  # noqa: PLC0415

    assert state.settings.guard is not None  # asked for
    try:
        database.install_guard(state.settings.guard)
    except GuardNotInstalled as error:
        raise pytest.UsageError(str(error)) from None


def _finish(state: _Session) -> None:
    """Once per session: leave each database, the last worker to leave auditing it and
    removing the guard the run put there."""
    if state.finished:
        return
    state.finished = True
    state.stack.close()
    for database in state.databases or []:
        state.problems += database.finish(remove_guard=state.settings.guard is not None)


@pytest.fixture
def seqdoctor_ids(
    pytestconfig: pytest.Config, seqdoctor_guard: GuardResult | None
) -> Iterator[Callable[[Any], None]]:
    """A function to call with the test's connection, inside its transaction, before it writes.

    With ``--seqdoctor-ids`` it restarts the sequences (past the data that
    transaction sees) where the strategy puts them, so that generated ids do
    not depend on the tests that ran before; after the test, sequences a
    committing test moved are put back (never behind committed data). With
    ``--seqdoctor-guard=warn`` it also turns the guard's warnings on that
    connection into pytest warnings. Requesting it installs the guard.
    """
    state = _session(pytestconfig)
    databases = state.databases or []
    if not databases or state.settings.django:
        yield _nothing  # with pytest-django the plugin does it itself, on Django's connections
        return
    database = databases[0]
    seen: list[Observed] = []

    def restart(conn: Any) -> None:
        _watch(state, conn)
        if state.settings.ids:
            seen.extend(database.restart(conn, state.settings.ids))

    yield restart
    database.restore(seen)


def _nothing(conn: Any) -> None:
    """What ``seqdoctor_ids`` gives when the plugin does nothing with the connection."""


def _watch(state: _Session, conn: Any) -> None:
    """In warn mode: the guard's warnings on *conn* (psycopg 3) become pytest warnings."""
    import psycopg  # noqa: PLC0415

    if (
        state.settings.guard == "warn"
        and isinstance(conn, psycopg.Connection)
        and conn not in state.watched
    ):
        conn.add_notice_handler(_notice_handler(state))
        state.watched.add(conn)  # once: a connection kept across tests is handed over again


def _notice_handler(state: _Session) -> Callable[[Any], None]:
    def handler(diagnostic: Any) -> None:
        # Kept, and warned after the test's call: psycopg swallows what a handler raises,
        # and a suite whose warnings are errors must see this one fail the test.
        if diagnostic.sqlstate == "SD001":
            state.pending_warnings.append(diagnostic.message_primary or "")

    return handler


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    state = item.config.stash.get(_SESSION, None)
    try:
        result = yield
    except BaseException:
        # The test failed already: its warnings are shown, never raised in its place.
        with warnings.catch_warnings():
            warnings.simplefilter("default", GuardWarning)
            _warn_pending(state)
        raise
    _warn_pending(state)
    return result


def _warn_pending(state: _Session | None) -> None:
    if state is None or not state.pending_warnings:
        return
    pending, state.pending_warnings = state.pending_warnings, []
    for message in pending:
        warnings.warn(GuardWarning(f"seqdoctor guard: {message}"), stacklevel=2)


@pytest.fixture(autouse=True, scope="session")
def _seqdoctor_django_session(request: pytest.FixtureRequest) -> None:
    """With pytest-django: the guard, before any test, when a test of the session uses the
    database. Before the first TestCase class opens its transaction and loads its fixtures:
    installing it then would wait for that transaction's locks."""
    state = _session(request.config)
    if state.settings.django and any(_django_test_databases(i) for i in request.session.items):
        request.getfixturevalue("seqdoctor_guard")


@pytest.fixture(autouse=True)
def _seqdoctor_django(request: pytest.FixtureRequest) -> Iterator[None]:
    """With pytest-django: the ids and warnings of each test using Django's databases."""
    state = _session(request.config)
    aliases = _django_test_databases(request.node) if state.settings.django else []
    if not aliases:
        yield
        return
    request.getfixturevalue("seqdoctor_guard")
    if not _is_unittest(request.node):
        # The test's transaction: the restart goes in it, to be rolled back with it.
        request.getfixturevalue("_django_db_helper")
    from django.db import connections  # noqa: PLC0415

    from seqdoctor.django.databases import notices_watched  # noqa: PLC0415
    from seqdoctor.guard.explicit import allow_explicit_ids  # noqa: PLC0415

    by_alias = {d.alias: d for d in state.databases or []}
    chosen = [(connections[a], by_alias[a]) for a in aliases if a in by_alias]
    seen: list[tuple[SuiteDatabase, list[Observed]]] = []
    with ExitStack() as stack:
        if state.settings.guard == "warn":
            stack.enter_context(notices_watched(_notice_handler(state)))
        for connection, database in chosen:
            if state.settings.ids:
                observed = database.restart(connection, state.settings.ids)
                # In a transaction the rollback puts the sequences back, and until then
                # it holds them: only a transactional test's restart is undone after it.
                if not connection.in_atomic_block:
                    seen.append((database, observed))
            if request.node.get_closest_marker("seqdoctor_allow_explicit_ids"):
                stack.enter_context(allow_explicit_ids(connection))
        yield
    for database, observed in seen:
        database.restore(observed)


def _is_unittest(item: Any) -> bool:
    from pytest_django.django_compat import is_django_unittest  # noqa: PLC0415

    return bool(is_django_unittest(item))


def _django_test_databases(item: Any) -> list[str]:
    """The aliases of the databases a test uses, as pytest-django decides it; [] for none."""
    if _is_unittest(item):
        databases = item.cls.databases
        return sorted(databases) if databases != "__all__" else _all_aliases()
    marker = item.get_closest_marker("django_db")
    fixtures = {"db", "transactional_db", "django_db_reset_sequences", "live_server"}
    if marker is None and not fixtures & set(getattr(item, "fixturenames", ())):
        return []
    databases = marker.kwargs.get("databases") if marker is not None else None
    if databases is None:
        return ["default"]
    return _all_aliases() if databases == "__all__" else sorted(databases)


def _all_aliases() -> list[str]:
    from django.db import connections  # noqa: PLC0415

    return list(connections)


def assert_sequences_healthy(conn: Any, *, tables: tuple[str, ...] = ()) -> None:
    """Fail the test, naming table and column, when a sequence is behind the data *conn* sees.

    *conn* is a psycopg 3 connection, in a transaction or not: the check reads
    inside a savepoint it rolls back, so it sees the test's uncommitted rows
    and leaves the transaction as it was. *tables* narrows it (``--table`` globs).
    """
    from seqdoctor.catalog.filters import Filters  # noqa: PLC0415
    from seqdoctor.catalog.read import read_snapshot  # noqa: PLC0415
    from seqdoctor.catalog.reading import ReadOptions  # noqa: PLC0415
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
    from seqdoctor.suite import describe  # noqa: PLC0415

    return describe(findings)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Join the workers using the database given (--seqdoctor-dsn), before any test runs:
    the count must hold every worker before the first can find itself the last.

    A database a fixture of the suite creates cannot be joined yet: it is
    joined when the guard is asked for, or at the end of the session.
    """
    config = session.config
    state = config.stash.get(_SESSION, None)
    if state is None or state.settings.dsn is None or _controller(config):
        return
    from seqdoctor.errors import ConnectionFailed  # noqa: PLC0415

    for database in _databases(state):
        with contextlib.suppress(ConnectionFailed):
            database.join()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Audit what no ``seqdoctor_guard`` audited; in a worker, hand the findings on."""
    config = session.config
    state = config.stash.get(_SESSION, None)
    if state is None or not state.settings.active:
        return
    if not _controller(config) and not state.finished:
        for database in state.databases or []:
            if not database.joined and database.alias is None:
                _join_to_audit(state, database)
        _finish(state)
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_OUTPUT_KEY] = list(state.problems)
    if state.problems and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist's controller: what a worker found at the end of its session."""
    state = node.config.stash.get(_SESSION, None)
    found = getattr(node, "workeroutput", {}).get(_OUTPUT_KEY, [])
    if state is not None and found:
        state.problems.extend(found)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(_SESSION, None)
    if state is None or not state.problems:
        return
    terminalreporter.write_sep("=", "seqdoctor", red=True)
    for problem in state.problems:
        terminalreporter.write_line(problem)
