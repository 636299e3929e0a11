"""The exhaustion forecast ``fix --online`` plans against: seconds left by column."""

from __future__ import annotations

from seqdoctor.render.online import runways
from tests.unit.activity import DAY, NOW, with_activity
from tests.unit.factories import column, sequence, snapshot


def test_runways_are_the_forecast_s_seconds_left_of_the_columns_it_dates() -> None:
    # 10,000,000 values a day; 147,483,647 left before 2,147,483,647: 14.7483647 days.
    orders_seq = sequence("orders_id_seq", type_name="int8", last_value=2_000_000_000)
    orders_id = column("orders", "id", fed_by=orders_seq, type_name="int4")
    quiet_seq = sequence("notes_id_seq", type_name="int8", last_value=5)
    notes_id = column("notes", "id", fed_by=quiet_seq, type_name="int4")
    history = [(NOW - d * DAY, 2_000_000_000 - d * 10_000_000) for d in range(10, 0, -1)]
    snap = with_activity(
        snapshot(orders_seq, orders_id, quiet_seq, notes_id), history={orders_seq: history}
    )

    found = runways(snap)

    assert list(found) == [("public", "orders", "id")]  # the notes are not moving: no date
    assert abs(found["public", "orders", "id"] - 14.7483647 * 86_400) < 1
