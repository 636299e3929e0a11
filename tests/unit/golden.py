"""Output compared with a file under tests/unit/golden/.

After an intended change, regenerate with ``SEQDOCTOR_UPDATE_GOLDEN=1 pytest tests/unit``
and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"


def assert_golden(name: str, text: str) -> None:
    """*text* is the content of golden/*name*; written there first when asked to update."""
    golden = GOLDEN / name
    if os.environ.get("SEQDOCTOR_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()
