"""``check -t/--timeout``: a bound on the whole run, as a monitoring plugin's alarm is.

A monitor kills a plugin that outlives its own timeout and shows "(Service
Check Timed Out)", with nothing of what the plugin knew. The deadline comes
first: when it passes, the process prints an UNKNOWN status with how far it
got, and ends at once, whatever it is waiting on (a host that never answers a
connection, a query, a worker thread of a fleet audit). Nothing is written to
a database by check, so ending it mid-way leaves nothing half done; the
server sees the connection close and ends the session.
"""

from __future__ import annotations

import os
import sys
import threading
from types import TracebackType

from seqdoctor.cli.failure import fail
from seqdoctor.errors import ExitStatus


class Deadline:
    """Ends the process *seconds* after it is entered, unless :meth:`settle` came first.

    Only for the console script: the end is ``os._exit``, which no waiting
    thread can hold up. Without *seconds*, it never comes.
    """

    def __init__(self, seconds: float | None, *, for_monitor: bool) -> None:
        self.seconds = seconds
        self.for_monitor = for_monitor
        self.known = "connecting, or reading the catalog"  # how far it got, for the status line
        self._settled = threading.Lock()  # taken by settle() or the deadline, whichever is first
        self._owner = False  # settle() took it
        self._timer: threading.Timer | None = None

    def __enter__(self) -> Deadline:
        if self.seconds is not None:
            self._timer = threading.Timer(self.seconds, self._expire)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.settle()  # an error on its way out is reported once, by the caller or the deadline

    def progress(self, phase: str, done: int, total: int) -> None:
        """An audit's progress callback: what the status line says if time runs out."""
        self.known = f"read {done:,} of {total:,} {phase}"

    def settle(self) -> None:
        """Called once the result is known: from now on it is written out, whatever the time.

        If the deadline passed first, waits for the process to end.
        """
        if self._owner:
            return
        if not self._settled.acquire(blocking=False):
            threading.Event().wait()
        self._owner = True

    def _expire(self) -> None:
        if not self._settled.acquire(blocking=False):
            return  # the result is being written
        fail(
            f"no result within {self.seconds:g} s (--timeout): {self.known}",
            for_monitor=self.for_monitor,
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(ExitStatus.UNKNOWN)
