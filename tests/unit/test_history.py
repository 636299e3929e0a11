"""The SQLite history store and the choice of store, without a database server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from seqdoctor.errors import UsageError
from seqdoctor.history import ColumnSample, History, Sample, default_path, open_store
from seqdoctor.history.postgres import PostgresStore
from seqdoctor.history.sqlite import SQLiteStore
from tests.unit.fresh import modules_after

T0 = datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=UTC)


def sample(at: datetime, last_value: int = 10, name: str = "orders_id_seq") -> Sample:
    return Sample(
        at,
        "public",
        name,
        last_value,
        True,
        1,
        (ColumnSample("public", "orders", "id", 2**63 - 1, -1),),
    )


def test_samples_come_back_exactly_as_kept(tmp_path: Path) -> None:
    store = open_store(tmp_path / "deep" / "history.sqlite3")
    kept = [sample(T0), sample(T0 + timedelta(hours=1), 20), sample(T0, 5, "Order Lines_id_seq")]

    store.record("1/shop", kept)
    store.record("1/shop", kept)  # the same samples again are ignored
    store.record("2/shop", [sample(T0)])

    loaded = store.load("1/shop", T0, T0 + timedelta(hours=2), columns=True)
    assert sorted(loaded, key=lambda s: (s.taken_at, s.sequence)) == sorted(
        kept, key=lambda s: (s.taken_at, s.sequence)
    )
    assert store.load("1/shop", T0 + timedelta(microseconds=1), T0 + timedelta(hours=1)) == []
    (first, *_) = store.load("1/shop", T0, T0 + timedelta(hours=2))
    assert first.columns == ()  # positions only, unless asked


def test_prune_forgets_old_samples_of_every_database(tmp_path: Path) -> None:
    store = open_store(tmp_path / "history.sqlite3")
    store.record("1/shop", [sample(T0), sample(T0 + timedelta(days=10))])
    store.record("2/shop", [sample(T0)])

    assert store.prune(T0 + timedelta(days=1)) == 2
    assert [s.taken_at for s in store.load("1/shop", T0, T0 + timedelta(days=20))] == [
        T0 + timedelta(days=10)
    ]


def test_reading_a_missing_store_creates_nothing(tmp_path: Path) -> None:
    store = open_store(tmp_path / "history.sqlite3")

    assert store.load("1/shop", T0, T0 + timedelta(days=1)) == []
    assert store.prune(T0) == 0
    assert list(tmp_path.iterdir()) == []


def test_a_location_is_a_conninfo_or_a_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))

    assert open_store("postgresql://monitor:secret@db/metrics") == PostgresStore(
        "postgresql://monitor:secret@db/metrics", "seqdoctor"
    )
    assert open_store("host=db dbname=metrics", schema="ops") == PostgresStore(
        "host=db dbname=metrics", "ops"
    )
    assert open_store("history.sqlite3") == SQLiteStore(Path("history.sqlite3"))
    assert open_store().location == str(tmp_path / "seqdoctor" / "history.sqlite3")
    assert default_path() == tmp_path / "seqdoctor" / "history.sqlite3"


def test_the_default_store_costs_an_audit_nothing_until_used() -> None:
    # Every check names the default store; few audits read or write it.
    loaded = modules_after("from seqdoctor.history import open_store; open_store()")
    assert not loaded & {"sqlite3", "platformdirs"}


def test_a_postgresql_store_never_shows_its_password() -> None:
    store = open_store("postgresql://monitor:secret@db/metrics")

    assert "secret" not in store.location
    assert "monitor" in store.location


@pytest.mark.parametrize(
    ("window", "retention", "message"),
    [(0, 90, "window"), (30, 10, "retention")],
)
def test_history_settings_must_make_sense(
    window: int, retention: int, message: str, tmp_path: Path
) -> None:
    with pytest.raises(UsageError, match=message):
        History(
            open_store(tmp_path / "h"),
            window=timedelta(days=window),
            retention=timedelta(days=retention),
        )
