"""``seqdoctor serve``: the Prometheus exporter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from seqdoctor.catalog.display import printable
from seqdoctor.cli.check import check
from seqdoctor.cli.options import CONTEXT, _history, _number, _shared
from seqdoctor.fleet import SECONDS, Target, load_targets, unique_targets


@click.command(context_settings=CONTEXT)
@click.argument("conninfos", nargs=-1, metavar="[CONNINFO]...")
@click.option(
    "--listen",
    default="127.0.0.1:10230",
    show_default=True,
    metavar="HOST:PORT",
    help="Where to serve /metrics and /healthz ([::1]:PORT for IPv6, :PORT for every address).",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=1, max=SECONDS[1]),
    default=60.0,
    show_default=True,
    callback=_number,
    metavar="SECONDS",
    help="Time between the starts of two rounds of audits.",
)
@click.option(
    "--full-every",
    type=click.FloatRange(min=0, max=SECONDS[1]),
    default=3600.0,
    show_default=True,
    callback=_number,
    metavar="SECONDS",
    help="Time between rounds that read every table; the rounds between read only the tables "
    "written since (0: every round reads every table).",
)
@click.option(
    "--metrics",
    default="10",
    show_default=True,
    metavar="N|all",
    help="Series per column for the columns past a threshold and the N fullest others, "
    "or for every column.",
)
def serve(
    *,
    conninfos: tuple[str, ...],
    listen: str,
    interval: float,
    full_every: float,
    metrics: str,
    targets_file: Path | None,
    jobs: int,
    **options: Any,
) -> None:
    """Serve Prometheus metrics on the sequences of one database or many.

    Every target is audited in the background every --interval seconds; a
    scrape gets the results of the last round and never waits on, or adds
    load to, a database. Runs until interrupted. The metrics, and alerting
    rules: docs/prometheus.md.
    """
    from seqdoctor.exporter import (  # noqa: PLC0415 - see check
        Exporter,
        parse_listen,
        parse_metrics,
    )

    targets = [Target.of(c) for c in conninfos or ([] if targets_file else [""])]
    if targets_file:
        targets += load_targets(targets_file)
    exporter = Exporter(
        unique_targets(targets),
        listen=parse_listen(listen),
        interval=interval,
        jobs=jobs,
        options=_history(options),
        top=parse_metrics(metrics),
        full_every=full_every,
        log=lambda line: click.echo(f"seqdoctor: {printable(line)}", err=True),
    )
    with exporter:
        click.echo(f"seqdoctor: serving {exporter.url}", err=True)
        exporter.wait()


serve.params.extend(
    _shared(
        check,
        "targets_file",
        "jobs",
        "schemas",
        "exclude_schemas",
        "tables",
        "select",
        "ignore",
        "warning",
        "critical",
        "warning_days",
        "critical_days",
        "history_location",
        "history_schema",
        "window",
        "lock_timeout",
        "statement_timeout",
        "allow_seqscan",
        "connections",
    )
)
