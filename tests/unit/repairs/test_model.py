"""The plan's building blocks."""

from __future__ import annotations

from psycopg import sql

from seqdoctor.repairs.model import Deferred


def test_a_deferred_statement_is_composed_once_when_first_written_out() -> None:
    composed: list[str] = []

    def compose() -> sql.SQL:
        composed.append("SELECT 1")
        return sql.SQL("SELECT 1")

    statement = Deferred(compose)
    assert composed == []

    assert (statement.as_string(), statement.as_bytes()) == ("SELECT 1", b"SELECT 1")
    assert statement.as_string() == "SELECT 1"
    assert composed == ["SELECT 1"]
    assert statement == Deferred(lambda: sql.SQL("SELECT 1"))
    assert statement != Deferred(lambda: sql.SQL("SELECT 2"))
