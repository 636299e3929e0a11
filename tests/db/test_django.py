"""The plugin and the runner on a real Django project (tests/django_project/), in subprocesses.

The project is the seed story as a Django team writes it: rows through a
factory, a hard-coded ``id=123``, a ``fixtures = [...]`` TestCase, a
``loaddata`` call and transactional tests. Each run is compared with the same
run in reverse order: the outcomes must not depend on it. The matrix runs on
one server (the newest found): what it exercises is the plugin, pytest-django
and xdist, the same on every server; tests/db/test_guard*.py cover the guard
on each.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.db.newest import skip_unless_newest
from tests.fix_db import Server

PROJECT = Path(__file__).parent.parent / "django_project"
SRC = Path(__file__).parent.parent.parent / "src"
TESTS = "shop/tests.py"
OUTCOME = re.compile(r"^(PASSED|FAILED|ERROR) (\S+)", re.MULTILINE)


@pytest.fixture
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """A copy of the project; the test is skipped on every server but the newest."""
    skip_unless_newest(request)
    server: Server = request.getfixturevalue("server")
    copy = tmp_path / "project"
    shutil.copytree(PROJECT, copy)
    # Named so that seqdoctor's own run does not load it as a conftest.
    (copy / "conftest_project.py").rename(copy / "conftest.py")
    yield copy
    with psycopg.connect(server.dsn, autocommit=True) as admin:
        left = admin.execute("SELECT datname FROM pg_database WHERE datname ~ 'shopdj'").fetchall()
    assert left == [], "a test database was left behind"


def run(
    project: Path, server: Server, *args: str, reverse: bool = False, tool: str = "pytest"
) -> tuple[dict[str, str], str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PG", "PYTEST"))},
        "SHOP_DSN": server.dsn,
        "DJANGO_SETTINGS_MODULE": "settings",
        "PYTHONPATH": os.pathsep.join([str(SRC), str(project)]),
    }
    if reverse:
        env["SHOP_REVERSE"] = "1"
    if tool == "pytest":
        command = [sys.executable, "-m", "pytest", TESTS, "-rA", "-p", "no:cacheprovider", *args]
    else:
        command = [sys.executable, "manage.py", "test", "shop", "-v", "2", *args]
    done = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    output = done.stdout + done.stderr
    outcomes = {name.split("::")[-1]: outcome for outcome, name in OUTCOME.findall(output)}
    return outcomes, output


def assert_no_guard_left(server: Server) -> None:
    with psycopg.connect(server.dsn, autocommit=True) as admin:
        names = [r[0] for r in admin.execute("SELECT datname FROM pg_database").fetchall()]
    for name in names:
        if name.startswith("template"):
            continue
        with psycopg.connect(server.conninfo(name), autocommit=True) as conn:
            found = conn.execute(
                "SELECT count(*) FROM pg_namespace WHERE nspname = 'seqdoctor'"
            ).fetchone()
            triggers = conn.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'seqdoctor_guard%'"
            ).fetchone()
        assert found == (0,), f"the guard's schema was left in {name}"
        assert triggers == (0,), f"guard triggers were left in {name}"


ALL_PASS = {
    "test_factory_rows": "PASSED",
    "test_hard_coded_id": "PASSED",
    "test_loaddata": "PASSED",
    "test_transactional": "PASSED",
    "test_fixtures_loaded": "PASSED",
    "test_new_widget": "PASSED",
    "test_commits": "PASSED",
    "test_hard_coded_in_a_test_case": "PASSED",
    "test_explicit_ids_on_purpose": "PASSED",  # marked seqdoctor_allow_explicit_ids
}
HARD_CODED_FAILS = {
    **ALL_PASS,
    "test_hard_coded_id": "FAILED",
    "test_hard_coded_in_a_test_case": "FAILED",
}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        pytest.param([], ALL_PASS, id="plain"),
        pytest.param(["--seqdoctor-guard=raise"], HARD_CODED_FAILS, id="raise"),
        pytest.param(["--seqdoctor-ids=restart"], ALL_PASS, id="restart"),
        pytest.param(["--seqdoctor-guard=heal"], ALL_PASS, id="heal"),
        pytest.param(
            ["--seqdoctor-guard=raise", "--seqdoctor-ids=restart", "-n", "2"],
            HARD_CODED_FAILS,
            id="raise-restart-xdist",
        ),
    ],
)
def test_outcomes_do_not_depend_on_the_order(
    project: Path, server: Server, options: list[str], expected: dict[str, str]
) -> None:
    forward, output = run(project, server, *options)
    assert forward == expected, output
    if options != ["--seqdoctor-guard=heal"]:  # heal's order is restart's: one run will do
        backward, output = run(project, server, *options, reverse=True)
        assert backward == expected, output
    if expected is HARD_CODED_FAILS:
        assert "public.shop_frob.id = 123 is ahead of its sequence" in output
    assert_no_guard_left(server)


def test_warn_mode_is_a_pytest_warning_naming_table_column_and_value(
    project: Path, server: Server
) -> None:
    outcomes, output = run(project, server, "--seqdoctor-guard=warn", "-W", "always")
    assert outcomes == ALL_PASS, output
    assert "GuardWarning: seqdoctor guard: public.shop_frob.id = 123 is ahead" in output


@pytest.mark.parametrize("strategy", ["offset", "beyond-int"])
def test_other_id_strategies_give_every_test_the_same_ids(
    project: Path, server: Server, strategy: str
) -> None:
    (project / "shop" / "test_ids.py").write_text(
        "import pytest\n"
        "from shop.factories import FrobFactory, WidgetFactory\n\n"
        "@pytest.mark.django_db\n"
        "@pytest.mark.parametrize('n', range(3))\n"
        "def test_ids(n):\n"
        "    print('IDS', FrobFactory().id, WidgetFactory().id)\n"
    )
    _outcomes, output = run(
        project, server, f"--seqdoctor-ids={strategy}", "-s", "shop/test_ids.py"
    )
    ids = set(re.findall(r"IDS (\d+) (\d+)", output))
    assert len(ids) == 1, output
    ((frob, widget),) = ids
    if strategy == "offset":
        # django_migrations_id_seq comes first by name
        assert (int(frob), int(widget)) == (200_001, 300_001)
    else:
        assert (int(frob), int(widget)) == (1, 2_147_483_648)


RUNNER_LINE = re.compile(r"^(test_\w+) \(shop\.tests\.\w+\.test_\w+\) \.\.\. (\w+)$", re.MULTILINE)


def runner_outcomes(output: str) -> dict[str, str]:
    return dict(RUNNER_LINE.findall(output))


@pytest.mark.parametrize(
    ("options", "hard_coded"),
    [
        (["--seqdoctor-guard=raise", "--seqdoctor-ids=restart"], "ERROR"),
        (["--seqdoctor-ids=restart"], "ok"),
        (["--seqdoctor-guard=warn"], "ok"),
    ],
    ids=["raise", "restart", "warn"],
)
def test_manage_py_test_through_the_runner(
    project: Path, server: Server, options: list[str], hard_coded: str
) -> None:
    (project / "settings.py").write_text(
        (project / "settings.py").read_text()
        + '\nTEST_RUNNER = "seqdoctor.django.DiscoverRunner"\n'
    )
    expected = {
        "test_fixtures_loaded": "ok",
        "test_new_widget": "ok",
        "test_commits": "ok",
        "test_hard_coded_in_a_test_case": hard_coded,
    }
    # Django's own --reverse: the same outcomes (one order for the modes raise does not tell).
    for order in ([], ["--reverse"]) if hard_coded == "ERROR" else ([],):
        _, output = run(project, server, *options, *order, tool="manage")
        assert runner_outcomes(output) == expected, output
        if hard_coded == "ERROR" or "--seqdoctor-guard=warn" in options:
            assert "public.shop_frob.id = 123 is ahead of its sequence" in output
    assert_no_guard_left(server)


def test_manage_py_seqdoctor_check_and_fix(project: Path, server: Server) -> None:
    with psycopg.connect(server.dsn, autocommit=True) as admin:
        admin.execute("CREATE DATABASE shopdj")
    try:
        env = {"SHOP_DSN": server.dsn, "DJANGO_SETTINGS_MODULE": "settings"}
        manage(project, env, "migrate", "-v", "0")
        healthy = manage(project, env, "seqdoctor", "check")
        assert healthy.returncode == 0, healthy.stdout + healthy.stderr
        with psycopg.connect(server.conninfo("shopdj"), autocommit=True) as conn:
            conn.execute("INSERT INTO shop_frob (id, name) VALUES (5, 'hard-coded')")
        behind = manage(project, env, "seqdoctor", "check")
        assert behind.returncode == 2, behind.stdout + behind.stderr
        assert "public.shop_frob.id" in behind.stdout
        fixed = manage(project, env, "seqdoctor", "fix", "--apply", "--yes")
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        assert manage(project, env, "seqdoctor", "check").returncode == 0
        wrong = manage(project, env, "seqdoctor", "check", "--select", "SEQ999")
        assert wrong.returncode == 3, wrong.stdout + wrong.stderr
        assert "Traceback" not in wrong.stderr
    finally:
        with psycopg.connect(server.dsn, autocommit=True) as admin:
            admin.execute("DROP DATABASE shopdj WITH (FORCE)")


def manage(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "PYTEST"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=project,
        env={**clean, **env, "PYTHONPATH": os.pathsep.join([str(SRC), str(project)])},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
