"""seqdoctor: find and fix PostgreSQL sequence problems before they page anyone.

>>> import seqdoctor
>>> report = seqdoctor.audit("postgresql:///shop")  # doctest: +SKIP
>>> report.status, [f.code for f in report.findings]  # doctest: +SKIP
"""

from seqdoctor._version import __version__
from seqdoctor.audit import audit
from seqdoctor.report import Report, Status

__all__ = ["Report", "Status", "__version__", "audit"]
