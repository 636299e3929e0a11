"""seqdoctor: find and fix PostgreSQL sequence problems before they page anyone.

>>> import seqdoctor
>>> report = seqdoctor.audit("postgresql:///shop")  # doctest: +SKIP
>>> report.status, [f.code for f in report.findings]  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seqdoctor._version import __version__

if TYPE_CHECKING:
    from seqdoctor.auditing import audit
    from seqdoctor.report import Report, Status

__all__ = ["Report", "Status", "__version__", "audit"]


def __getattr__(name: str) -> object:
    """The public names, imported when first used (PEP 562).

    pytest loads the plugin, and so this package, in every run of every
    project that has seqdoctor installed, most of which never audit anything:
    importing the audit there would add psycopg's start-up to each of them.
    """
    if name == "audit":
        from seqdoctor.auditing import audit  # noqa: PLC0415

        return audit
    if name in {"Report", "Status"}:
        from seqdoctor import report  # noqa: PLC0415

        return getattr(report, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
