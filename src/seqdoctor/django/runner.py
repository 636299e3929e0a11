"""``manage.py test`` with seqdoctor: the guard, deterministic ids and the end-of-run audit.

``TEST_RUNNER = "seqdoctor.django.DiscoverRunner"``, or
:class:`SeqdoctorRunnerMixin` before a runner of your own. Options, first
found wins: ``manage.py test --seqdoctor-guard=raise --seqdoctor-ids=restart``,
then settings (``SEQDOCTOR_GUARD``, ``SEQDOCTOR_IDS``, ``SEQDOCTOR_AUDIT``),
then the environment variables of the same names. With any of them the test
databases are audited after the run, and a sequence behind its data fails
it; the guard, installed after migrations, lets Django's fixture loads
through; warn mode reports each row written ahead of its sequence. Tests
run in one process (``--parallel`` would clone the databases the guard is on
after it is installed: refused).
"""

from __future__ import annotations

import os
import unittest
from contextlib import ExitStack
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.test import runner as django_runner

from seqdoctor.django.databases import (
    conninfo,
    fixture_loads_allowed,
    notices_watched,
    postgresql_aliases,
)
from seqdoctor.guard.ids import IdStrategy, Observed
from seqdoctor.suite import GuardNotInstalled, SuiteDatabase

GUARD_MODES = ("raise", "warn", "heal")


def _option(given: Any, name: str) -> Any:
    # Imported here: the lazy settings object fails any inspection before it is configured.
    from django.conf import settings  # noqa: PLC0415

    if given not in (None, False):
        return given
    if hasattr(settings, name):
        return getattr(settings, name)
    return os.environ.get(name) or None


class SeqdoctorRunnerMixin:
    """What seqdoctor adds to a Django test runner (put it first among the bases)."""

    def __init__(
        self,
        *args: Any,
        seqdoctor_guard: str | None = None,
        seqdoctor_ids: str | None = None,
        seqdoctor_audit: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.seqdoctor_guard = _option(seqdoctor_guard, "SEQDOCTOR_GUARD")
        ids = _option(seqdoctor_ids, "SEQDOCTOR_IDS")
        self.seqdoctor_ids = IdStrategy(ids) if ids else None
        audit = _option(seqdoctor_audit, "SEQDOCTOR_AUDIT")
        self.seqdoctor_audit = bool(audit) and str(audit).lower() not in {"0", "false", "no"}
        if self.seqdoctor_guard is not None and self.seqdoctor_guard not in GUARD_MODES:
            raise ImproperlyConfigured(f"SEQDOCTOR_GUARD must be one of {', '.join(GUARD_MODES)}")
        self.seqdoctor_problems: list[str] = []
        self._seqdoctor_databases: list[SuiteDatabase] = []
        self._seqdoctor_stack = ExitStack()
        self._seqdoctor_seen: list[tuple[SuiteDatabase, list[Observed]]] = []

    @classmethod
    def add_arguments(cls, parser: Any) -> None:
        super().add_arguments(parser)  # type: ignore[misc]
        parser.add_argument("--seqdoctor-guard", choices=GUARD_MODES, help="seqdoctor's guard.")
        parser.add_argument(
            "--seqdoctor-ids", choices=[s.value for s in IdStrategy], help="seqdoctor's ids."
        )
        parser.add_argument(
            "--seqdoctor-audit", action="store_true", help="Audit the test databases after."
        )

    @property
    def seqdoctor_active(self) -> bool:
        return bool(self.seqdoctor_guard or self.seqdoctor_ids or self.seqdoctor_audit)

    def setup_databases(self, **kwargs: Any) -> Any:
        old = super().setup_databases(**kwargs)  # type: ignore[misc]
        if not self.seqdoctor_active:
            return old
        if getattr(self, "parallel", 0) > 1:
            raise ImproperlyConfigured("seqdoctor's test runner options need --parallel=1")
        for alias in postgresql_aliases():
            database = SuiteDatabase(conninfo(alias), alias)
            database.join()
            self._seqdoctor_databases.append(database)
            if self.seqdoctor_guard:
                try:
                    database.install_guard(self.seqdoctor_guard)
                except GuardNotInstalled as error:
                    raise ImproperlyConfigured(str(error)) from None
        if self.seqdoctor_guard:
            self._seqdoctor_stack.enter_context(fixture_loads_allowed())
        if self.seqdoctor_guard == "warn":
            self._seqdoctor_stack.enter_context(notices_watched(self._seqdoctor_notice))
        return old

    def _seqdoctor_notice(self, diagnostic: Any) -> None:
        if diagnostic.sqlstate == "SD001":
            self.log(f"seqdoctor guard: {diagnostic.message_primary}")  # type: ignore[attr-defined]

    def teardown_databases(self, old_config: Any, **kwargs: Any) -> None:
        self._seqdoctor_stack.close()
        for database in self._seqdoctor_databases:
            self.seqdoctor_problems += database.finish(remove_guard=bool(self.seqdoctor_guard))
        for problem in self.seqdoctor_problems:
            self.log(problem)  # type: ignore[attr-defined]
        super().teardown_databases(old_config, **kwargs)  # type: ignore[misc]

    def suite_result(self, suite: Any, result: Any, **kwargs: Any) -> int:
        failed: int = super().suite_result(suite, result, **kwargs)  # type: ignore[misc]
        return failed + len(self.seqdoctor_problems)

    def get_resultclass(self) -> Any:
        base = super().get_resultclass() or unittest.TextTestResult  # type: ignore[misc]
        if self.seqdoctor_ids is None:
            return base
        runner = self

        class Result(base):  # type: ignore[valid-type, misc]
            """Restarts the sequences as each test starts, inside its transaction."""

            def startTest(self, test: Any) -> None:
                super().startTest(test)
                runner._seqdoctor_start(test)

            def stopTest(self, test: Any) -> None:
                runner._seqdoctor_stop()
                super().stopTest(test)

        return Result

    def _seqdoctor_start(self, test: Any) -> None:
        # Django's TestCase has opened the test's transaction (_pre_setup) by now.
        from django.db import connections  # noqa: PLC0415 - see _option

        assert self.seqdoctor_ids is not None
        wanted = getattr(test, "databases", ())
        for database in self._seqdoctor_databases:
            if wanted != "__all__" and database.alias not in wanted:
                continue
            connection = connections[database.alias]
            observed = database.restart(connection, self.seqdoctor_ids)
            if not connection.in_atomic_block:  # a TransactionTestCase: put back after it
                self._seqdoctor_seen.append((database, observed))

    def _seqdoctor_stop(self) -> None:
        seen, self._seqdoctor_seen = self._seqdoctor_seen, []
        for database, observed in seen:
            database.restore(observed)


class DiscoverRunner(SeqdoctorRunnerMixin, django_runner.DiscoverRunner):  # type: ignore[misc]
    """Django's DiscoverRunner with seqdoctor (see the module's docstring)."""
