"""A plain psycopg test suite, as many are written: each test in a transaction rolled back after it.

This is the conftest.py of the sample suite that tests/db/test_pytest_plugin.py
runs with pytester (named so that seqdoctor's own run does not load it). It
takes the database from SAMPLE_DSN, and turns seqdoctor's plugin on the way the
README says: one fixture, ``seqdoctor_ids``, called with the connection at the
start of each test's transaction. Without the plugin's options it does nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

DSN = os.environ["SAMPLE_DSN"]


@pytest.fixture(scope="session")
def schema() -> None:
    """The tables, as migrations would leave them before the tests."""
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS frobs (id serial PRIMARY KEY, name text NOT NULL)")


@pytest.fixture
def db(schema: None, seqdoctor_ids: Callable[[Any], None]) -> Iterator[psycopg.Connection[Any]]:
    """A connection whose transaction is rolled back after the test: nothing it writes stays."""
    with psycopg.connect(DSN) as conn:
        seqdoctor_ids(conn)  # does nothing unless --seqdoctor-ids=restart
        yield conn
        conn.rollback()


@pytest.fixture
def make_frob(db: psycopg.Connection[Any]) -> Callable[..., int]:
    """A factory, like factory_boy's FrobFactory(): a row, with the id given or a generated one."""

    def make(id: int | None = None, name: str = "frob") -> int:
        if id is None:
            cursor = db.execute("INSERT INTO frobs (name) VALUES (%s) RETURNING id", (name,))
        else:
            cursor = db.execute(
                "INSERT INTO frobs (id, name) VALUES (%s, %s) RETURNING id", (id, name)
            )
        row = cursor.fetchone()
        assert row is not None
        return int(row[0])

    return make
