"""No code of anyone else's runs in seqdoctor's sessions, whatever their search_path says.

A role that may create objects in ``public`` plants operators and functions
there that match what seqdoctor's queries call more exactly than
PostgreSQL's own (``=(oid, regclass)``), or, once ``public`` comes before
``pg_catalog`` on the search path, exactly as well. Every session seqdoctor
opens or is handed runs with ``search_path = pg_catalog, pg_temp``; a
connection handed over gets its own back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

import seqdoctor
from seqdoctor import guard
from seqdoctor.catalog.connection import connect
from seqdoctor.guard.ids import Restarter
from seqdoctor.repairs import apply_fix, plan_fix
from tests.fix_db import seqdoctor_cli

Connection = psycopg.Connection[tuple[Any, ...]]

MARK = "hostile code ran"

# (operator, left, right, result): what catalog queries and statements compare with.
OPERATORS = [
    ("=", "oid", "regclass", "boolean"),
    ("=", "oid", "oid", "boolean"),
    ("=", "name", "name", "boolean"),
    ("=", "text", "text", "boolean"),
    ("=", '"char"', '"char"', "boolean"),
    ("<>", '"char"', '"char"', "boolean"),
    ("<>", "oid", "oid", "boolean"),
    ("~~", "text", "text", "boolean"),
    ("~", "name", "text", "boolean"),
    (">", "smallint", "integer", "boolean"),
    (">", "integer", "bigint", "boolean"),
    (">=", "numeric", "numeric", "boolean"),
    ("||", "text", "oid", "text"),
    ("||", "text", "text", "text"),
]
# (function, arguments, result): builtins the queries call unqualified.
FUNCTIONS = [
    ("set_config", "text, text, boolean", "text"),
    ("current_setting", "text", "text"),
    ("current_setting", "text, boolean", "text"),
    ("current_database", "", "name"),
    ("has_schema_privilege", "oid, text", "boolean"),
    ("has_column_privilege", "oid, smallint, text", "boolean"),
    ("split_part", "text, text, integer", "text"),
    ("encode", "bytea, text", "text"),
    ("format_type", "oid, integer", "text"),
    ("obj_description", "oid, name", "text"),
    ("row_security_active", "oid", "boolean"),
    ("sign", "numeric", "numeric"),
    ("div", "numeric, numeric", "numeric"),
]


@pytest.fixture
def attacker(conn: Connection) -> Iterator[str]:
    """A role that owns nothing, may CREATE in public, and has planted its code there.

    Each planted function counts its calls in a sequence (nextval() is not
    undone by a rollback) and raises: its trace survives wherever it ran.
    """
    name = f"attacker_{conn.info.dbname}"
    role = sql.Identifier(name)
    conn.execute(sql.SQL("CREATE ROLE {}").format(role))
    conn.execute(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(role))
    conn.execute(sql.SQL("SET ROLE {}").format(role))
    conn.execute("CREATE SEQUENCE public.hostile_calls")
    conn.execute("GRANT ALL ON public.hostile_calls TO PUBLIC")
    planted = [(f"hostile_{n}", args, result) for n, (_, *args, result) in enumerate(OPERATORS)]
    planted = [(f, ", ".join(a), r) for f, a, r in planted]
    for function, arguments, result in [*planted, *FUNCTIONS]:
        conn.execute(
            sql.SQL(
                "CREATE FUNCTION public.{}({}) RETURNS {} LANGUAGE plpgsql AS $$\n"
                "BEGIN\n"
                "    BEGIN\n"
                "        PERFORM pg_catalog.nextval('public.hostile_calls');\n"
                "    EXCEPTION WHEN OTHERS THEN NULL;  -- in a read-only transaction\n"
                "    END;\n"
                "    RAISE EXCEPTION {};\n"
                "END\n"
                "$$"
            ).format(
                sql.Identifier(function),
                sql.SQL(arguments),
                sql.SQL(result),
                sql.Literal(f"{MARK}: {function}({arguments})"),
            )
        )
    for (operator, left, right, _), (function, _, _) in zip(OPERATORS, planted, strict=True):
        conn.execute(
            sql.SQL(
                "CREATE OPERATOR public.{} (LEFTARG = {}, RIGHTARG = {}, FUNCTION = public.{})"
            ).format(sql.SQL(operator), sql.SQL(left), sql.SQL(right), sql.Identifier(function))
        )
    conn.execute("RESET ROLE")
    yield name
    conn.execute(sql.SQL("DROP OWNED BY {0}; DROP ROLE {0}").format(role))


def hostile_calls(conn: Connection) -> int:
    (called,) = conn.execute(
        "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM public.hostile_calls"
    ).fetchone() or (0,)
    return int(called)


@pytest.fixture(params=["default", "public first"])
def scenario(request: pytest.FixtureRequest, conn: Connection, attacker: str) -> str:
    """The database's default search_path, or public before pg_catalog for seqdoctor's role."""
    conn.execute(
        """
        CREATE TABLE t (id serial PRIMARY KEY, note text);
        INSERT INTO t (id) VALUES (1), (2), (3);
        CREATE TABLE u (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY);
        """
    )
    if request.param == "public first":
        conn.execute(
            sql.SQL(
                "ALTER ROLE CURRENT_USER IN DATABASE {} SET search_path = public, pg_catalog"
            ).format(sql.Identifier(conn.info.dbname))
        )
    return str(request.param)


def test_the_command_line_runs_none_of_it(dsn: str, conn: Connection, scenario: str) -> None:
    runs = [
        (("check", dsn), 2),  # t's sequence is behind its data: critical
        (("fix", dsn), 1),
        (("fix", "--apply", "--yes", dsn), 0),
        (("guard", "install", dsn), 0),
        (("guard", "install", "--dry-run", dsn), 0),
        (("guard", "status", dsn), 0),
        (("guard", "remove", dsn), 0),
        (("check", dsn), 0),
    ]
    for args, status in runs:
        done = seqdoctor_cli(*args)
        assert MARK not in done.stdout + done.stderr, args
        assert done.returncode == status, (args, done.stdout, done.stderr)
    assert hostile_calls(conn) == 0


def test_a_callers_connection_runs_none_of_it_and_gets_its_search_path_back(
    dsn: str, conn: Connection, scenario: str
) -> None:
    with psycopg.connect(dsn, autocommit=True) as caller:
        caller.execute("SET search_path = public, pg_catalog")
        caller.autocommit = False

        def search_path() -> str:
            (path,) = caller.execute("SHOW search_path").fetchone() or ("",)
            caller.rollback()
            return str(path)

        report = seqdoctor.audit(caller)
        assert MARK not in repr(report)
        assert "SEQ001" in [f.code for f in report.findings]
        assert search_path() == "public, pg_catalog"

        fix = plan_fix(caller)
        assert MARK not in repr(fix)
        done = apply_fix(caller, fix)
        assert MARK not in repr(done)
        assert done.exit_status == 0, repr(done)
        assert search_path() == "public, pg_catalog"

        for run in (guard.install, guard.status, guard.remove):
            outcome = run(caller)
            assert MARK not in repr(outcome), run
            assert search_path() == "public, pg_catalog"
    assert hostile_calls(conn) == 0


def test_the_test_suite_restarter_runs_none_of_it_in_the_tests_transaction(
    dsn: str, conn: Connection, scenario: str
) -> None:
    """``--seqdoctor-ids=restart`` reads the catalog inside the test's own transaction."""
    restarter = Restarter()
    with psycopg.connect(dsn) as test:  # in a transaction, as a test's connection is
        test.execute("SET search_path = public, pg_catalog")
        test.commit()
        test.execute("SET LOCAL search_path = public, pg_catalog, pg_temp")
        observed = restarter.restart(test)
        (path,) = test.execute("SHOW search_path").fetchone() or ("",)
        test.rollback()
        assert sorted(o.fed.sequence.name for o in observed) == ["t_id_seq", "u_id_seq"]
        assert path == "public, pg_catalog, pg_temp"
        with connect(dsn) as own:  # the plugin's own connection, as it opens it
            restarter.restore(own, observed)
    assert hostile_calls(conn) == 0
