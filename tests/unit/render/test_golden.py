"""Each renderer's output for one sample report, compared with a file under golden/.

After an intended change, regenerate with ``SEQDOCTOR_UPDATE_GOLDEN=1 pytest tests/unit/render``
and review the diff.
"""

from __future__ import annotations

import io
import json

import pytest

from seqdoctor.render import Format, render
from seqdoctor.render.json import dump, encode
from tests.unit.golden import assert_golden
from tests.unit.render.sample import sample_report


@pytest.mark.parametrize("output_format", list(Format))
def test_renderer_matches_golden_file(
    output_format: Format, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "120")  # the terminal width Rich lays the table out for
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    out = io.StringIO()
    render(sample_report(), output_format, out)
    assert_golden(f"report.{output_format}.txt", out.getvalue())


def test_json_follows_the_documented_shape() -> None:
    out = io.StringIO()
    render(sample_report(), Format.JSON, out)
    record = json.loads(out.getvalue())
    assert list(record) == [
        "schema_version",
        "tool",
        "database",
        "checked_at",
        "status",
        "summary",
        "sequences",
        "findings",
    ]
    assert record["schema_version"] == 1
    assert record["status"] == "critical"
    sequence = record["sequences"][0]
    assert list(sequence) == [
        "schema",
        "name",
        "data_type",
        "start_value",
        "increment_by",
        "min_value",
        "max_value",
        "cycle",
        "cache_size",
        "last_value",
        "is_called",
        "next_value",
        "position_bounds",
        "used_by",
    ]
    assert list(sequence["used_by"][0]) == [
        "schema",
        "table",
        "column",
        "column_type",
        "kind",
        "max_in_column",
        "guard",
    ]
    finding = record["findings"][0]
    assert list(finding) == [
        "code",
        "check",
        "severity",
        "sequence",
        "column",
        "message",
        "details",
    ]


def test_json_names_are_raw_identifiers() -> None:
    out = io.StringIO()
    render(sample_report(), Format.JSON, out)
    tables = {u["table"] for s in json.loads(out.getvalue())["sequences"] for u in s["used_by"]}
    assert "Order Lines" in tables


def test_unreadable_sequence_is_unknown_not_healthy() -> None:
    out = io.StringIO()
    render(sample_report(), Format.JSON, out)
    record = json.loads(out.getvalue())
    hidden = next(s for s in record["sequences"] if s["name"] == "audit_log_id_seq")
    assert (hidden["last_value"], hidden["next_value"]) == (None, None)
    (not_checked,) = [f for f in record["findings"] if f["code"] == "SEQ900"]
    assert not_checked["sequence"] == {"schema": "billing", "name": "audit_log_id_seq"}
    assert not_checked["details"]["reason"] == "privilege"


def test_streamed_json_is_the_whole_record_encoded_whatever_the_number_of_records() -> None:
    # Records go to the encoder a thousand at a time: 2,500 cross two seams.
    many = [{"n": i, "name": f"t{i}"} for i in range(2_500)]
    for records in ([], many[:1], many[:1_000], many):
        out = io.StringIO()
        dump({"checks": ["SEQ001"], "findings": iter(records)}, out)
        whole = {"checks": ["SEQ001"], "findings": records}
        assert out.getvalue() == json.dumps(whole, separators=(",", ":")) + "\n"


def test_integers_past_64_bits_are_written_too() -> None:
    # A numeric column fed by a sequence may hold values no int8 can.
    huge = {"max_in_column": 10**30, "message": "n°1"}
    for compact in (encode(huge), encode(huge, indent=True)):
        assert json.loads(compact) == huge
    assert encode(huge) == '{"max_in_column":' + str(10**30) + ',"message":"n°1"}'
