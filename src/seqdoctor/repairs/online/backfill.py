"""Phases 3 and 4: copy every row's keys into the shadow columns, then compare every row.

Both walk the table in ranges: of its integer key (the primary key, usually)
when it has one, else of ctid pages (TID range scans, PostgreSQL 14+). Each
range is its own short transaction under ``statement_timeout`` and
``lock_timeout``; a range that times out is halved and tried again, and the
range width adapts so that a batch takes about ``batch_seconds``.

The backfill writes only rows whose shadow differs (``IS DISTINCT FROM``), so
running it again writes nothing twice: that is how it resumes after a crash,
without a journal. The verification counts the differing rows of every range
from the lowest key (or page) to the highest at the time it starts, copies
again any it finds, and counts again until the range is clean. Rows written
after it starts went through the sync trigger, and the trigger's WHEN
condition copies any row an UPDATE touches, so a clean range stays clean:
one pass is the proof.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors, sql

from seqdoctor.catalog.connection import (
    PINNED_SEARCH_PATH,
    SET_TIMEOUTS,
    Timeouts,
    transaction_block,
)
from seqdoctor.repairs.model import Statement, dollar_quoted
from seqdoctor.repairs.online.model import OnlineError, OnlineOptions, TablePlan
from seqdoctor.repairs.online.shadow import differs, table_identifier

Connection = psycopg.Connection[Any]
# progress(table, phase, done, total): units are keys or pages
Progress = Callable[[str, str, int, int], None]
# What a batch may fail with and be tried again, smaller.
RETRIED = (errors.QueryCanceled, errors.LockNotAvailable, errors.DeadlockDetected)
MAX_ATTEMPTS = 8
PAGE = 8192  # bytes: the usual block size, for the first ctid range only
# Every walk reads and writes every row, or fails: with row_security off, a
# policy that would hide rows from us (FORCE ROW LEVEL SECURITY, a role without
# BYPASSRLS) raises an error instead of filtering them, so a verification can
# never call clean a table it could not see whole.
ROW_SECURITY_OFF = sql.SQL("SET LOCAL row_security = off")


@dataclass(frozen=True)
class Walked:
    """What one walk over a table did."""

    table: str
    rows_written: int  # rows the backfill (or the verification) copied
    differences: int  # rows the verification found differing (0 for a backfill)
    batches: int
    seconds: float
    upper: int  # the highest key (or page) walked: rows beyond came through the trigger
    # WAL the server wrote while the walk ran: the walk's own, and every other
    # session's (an upper bound for it); None when not measured.
    wal_bytes: int | None = None


def _assignments(table: TablePlan) -> sql.Composable:
    return sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(table.shadow(c)), sql.Identifier(c.column))
        for c in table.columns
    )


def _distinct(table: TablePlan) -> sql.Composable:
    """The backfill's filter: IS DISTINCT FROM, resolved under the pinned search_path."""
    return sql.SQL(" OR ").join(
        sql.SQL("{} IS DISTINCT FROM {}").format(
            sql.Identifier(table.shadow(c)), sql.Identifier(c.column)
        )
        for c in table.columns
    )


def _range(table: TablePlan) -> sql.Composable:
    if table.batch_key is not None:
        key = sql.Identifier(table.batch_key)
        return sql.SQL("{k} >= %(lo)s AND {k} < %(hi)s").format(k=key)
    return sql.SQL("ctid >= %(lo)s::pg_catalog.tid AND ctid < %(hi)s::pg_catalog.tid")


def update_range(table: TablePlan) -> sql.Composed:
    return sql.SQL("UPDATE {} SET {} WHERE {} AND ({})").format(
        table_identifier(table), _assignments(table), _range(table), _distinct(table)
    )


def count_range(table: TablePlan) -> sql.Composed:
    return sql.SQL("SELECT pg_catalog.count(*) FROM {} WHERE {} AND ({})").format(
        table_identifier(table), _range(table), differs(table)
    )


def bounds_query(table: TablePlan) -> sql.Composed:
    """The lowest and highest key, or 0 and the number of pages."""
    target = table_identifier(table)
    if table.batch_key is not None:
        key = sql.Identifier(table.batch_key)
        return sql.SQL(
            "SELECT pg_catalog.min({k})::int8, pg_catalog.max({k})::int8 FROM {t}"
        ).format(k=key, t=target)
    return sql.SQL(
        "SELECT 0::int8, (pg_catalog.pg_relation_size({t}) "
        "/ pg_catalog.current_setting('block_size')::int8)::int8"
    ).format(t=sql.Literal(target.as_string()))


def backfill_script(table: TablePlan, width: int) -> Statement:
    """The backfill as one DO block for psql: a COMMIT per range, resumable by its filter.

    It must run outside a transaction block (psql's autocommit, the default).
    It has no throttle and no adaptive width: seqdoctor's own runner has both.
    """
    target = table_identifier(table)
    if table.batch_key is not None:
        key = sql.Identifier(table.batch_key)
        walk = sql.SQL(
            "SELECT min({k}), max({k}) INTO lo, hi FROM {t};\n"
            "    WHILE lo <= hi LOOP\n"
            "        UPDATE {t} SET {set} WHERE {k} >= lo AND {k} < lo + width AND ({d});\n"
            "        COMMIT;\n"
            "        lo := lo + width;\n"
            "    END LOOP;"
        ).format(k=key, t=target, set=_assignments(table), d=_distinct(table))
    else:
        walk = sql.SQL(
            "lo := 0;\n"
            "    hi := pg_relation_size({name}) / current_setting('block_size')::int8;\n"
            "    WHILE lo <= hi LOOP\n"
            "        UPDATE {t} SET {set}\n"
            "        WHERE ctid >= format('(%s,0)', lo)::tid\n"
            "          AND ctid < format('(%s,0)', lo + width)::tid\n"
            "          AND ({d});\n"
            "        COMMIT;\n"
            "        lo := lo + width;\n"
            "    END LOOP;"
        ).format(
            name=sql.Literal(target.as_string()),
            t=target,
            set=_assignments(table),
            d=_distinct(table),
        )
    body = (
        f"\nDECLARE\n    lo int8;\n    hi int8;\n    width int8 := {int(width)};\nBEGIN\n    "
        + walk.as_string()
        + "\nEND\n"
    )
    return sql.SQL("DO {}").format(dollar_quoted(body))


def _bounds(table: TablePlan, lo: int, hi: int) -> dict[str, object]:
    if table.batch_key is not None:
        return {"lo": lo, "hi": hi}
    return {"lo": f"({lo},0)", "hi": f"({hi},0)"}


def _first_width(table: TablePlan, options: OnlineOptions) -> int:
    """The first range: ``first_batch`` keys, or as many pages as hold about that many rows."""
    if table.batch_key is not None:
        return options.first_batch
    pages = max(1, table.table.bytes // PAGE)
    rows_per_page = max(1, table.table.rows_estimate // pages)
    return max(1, options.first_batch // rows_per_page)


class _Batches:
    """Runs range statements in short transactions with adaptive width and retries."""

    def __init__(self, conn: Connection, options: OnlineOptions, table: TablePlan) -> None:
        self.conn = conn
        self.options = options
        self.timeouts = Timeouts(options.lock_timeout, options.statement_timeout).settings()
        self.width = _first_width(table, options)
        self.batches = 0

    def run(self, statement: sql.Composed, params: dict[str, object]) -> int:
        """Execute *statement* in its own transaction; the rowcount, or the count it selects."""
        with transaction_block(self.conn):
            self.conn.execute(SET_TIMEOUTS, self.timeouts)  # and the search path
            self.conn.execute(ROW_SECURITY_OFF)
            cursor = self.conn.execute(statement, params)
            if cursor.description is not None:
                row = cursor.fetchone()
                return int(row[0]) if row else 0
            return cursor.rowcount

    def step(self, statement: sql.Composed, table: TablePlan, start: int) -> tuple[int, int]:
        """Run *statement* on the range from *start*, halving its width after each timeout.

        Returns (its result, the width it ran with); the next width adapts to
        how long this one took.
        """
        attempt = 0
        while True:
            width = self.width
            started = time.monotonic()
            try:
                result = self.run(statement, _bounds(table, start, start + width))
            except RETRIED as error:
                if self.conn.broken:
                    raise
                attempt += 1
                if attempt >= MAX_ATTEMPTS:
                    raise OnlineError(
                        f"{table.qualified}, range from {start}: gave up after {attempt} attempts: "
                        f"{error.diag.message_primary or error}"
                    ) from None
                self.width = max(1, self.width // 2)
                time.sleep(random.uniform(0.05, 0.2) * attempt)
                continue
            elapsed = time.monotonic() - started
            self.batches += 1
            factor = min(2.0, max(0.5, self.options.batch_seconds / max(elapsed, 1e-3)))
            self.width = max(1, min(self.options.max_batch, round(width * factor)))
            if self.options.pause:
                time.sleep(self.options.pause)
            return result, width


def wal_position(conn: Connection) -> str | None:
    """The server's WAL insert position; None on a standby.

    The insert position, not pg_current_wal_lsn() (the write position), which
    can stay behind what was inserted when commits do not flush
    (synchronous_commit = off): a walk could then measure nothing.
    """
    with transaction_block(conn):
        row = conn.execute(
            b"SELECT CASE WHEN NOT pg_catalog.pg_is_in_recovery()"
            b" THEN pg_catalog.pg_current_wal_insert_lsn()::text END"
        ).fetchone()
    return row[0] if row else None


def wal_since(conn: Connection, start: str | None) -> int | None:
    if start is None:
        return None
    with transaction_block(conn):
        row = conn.execute(
            b"SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_insert_lsn(),"
            b" %s::pg_catalog.pg_lsn)::int8",
            [start],
        ).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def read_bounds(conn: Connection, table: TablePlan) -> tuple[int, int] | None:
    """The lowest and highest key (or 0 and the last page) of *table*; None when it is empty."""
    with transaction_block(conn):
        conn.execute(PINNED_SEARCH_PATH)
        conn.execute(ROW_SECURITY_OFF)
        row = conn.execute(bounds_query(table)).fetchone()
    if row is None or row[0] is None:
        return None
    return int(row[0]), int(row[1])


def backfill(  # noqa: PLR0917
    conn: Connection,
    table: TablePlan,
    options: OnlineOptions,
    progress: Progress | None = None,
    throttle: Callable[[], None] | None = None,
    span: tuple[int, int] | None = None,
) -> Walked:
    """Phase 3 on one table: copy every range's keys to the shadows, writing only differences.

    *span*: walk only those keys (or pages), both ends included; the whole table by default.
    """
    started = time.monotonic()
    bounds = span or read_bounds(conn, table)
    if bounds is None:
        return Walked(table.qualified, 0, 0, 0, 0.0, 0)
    low, high = bounds
    wal = wal_position(conn)
    batches = _Batches(conn, options, table)
    statement = update_range(table)
    written = 0
    position = low
    while position <= high:
        if throttle is not None:
            throttle()
        start = position
        count, width = batches.step(statement, table, start)
        written += count
        position = start + width
        if progress is not None:
            progress(table.qualified, "backfill", min(position, high + 1) - low, high + 1 - low)
    return Walked(
        table.qualified,
        written,
        0,
        batches.batches,
        time.monotonic() - started,
        high,
        wal_since(conn, wal),
    )


def verify(  # noqa: PLR0917
    conn: Connection,
    table: TablePlan,
    options: OnlineOptions,
    progress: Progress | None = None,
    throttle: Callable[[], None] | None = None,
    span: tuple[int, int] | None = None,
) -> Walked:
    """Phase 4 on one table: compare every range by value; where it differs, copy and compare.

    *span*: as for :func:`backfill`.
    """
    started = time.monotonic()
    bounds = span or read_bounds(conn, table)
    if bounds is None:
        return Walked(table.qualified, 0, 0, 0, 0.0, 0)
    low, high = bounds
    batches = _Batches(conn, options, table)
    count = count_range(table)
    update = update_range(table)
    written = differences = 0
    position = low
    while position <= high:
        if throttle is not None:
            throttle()
        start = position
        found, width = batches.step(count, table, start)
        differences += found
        rounds = 0
        while found:
            rounds += 1
            if rounds > MAX_ATTEMPTS:
                raise OnlineError(
                    f"verification of {table.qualified}: rows in [{start}, {start + width}) "
                    f"still differ after {MAX_ATTEMPTS} copies: something writes the shadow "
                    "columns, or bypasses the sync trigger"
                )
            params = _bounds(table, start, start + width)
            written += batches.run(update, params)
            found = batches.run(count, params)
        position = start + width
        if progress is not None:
            progress(table.qualified, "verify", min(position, high + 1) - low, high + 1 - low)
    return Walked(
        table.qualified, written, differences, batches.batches, time.monotonic() - started, high
    )
