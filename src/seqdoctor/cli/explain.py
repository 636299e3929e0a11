"""``seqdoctor explain``: a check's documentation, or the list of them."""

from __future__ import annotations

import click

from seqdoctor.checks import REGISTRY
from seqdoctor.cli.options import CONTEXT, _check_codes


@click.command(context_settings=CONTEXT)
@click.argument("code", required=False, shell_complete=_check_codes)
def explain(code: str | None) -> None:
    """Explain a check (by code or name), or list them all."""
    if code is None:
        for known in REGISTRY:
            click.echo(f"{known.code}  {known.name:<36} {known.severity:<9} {known.summary}")
        return
    chosen = REGISTRY.get(code)
    click.echo(f"{chosen.code} {chosen.name} ({chosen.severity})\n")
    click.echo(chosen.documentation.split("\n", 1)[1].strip())
