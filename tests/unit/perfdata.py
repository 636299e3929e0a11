"""A reader of plugin output by the Monitoring Plugins grammar, stricter than any monitor's.

https://www.monitoring-plugins.org/doc/guidelines.html#AEN200: the first line
is ``TEXT | PERFDATA``; PERFDATA is space-separated
``'label'=value[UOM];[warn];[crit];[min];[max]``, a label quoted with single
quotes, a quote inside doubled, no ``=`` in it; value, min and max in the
class ``[-0-9.]``; warn and crit ranges (``[@][start:][end]``, ``~`` for
minus infinity); UOM one of s, ms, us, %, B, KB, MB, TB, c.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER = r"-?[0-9]+(?:\.[0-9]+)?"
_RANGE = rf"@?(?:(?:~|{_NUMBER}):)?(?:{_NUMBER})?"
_ITEM = re.compile(
    rf"""'(?P<label>(?:[^'=]|'')+)'=(?P<value>{_NUMBER})(?P<unit>s|ms|us|%|B|KB|MB|TB|c)?
    (?:;(?P<warning>{_RANGE})(?:;(?P<critical>{_RANGE})
    (?:;(?P<minimum>{_NUMBER})?(?:;(?P<maximum>{_NUMBER})?)?)?)?)?(?:\ |$)""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Perf:
    label: str
    value: float
    unit: str
    warning: str
    critical: str
    minimum: float | None
    maximum: float | None


@dataclass(frozen=True)
class PluginOutput:
    service: str
    status: str
    text: str
    perfdata: dict[str, Perf]
    long_output: list[str]


def parse(output: str) -> PluginOutput:
    """*output* read as a monitor reads it; an AssertionError where it breaks the grammar."""
    first, *rest = output.splitlines()
    assert first.count("|") == 1, first
    text, data = first.split(" | ")
    service, status_text = text.split(" ", 1)
    status, said = status_text.split(": ", 1)
    assert status in ("OK", "WARNING", "CRITICAL", "UNKNOWN"), status
    items: dict[str, Perf] = {}
    at = 0
    while at < len(data):
        item = _ITEM.match(data, at)
        assert item is not None, f"not perfdata at {data[at : at + 60]!r}"
        label = item["label"].replace("''", "'")
        assert label not in items, f"label twice: {label}"
        items[label] = Perf(
            label,
            float(item["value"]),
            item["unit"] or "",
            item["warning"] or "",
            item["critical"] or "",
            float(item["minimum"]) if item["minimum"] else None,
            float(item["maximum"]) if item["maximum"] else None,
        )
        at = item.end()
    for line in rest:
        assert "|" not in line, line
    return PluginOutput(service, status, said, items, rest)
