"""The history store in a PostgreSQL table, for a team that keeps its monitoring data there.

The table is created on first use, in the schema named by ``--history-schema``
(``seqdoctor`` by default), on whatever database the conninfo names: usually
not the one audited, whose audit only ever reads.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import errors, sql
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Jsonb

from seqdoctor.catalog.connection import connect, error_message
from seqdoctor.catalog.redact import parameters
from seqdoctor.errors import SeqdoctorError
from seqdoctor.history.model import Sample
from seqdoctor.history.store import HistoryError, columns_of, columns_record

CREATE = """
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {table} (
    database text NOT NULL,
    taken_at timestamptz NOT NULL,
    sequence_schema text NOT NULL,
    sequence_name text NOT NULL,
    last_value bigint NOT NULL,
    is_called boolean NOT NULL,
    increment_by bigint NOT NULL,
    columns jsonb NOT NULL,
    PRIMARY KEY (database, taken_at, sequence_schema, sequence_name)
)
"""


@dataclass(frozen=True)
class PostgresStore:
    conninfo: str
    schema: str

    @property
    def location(self) -> str:
        try:
            params = parameters(self.conninfo)  # a dbname may be a URI holding a password
        except psycopg.ProgrammingError:  # its libpq error may quote the password
            return "(invalid conninfo)"
        params.pop("password", None)
        return make_conninfo("", **params)

    @property
    def _table(self) -> sql.Identifier:
        return sql.Identifier(self.schema, "samples")

    @contextmanager
    def _connect(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            conn = connect(self.conninfo)
        except SeqdoctorError as error:  # not the audited database's: say which
            raise HistoryError(f"history {self.location}: {error}") from None
        with conn:
            try:
                yield conn
            except psycopg.Error as error:
                message = error_message(error)
                raise HistoryError(f"history {self.location}: {message}") from None

    def record(self, database: str, samples: Sequence[Sample]) -> None:
        with self._connect() as conn, conn.transaction():
            conn.execute(
                sql.SQL(CREATE).format(schema=sql.Identifier(self.schema), table=self._table)
            )
            with conn.cursor() as cur:
                cur.executemany(
                    sql.SQL(
                        "INSERT INTO {} VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                        " ON CONFLICT DO NOTHING"
                    ).format(self._table),
                    [
                        (
                            database,
                            s.taken_at,
                            s.schema,
                            s.sequence,
                            s.last_value,
                            s.is_called,
                            s.increment_by,
                            Jsonb(columns_record(s)),
                        )
                        for s in samples
                    ],
                )

    def load(
        self, database: str, since: datetime, until: datetime, *, columns: bool = False
    ) -> list[Sample]:
        query = sql.SQL(
            "SELECT taken_at, sequence_schema, sequence_name, last_value, is_called,"
            " increment_by, {} FROM {}"
            " WHERE database = %s AND taken_at >= %s AND taken_at < %s ORDER BY taken_at"
        ).format(sql.SQL("columns" if columns else "NULL"), self._table)
        with self._connect() as conn:
            try:
                rows = conn.execute(query, (database, since, until)).fetchall()
            except (errors.UndefinedTable, errors.InvalidSchemaName):
                return []  # nothing recorded yet
        return [
            Sample(
                taken_at,
                schema,
                name,
                last,
                called,
                step,
                columns_of(document) if document is not None else (),
            )
            for taken_at, schema, name, last, called, step, document in rows
        ]

    def prune(self, before: datetime) -> int:
        with self._connect() as conn:
            try:
                cur = conn.execute(
                    sql.SQL("DELETE FROM {} WHERE taken_at < %s").format(self._table), (before,)
                )
            except (errors.UndefinedTable, errors.InvalidSchemaName):
                return 0
            return cur.rowcount
