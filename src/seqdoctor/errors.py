"""Errors seqdoctor reports to its user as one line, with the exit status a monitor expects."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """Exit statuses, as Nagios plugins use them."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


class SeqdoctorError(Exception):
    """An error the user can act on; its message is the one line printed on stderr."""

    exit_status = ExitStatus.UNKNOWN


class ConnectionFailed(SeqdoctorError):
    """The server could not be reached or refused us."""


class AuditFailed(SeqdoctorError):
    """The audit could not finish (the catalog itself could not be read)."""


class UsageError(SeqdoctorError):
    """Arguments that cannot be used (a bad filter, an unknown check code)."""
