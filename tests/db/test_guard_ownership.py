"""The guard never adopts what it does not own, and status checks what its function runs.

Whoever owns the guard's function decides what every writer of a guarded
table runs, superusers included. A role that may only create schemas in the
database must not get there by creating the guard's schema and function before
``guard install`` does; a function replaced, or given away, after install must
show in ``guard status`` as tampered, whatever its comment says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

import seqdoctor
from seqdoctor import guard
from seqdoctor.errors import UsageError
from seqdoctor.guard import GuardState, text
from seqdoctor.guard.plan import function_statements
from tests.db.test_guard_lifecycle import SHOP, catalog, install, states
from tests.fix_db import seqdoctor_cli

Connection = psycopg.Connection[tuple[Any, ...]]
# A role and the test database's conninfo as it.
NewRole = Callable[[str], tuple[str, str]]

HOSTILE_GUARD = """
    CREATE FUNCTION seqdoctor.guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        ALTER ROLE mallory SUPERUSER;  -- as whoever writes the row
        RETURN NULL;
    END
    $$
"""


@pytest.fixture
def new_role(conn: Connection, dsn: str) -> Iterator[NewRole]:
    """Login roles that own nothing yet, named after the test database (roles are global)."""
    made: list[sql.Identifier] = []

    def make(kind: str) -> tuple[str, str]:
        name = f"{kind}_{conn.info.dbname}"
        made.append(sql.Identifier(name))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'x'").format(made[-1]))
        return name, make_conninfo(dsn, user=name, password="x")

    yield make
    conn.execute("RESET ROLE")
    for role in reversed(made):
        conn.execute(sql.SQL("DROP OWNED BY {0} CASCADE; DROP ROLE {0}").format(role))


def as_role(conn: Connection, role: str, statements: str | sql.Composable) -> None:
    conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
    conn.execute(statements)
    conn.execute("RESET ROLE")


def audited_guards(target: str) -> dict[str, str | None]:
    """The guard of each column as the audit reports it (JSON used_by[].guard, Prometheus)."""
    return {u.column: u.guard for u in seqdoctor.audit(target).snapshot.uses}


def refused(target: str) -> str:
    """What install says when it refuses, from the API and from the command line."""
    with pytest.raises(UsageError) as raised:
        guard.install(target)
    with pytest.raises(UsageError):
        guard.install(target, dry_run=True)
    done = seqdoctor_cli("guard", "install", target)
    assert (done.returncode, done.stdout) == (3, "")
    assert done.stderr == f"seqdoctor: {raised.value}\n"
    return str(raised.value)


@pytest.mark.parametrize("planted", ["schema", "hostile function", "copy of the guard's"])
def test_a_schema_and_function_created_before_install_are_refused(
    planted: str, dsn: str, conn: Connection, new_role: NewRole
) -> None:
    conn.execute(SHOP)
    mallory, _ = new_role("mallory")
    conn.execute(
        sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
            sql.Identifier(conn.info.dbname), sql.Identifier(mallory)
        )
    )
    as_role(conn, mallory, "CREATE SCHEMA seqdoctor")
    if planted == "hostile function":
        as_role(conn, mallory, HOSTILE_GUARD.replace("mallory", mallory))
    elif planted == "copy of the guard's":
        for statement in function_statements("seqdoctor"):
            as_role(conn, mallory, statement)
    before = catalog(conn)

    message = refused(dsn)

    assert message.startswith(
        f"guard install refuses schema seqdoctor: schema seqdoctor belongs to role {mallory}, "
        f"neither {conn.info.user} nor a superuser"
    )
    if planted != "schema":
        assert f"function seqdoctor.guard() belongs to role {mallory}" in message
    assert catalog(conn) == before


def test_a_schema_others_may_create_in_is_refused(
    dsn: str, conn: Connection, new_role: NewRole
) -> None:
    conn.execute(SHOP)
    install(dsn)
    conn.execute("GRANT CREATE ON SCHEMA seqdoctor TO PUBLIC")
    before = catalog(conn)

    message = refused(dsn)

    assert message.startswith(
        "guard install refuses schema seqdoctor: PUBLIC may create objects in schema seqdoctor "
        "(REVOKE CREATE ON SCHEMA seqdoctor FROM PUBLIC;)"
    )
    assert catalog(conn) == before
    assert guard.status(dsn).notes == (
        "PUBLIC may create objects in schema seqdoctor, where the guard's function lives: guard "
        "install refuses it until REVOKE CREATE ON SCHEMA seqdoctor FROM PUBLIC;",
    )
    conn.execute("REVOKE CREATE ON SCHEMA seqdoctor FROM PUBLIC")
    assert guard.install(dsn).plan.empty


@pytest.mark.parametrize(
    ("tampering", "problem"),
    [
        (
            "CREATE OR REPLACE FUNCTION seqdoctor.guard() RETURNS trigger LANGUAGE plpgsql"
            " AS $$BEGIN RETURN NULL; END$$",
            "its body is not the one this seqdoctor installs",
        ),
        ("ALTER FUNCTION seqdoctor.guard() SET search_path = public", "it runs with SET "),
        ("ALTER FUNCTION seqdoctor.guard() SECURITY DEFINER", "it is SECURITY DEFINER"),
    ],
)
def test_a_function_its_owner_changed_after_install_is_tampered(
    tampering: str, problem: str, dsn: str, conn: Connection, new_role: NewRole
) -> None:
    app, as_app = new_role("app")
    conn.execute(
        sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
            sql.Identifier(conn.info.dbname), sql.Identifier(app)
        )
    )
    as_role(conn, app, "CREATE SCHEMA shop; CREATE TABLE shop.orders (id serial PRIMARY KEY)")
    install(as_app)  # a table owner guards its own tables
    assert states(dsn) == {"shop.orders.id": "raise"}

    as_role(conn, app, tampering)  # the comment on the function stays as install left it

    assert states(dsn) == {"shop.orders.id": "tampered"}
    report = guard.status(dsn)

    (orders,) = report.columns
    assert (orders.state, orders.mode) == (GuardState.TAMPERED, "raise")
    assert orders.detail.startswith(
        f"function seqdoctor.guard() is not what seqdoctor installs: {problem}"
    )
    assert "shop.orders.id" in text.status(report)
    assert text.status(report).splitlines()[-1] == "0 of 1 column guarded, 1 tampered"
    assert seqdoctor_cli("guard", "status", dsn).returncode == 2
    assert audited_guards(dsn) == {"id": "tampered"}  # the audit does not call it raise either
    # A superuser does not replace it: it would stay app's to change again.
    assert f"function seqdoctor.guard() belongs to role {app}" in refused(dsn)
    replaced = install(as_app)  # its owner does
    assert [s.title for s in replaced.plan.steps] == [
        "create or replace the guard functions in schema seqdoctor"
    ]
    assert states(dsn) == {"shop.orders.id": "raise"}


def test_a_function_given_to_a_role_that_may_not_create_triggers_is_tampered(
    dsn: str, conn: Connection, new_role: NewRole
) -> None:
    conn.execute("CREATE TABLE orders (id serial PRIMARY KEY)")
    install(dsn)
    mallory, _ = new_role("mallory")
    conn.execute(
        sql.SQL("ALTER FUNCTION seqdoctor.guard() OWNER TO {}").format(sql.Identifier(mallory))
    )

    assert states(dsn) == {"public.orders.id": "tampered"}
    (orders,) = guard.status(dsn).columns
    assert orders.state is GuardState.TAMPERED
    assert orders.detail == (
        f"function seqdoctor.guard() belongs to role {mallory}, who may not create triggers on "
        "public.orders: it decides what every write there runs"
    )
    assert f"function seqdoctor.guard() belongs to role {mallory}" in refused(dsn)
    assert audited_guards(dsn) == {"id": "tampered"}


def test_a_trigger_bound_to_a_planted_operator_is_tampered_and_installed_again(
    dsn: str, conn: Connection, new_role: NewRole
) -> None:
    """A trigger made by hand, or by a seqdoctor from before its conditions were qualified,
    under a search_path listing public first: its WHEN condition runs the planted operator."""
    conn.execute("CREATE TABLE orders (id serial PRIMARY KEY)")
    install(dsn)
    mallory, _ = new_role("mallory")
    conn.execute(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(mallory)))
    as_role(
        conn,
        mallory,
        """
        CREATE FUNCTION public.later(integer, bigint) RETURNS boolean
            LANGUAGE sql AS 'SELECT $1 OPERATOR(pg_catalog.>) $2';
        CREATE OPERATOR public.> (LEFTARG = integer, RIGHTARG = bigint, FUNCTION = public.later);
        """,
    )
    conn.execute(
        """
        SET search_path = public, pg_catalog;
        DROP TRIGGER seqdoctor_guard_insert_1 ON orders;
        CREATE TRIGGER seqdoctor_guard_insert_1 AFTER INSERT ON orders FOR EACH ROW
        WHEN ((NEW.id > pg_catalog.pg_sequence_last_value('orders_id_seq'::regclass)) IS NOT FALSE)
        EXECUTE FUNCTION seqdoctor.guard('raise');
        RESET search_path;
        """
    )

    (orders,) = guard.status(dsn).columns
    assert orders.state is GuardState.TAMPERED
    assert orders.detail.startswith(
        "its triggers' WHEN condition calls operator public.>(integer,bigint), not PostgreSQL's own"
    )
    assert audited_guards(dsn) == {"id": "tampered"}
    install(dsn)  # replaces the column's triggers
    assert states(dsn) == {"public.orders.id": "raise"}
    assert audited_guards(dsn) == {"id": "raise"}
