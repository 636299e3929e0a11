"""The command line: arguments in, exit status out. Everything else is the library's.

One module per command; what they share (option factories, callbacks) is in
options. Exit statuses follow Nagios plugins: 0 ok (info findings only), 1
warning, 2 critical, 3 unknown - also for bad arguments and connection
failures, which print one line on stderr and no traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO, cast

import click
import psycopg

from seqdoctor._version import __version__
from seqdoctor.catalog.connection import error_message
from seqdoctor.cli import check, demo, explain, fix, forecast, grants, guard, serve, sync
from seqdoctor.cli.failure import fail, for_monitor
from seqdoctor.cli.options import CONTEXT
from seqdoctor.errors import ExitStatus, SeqdoctorError


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", message="%(prog)s %(version)s")
def cli() -> None:
    """Find and fix PostgreSQL sequence problems before they page anyone."""


for command in (
    check.check,
    explain.explain,
    fix.fix,
    sync.sync,
    forecast.forecast,
    serve.serve,
    demo.demo,
    guard.guard,
    grants.grants,
):
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status; only :func:`run` exits."""
    # psycopg logs the errors it ignores while rolling back after one we report ourselves:
    # without a handler, Python would print them on stderr, in psycopg's words.
    logging.getLogger("psycopg").addHandler(_QUIET)
    args = list(argv) if argv is not None else sys.argv[1:]
    monitor = for_monitor(args)

    def _fail(message: str) -> None:
        fail(message, for_monitor=monitor)

    try:
        status = cli.main(
            args=args,
            prog_name="seqdoctor",
            standalone_mode=False,
        )
    except click.ClickException as error:
        _fail(error.format_message())
        return ExitStatus.UNKNOWN
    except click.Abort:
        _fail("aborted")
        return ExitStatus.UNKNOWN
    except SeqdoctorError as error:
        _fail(str(error))
        return error.exit_status
    except psycopg.Error as error:
        _fail(f"database error: {error_message(error)}")
        return ExitStatus.UNKNOWN
    except OSError as error:  # a file named on the command line, that cannot be used
        where = f"{error.filename}: " if error.filename is not None else ""
        _fail(f"{where}{error.strerror or error}")
        return ExitStatus.UNKNOWN
    # Without standalone mode Click returns ctx.exit()'s status, or the command's None.
    return status if isinstance(status, int) else ExitStatus.OK


_QUIET = logging.NullHandler()


class _ReaderMayStop:
    """Standard output whose reader may stop early (``| head``): the rest goes nowhere.

    The command goes on, and its exit status stays its verdict. Left to Click,
    the broken pipe would end any command with status 1, a warning, whatever
    the audit or the repairs came to. (Click's PacifyFlushWrapper does this for
    flush() only; a report larger than the buffer breaks in write().)
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._discard()
            return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._discard()

    def _discard(self) -> None:
        # What is still buffered, and all that follows, goes to /dev/null.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def __getattr__(self, name: str) -> Any:  # isatty(), encoding, fileno(): the stream's own
        return getattr(self._stream, name)


def run() -> None:
    """The console-script entry point: :func:`main`, then the process ends at once."""
    sys.stdout = cast(TextIO, _ReaderMayStop(sys.stdout))
    status = main()
    # main() closed everything it opened (connections, files, threads); what is
    # left is the interpreter's teardown, which frees every module and object
    # one by one and passes the cyclic collector over them: 7 ms of the 0.2 s an
    # audit of 1,000 tables takes, and more with every object the audit made.
    # Only what is still buffered needs writing out.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
