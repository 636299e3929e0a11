"""The plan printed with ``--format sql`` and run through psql does what ``--apply`` does.

Two databases are broken the same way; one is repaired by piping the script into
the psql of the same installation, the other with ``--apply``. Afterwards their
sequences, column types, views and rows are the same, and fix finds nothing
left in either.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from seqdoctor.render.plan import PlanFormat, render_plan
from seqdoctor.repairs import apply_fix, plan_fix
from tests.fix_db import Server

Connection = psycopg.Connection[tuple[Any, ...]]
SHOP = (
    resources.files("seqdoctor").joinpath("demo_shop.sql").read_text()
    + """
    CREATE VIEW "Order Totals" AS
        SELECT o.id, count(l.*) AS lines FROM orders AS o
        LEFT JOIN "Order Lines" AS l ON l.order_id = o.id GROUP BY o.id;
    COMMENT ON VIEW "Order Totals" IS 'it''s per order';
"""
)
STATE = """
    SELECT 'sequence', c.relname,
           format('%s %s..%s', format_type(s.seqtypid, NULL), s.seqmin, s.seqmax),
           (SELECT CASE WHEN d.is_called THEN d.last_value + s.seqincrement ELSE d.last_value END
            FROM pg_sequence_last_value(c.oid) AS x(last_value),
                 LATERAL (SELECT x.last_value IS NOT NULL AS is_called,
                                 coalesce(x.last_value, s.seqstart) AS last_value) AS d)::text
    FROM pg_sequence AS s JOIN pg_class AS c ON c.oid = s.seqrelid
    UNION ALL
    SELECT 'column', c.relname || '.' || a.attname, format_type(a.atttypid, a.atttypmod), NULL
    FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v') AND a.attnum > 0
    UNION ALL
    SELECT 'view', c.relname, pg_get_viewdef(c.oid), obj_description(c.oid, 'pg_class')
    FROM pg_class AS c WHERE c.relkind = 'v' AND c.relnamespace = 'public'::regnamespace
    ORDER BY 1, 2
"""


def psql(server: Server) -> Path:
    """The psql of the server's own installation, or the one on PATH for a server of yours."""
    if server.installation is not None:
        return server.installation.bindir / "psql"
    found = shutil.which("psql")
    if found is None:
        pytest.skip("no psql on PATH")
    return Path(found)


@pytest.fixture
def twin(server: Server, conn: Connection) -> Iterator[str]:
    """A second database, for the same breakage repaired the other way."""
    name = f"{conn.info.dbname}_twin"
    with psycopg.connect(server.dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.conninfo(name)
    finally:
        with psycopg.connect(server.dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))


def state(dsn: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(STATE).fetchall()
        rows += conn.execute("SELECT 'row', md5(t::text), NULL, NULL FROM \"Order Lines\" AS t")
    return sorted(rows, key=str)


def test_the_psql_script_does_what_apply_does(server: Server, dsn: str, twin: str) -> None:
    for database in (dsn, twin):
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute(SHOP.encode())
    script = io.StringIO()
    render_plan(plan_fix(dsn), PlanFormat.SQL, script)

    done = subprocess.run(
        [str(psql(server)), "-X", "-q", "-d", dsn, "-f", "-"],
        input=script.getvalue(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    result = apply_fix(twin, plan_fix(twin))

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert int(result.exit_status) == 0
    assert state(dsn) == state(twin)
    assert plan_fix(dsn, codes=["SEQ001", "SEQ002", "SEQ003", "SEQ004", "SEQ005"]).plans == ()


def test_the_script_stops_at_the_first_failure(server: Server, conn: Connection, dsn: str) -> None:
    conn.execute(
        """
        CREATE TABLE users (id serial PRIMARY KEY); INSERT INTO users VALUES (1), (2);
        CREATE TABLE orders (id serial PRIMARY KEY); CREATE VIEW order_ids AS SELECT id FROM orders;
        CREATE TABLE products (id serial PRIMARY KEY);
        SELECT setval('orders_id_seq', 2000000000), setval('products_id_seq', 2000000000);
        """
    )
    script = io.StringIO()
    render_plan(plan_fix(dsn), PlanFormat.SQL, script)
    conn.execute("CREATE OR REPLACE VIEW order_ids AS SELECT id FROM orders WHERE id > 0")

    done = subprocess.run(
        [str(psql(server)), "-X", "-q", "-d", dsn, "-f", "-"],
        input=script.getvalue(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert done.returncode == 3  # psql: a script error with ON_ERROR_STOP
    assert "the database changed since this plan was made: view public.order_ids changed" in (
        done.stderr
    )
    left = [(p.kind, p.title.split()[1]) for p in plan_fix(dsn).plans]
    assert left == [("widen", "public.orders.id"), ("widen", "public.products.id")]
