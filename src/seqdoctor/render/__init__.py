"""Renderers: pure functions from a :class:`~seqdoctor.report.Report` to text on a stream."""

from __future__ import annotations

from enum import StrEnum
from importlib import import_module
from typing import TextIO

from seqdoctor.fleet import FleetReport
from seqdoctor.report import Report


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    PROMETHEUS = "prometheus"
    HTML = "html"
    NAGIOS = "nagios"


# Each format's module, imported when used: the terminal renderer loads Rich,
# which a JSON scrape every minute has no use for.
RENDERERS: dict[Format, str] = {
    Format.TABLE: "seqdoctor.render.table",
    Format.JSON: "seqdoctor.render.json",
    Format.PROMETHEUS: "seqdoctor.render.prometheus",
    Format.HTML: "seqdoctor.render.html",
    Format.NAGIOS: "seqdoctor.render.nagios",
}


def render(report: Report, output_format: Format, out: TextIO) -> None:
    """Write *report* to *out* in *output_format*: each module's ``render(report, out)``."""
    import_module(RENDERERS[output_format]).render(report, out)


def render_fleet(fleet: FleetReport, output_format: Format, out: TextIO) -> None:
    """Write the reports of many databases: each module's ``render_fleet(fleet, out)``."""
    import_module(RENDERERS[output_format]).render_fleet(fleet, out)
