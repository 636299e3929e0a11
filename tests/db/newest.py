"""Suites that exercise pytest, xdist or Django rather than the server run on one server only."""

from __future__ import annotations

import pytest

from tests.fix_db import servers


def skip_unless_newest(request: pytest.FixtureRequest) -> None:
    """Skip the test unless it runs on the newest server found: what it exercises (the
    plugin, pytest-django, xdist) is the same on every server, and costs subprocesses."""
    newest = max(servers(), key=lambda s: s.version)
    if request.node.callspec.params["server"].label != newest.label:
        pytest.skip(f"runs on the newest server only ({newest.label})")
