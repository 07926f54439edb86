"""secretkit: read secrets from AWS SSM, Secrets Manager, Vault/OpenBao, the
environment and files through one reference grammar and one cache.

    from secretkit import Client
    client = Client.from_env()
    password = client.get("ssm:/prod/myapp/db-password")
    print(password)            # Secret(ssm:/prod/myapp/db-password, <redacted>)
    connect(password.reveal())
"""

from __future__ import annotations

import json
from typing import Any

from . import _native
from ._native import Client, Secret
from .errors import (
    AccessDeniedError,
    AuthError,
    ConfigError,
    InvalidReferenceError,
    InvalidResponseError,
    LeaseExpiredError,
    NotFoundError,
    SecretkitError,
    ThrottledError,
    TimeoutError,
    UnavailableError,
)

__all__ = [
    "AccessDeniedError",
    "AuthError",
    "Client",
    "ConfigError",
    "InvalidReferenceError",
    "InvalidResponseError",
    "LeaseExpiredError",
    "NotFoundError",
    "Secret",
    "SecretkitError",
    "ThrottledError",
    "TimeoutError",
    "UnavailableError",
    "parse_reference",
]


def parse_reference(reference: str) -> dict[str, Any]:
    """The parsed form of a reference (scheme, path, version, stage, ttl_ms,
    field); raises InvalidReferenceError."""
    return json.loads(_native.parse_reference_json(reference))
