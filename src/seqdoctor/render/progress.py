"""A progress bar on stderr for audits that take more than a moment."""

from __future__ import annotations

import sys
import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

# Quick audits print no bar at all: it would only flicker.
DELAY_SECONDS = 1.0


class TerminalProgress:
    """Shows (phase, done, total) reports as a bar with a rate, once the audit has run a second.

    Use as a context manager and pass the instance as the audit's ``progress``
    callback. It draws only when stderr is a terminal.
    """

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._enabled = sys.stderr.isatty()
        self._progress: Progress | None = None
        self._tasks: dict[str, tuple[TaskID, float]] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self._enabled or time.monotonic() - self._started < DELAY_SECONDS:
            return
        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description:<10}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
        if phase not in self._tasks:
            task = self._progress.add_task(phase, total=total, rate="")
            self._tasks[phase] = (task, time.monotonic())
        task, since = self._tasks[phase]
        rate = done / max(time.monotonic() - since, 1e-3)
        self._progress.update(task, completed=done, total=total, rate=f"{rate:,.0f}/s")

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
