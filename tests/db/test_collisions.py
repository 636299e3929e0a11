"""The first collision a sequence behind its data will meet: read by an index range scan,
or worked out from the column's edge where that alone says it (a sequence stepping by one
whose integer column holds nothing before its next value). Either way it is the value an
independent query finds: the first the sequence will hand out that the column holds."""

from __future__ import annotations

from typing import Any

import psycopg

from seqdoctor.auditing import audit

Connection = psycopg.Connection[tuple[Any, ...]]

# table: (the sequence's options, the column's type, what runs before the audit)
CASES = {
    "copied": ("", "int4", "INSERT INTO copied SELECT generate_series(1, 10)"),
    "called_midway": (
        "",
        "int8",
        "INSERT INTO called_midway SELECT generate_series(1, 10);"
        " SELECT nextval('called_midway_seq') FROM generate_series(1, 4)",
    ),
    "started_at_its_data": ("START 5", "int4", "INSERT INTO started_at_its_data VALUES (5), (9)"),
    "past_its_limit": ("MAXVALUE 4", "int4", "INSERT INTO past_its_limit VALUES (5), (9)"),
    "descending": ("INCREMENT BY -1", "int4", "INSERT INTO descending VALUES (-1), (-7)"),
    "descending_midway": (
        "INCREMENT BY -1 START -3",
        "int4",
        "INSERT INTO descending_midway VALUES (-1), (-7)",
    ),
    "odd_steps": ("INCREMENT BY 2", "int4", "INSERT INTO odd_steps VALUES (2), (4), (7)"),
    "numeric_ids": ("", "numeric", "INSERT INTO numeric_ids VALUES (1), (3)"),
    "smallint": ("", "int2", "INSERT INTO smallint VALUES (1), (2)"),
}

INDEPENDENT = """
SELECT CASE WHEN s.seqincrement > 0
            THEN (SELECT min(id) FROM {table} WHERE id >= n.next AND id <= s.seqmax
                  AND (id - n.next) % s.seqincrement = 0)
            ELSE (SELECT max(id) FROM {table} WHERE id <= n.next AND id >= s.seqmin
                  AND (id - n.next) % s.seqincrement = 0) END
FROM pg_sequence AS s,
     (SELECT CASE WHEN is_called THEN last_value + {step} ELSE last_value END AS next
      FROM {table}_seq) AS n
WHERE s.seqrelid = '{table}_seq'::regclass
"""


def test_the_first_collision_is_the_one_an_independent_query_finds(conn: Connection) -> None:
    for table, (options, column_type, setup) in CASES.items():
        conn.execute(f"CREATE SEQUENCE {table}_seq {options}".encode())
        conn.execute(
            f"CREATE TABLE {table} (id {column_type} PRIMARY KEY"
            f" DEFAULT nextval('{table}_seq'))".encode()
        )
        conn.execute(f"ALTER SEQUENCE {table}_seq OWNED BY {table}.id".encode())
        conn.execute(setup.encode())

    snapshot = audit(conn, select=["SEQ001"]).snapshot

    found = {use.table: snapshot.extents[use.key].first_collision for use in snapshot.uses}
    expected = {}
    for table, (options, _, _) in CASES.items():
        step = -1 if "BY -1" in options else 2 if "BY 2" in options else 1
        row = conn.execute(INDEPENDENT.format(table=table, step=step).encode()).fetchone()
        assert row is not None
        expected[table] = None if row[0] is None else int(row[0])
    assert found == expected
    assert expected["copied"] == 1
    assert expected["called_midway"] == 5
    assert expected["descending"] == -1
    assert expected["descending_midway"] == -7  # -3 is not in the column
    assert expected["past_its_limit"] is None
    assert expected["odd_steps"] == 7
    assert expected["numeric_ids"] == 1
