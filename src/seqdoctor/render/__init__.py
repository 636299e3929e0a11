"""Renderers: pure functions from a :class:`~seqdoctor.report.Report` to text on a stream."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TextIO

from seqdoctor.render import json, table
from seqdoctor.report import Report


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


RENDERERS: dict[Format, Callable[[Report, TextIO], None]] = {
    Format.TABLE: table.render,
    Format.JSON: json.render,
}


def render(report: Report, output_format: Format, out: TextIO) -> None:
    RENDERERS[output_format](report, out)
