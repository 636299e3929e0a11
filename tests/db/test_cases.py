"""Scenario cases on a real server: ``tests/cases/<check-name>/<case>/``.

Each case is ``setup.sql``, run in a fresh database as its owner, and
``expected.json``::

    {
      "audit": {"allow_seqscan": true},      # optional: keyword arguments of audit()
      "pg": ">= 16",                         # optional: servers the case applies to
      "clock_days": 10,                      # optional: the audit's clock runs ahead
      "findings": [
        {"code": "SEQ001", "severity": "critical",
         "sequence": "public.users_id_seq",  # "schema.name", or null
         "column": "public.users.id",        # "schema.table.column", or null
         "details": {"first_collision": 3}}  # a subset of the finding's details
      ]
    }

Names are written as the report shows them, quoted where PostgreSQL needs it
(``"Sales Dept"."Order".id``), and must work pasted into SQL. The findings of
the case's check (named by its directory) must be exactly those listed: no
more, no fewer. Findings of other checks are ignored.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

import seqdoctor
from seqdoctor.checks import REGISTRY, Finding

Connection = psycopg.Connection[tuple[Any, ...]]

CASES = Path(__file__).parent.parent / "cases"


def _cases() -> list[Any]:
    params = []
    for directory in sorted(CASES.glob("*/*/")):
        expected = json.loads((directory / "expected.json").read_text())
        marks = [pytest.mark.pg(expected["pg"])] if "pg" in expected else []
        name = f"{directory.parent.name}/{directory.name}"
        params.append(pytest.param(directory, expected, id=name, marks=marks))
    return params


def _key(finding: dict[str, Any]) -> tuple[str, str, str]:
    return (finding["code"], finding["column"] or "", finding["sequence"] or "")


def _as_expected(finding: Finding, wanted: dict[tuple[str, str, str], Any]) -> dict[str, Any]:
    """A finding in the form of expected.json, with the details its expected twin names."""
    shown = {
        "code": finding.code,
        "severity": str(finding.severity),
        "sequence": str(finding.sequence) if finding.sequence else None,
        "column": str(finding.column) if finding.column else None,
    }
    names = wanted.get(_key(shown), {}).get("details", {})
    return shown | {"details": {k: v for k, v in finding.details.items() if k in names}}


@pytest.mark.parametrize(("directory", "expected"), _cases())
def test_case(conn: Connection, dsn: str, directory: Path, expected: dict[str, Any]) -> None:
    check = REGISTRY.get(directory.parent.name)
    assert {f["code"] for f in expected["findings"]} <= {check.code}, "findings of another check"
    conn.execute((directory / "setup.sql").read_bytes())

    options = dict(expected.get("audit", {}))
    if "clock_days" in expected:  # rates need time to pass: let the audit think it has
        options["now"] = datetime.now(UTC) + timedelta(days=expected["clock_days"])
    report = seqdoctor.audit(dsn, **options)

    findings = [f for f in report.findings if f.code == check.code]
    for finding in findings:
        _assert_names_paste_into_sql(conn, finding)

    wanted = {_key(f): f for f in expected["findings"]}
    found = sorted((_as_expected(f, wanted) for f in findings), key=_key)
    assert found == sorted(wanted.values(), key=_key)


def _assert_names_paste_into_sql(conn: Connection, finding: Finding) -> None:
    """The names a finding shows, pasted into SQL as they are, name its objects."""
    if finding.sequence:
        shown = conn.execute("SELECT to_regclass(%s)::oid", [str(finding.sequence)]).fetchone()
        actual = conn.execute(
            "SELECT c.oid FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname = %s",
            [finding.sequence.schema, finding.sequence.name],
        ).fetchone()
        assert shown == actual, f"{finding.sequence} does not name the sequence"
    if finding.column:
        table = sql.Identifier(finding.column.schema, finding.column.table)
        query = sql.Composed(
            [sql.SQL(f"SELECT {finding.column} FROM "), table, sql.SQL(" LIMIT 0")]
        )
        conn.execute(query)  # fails unless the name shown is a valid reference to the column


def test_every_check_has_an_ok_case_and_a_finding_case() -> None:
    assert {d.name for d in CASES.iterdir()} == {c.name for c in REGISTRY}
    for check in REGISTRY:
        cases = [json.loads(p.read_text()) for p in CASES.glob(f"{check.name}/*/expected.json")]
        assert any(not c["findings"] for c in cases), f"{check.name} has no ok case"
        assert any(c["findings"] for c in cases), f"{check.name} has no finding case"
