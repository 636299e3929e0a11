"""The default history store: one SQLite file, in the user's state directory unless told otherwise.

Times are kept as integer microseconds since the Unix epoch, UTC, so that a
sample comes back at exactly the moment it was taken.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from seqdoctor.history.model import Sample
from seqdoctor.history.store import HistoryError, columns_of, columns_record, default_path

if TYPE_CHECKING:
    import sqlite3

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
# Another process (cron, the exporter) may be writing: wait for its lock this long.
BUSY_TIMEOUT = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    database TEXT NOT NULL,
    taken_at INTEGER NOT NULL,
    sequence_schema TEXT NOT NULL,
    sequence_name TEXT NOT NULL,
    last_value INTEGER NOT NULL,
    is_called INTEGER NOT NULL,
    increment_by INTEGER NOT NULL,
    columns TEXT NOT NULL,
    PRIMARY KEY (database, taken_at, sequence_schema, sequence_name)
)
"""


def _micros(moment: datetime) -> int:
    return (moment - EPOCH) // MICROSECOND


@dataclass(frozen=True)
class SQLiteStore:
    """The samples in the SQLite file *given*, or in :func:`default_path` when None.

    Like every store it is only a location, and costs nothing until used:
    most audits never read or write the history, and a small audit's time is
    mostly start-up. So the default path is looked up, and sqlite3 imported,
    on first use.
    """

    given: Path | None = None

    @cached_property
    def path(self) -> Path:
        return self.given if self.given is not None else default_path()

    @property
    def location(self) -> str:
        return str(self.path)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        import sqlite3  # noqa: PLC0415 - see the class

        try:
            with closing(sqlite3.connect(self.path, timeout=BUSY_TIMEOUT)) as db, db:
                yield db
        except sqlite3.Error as error:
            raise HistoryError(f"history {self.path}: {error}") from None

    def record(self, database: str, samples: Sequence[Sample]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise HistoryError(f"history {self.path}: {error.strerror}") from None
        with self._connect() as db:
            db.execute(SCHEMA)
            db.executemany(
                "INSERT OR IGNORE INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        database,
                        _micros(s.taken_at),
                        s.schema,
                        s.sequence,
                        s.last_value,
                        s.is_called,
                        s.increment_by,
                        json.dumps(columns_record(s), ensure_ascii=False),
                    )
                    for s in samples
                ],
            )

    def load(
        self, database: str, since: datetime, until: datetime, *, columns: bool = False
    ) -> list[Sample]:
        if not self.path.exists():
            return []
        with self._connect() as db:
            if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'samples'").fetchone():
                return []
            rows = db.execute(
                "SELECT taken_at, sequence_schema, sequence_name, last_value, is_called,"
                f" increment_by, {'columns' if columns else 'NULL'} FROM samples"
                " WHERE database = ? AND taken_at >= ? AND taken_at < ? ORDER BY taken_at",
                (database, _micros(since), _micros(until)),
            ).fetchall()
        return [
            Sample(
                EPOCH + taken_at * MICROSECOND,
                schema,
                name,
                last,
                bool(called),
                step,
                columns_of(document) if document is not None else (),
            )
            for taken_at, schema, name, last, called, step, document in rows
        ]

    def prune(self, before: datetime) -> int:
        if not self.path.exists():
            return 0
        with self._connect() as db:
            db.execute(SCHEMA)
            return db.execute("DELETE FROM samples WHERE taken_at < ?", (_micros(before),)).rowcount
