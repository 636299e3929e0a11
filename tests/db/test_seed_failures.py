"""The failures that made people write about sequences, reproduced for real.

Each test first shows that the audit flags the problem, then makes the error
happen that users reported:

- rows copied with their ids into a table with holes: inserts succeed while
  ``nextval()`` lands in holes, then fail with a duplicate key;
- an integer id fed by a bigint sequence near 2,147,483,647 fails with
  ``integer out of range``, and a sequence at its MAXVALUE with
  ``reached maximum value``;
- a rolled-back insert still uses up its id, so a test hard-coding an id
  collides or not depending on which tests ran before it.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import errors

import seqdoctor
from seqdoctor.checks import Finding
from seqdoctor.report import Report

Connection = psycopg.Connection[tuple[Any, ...]]


def only(report: Report, code: str) -> Finding:
    """The one finding of check *code* in *report*."""
    found = [f for f in report.findings if f.code == code]
    assert len(found) == 1, found
    return found[0]


def test_copied_rows_collide_after_the_holes_are_used(conn: Connection, dsn: str) -> None:
    conn.execute("CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL)")
    # The legacy database had deleted users 1, 2 and 5.
    conn.execute("INSERT INTO users (id, name) VALUES (3, 'Jack'), (4, 'Rose'), (6, 'Hook')")

    behind = only(seqdoctor.audit(dsn), "SEQ001")
    calls = behind.details["nextval_calls_before_collision"]
    assert (calls, behind.details["first_collision"]) == (2, 3)

    for _ in range(calls):  # these land in the holes
        conn.execute("INSERT INTO users (name) VALUES ('Robinhood')")
    with pytest.raises(errors.UniqueViolation, match="duplicate key value violates unique"):
        conn.execute("INSERT INTO users (name) VALUES ('Robinhood')")
    # The failed insert used up id 3; 4 collides too, then 5 is a hole again:
    # "the app crashes occasionally".
    with pytest.raises(errors.UniqueViolation):
        conn.execute("INSERT INTO users (name) VALUES ('Robinhood')")
    conn.execute("INSERT INTO users (name) VALUES ('Robinhood')")


def test_the_fix_clears_the_finding(conn: Connection, dsn: str) -> None:
    conn.execute("CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL)")
    conn.execute("INSERT INTO users (id, name) VALUES (1, 'Jack'), (2, 'Rose'), (4, 'Hook')")
    assert only(seqdoctor.audit(dsn), "SEQ001").details["first_collision"] == 1

    # The fix SEQ001's documentation gives.
    conn.execute(
        "SELECT setval('public.users_id_seq',"
        " greatest(max(id), (SELECT last_value FROM public.users_id_seq))) FROM public.users"
    )

    assert not [f for f in seqdoctor.audit(dsn).findings if f.code == "SEQ001"]
    conn.execute("INSERT INTO users (name) VALUES ('Robinhood')")


def test_integer_column_fed_by_bigint_sequence_runs_out(conn: Connection, dsn: str) -> None:
    # The Rails schema of 2014: an integer id and a bigint sequence.
    conn.execute(
        """
        CREATE TABLE things (id integer NOT NULL PRIMARY KEY, active boolean);
        CREATE SEQUENCE things_id_seq OWNED BY things.id;
        ALTER TABLE things ALTER COLUMN id SET DEFAULT nextval('things_id_seq');
        SELECT setval('things_id_seq', 2147483644);
        """
    )

    report = seqdoctor.audit(dsn)
    overflow = only(report, "SEQ002")
    assert overflow.severity == "critical"
    assert overflow.details["limited_by"] == "column type"
    assert overflow.details["values_left"] == 3
    assert only(report, "SEQ004").details["column_limit"] == 2147483647
    assert report.status == "critical"

    for _ in range(3):  # 2147483645 to 2147483647
        conn.execute("INSERT INTO things (active) VALUES (true)")
    with pytest.raises(errors.NumericValueOutOfRange, match="integer out of range"):
        conn.execute("INSERT INTO things (active) VALUES (true)")


def test_sequence_at_its_maxvalue_fails(conn: Connection, dsn: str) -> None:
    conn.execute(
        """
        CREATE TABLE things (id serial PRIMARY KEY, active boolean);
        ALTER SEQUENCE things_id_seq MAXVALUE 10;
        INSERT INTO things (active) SELECT true FROM generate_series(1, 10);
        """
    )

    at_limit = only(seqdoctor.audit(dsn), "SEQ003")
    assert at_limit.severity == "critical"
    assert (at_limit.details["values_left"], at_limit.details["limit"]) == (0, 10)
    assert "reached its MAXVALUE" in at_limit.message

    with pytest.raises(errors.SequenceGeneratorLimitExceeded, match="reached maximum value"):
        conn.execute("INSERT INTO things (active) VALUES (true)")


def test_rollback_does_not_give_the_id_back(conn: Connection, dsn: str) -> None:
    conn.execute("CREATE TABLE people (id serial, name text)")
    conn.execute("INSERT INTO people (name) VALUES ('Alan')")
    with conn.transaction(force_rollback=True):
        conn.execute("INSERT INTO people (name) VALUES ('Barry')")

    assert conn.execute("SELECT count(*) FROM people").fetchone() == (1,)
    (people_id_seq,) = seqdoctor.audit(dsn).snapshot.sequences
    assert (people_id_seq.last_value, people_id_seq.next_value) == (2, 3)
    assert conn.execute("INSERT INTO people (name) VALUES ('Carol') RETURNING id").fetchone() == (
        3,
    )


def _run_earlier_tests(conn: Connection, count: int) -> None:
    """What a Django test suite does: each test inserts a frob in a transaction rolled back."""
    for _ in range(count):
        with conn.transaction(force_rollback=True):
            conn.execute("INSERT INTO frobs (name) VALUES ('fixture')")


@pytest.fixture
def frobs(conn: Connection) -> Connection:
    conn.execute("CREATE TABLE frobs (id serial PRIMARY KEY, name text)")
    return conn


def test_hard_coded_id_collides_after_122_earlier_tests(frobs: Connection) -> None:
    _run_earlier_tests(frobs, 122)

    # test_create_frobs: FrobFactory(), then FrobFactory(id=123).
    assert frobs.execute("INSERT INTO frobs (name) VALUES ('a') RETURNING id").fetchone() == (123,)
    with pytest.raises(errors.UniqueViolation, match="duplicate key value violates unique"):
        frobs.execute("INSERT INTO frobs (id, name) VALUES (123, 'b')")


def test_hard_coded_id_ahead_of_the_sequence_is_flagged(frobs: Connection, dsn: str) -> None:
    # Another order: the hard-coded frob goes in first; the audit sees it ahead.
    frobs.execute("INSERT INTO frobs (id, name) VALUES (123, 'b')")
    behind = only(seqdoctor.audit(dsn), "SEQ001")
    assert behind.details["first_collision"] == 123
    calls = behind.details["nextval_calls_before_collision"]
    assert calls == 122

    # Exactly that many tests later, whether they commit or roll back, the next
    # generated id collides.
    _run_earlier_tests(frobs, calls)
    with pytest.raises(errors.UniqueViolation):
        frobs.execute("INSERT INTO frobs (name) VALUES ('a')")


def test_healthy_database_is_ok(conn: Connection, dsn: str) -> None:
    conn.execute(
        """
        CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text);
        CREATE TABLE orders (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                             customer_id bigint NOT NULL REFERENCES customers);
        INSERT INTO customers (name) VALUES ('Ada'), ('Brian');
        INSERT INTO orders (customer_id) SELECT 1 + g % 2 FROM generate_series(1, 100) AS g;
        """
    )

    report = seqdoctor.audit(dsn)

    assert report.status == "ok"
    assert report.findings == ()
    assert len(report.snapshot.sequences) == 2
    assert len(report.snapshot.uses) == 2
