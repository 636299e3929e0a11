"""Auditing many databases at once: targets, concurrency, and one verdict for all.

A target is a database to audit: a libpq conninfo (URI, ``key=value``,
``service=name``) and, from a targets file, its own thresholds and filters.
Audits run on a bounded pool of threads (the work is mostly waiting on
servers); each has its own connection and timeouts, and a target that cannot
be reached or read is reported as unknown while the others complete.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from seqdoctor.auditing import audit
from seqdoctor.catalog.connection import connect, error_message
from seqdoctor.catalog.redact import parameters, scrubbed
from seqdoctor.checks import REGISTRY, Settings
from seqdoctor.errors import SeqdoctorError, UsageError
from seqdoctor.report import Report, Status, worst_status

DEFAULT_JOBS = 8

# What a timeout or a number of days may be, on the command line and in a targets file:
# finite, within what PostgreSQL takes (an int of milliseconds) and dates can hold.
SECONDS = (0.001, 2_147_483.647)
MAX_DAYS = 36_500.0
# The audit() options a targets file may set per target, by kind.
_PATTERNS = ("schemas", "exclude_schemas", "tables", "select", "ignore")
_PERCENTS = ("warning", "critical")
_DAYS = ("warning_days", "critical_days")
_SECONDS = ("lock_timeout", "statement_timeout")
_FLAGS = ("allow_seqscan",)
TARGET_OPTIONS = frozenset((*_PATTERNS, *_PERCENTS, *_DAYS, *_SECONDS, *_FLAGS))


@dataclass(frozen=True)
class Target:
    """One database to audit, and the audit() options that apply to it alone."""

    name: str
    conninfo: str
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, conninfo: str) -> Target:
        return cls(display_name(conninfo), conninfo)


@dataclass(frozen=True)
class TargetResult:
    target: Target
    report: Report | None = None
    error: str | None = None  # why there is no report

    @property
    def status(self) -> Status:
        return self.report.status if self.report else Status.UNKNOWN


@dataclass(frozen=True)
class FleetReport:
    checked_at: datetime
    duration_seconds: float
    results: tuple[TargetResult, ...]

    @property
    def status(self) -> Status:
        return worst_status(r.status for r in self.results)

    def headline(self) -> str:
        return f"{self.status.name}: {self.summary()}"

    def summary(self) -> str:
        """How many databases, and how many at each status: ``3 databases (1 critical, 2 ok)``."""
        counts = {s: sum(1 for r in self.results if r.status is s) for s in Status}
        parts = [f"{counts[s]} {s}" for s in Status if counts[s]]
        return f"{len(self.results)} databases ({', '.join(parts)})"


def display_name(conninfo: str) -> str:
    """A name for a target that shows where it is and never its password.

    >>> display_name("postgresql://app:secret@db1:5433/shop")
    'db1:5433/shop'
    >>> display_name("service=billing"), display_name("host=/run/pg dbname=x")
    ('billing', '/run/pg/x')
    >>> display_name("dbname=postgresql://app:secret@db1/shop")
    'db1/shop'
    >>> display_name("postgresql://app:unencoded/secret@db1/shop")
    'app:****@db1/shop'
    """
    try:
        params = parameters(conninfo)
    except psycopg.ProgrammingError:
        return "(invalid conninfo)"
    if "service" in params and "dbname" not in params:
        return scrubbed(params["service"], conninfo)
    host = params.get("host") or "local"
    port = f":{params['port']}" if params.get("port") else ""
    # A password written unencoded in a URI can be read as a host, port or name.
    return scrubbed(f"{host}{port}/{params.get('dbname') or params.get('user') or ''}", conninfo)


def load_targets(path: Path) -> list[Target]:
    """Targets from a TOML file: ``[[target]]`` tables with name, conninfo, and options.

    Options are those of ``seqdoctor check``, with underscores:
    ``warning`` and ``critical`` in percent, ``schemas``, ``exclude_schemas``,
    ``tables``, ``select``, ``ignore`` as lists, timeouts in seconds.
    """
    import tomllib  # noqa: PLC0415 - here: the check of one database needs no TOML parser

    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise UsageError(f"{path}: not UTF-8 text (byte {error.start + 1})") from None
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path}: {error}") from None
    entries = document.get("target")
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"{path}: no [[target]] entries")
    targets = []
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("conninfo"), str):
            raise UsageError(f"{path}: target {number} has no conninfo")
        if not isinstance(entry.get("name", ""), str):
            raise UsageError(f"{path}: target {number}: name must be a string")
        options = {k: v for k, v in entry.items() if k not in ("name", "conninfo")}
        unknown = set(options) - TARGET_OPTIONS
        if unknown:
            raise UsageError(f"{path}: target {number}: unknown option {sorted(unknown)[0]!r}")
        try:
            options = {key: _option(key, value) for key, value in options.items()}
        except ValueError as error:
            raise UsageError(f"{path}: target {number}: {error}") from None
        name = entry.get("name") or display_name(entry["conninfo"])
        targets.append(Target(name, entry["conninfo"], options))
    return targets


def _option(key: str, value: object) -> object:
    """A targets file's option as audit() takes it; ValueError naming *key* if it cannot be.

    >>> _option("warning", 80), _option("tables", "orders"), _option("lock_timeout", 1)
    (0.8, ['orders'], 1.0)
    >>> _option("warning", "abc")
    Traceback (most recent call last):
    ValueError: warning must be a percentage between 0 and 100, not 'abc'
    """
    if key in _PATTERNS:
        patterns = [value] if isinstance(value, str) else value
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise ValueError(f"{key} must be a string or a list of strings, not {value!r:.40}")
        return patterns
    if key in _FLAGS:
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false, not {value!r:.40}")
        return value
    number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else -1
    if key in _PERCENTS:
        if not 0 < number <= 100:
            raise ValueError(f"{key} must be a percentage between 0 and 100, not {value!r:.40}")
        return number / 100
    if key in _DAYS:
        if not 0 < number <= MAX_DAYS:
            raise ValueError(f"{key} must be days between 0 and {MAX_DAYS:g}, not {value!r:.40}")
        return number
    low, high = SECONDS
    if not low <= number <= high:
        raise ValueError(f"{key} must be seconds between {low:g} and {high:g}, not {value!r:.40}")
    return number


def all_databases(conninfo: str) -> list[Target]:
    """One target per database of the server *conninfo* reaches that accepts connections."""
    with connect(conninfo) as conn:
        names = [
            str(row[0])
            for row in conn.execute(
                sql.SQL(
                    "SELECT datname FROM pg_catalog.pg_database"
                    " WHERE datallowconn AND NOT datistemplate ORDER BY datname"
                )
            )
        ]
    return [Target.of(make_conninfo(conninfo, dbname=name)) for name in names]


def audit_fleet(
    targets: Sequence[Target],
    *,
    jobs: int = DEFAULT_JOBS,
    on_result: Callable[[TargetResult], None] | None = None,
    **options: Any,
) -> FleetReport:
    """Audit every target, at most *jobs* at a time; *options* apply to all, targets' own win."""
    check_options(jobs, options)
    started, checked_at = time.monotonic(), datetime.now(UTC)

    def one(target: Target) -> TargetResult:
        try:
            result = TargetResult(
                target, report=audit(target.conninfo, **{**options, **target.options})
            )
        except SeqdoctorError as error:
            result = TargetResult(target, error=str(error))
        except psycopg.Error as error:
            result = TargetResult(target, error=f"database error: {error_message(error)}")
        if on_result is not None:
            on_result(result)
        return result

    with ThreadPoolExecutor(max_workers=min(jobs, max(len(targets), 1))) as pool:
        results = tuple(pool.map(one, targets))
    return FleetReport(checked_at, time.monotonic() - started, results)


def check_options(jobs: int, options: Mapping[str, Any]) -> None:
    """Refuse options wrong for every target once, before any target is tried (UsageError)."""
    if jobs < 1:
        raise UsageError("--jobs must be at least 1")
    REGISTRY.select(options.get("select", ()), options.get("ignore", ()))
    Settings(
        options.get("warning", 0.75),
        options.get("critical", 0.90),
        options.get("warning_days", 90.0),
        options.get("critical_days", 30.0),
    )


def unique_targets(targets: Iterable[Target]) -> list[Target]:
    """Targets in order, each conninfo once."""
    seen: set[str] = set()
    kept = []
    for target in targets:
        if target.conninfo not in seen:
            seen.add(target.conninfo)
            kept.append(target)
    return kept
