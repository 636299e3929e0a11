"""How a command that cannot give its result says so: one line, for a person and for a monitor."""

from __future__ import annotations

from collections.abc import Sequence

import click

from seqdoctor.catalog.display import printable
from seqdoctor.render.nagios import unknown_line


def fail(message: str, *, for_monitor: bool) -> None:
    """*message* on stderr, escaped: a file name or an argument may hold a line break or ESC.

    For a monitor (:func:`for_monitor`), also the UNKNOWN status line on
    stdout, the only stream Nagios and Icinga show.
    """
    if for_monitor:
        click.echo(unknown_line(message))
    click.echo(f"seqdoctor: {printable(message)}", err=True)


def for_monitor(args: Sequence[str]) -> bool:
    """Whether *args* ask check for a monitor's output: ``-q`` or ``--format nagios``.

    Read from the words themselves, so that an error Click finds before any
    option is parsed (an unknown option, a missing value) is reported to the
    monitor too. Other formats keep stdout for their own output only: a JSON
    reader gets JSON or nothing.

    >>> for_monitor(["check", "-q", "db"]), for_monitor(["check", "--format=nagios"])
    (True, True)
    >>> for_monitor(["check", "--format", "nagios"]), for_monitor(["check", "--format", "json"])
    (True, False)
    >>> for_monitor(["fix", "-q"]), for_monitor(["check", "--", "-q"])
    (False, False)
    """
    if not args or args[0] != "check":
        return False
    words = list(args[1:])
    if "--" in words:
        words = words[: words.index("--")]
    pairs = zip(words, [*words[1:], ""], strict=False)  # each word and the one after it
    return any(
        word in ("-q", "--quiet", "--format=nagios") or (word, after) == ("--format", "nagios")
        for word, after in pairs
    )
