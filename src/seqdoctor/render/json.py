"""The JSON report: one versioned record, documented in docs/json.md.

``schema_version`` changes only when a field is removed or changes meaning;
new fields may appear in any release. Names are raw identifiers, unquoted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import islice
from typing import Any, TextIO

import orjson

from seqdoctor._version import __version__
from seqdoctor.catalog.display import unsafe
from seqdoctor.catalog.model import SequenceState
from seqdoctor.checks import Finding
from seqdoctor.fleet import FleetReport
from seqdoctor.report import Report, Status

SCHEMA_VERSION = 1
RECORDS_PER_WRITE = 1000


def as_record(report: Report, *, lazy: bool = False) -> dict[str, Any]:
    """The report as JSON-ready data; with *lazy*, its long lists are iterators.

    A database of 100,000 tables makes lists of 100,000 records: built lazily,
    :func:`render` writes each as it goes instead of holding them all.
    """
    snapshot = report.snapshot
    sequences = (_sequence_record(report, s) for s in snapshot.sequences)
    findings = (finding_record(f) for f in report.findings)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "seqdoctor", "version": report.tool_version},
        "database": {
            "name": snapshot.server.database,
            "server_version": snapshot.server.server_version,
            "in_recovery": snapshot.server.in_recovery,
        },
        "checked_at": report.checked_at.isoformat(timespec="seconds"),
        "status": str(report.status),
        "summary": {
            "sequences": len(snapshot.sequences),
            "columns": len(snapshot.uses),
            "findings": report.counts(),
            "checks": list(report.checks),
            "duration_seconds": round(report.duration_seconds, 3),
        },
        "sequences": sequences if lazy else list(sequences),
        "findings": findings if lazy else list(findings),
    }


def _sequence_record(report: Report, sequence: SequenceState) -> dict[str, Any]:
    snapshot = report.snapshot
    return {
        "schema": sequence.schema,
        "name": sequence.name,
        "data_type": sequence.data_type,
        "start_value": sequence.start_value,
        "increment_by": sequence.increment_by,
        "min_value": sequence.min_value,
        "max_value": sequence.max_value,
        "cycle": sequence.cycle,
        "cache_size": sequence.cache_size,
        "last_value": sequence.last_value,
        "is_called": sequence.is_called,
        "next_value": sequence.next_value,
        "position_bounds": _bounds(sequence),
        "used_by": [
            {
                "schema": use.schema,
                "table": use.table,
                "column": use.column,
                "column_type": use.column_type,
                "kind": str(use.kind),
                "max_in_column": extent.max_value
                if (extent := snapshot.extents.get(use.key))
                else None,
                "guard": use.guard,
            }
            for use in snapshot.uses_of(sequence)
        ],
    }


def _bounds(sequence: SequenceState) -> dict[str, Any] | None:
    """Where the primary's sequence can be, read on a hot standby; None where exact."""
    if not sequence.ahead_by:
        return None
    return {
        "nextval_calls": sequence.ahead_by,
        "earliest_next_value": sequence.earliest.next_value,
        "latest_next_value": sequence.next_value,
    }


def finding_record(finding: Finding) -> dict[str, Any]:
    sequence, column = finding.sequence, finding.column
    return {
        "code": finding.code,
        "check": finding.check,
        "severity": str(finding.severity),
        "sequence": {"schema": sequence.schema, "name": sequence.name} if sequence else None,
        "column": {"schema": column.schema, "table": column.table, "column": column.column}
        if column
        else None,
        "message": finding.message,
        "details": dict(finding.details),
    }


def fleet_record(fleet: FleetReport, *, lazy: bool = False) -> dict[str, Any]:
    """Many databases: each target's report as :func:`as_record` makes it, under ``targets``."""
    statuses = [r.status for r in fleet.results]
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "seqdoctor", "version": __version__},
        "checked_at": fleet.checked_at.isoformat(timespec="seconds"),
        "status": str(fleet.status),
        "summary": {
            "targets": len(fleet.results),
            "statuses": {str(s): statuses.count(s) for s in Status},
            "duration_seconds": round(fleet.duration_seconds, 3),
        },
        "targets": [
            {
                "name": result.target.name,
                "status": str(result.status),
                "error": result.error,
                "report": as_record(result.report, lazy=lazy) if result.report else None,
            }
            for result in fleet.results
        ],
    }


def render(report: Report, out: TextIO) -> None:
    dump(as_record(report, lazy=not out.isatty()), out)


def render_fleet(fleet: FleetReport, out: TextIO) -> None:
    dump(fleet_record(fleet, lazy=not out.isatty()), out)


def dump(record: dict[str, Any], out: TextIO) -> None:
    # Indented for a person at a terminal; one line for a program reading a pipe,
    # written as it is built (as gh does).
    if out.isatty():
        out.write(encode(record, indent=True))
    else:
        _stream(record, out)
    out.write("\n")


def encode(value: Any, *, indent: bool = False) -> str:
    """*value* as JSON text, compact or indented by two spaces.

    orjson writes the records of a large report some ten times faster than the
    standard library; it refuses integers past 64 bits, which only a numeric
    column holding such values brings, and the standard library writes those.
    """
    try:
        text = orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else 0).decode()
    except orjson.JSONEncodeError:
        if indent:
            text = json.dumps(value, ensure_ascii=False, indent=2)
        else:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return terminal_safe(text)


def terminal_safe(text: str) -> str:
    r"""JSON *text* with the characters a terminal acts on written as ``\u`` escapes.

    The encoders escape only the C0 controls; a name may also hold DEL, the C1
    controls (``\x9b`` starts an escape sequence on some terminals) or
    direction overrides. Escaped, the JSON holds the same exact names.

    >>> terminal_safe('["a\x9bb\u202e", "\U000e0001"]')
    '["a\\u009bb\\u202e", "\\udb40\\udc01"]'
    """
    if text.isprintable():
        return text
    return "".join(_json_escaped(c) if c != "\n" and unsafe(c) else c for c in text)


def _json_escaped(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _stream(value: Any, out: TextIO) -> None:
    """Compact JSON as :func:`encode` writes it, iterators written item by item.

    Dicts and lists of dicts (the targets of a fleet) are walked, so that the
    iterators inside them are reached; an iterator's items, the records, are
    encoded a thousand at a time.
    """
    if isinstance(value, dict):
        out.write("{")
        for number, (key, item) in enumerate(value.items()):
            out.write(f"{',' if number else ''}{encode(key)}:")
            _stream(item, out)
        out.write("}")
    elif isinstance(value, Iterator) or (
        isinstance(value, list) and value and isinstance(value[0], dict)
    ):
        out.write("[")
        if isinstance(value, list):
            for number, item in enumerate(value):
                out.write("," if number else "")
                _stream(item, out)
        else:
            # A thousand records per call of the encoder, its brackets dropped:
            # the same text as one record per call, in a fraction of the calls.
            separator = ""
            while chunk := list(islice(value, RECORDS_PER_WRITE)):
                out.write(separator + encode(chunk)[1:-1])
                separator = ","
        out.write("]")
    else:
        out.write(encode(value))
