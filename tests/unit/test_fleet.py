"""Fleet options wrong for every target fail once, before any target is tried."""

from __future__ import annotations

import pytest

from seqdoctor.errors import UsageError
from seqdoctor.fleet import Target, audit_fleet


@pytest.mark.parametrize(
    "options",
    [
        {"warning": 0.95, "critical": 0.90},
        {"warning_days": 10, "critical_days": 30},
        {"select": ["SEQ999"]},
    ],
)
def test_options_wrong_for_every_target_fail_before_any_connection(
    options: dict[str, object],
) -> None:
    # The host does not exist: reaching it would be a per-target error, not this one.
    target = Target.of("host=/nonexistent dbname=nowhere")
    with pytest.raises(UsageError):
        audit_fleet([target], **options)
