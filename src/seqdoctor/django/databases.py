"""Django's databases as seqdoctor reaches them: conninfos, fixture loads, the guard's notices."""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from seqdoctor.guard.explicit import allow_explicit_ids

# The connection parameters libpq knows (host, port, dbname, sslmode, service ...):
# Django's also carry the driver's own (cursor_factory, context, prepare_threshold).
_LIBPQ_KEYWORDS = frozenset(
    option.keyword.decode() for option in psycopg.pq.Conninfo.get_defaults()
)


def conninfo(alias: str = "default") -> str:
    """A libpq conninfo for the database *alias* names now (its test database during tests)."""
    from django.db import connections  # noqa: PLC0415

    params = connections[alias].get_connection_params()
    kept = {
        key: value
        for key, value in params.items()
        if key in _LIBPQ_KEYWORDS and isinstance(value, str | int)
    }
    return make_conninfo("", **kept)


def postgresql_aliases(aliases: Iterator[str] | list[str] | None = None) -> list[str]:
    """The aliases of PostgreSQL databases of their own (not a test mirror), in settings order."""
    from django.db import connections  # noqa: PLC0415

    chosen = []
    for alias in aliases if aliases is not None else connections:
        settings = connections[alias].settings_dict
        if connections[alias].vendor != "postgresql" or settings.get("TEST", {}).get("MIRROR"):
            continue
        chosen.append(alias)
    return chosen


@contextmanager
def fixture_loads_allowed() -> Iterator[None]:
    """Every ``loaddata`` (``TestCase.fixtures`` included) let past the guard while it runs.

    loaddata writes the fixtures' primary keys, then moves the sequences past
    them (``reset_sequences``), all inside its own ``transaction.atomic``:
    :func:`~seqdoctor.guard.explicit.allow_explicit_ids` wraps exactly that.
    """
    from django.core.management.commands import loaddata  # noqa: PLC0415

    original = loaddata.Command.loaddata

    @functools.wraps(original)
    def guarded(self: Any, fixture_labels: Any) -> Any:
        from django.db import connections  # noqa: PLC0415

        with allow_explicit_ids(connections[self.using]):
            return original(self, fixture_labels)

    loaddata.Command.loaddata = guarded
    try:
        yield
    finally:
        loaddata.Command.loaddata = original


@contextmanager
def notices_watched(handler: Callable[[psycopg.errors.Diagnostic], None]) -> Iterator[None]:
    """*handler* told of the notices (WARNINGs) of every Django connection while it runs.

    psycopg 3 drops a server's notices unless a handler is registered, on each
    connection: this registers one on the connections open now and on each
    Django opens (the ``connection_created`` signal). Connections of
    psycopg 2 keep their notices in ``conn.notices``, read by nobody: left alone.
    """
    from django.db import connections  # noqa: PLC0415
    from django.db.backends.signals import connection_created  # noqa: PLC0415

    watched: weakref.WeakSet[Any] = weakref.WeakSet()

    def watch(raw: Any) -> None:
        if isinstance(raw, psycopg.Connection) and raw not in watched:
            raw.add_notice_handler(handler)
            watched.add(raw)

    def created(sender: Any, connection: Any, **kwargs: Any) -> None:
        watch(connection.connection)

    for wrapper in connections.all(initialized_only=True):
        watch(wrapper.connection)
    connection_created.connect(created, weak=False)
    try:
        yield
    finally:
        connection_created.disconnect(created)
        for raw in list(watched):
            raw.remove_notice_handler(handler)
