"""seqdoctor: find and fix PostgreSQL sequence problems before they page anyone.

>>> import seqdoctor
>>> report = seqdoctor.audit("postgresql:///shop")  # doctest: +SKIP
>>> report.status, [f.code for f in report.findings]  # doctest: +SKIP
>>> report.as_dict()["findings"]  # doctest: +SKIP

:func:`audit` takes a conninfo, a psycopg connection (read in its transaction
when it is in one), a SQLAlchemy engine, connection or URL, or a psycopg 2
connection. :func:`allow_explicit_ids` lets a fixture load past the guard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seqdoctor._version import __version__

if TYPE_CHECKING:
    from seqdoctor.auditing import audit
    from seqdoctor.checks.base import ColumnRef, Finding, SequenceRef, Severity
    from seqdoctor.guard.explicit import allow_explicit_ids
    from seqdoctor.report import Report, Status

__all__ = [
    "ColumnRef",
    "Finding",
    "Report",
    "SequenceRef",
    "Severity",
    "Status",
    "__version__",
    "allow_explicit_ids",
    "audit",
]

# Where each public name lives: imported when first used (PEP 562).
_HOMES = {
    "audit": "seqdoctor.auditing",
    "Report": "seqdoctor.report",
    "Status": "seqdoctor.report",
    "Finding": "seqdoctor.checks.base",
    "Severity": "seqdoctor.checks.base",
    "ColumnRef": "seqdoctor.checks.base",
    "SequenceRef": "seqdoctor.checks.base",
    "allow_explicit_ids": "seqdoctor.guard.explicit",
}


def __getattr__(name: str) -> object:
    """The public names, imported when first used.

    pytest loads the plugin, and so this package, in every run of every
    project that has seqdoctor installed, most of which never audit anything:
    importing the audit there would add psycopg's start-up to each of them.
    """
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib  # noqa: PLC0415

    return getattr(importlib.import_module(home), name)
