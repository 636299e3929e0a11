"""Online widening, phases 6-7 on real servers: the swap, the cleanup, crashes and held locks.

The family of test_online_widen (an integer serial key near 2^31, a
self-reference, two children, a composite key from another schema with quoted
names and a grandchild through it, a view over the key, a partial index, a
column grant and comment) widened to the end while sessions insert, update and
delete in every table: the end state must be what the offline ALTER gives,
and every row what the writers wrote.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg import sql

from seqdoctor.repairs import online
from seqdoctor.repairs.online import OnlineError, OnlineOptions, Phase
from tests.db.test_online_widen import FAMILY, FAST, KEY, schema_dump, writing
from tests.fix_db import Server

Connection = psycopg.Connection[tuple[Any, ...]]
TABLES = (
    "shop.orders",
    "shop.invoices",
    "shop.shipments",
    '"Other Schema"."Order ""Lines"""',
    "shop.notes",
)
# What the offline repair does to the family: every column ALTERed in one go.
OFFLINE = '''
    DROP VIEW shop.order_ids;
    ALTER TABLE shop.orders ALTER COLUMN id TYPE bigint, ALTER COLUMN parent_id TYPE bigint;
    ALTER TABLE shop.invoices ALTER COLUMN order_id TYPE bigint;
    ALTER TABLE shop.shipments ALTER COLUMN order_id TYPE bigint;
    ALTER TABLE "Other Schema"."Order ""Lines""" ALTER COLUMN "Order Id" TYPE bigint;
    ALTER TABLE shop.notes ALTER COLUMN line_order TYPE bigint;
    ALTER SEQUENCE shop.orders_id_seq AS bigint;
    CREATE VIEW shop.order_ids AS SELECT id, region FROM shop.orders;
'''
_numbers = itertools.count(1)


@contextmanager
def another_database(server: Server) -> Iterator[str]:
    name = f"seqdoctor_offline_{os.getpid()}_{next(_numbers)}"
    with psycopg.connect(server.dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.conninfo(name)
    finally:
        with psycopg.connect(server.dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def normalized(dump: str) -> str:
    """A schema dump with each table's columns sorted: the online swap adds the new
    column at the end, where the offline ALTER keeps its place."""
    out: list[str] = []
    block: list[str] | None = None
    for line in dump.splitlines():
        if block is not None:
            if line.startswith(");"):
                out += sorted(entry.rstrip(",") for entry in block)
                out.append(line)
                block = None
            else:
                block.append(line)
        else:
            out.append(line)
            if re.match(r"CREATE (UNLOGGED )?TABLE .*\($", line):
                block = []
    return "\n".join(out)


def checksums(conn: Connection) -> dict[str, Any]:
    return {
        table: conn.execute(
            sql.SQL("SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {} AS t").format(
                sql.SQL(table)
            )
        ).fetchone()
        for table in TABLES
    }


def test_the_family_swaps_and_cleans_up_to_what_the_offline_alter_gives(
    server: Server, dsn: str
) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAMILY)
    with another_database(server) as offline:
        with psycopg.connect(offline, autocommit=True) as conn:
            conn.execute(FAMILY)
            conn.execute(OFFLINE)
        expected = normalized(schema_dump(server, offline))

    result = online.advance(dsn, [KEY], until=Phase.SWAPPED, options=FAST)

    assert result.phase is Phase.SWAPPED
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert online.status(conn, [KEY]).phase is Phase.SWAPPED
        (new,) = (
            conn.execute("INSERT INTO shop.orders (region) VALUES (1) RETURNING id").fetchone()
            or ()
        )
        assert conn.execute(
            "SELECT seqdoctor_old_1 FROM shop.orders WHERE id = %s", [new]
        ).fetchone() == (new,)
    online.cleanup(dsn, [KEY], options=FAST)

    assert normalized(schema_dump(server, dsn)) == expected
