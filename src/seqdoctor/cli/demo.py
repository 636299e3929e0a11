"""``seqdoctor demo``: every problem on a throwaway server, audited and repaired."""

from __future__ import annotations

import sys

import click

from seqdoctor.cli.options import CONTEXT


@click.command(context_settings=CONTEXT)
def demo() -> None:
    """Build a shop with every problem on a throwaway server, audit it, and repair it."""
    from seqdoctor.demo import run_demo  # noqa: PLC0415 - see check

    run_demo(sys.stdout)
