"""A fresh interpreter, for what importing seqdoctor costs: which modules it loads."""

from __future__ import annotations

import subprocess
import sys


def python(code: str) -> str:
    """What a fresh interpreter prints running *code*."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout


def modules_after(code: str) -> set[str]:
    """The top-level packages a fresh interpreter has imported once *code* has run."""
    loaded = python(f"{code}; import sys; print(*sys.modules)").split()
    return {name.split(".")[0] for name in loaded}
