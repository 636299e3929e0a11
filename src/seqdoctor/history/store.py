"""Where samples are kept: the interface, and the choice between SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import psycopg
from psycopg.conninfo import conninfo_to_dict

from seqdoctor.errors import SeqdoctorError
from seqdoctor.history.model import ColumnSample, Sample

DEFAULT_SCHEMA = "seqdoctor"


class HistoryError(SeqdoctorError):
    """The history store could not be read or written."""


class Store(Protocol):
    """Samples of many databases, each under its key (see ``catalog.activity.read_activity``).

    A store is only a location: every call opens and closes its own
    connection, so one store serves many threads (``check --jobs``, ``serve``).
    """

    @property
    def location(self) -> str:
        """Where the samples are, for messages: a path, or a conninfo without its password."""
        ...

    def record(self, database: str, samples: Sequence[Sample]) -> None:
        """Keep *samples*; a sample already kept (same sequence, same time) is left as it was."""
        ...

    def load(
        self, database: str, since: datetime, until: datetime, *, columns: bool = False
    ) -> list[Sample]:
        """The samples of *database* taken at or after *since* and before *until*, oldest first.

        Their ``columns`` are read only when *columns* is true: a forecast
        needs positions, and decoding the columns of 300,000 samples takes
        seconds. A store that does not exist yet holds no sample: reading
        never creates it.
        """
        ...

    def prune(self, before: datetime) -> int:
        """Forget every sample taken before *before*, of every database; how many went."""
        ...


def default_path() -> Path:
    """The SQLite file used when no ``--history`` is given, in the user's state directory."""
    import platformdirs  # noqa: PLC0415 - on first use of the default store: see SQLiteStore

    return platformdirs.user_state_path("seqdoctor") / "history.sqlite3"


def open_store(location: str | Path | None = None, *, schema: str = DEFAULT_SCHEMA) -> Store:
    """The store at *location*: a PostgreSQL conninfo, or the path of an SQLite file.

    A conninfo is a ``postgresql://`` (or ``postgres://``) URI or ``key=value``
    pairs; anything else is a path. None is :func:`default_path`. *schema*
    holds the PostgreSQL store's table.
    """
    # Imported here: a check without a PostgreSQL store never loads its module, and back.
    if location is None or isinstance(location, Path) or not _is_conninfo(location):
        from seqdoctor.history.sqlite import SQLiteStore  # noqa: PLC0415

        return SQLiteStore(Path(location) if location is not None else None)
    from seqdoctor.history.postgres import PostgresStore  # noqa: PLC0415

    return PostgresStore(location, schema)


def _is_conninfo(location: str) -> bool:
    """Whether *location* names a PostgreSQL database rather than a file.

    >>> [_is_conninfo(s) for s in ("postgresql://h/db", "host=h dbname=db", "service=x")]
    [True, True, True]
    >>> [_is_conninfo(s) for s in ("history.sqlite3", "/var/lib/seqdoctor/h.db", "a b")]
    [False, False, False]
    """
    if location.startswith(("postgresql://", "postgres://")):
        return True
    try:
        return bool(conninfo_to_dict(location))
    except psycopg.ProgrammingError:
        return False


def columns_record(sample: Sample) -> list[dict[str, Any]]:
    """The sample's columns as JSON-ready records: both stores keep them as a JSON document."""
    return [
        {
            "schema": c.schema,
            "table": c.table,
            "column": c.column,
            "max_value": c.max_value,
            "row_estimate": c.row_estimate,
        }
        for c in sample.columns
    ]


def columns_of(document: str | list[dict[str, Any]]) -> tuple[ColumnSample, ...]:
    entries = json.loads(document) if isinstance(document, str) else document
    return tuple(ColumnSample(**entry) for entry in entries)
