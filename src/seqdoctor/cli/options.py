"""What the commands share: option factories, their callbacks, and how options become arguments."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import click
from click.shell_completion import CompletionItem

from seqdoctor.checks import REGISTRY
from seqdoctor.fleet import MAX_DAYS, SECONDS
from seqdoctor.history import History, open_store

Command = TypeVar("Command", bound=Callable[..., Any])
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _percent(_ctx: click.Context, _param: click.Parameter, value: float) -> float:
    if not 0 < value <= 100:
        raise click.BadParameter("must be a percentage between 0 and 100")
    return value / 100


def _threshold(name: str, default: float, meaning: str) -> Callable[[Command], Command]:
    return click.option(
        name,
        type=float,
        default=default,
        show_default=True,
        callback=_percent,
        help=f"Percent of a range used that {meaning}.",
    )


def _number(_ctx: click.Context, _param: click.Parameter, value: float | None) -> float | None:
    # FloatRange lets nan through: no comparison with it is ever true.
    if value is not None and math.isnan(value):
        raise click.BadParameter("must be a number, not nan")
    return value


def _seconds(name: str, default: float, meaning: str) -> Callable[[Command], Command]:
    return click.option(
        name,
        type=click.FloatRange(*SECONDS),
        default=default,
        show_default=True,
        callback=_number,
        metavar="SECONDS",
        help=meaning,
    )


def _days(name: str, default: float, meaning: str) -> Callable[[Command], Command]:
    return click.option(
        name,
        type=click.FloatRange(min=0, min_open=True, max=MAX_DAYS),
        default=default,
        show_default=True,
        callback=_number,
        metavar="DAYS",
        help=meaning,
    )


def _history(options: dict[str, Any]) -> dict[str, Any]:
    """The history options as audit() takes them: one History."""
    location = options.pop("history_location")
    history = History(
        open_store(location, schema=options.pop("history_schema")),
        window=timedelta(days=options.pop("window")),
        retention=timedelta(days=options.pop("retention", 90)),
        record=options.pop("record", False),
    )
    return {**options, "history": history}


def _shared(command: click.Command, *names: str) -> list[click.Parameter]:
    """Options declared once, on *command*, for another command to take as they are."""
    return [next(p for p in command.params if p.name == name) for name in names]


def _confirmed(yes: bool, question: str) -> bool:
    """Whether --apply may go ahead: --yes, or a person at the terminal says so."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise click.UsageError("--apply asks before changing anything: pass --yes to skip")
    if click.confirm(question, err=True):
        return True
    click.echo("Nothing was changed.", err=True)
    return False


def _check_codes(_ctx: click.Context, _param: click.Parameter, typed: str) -> list[CompletionItem]:
    """Shell completion of a check: its code (``SEQ0`` or ``seq0``), or its name.

    What is completed is what was started: a code, shown with the check's
    name, or a name, shown with its code.
    """
    items = []
    for known in REGISTRY:
        if known.code.startswith(typed.upper()):
            items.append(CompletionItem(known.code, help=known.name))
        elif known.name.startswith(typed.lower()):
            items.append(CompletionItem(known.name, help=known.code))
    return items
