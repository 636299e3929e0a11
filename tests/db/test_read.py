"""Rows read from the catalog: built from the query's columns, in the model's order."""

from __future__ import annotations

import psycopg
import pytest

from seqdoctor.catalog.model import ColumnKind, ColumnUse, ForeignKeyColumn, ServerInfo
from seqdoctor.catalog.reading import fetch, load_query

Connection = psycopg.Connection[tuple[object, ...]]


def test_rows_are_built_in_field_order_with_enums_converted(conn: Connection) -> None:
    conn.execute("CREATE TABLE orders (id serial PRIMARY KEY, note text)")
    (server,) = fetch(conn, load_query("get_server_info"), ServerInfo)
    (use,) = fetch(conn, load_query("list_column_uses"), ColumnUse, {"index_facts": True})
    assert server.current_user == "postgres"
    assert (use.table, use.column, use.type_name) == ("orders", "id", "int4")
    assert use.kind is ColumnKind.SERIAL


def test_a_query_out_of_step_with_its_model_is_refused(conn: Connection) -> None:
    # The same columns in another order would fill the wrong fields silently.
    swapped = "SELECT 'fk'::text AS constraint_name, 1::int8 AS schema, 2::int8 AS table_oid"
    with pytest.raises(TypeError, match="ForeignKeyColumn has fields"):
        fetch(conn, swapped, ForeignKeyColumn)
