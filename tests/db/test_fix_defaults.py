"""What ``fix --apply`` does when not told which checks to repair: what is at risk, only.

A sequence wider than its column with 0 % used (SEQ004, info) is no reason to rewrite tables
under ACCESS EXCLUSIVE for someone who came to repair a sequence behind its data: that
rewrite is shown, and applied only when asked for by its code.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from seqdoctor.cli import main

Connection = psycopg.Connection[tuple[Any, ...]]
# As in pagila: a sequence behind its data (SEQ001), and bigint sequences feeding integer keys
# that foreign keys, a view and a materialized view read (SEQ004).
SHOP = """
    CREATE TABLE users (id serial PRIMARY KEY);
    INSERT INTO users (id) VALUES (1), (2), (4);
    CREATE SEQUENCE film_film_id_seq AS bigint;
    CREATE TABLE film (film_id integer PRIMARY KEY DEFAULT nextval('film_film_id_seq'));
    CREATE TABLE inventory (id serial PRIMARY KEY, film_id integer REFERENCES film);
    INSERT INTO film SELECT generate_series(1, 10);
    SELECT setval('film_film_id_seq', 10);
    CREATE VIEW film_list AS SELECT film_id FROM film;
    CREATE MATERIALIZED VIEW film_count AS SELECT count(*) FROM inventory;
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["fix", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def film_id_type(conn: Connection) -> str:
    row = conn.execute(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
        " WHERE attrelid = 'film'::regclass AND attname = 'film_id'"
    ).fetchone()
    assert row is not None
    return str(row[0])


def test_apply_repairs_what_is_at_risk_and_rewrites_nothing_for_an_info_finding(
    conn: Connection, dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    conn.execute(SHOP)

    status, out, err = run(capsys, "--apply", "--yes", dsn)

    assert status == 0, out + err
    assert "not applied by default" in out
    assert "ask for it with --code SEQ004" in out
    assert "ALTER TABLE" not in err  # no statement of the rewrite ran
    assert film_id_type(conn) == "integer"
    assert conn.execute("SELECT nextval('users_id_seq')").fetchone() == (5,)
    assert " ".join(out.split()).endswith(
        "Done: every urgent repair applied, and checked again; 1 repair not applied by default "
        "(above)."
    )


def test_a_rewrite_for_an_info_finding_is_applied_when_asked_for_by_its_code(
    conn: Connection, dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    conn.execute(SHOP)

    status, out, err = run(capsys, "--apply", "--yes", "--code", "sequence-wider-than-column", dsn)

    assert status == 0, out + err
    assert film_id_type(conn) == "bigint"
    assert conn.execute("SELECT count(*) FROM film_list").fetchone() == (10,)


def test_the_plan_says_nothing_was_changed_only_while_it_is_true(
    conn: Connection, dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    conn.execute(SHOP)

    planned = run(capsys, dsn)[1]
    applied = run(capsys, "--apply", "--yes", dsn)[1]

    assert "Nothing has been changed." in planned
    assert "Nothing has been changed" not in applied
    assert "Applying 1 repair now." in applied
