"""The JSON report: one versioned record, documented in docs/json.md.

``schema_version`` changes only when a field is removed or changes meaning;
new fields may appear in any release. Names are raw identifiers, unquoted.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from seqdoctor._version import __version__
from seqdoctor.catalog.model import SequenceState
from seqdoctor.checks import Finding
from seqdoctor.fleet import FleetReport
from seqdoctor.report import Report, Status

SCHEMA_VERSION = 1


def as_record(report: Report) -> dict[str, Any]:
    snapshot = report.snapshot
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "seqdoctor", "version": report.tool_version},
        "database": {
            "name": snapshot.server.database,
            "server_version": snapshot.server.server_version,
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
        "sequences": [_sequence_record(report, s) for s in snapshot.sequences],
        "findings": [_finding_record(f) for f in report.findings],
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


def _finding_record(finding: Finding) -> dict[str, Any]:
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


def fleet_record(fleet: FleetReport) -> dict[str, Any]:
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
                "report": as_record(result.report) if result.report else None,
            }
            for result in fleet.results
        ],
    }


def render(report: Report, out: TextIO) -> None:
    _dump(as_record(report), out)


def render_fleet(fleet: FleetReport, out: TextIO) -> None:
    _dump(fleet_record(fleet), out)


def _dump(record: dict[str, Any], out: TextIO) -> None:
    # Indented for a person at a terminal; one line for a program reading a pipe,
    # which Python's C encoder writes several times faster (as gh does).
    indent = 2 if out.isatty() else None
    out.write(json.dumps(record, indent=indent, ensure_ascii=False))
    out.write("\n")
