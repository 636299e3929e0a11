"""When applying goes wrong: a lock held by someone else, a killed connection, a plan gone
stale, a role without privileges. Each time the run stops, says what was applied and what
was not, changes nothing half-way, and running fix again finishes the job.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from seqdoctor.auditing import audit
from seqdoctor.cli import main
from seqdoctor.errors import ConnectionFailed
from seqdoctor.repairs import FixResult, Outcome, Retries, apply_fix, plan_fix
from tests.fix_db import Server, blocked_session, seqdoctor_cli

Connection = psycopg.Connection[tuple[Any, ...]]
# A sequence behind its data (applied first: safe), then two integer keys near their end.
SETUP = """
    CREATE TABLE users (id serial PRIMARY KEY);
    INSERT INTO users (id) SELECT generate_series(1, 20);
    CREATE TABLE orders (id serial PRIMARY KEY);
    CREATE TABLE products (id serial PRIMARY KEY);
    CREATE VIEW order_ids AS SELECT id FROM orders;
    SELECT setval('orders_id_seq', 2000000000), setval('products_id_seq', 2000000000);
"""
FAST = Retries(retries=2, backoff=0.05)


def outcomes(result: FixResult) -> list[Outcome]:
    return [r.outcome for r in result.results]


def type_of(conn: Connection, table: str) -> str:
    row = conn.execute(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
        " WHERE attrelid = %s::regclass AND attname = 'id'",
        [table],
    ).fetchone()
    assert row is not None
    return str(row[0])


def finishes(dsn: str) -> None:
    """Running fix again applies what is left, and a third run finds nothing to do."""
    again = apply_fix(dsn, plan_fix(dsn, codes=["SEQ001", "SEQ002"]))
    assert set(outcomes(again)) == {Outcome.APPLIED}, again.results
    assert int(again.exit_status) == 0
    assert plan_fix(dsn, codes=["SEQ001", "SEQ002"]).plans == ()


def test_a_lock_held_past_the_retries_stops_the_run_and_a_rerun_finishes(
    conn: Connection, dsn: str
) -> None:
    conn.execute(SETUP)
    fix = plan_fix(dsn, codes=["SEQ001", "SEQ002"], lock_timeout=0.1)
    assert [p.title for p in fix.plans] == [
        "Move public.users_id_seq forward past the data in public.users.id",
        "Widen public.orders.id to bigint, and the sequence public.orders_id_seq",
        "Widen public.products.id to bigint, and the sequence public.products_id_seq",
    ]

    with psycopg.connect(dsn) as holder:
        holder.execute("LOCK TABLE orders IN ACCESS SHARE MODE")  # a long report, say
        result = apply_fix(dsn, fix, retries=FAST)

    assert outcomes(result) == [Outcome.APPLIED, Outcome.FAILED, Outcome.NOT_RUN]
    failed = result.results[1]
    assert failed.detail == (
        "its locks were not granted in 3 attempts of 0.1 s: another session holds them"
    )
    assert failed.attempts == 3
    waited = [s.result for s in failed.steps if s.what == "waiting"]
    assert [line.split(" in 0.")[0] for line in waited] == ["lock not granted; trying again"] * 2
    pauses = [float(line.split()[-2]) for line in waited]
    assert 0.05 <= pauses[0] <= 0.075
    assert 0.1 <= pauses[1] <= 0.15
    assert int(result.exit_status) == 2
    assert (type_of(conn, "orders"), type_of(conn, "products")) == ("integer", "integer")
    assert [c.object for c in result.comparisons if c.aspect == "findings"] == ["public.users.id"]
    finishes(dsn)


def test_a_killed_connection_stops_the_run_and_a_rerun_finishes(conn: Connection, dsn: str) -> None:
    conn.execute(SETUP)
    fix = plan_fix(dsn, codes=["SEQ001", "SEQ002"], lock_timeout=10)
    results: list[FixResult] = []

    with psycopg.connect(dsn) as holder:
        holder.execute("LOCK TABLE orders IN ACCESS SHARE MODE")
        applying = threading.Thread(target=lambda: results.append(apply_fix(dsn, fix)))
        applying.start()
        conn.execute("SELECT pg_terminate_backend(%s)", [blocked_session(conn)])
        applying.join(10)

    (result,) = results
    assert outcomes(result) == [Outcome.APPLIED, Outcome.FAILED, Outcome.NOT_RUN]
    assert result.results[1].detail.startswith("lost the connection (")
    assert result.results[1].detail.endswith("): the transaction was rolled back")
    assert result.after is not None  # checked again on a new connection
    assert type_of(conn, "orders") == "integer"
    finishes(dsn)


def test_a_plan_gone_stale_stops_before_changing_anything(conn: Connection, dsn: str) -> None:
    conn.execute(SETUP)
    fix = plan_fix(dsn, codes=["SEQ002"])
    # Between the plan and its application, someone redefines the view.
    conn.execute("CREATE OR REPLACE VIEW order_ids AS SELECT id FROM orders WHERE id > 0")

    result = apply_fix(dsn, fix)

    assert outcomes(result) == [Outcome.FAILED, Outcome.NOT_RUN]
    assert result.results[0].detail.startswith(
        "the database changed since this plan was made: view public.order_ids changed "
        "(Run seqdoctor fix again"
    )
    assert type_of(conn, "orders") == "integer"
    finishes(dsn)
    # The view came back as it was redefined, not as it was planned.
    assert "WHERE" in str(conn.execute("SELECT pg_get_viewdef('order_ids')").fetchone())


def test_a_table_locked_during_the_audit_is_not_called_healthy(conn: Connection, dsn: str) -> None:
    conn.execute(SETUP)  # users_id_seq is behind its data
    with psycopg.connect(dsn) as migration:
        migration.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        fix = plan_fix(dsn, codes=["SEQ001"], lock_timeout=0.1)
        done = seqdoctor_cli("fix", "--code", "SEQ001", "--lock-timeout", "0.1", dsn)
        applied = apply_fix(dsn, fix)

    # The lock hid the one problem there is: nothing to repair, but not healthy either.
    assert (fix.plans, [f.code for f in fix.unrepaired]) == ((), ["SEQ900"])
    assert int(fix.exit_status) == int(applied.exit_status) == done.returncode == 3
    assert "could not be (above)" in done.stdout
    # Once the lock is gone the audit sees it, and fix repairs it.
    finishes(dsn)


@pytest.fixture
def tenant(conn: Connection, dsn: str) -> Iterator[str]:
    """The conninfo of a role that may read the tables of the test but owns nothing."""
    name = f"tenant_{conn.info.dbname}"
    role = sql.Identifier(name)
    conn.execute("CREATE TABLE users (id serial PRIMARY KEY); INSERT INTO users VALUES (1), (2)")
    conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
    conn.execute(sql.SQL("GRANT SELECT ON users, users_id_seq TO {}").format(role))
    yield make_conninfo(dsn, user=name)
    conn.execute(sql.SQL("DROP OWNED BY {}").format(role))
    conn.execute(sql.SQL("DROP ROLE {}").format(role))


def test_a_role_without_privileges_gets_a_clear_outcome(tenant: str) -> None:
    result = apply_fix(tenant, plan_fix(tenant, codes=["SEQ001"]))

    (failed,) = result.results
    assert failed.outcome is Outcome.FAILED
    assert failed.detail == (
        "permission denied for sequence users_id_seq: run it as the owner of the objects it "
        "changes (or a superuser); nothing was changed"
    )


def test_a_connection_the_server_ended_is_reported_as_lost(conn: Connection, dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as doomed:
        conn.execute("SELECT pg_terminate_backend(%s)", [doomed.info.backend_pid])
        with pytest.raises(psycopg.OperationalError):
            doomed.execute("SELECT 1")  # how psycopg learns it

        for command in (lambda: audit(doomed), lambda: plan_fix(doomed)):
            with pytest.raises(ConnectionFailed, match=r"^lost the connection"):
                command()


@pytest.mark.parametrize("output_format", ["table", "json"])
def test_a_connection_lost_while_applying_still_says_what_was_applied(
    *,
    output_format: str,
    server: Server,
    conn: Connection,
    dsn: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    conn.execute(SETUP)
    said: list[int] = []
    argv = ["fix", "--apply", "--yes", "--lock-timeout", "10", "--format", output_format, dsn]
    applying = threading.Thread(target=lambda: said.append(main(argv)))
    database = sql.Identifier(conn.info.dbname)

    with psycopg.connect(server.dsn, autocommit=True) as admin, psycopg.connect(dsn) as holder:
        holder.execute("LOCK TABLE orders IN ACCESS SHARE MODE")  # the widening waits for it
        applying.start()
        blocked_session(conn)
        # As when the server restarts: fix's sessions end (the one applying, and the
        # other it keeps for batches), and no new one can start.
        admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(database))
        try:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'seqdoctor' AND datname = current_database()"
            )
            applying.join(30)
        finally:
            admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(database))
    out = capsys.readouterr().out

    assert said == [3]
    if output_format == "json":
        result = json.loads(out)["result"]
        assert [p["outcome"] for p in result["plans"]] == ["applied", "failed", "not-run"]
        assert result["plans"][1]["detail"].startswith("lost the connection (")
        assert result["recheck_error"].startswith("could not check again: cannot connect")
        assert result["connection_lost"] is True
        assert result["exit_status"] == 3
    else:
        text = " ".join(out.split())
        assert "Applied 1 of 3 repairs" in text
        assert "could not check again: cannot connect" in text
        assert text.endswith(
            "Lost the connection: the repairs marked applied were made, the rest was not done. "
            "Running seqdoctor fix again picks up where this stopped."
        )
    assert type_of(conn, "orders") == "integer"
    finishes(dsn)
