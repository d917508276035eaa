"""The one exception family the library raises.

Every error a user can cause or meet is an :class:`AvaError`; its message is
one or two sentences saying what is wrong and what to do. The CLI prints it
after ``Error:`` and exits with :attr:`AvaError.exit_code`.
"""

from __future__ import annotations


class AvaError(Exception):
    """Base class: the input or the work failed (exit status 1)."""

    exit_code: int = 1


class UsageError(AvaError):
    """The request itself is wrong: bad time, unknown key, missing evidence (exit 2)."""

    exit_code = 2


class TimeError(UsageError):
    """A TIME argument that cannot be parsed or lies outside the clip."""


class ClipError(AvaError):
    """The clip cannot be opened, indexed or decoded."""


class OutputError(AvaError):
    """A result could not be written where it was asked for."""
