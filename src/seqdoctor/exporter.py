"""``seqdoctor serve``: a Prometheus exporter whose scrapes never touch a database.

One background thread audits every target each ``interval`` seconds (the
targets of one round concurrently, as ``check`` does with many CONNINFOs) and
renders the exposition once per round. ``/metrics`` returns those bytes: a
scrape costs no query, so many Prometheus servers, or a scrape interval
shorter than the audit interval, never multiply the load on the databases.
A target whose audit fails keeps its last good gauges, with
``seqdoctor_audit_success`` 0, so that a failed round neither hides a
sequence nor pretends it is healthy. ``/healthz`` answers 200 while the
audit thread runs and has completed a round recently.

A round reads every sequence's position, but the catalog inventory only when
the catalog's mark (its row versions and write counters) moved since it was
read, and the columns' values (their max(), the costly part) only of the
tables written since they were last read, as the server's write counters tell
(:func:`seqdoctor.audit`'s *earlier*; see docs/prometheus.md); and the checks
judge again only the columns and sequences whose inputs changed
(:class:`~seqdoctor.checks.incremental.Judge`), over connections kept open
from one round to the next (:class:`~seqdoctor.auditing.KeptConnections`).
Every ``full_every`` seconds a round reads and judges everything again, as
those counters can lag, be lost or be reset.
``seqdoctor_audit_full_timestamp_seconds`` says when that last happened: no
value in the exposition is older.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from seqdoctor._version import __version__
from seqdoctor.auditing import KeptConnections, collector_paused
from seqdoctor.checks.incremental import Judge
from seqdoctor.errors import UsageError
from seqdoctor.fleet import (
    DEFAULT_JOBS,
    SECONDS,
    Target,
    TargetResult,
    audit_fleet,
    check_options,
)
from seqdoctor.render.prometheus import (
    DEFAULT_TOP,
    ColumnSeries,
    Exposition,
    add_audit,
    add_report,
    database_of,
)
from seqdoctor.report import Report

# The text format generate_latest() writes for names like ours, which every Prometheus reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Not 9187, postgres_exporter's, likely to run on the same host: see docs/prometheus.md.
DEFAULT_PORT = 10230
# Seconds between rounds that read every table again (see the module's docstring).
DEFAULT_FULL_EVERY = 3600.0


def parse_listen(listen: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:10230`` for IPv6; ``:10230`` for every address) as a bind address.

    >>> parse_listen("127.0.0.1:10230"), parse_listen("[::1]:0"), parse_listen(":10230")
    (('127.0.0.1', 10230), ('::1', 0), ('', 10230))
    """
    host, sep, port = listen.rpartition(":")
    if not sep or not _digits(port) or int(port) > 65535:
        raise UsageError(f"--listen wants HOST:PORT, not {listen!r}")
    return host.removeprefix("[").removesuffix("]"), int(port)


def _digits(text: str) -> bool:
    """*text* is ASCII digits: str.isdigit() also takes "¹", which int() refuses, and "٣",
    which int() reads as 3.

    >>> _digits("10230"), _digits("\u00b9"), _digits("\u0663"), _digits("")
    (True, False, False, False)
    """
    return text.isascii() and text.isdigit()


def parse_metrics(metrics: str) -> int | None:
    """``--metrics``: how many columns below every threshold get series of their own, or
    None for ``all``.

    >>> parse_metrics("10"), parse_metrics("0"), parse_metrics("all")
    (10, 0, None)
    """
    if metrics == "all":
        return None
    if not _digits(metrics):
        raise UsageError(f"--metrics wants a number of columns or 'all', not {metrics!r}")
    return int(metrics)


@dataclass
class TargetState:
    """What the exporter knows of one target: its last good report and its last attempt."""

    target: Target
    report: Report | None = None
    succeeded: bool | None = None  # None: not tried yet
    error: str | None = None
    # When the last audit that read every table started, on the wall clock for the
    # exposition and the monotonic one for the next full round's due time.
    full_at: datetime | None = None
    full_started: float = 0.0
    # The checks, judging again only what changed since the last round (the same
    # findings as judging it all); a new one on each full round.
    judge: Judge = field(default_factory=Judge)
    # Open from one round to the next: their server processes' caches stay warm.
    connections: KeptConnections = field(default_factory=KeptConnections)
    # The series of its columns, given again where they are made of the same.
    series: ColumnSeries = field(default_factory=ColumnSeries)


@dataclass
class Exporter:
    """Audits *targets* every *interval* seconds in the background; serves what it found.

    *options* are :func:`seqdoctor.audit` keyword arguments for every target
    (a target's own win). Use as a context manager, or :meth:`start` and
    :meth:`close`; :attr:`address` is where it listens (port 0 picks one).

    Rounds read every table every *full_every* seconds, and between those only
    the tables written since (0: every round reads every table). Per-column
    series for the columns past a threshold and the *top* fullest others
    (None: every column).
    """

    targets: Sequence[Target]
    listen: tuple[str, int] = ("127.0.0.1", DEFAULT_PORT)
    interval: float = 60.0
    jobs: int = DEFAULT_JOBS
    options: Mapping[str, Any] = field(default_factory=dict)
    log: Callable[[str], None] = print
    top: int | None = DEFAULT_TOP
    full_every: float = DEFAULT_FULL_EVERY
    rounds: int = field(default=0, init=False)  # completed audit rounds

    def __post_init__(self) -> None:
        names = [t.name for t in self.targets]
        clash = next((n for n in names if names.count(n) > 1), None)
        if clash is not None:
            raise UsageError(f"two targets are named {clash}: name them in a --targets file")
        if not self.targets:
            raise UsageError("nothing to serve: give at least one CONNINFO or --targets")
        # Wrong for every round: said once, now, rather than by every round in the background.
        if not 1 <= self.interval <= SECONDS[1]:  # nan too: it would audit in a busy loop
            raise UsageError(f"--interval must be between 1 and {SECONDS[1]:g} seconds")
        if not 0 <= self.full_every <= SECONDS[1]:
            raise UsageError(f"--full-every must be between 0 and {SECONDS[1]:g} seconds")
        if self.top is not None and self.top < 0:
            raise UsageError("--metrics wants a number of columns (0 or more) or 'all'")
        check_options(self.jobs, self.options)
        self._states = [TargetState(t) for t in self.targets]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._metrics = self._render()
        self._last_round = time.monotonic()
        self._server = _Server(self)
        self._threads = [
            threading.Thread(target=self._audit_loop, name="seqdoctor-audits", daemon=True),
            threading.Thread(target=self._server.serve_forever, name="seqdoctor-http", daemon=True),
        ]

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def metrics(self) -> bytes:
        """The exposition of the last round, as a scrape gets it."""
        with self._lock:
            return self._metrics

    @property
    def healthy(self) -> bool:
        """The audit thread runs, and has finished a round within three intervals."""
        recent = time.monotonic() - self._last_round < 3 * self.interval + 60
        return self._threads[0].is_alive() and recent

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/metrics"

    def wait(self) -> None:
        """Serve until :meth:`close`, SIGTERM or Ctrl-C (in the main thread)."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: self._stop.set())
        try:
            while not self._stop.wait(1):
                pass
        except KeyboardInterrupt:
            pass

    def start(self) -> Exporter:
        for thread in self._threads:
            thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            if thread.is_alive():
                thread.join()
        for state in self._states:
            state.connections.close()

    def __enter__(self) -> Exporter:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def wait_for_round(self, timeout: float, after: int = 0) -> bool:
        """Wait until more than *after* rounds of audits have completed; False on timeout."""
        deadline = time.monotonic() + timeout
        while self.rounds <= after and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.rounds > after

    def _audit_loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self._audit_round()
            self._stop.wait(max(self.interval - (time.monotonic() - started), 0))

    def _earlier(self, state: TargetState, now: float) -> Report | None:
        """The report this round's audit of *state* may carry columns from; None: read all."""
        if self.full_every == 0 or state.report is None or state.full_at is None:
            return None
        return state.report if now - state.full_started < self.full_every else None

    def _audit_round(self) -> None:
        started = time.monotonic()
        earlier = [self._earlier(state, started) for state in self._states]
        for state, report in zip(self._states, earlier, strict=True):
            if report is None:
                state.judge = Judge()
        # The audit() options of this round for each target: its marks of writes taken
        # for the next round, and what to carry from the last one.
        targets = [
            replace(
                state.target,
                options={
                    **state.target.options,
                    "mark_changes": self.full_every > 0,
                    "earlier": report.snapshot if report else None,
                    "judge": state.judge,
                    "kept": state.connections,
                },
            )
            for state, report in zip(self._states, earlier, strict=True)
        ]
        results: list[TargetResult | None] = [None] * len(self._states)
        try:
            fleet = audit_fleet(targets, jobs=self.jobs, **dict(self.options))
        except Exception:  # a bug must not stop the exporter: say it, go on
            self.log(f"audit round failed:\n{traceback.format_exc()}")
        else:
            results = list(fleet.results)  # in the order of the targets
        for state, result, carried_from in zip(self._states, results, earlier, strict=True):
            state.succeeded = result is not None and result.report is not None
            if result is not None and result.report is not None:
                state.report, state.error = result.report, None
                if carried_from is None:
                    state.full_at, state.full_started = result.report.checked_at, started
            else:
                state.error = result.error if result is not None else "audit round failed"
                self.log(f"{state.target.name}: {state.error}")
        rendered = self._render()
        with self._lock:
            self._metrics = rendered
            self._last_round = time.monotonic()
            self.rounds += 1

    def _render(self) -> bytes:
        # As an audit does: the reports' objects number in the millions at 100,000
        # tables, and each pass of the cyclic collector over them took a third of the time.
        with collector_paused():
            return self._exposition().text().encode()

    def _exposition(self) -> Exposition:
        exposition = Exposition(__version__, ("target",))
        for state in self._states:
            name = (state.target.name,)
            if state.report is not None:  # after a failure, the last good gauges stay
                add_report(
                    exposition,
                    state.report,
                    name,
                    success=bool(state.succeeded),
                    top=self.top,
                    full_at=state.full_at,
                    series=state.series,
                )
            elif state.succeeded is False:
                add_audit(exposition, name, database_of(state.target), success=False)
        return exposition


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # the name http.server calls
        exporter = self.server.exporter
        if self.path.split("?")[0] == "/metrics":
            self._send(200, CONTENT_TYPE, exporter.metrics)
        elif self.path == "/healthz":
            healthy = exporter.healthy
            self._send(
                200 if healthy else 503,
                "text/plain; charset=utf-8",
                b"ok\n" if healthy else b"audits stalled\n",
            )
        else:
            self._send(
                404, "text/plain; charset=utf-8", b"seqdoctor exporter: see /metrics, /healthz\n"
            )

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not news: no line per request."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, exporter: Exporter) -> None:
        self.exporter = exporter
        host, port = exporter.listen
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            super().__init__((host, port), _Handler)
        except OSError as error:
            raise UsageError(f"cannot listen on {host}:{port}: {error.strerror}") from None
