"""Exceptions raised by secretkit: one class per core error kind.

Every error carries ``kind`` (snake_case), ``code`` (SCREAMING_CASE),
``reference`` (the reference it is about, or None) and ``message``. None of
them ever contains a secret value.
"""

from __future__ import annotations

import builtins

__all__ = [
    "AccessDeniedError",
    "AuthError",
    "ConfigError",
    "InvalidReferenceError",
    "InvalidResponseError",
    "LeaseExpiredError",
    "NotFoundError",
    "SecretkitError",
    "ThrottledError",
    "TimeoutError",
    "UnavailableError",
]


class SecretkitError(Exception):
    """Base class of every secretkit error."""

    kind: str = "unknown"
    code: str = "UNKNOWN"

    def __init__(self, message: str, reference: str | None = None) -> None:
        # One positional arg only: builtins.TimeoutError (an OSError) would
        # read two as (errno, strerror). Pickling keeps `reference` via __dict__.
        super().__init__(message)
        self.message = message
        self.reference = reference

    def __str__(self) -> str:
        if self.reference is None:
            return f"{self.kind}: {self.message}"
        return f"{self.kind} ({self.reference}): {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, reference={self.reference!r})"


class NotFoundError(SecretkitError):
    kind = "not_found"
    code = "NOT_FOUND"


class AccessDeniedError(SecretkitError):
    kind = "access_denied"
    code = "ACCESS_DENIED"


class ThrottledError(SecretkitError):
    kind = "throttled"
    code = "THROTTLED"


class UnavailableError(SecretkitError):
    kind = "unavailable"
    code = "UNAVAILABLE"


class TimeoutError(SecretkitError, builtins.TimeoutError):
    kind = "timeout"
    code = "TIMEOUT"


class InvalidReferenceError(SecretkitError, ValueError):
    kind = "invalid_reference"
    code = "INVALID_REFERENCE"


class InvalidResponseError(SecretkitError):
    kind = "invalid_response"
    code = "INVALID_RESPONSE"


class AuthError(SecretkitError):
    kind = "auth"
    code = "AUTH"


class LeaseExpiredError(SecretkitError):
    kind = "lease_expired"
    code = "LEASE_EXPIRED"


class ConfigError(SecretkitError):
    kind = "config"
    code = "CONFIG"
