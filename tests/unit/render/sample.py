"""One report with a finding of each kind of object, rendered by every golden test."""

from __future__ import annotations

from datetime import UTC, datetime

from seqdoctor.catalog.model import ColumnKind, Reason, Unreadable
from seqdoctor.checks import Settings, run_checks
from seqdoctor.report import Report
from tests.unit.factories import column, holding, sequence, snapshot


def sample_report() -> Report:
    """The demo shop in miniature: drift, an integer near its end, and a quoted table."""
    customers_seq = sequence("customers_id_seq")
    customers_id = column("customers", "id", fed_by=customers_seq)
    orders_seq = sequence("orders_id_seq", type_name="int8", last_value=2_000_000_000)
    orders_id = column("orders", "id", fed_by=orders_seq, type_name="int4", kind=ColumnKind.DEFAULT)
    lines_seq = sequence("Order Lines_Line Id_seq", type_name="int8", last_value=7)
    lines_id = column("Order Lines", "Line Id", fed_by=lines_seq, kind=ColumnKind.IDENTITY)
    hidden_seq = sequence("audit_log_id_seq", schema="billing", readable=False)
    snap = snapshot(
        customers_seq,
        customers_id,
        orders_seq,
        orders_id,
        lines_seq,
        lines_id,
        hidden_seq,
        extents={
            customers_id: holding(4, 40, first_collision=4),
            orders_id: holding(1, 2_000_000_000),
            lines_id: holding(1, 7),
        },
        unreadable=[
            Unreadable(
                Reason.PRIVILEGE,
                "role monitoring may not read sequence billing.audit_log_id_seq",
                sequence_oid=hidden_seq.oid,
                remedy="GRANT USAGE ON SCHEMA billing TO monitoring; "
                "GRANT SELECT ON SEQUENCE billing.audit_log_id_seq TO monitoring;",
            )
        ],
    )
    settings = Settings()
    return Report(
        tool_version="0.1.0",
        checked_at=datetime(2026, 11, 22, 1, 30, tzinfo=UTC),
        duration_seconds=0.042,
        snapshot=snap,
        findings=tuple(run_checks(snap, settings)),
        settings=settings,
        checks=("SEQ001", "SEQ002"),
    )
