"""``seqdoctor fix --online`` on a real server: plan, --format sql/json, --apply, --revert,
--cleanup, as a user runs them."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from tests.db.test_online_swap import normalized, offline_dump
from tests.db.test_online_widen import FAMILY, schema_dump
from tests.fix_db import Server, seqdoctor_cli

Connection = psycopg.Connection[tuple[Any, ...]]
# The key at 93 % of integer: SEQ002 reports it, critical.
NEAR = "SELECT setval('shop.orders_id_seq', 2000000000); INSERT INTO shop.orders (region) SELECT 1"


def test_fix_online_plans_applies_and_cleans_up_the_family_the_audit_finds(
    server: Server, dsn: str
) -> None:
    expected = offline_dump(server)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)
    before = schema_dump(server, dsn)

    planned = seqdoctor_cli("fix", "--online", dsn)

    assert planned.returncode == 1, planned.stderr  # work waiting
    assert "Online widening of shop.orders.id" in planned.stdout
    assert "phase 6: Swap" in planned.stdout
    assert "lock: ACCESS EXCLUSIVE on shop.orders" in planned.stdout
    as_json = seqdoctor_cli("fix", "--online", "--format", "json", dsn)
    assert as_json.returncode == 1
    (record,) = json.loads(as_json.stdout)
    assert {p["name"] for p in record["phases"]} >= {"shadowed", "built", "swapped"}
    script = seqdoctor_cli("fix", "--online", "--format", "sql", dsn)
    assert script.stdout.startswith("-- seqdoctor: online widening of shop.orders.id")
    assert schema_dump(server, dsn) == before  # planning changes nothing

    applied = seqdoctor_cli("fix", "--online", "--apply", "--yes", dsn)

    assert applied.returncode == 0, applied.stderr
    assert "widen online: shop.orders.id" in applied.stderr
    assert "cached plan must not change result type" in applied.stderr  # the checklist
    # Past the swap the audit finds nothing; the widening under way is found by its triggers.
    reverted = seqdoctor_cli("fix", "--online", "--revert", "--apply", "--yes", dsn)
    assert reverted.returncode == 0, reverted.stderr
    assert schema_dump(server, dsn) == before
    assert seqdoctor_cli("fix", "--online", "--apply", "--yes", dsn).returncode == 0

    cleaned = seqdoctor_cli("fix", "--online", "--cleanup", "--apply", "--yes", dsn)

    assert cleaned.returncode == 0, cleaned.stderr
    assert normalized(schema_dump(server, dsn)) == expected
    done = seqdoctor_cli("fix", "--online", dsn)
    assert done.returncode == 0, done.stdout
    assert "Nothing to widen online." in done.stdout


def test_a_refused_family_exits_3_with_its_reasons_and_the_offline_way(conn: Connection) -> None:
    conn.execute(
        "CREATE TABLE p (id serial PRIMARY KEY) PARTITION BY RANGE (id);"
        "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (1) TO (MAXVALUE);"
        "SELECT setval('p_id_seq', 2000000000); INSERT INTO p DEFAULT VALUES"
    )

    refused = seqdoctor_cli("fix", "--online", conn.info.dsn)

    assert refused.returncode == 3
    assert "REFUSED" in refused.stdout
    assert "partitioned tables are not widened online" in refused.stdout
    assert "seqdoctor fix` (without --online)" in refused.stdout


def test_revert_and_cleanup_go_with_online_only(dsn: str) -> None:
    alone = seqdoctor_cli("fix", "--revert", dsn)
    assert alone.returncode in {2, 3}
    assert "--online" in alone.stderr
    both = seqdoctor_cli("fix", "--online", "--revert", "--cleanup", dsn)
    assert both.returncode == 3
    assert "choose one" in both.stderr
