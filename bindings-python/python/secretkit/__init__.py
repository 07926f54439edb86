"""secretkit: read secrets from AWS SSM, Secrets Manager, Vault/OpenBao, the
environment and files through one reference grammar and one cache.

    from secretkit import Client
    client = Client.from_env()
    password = client.get("ssm:/prod/myapp/db-password")
    print(password)            # Secret(ssm:/prod/myapp/db-password, <redacted>)
    connect(password.reveal())

Cache events (created, refreshed, changed, error, evicted) and Vault lease
events (renewed, rotated, expired) reach ``client.subscribe(callback)``
callbacks on a background thread, or an asyncio task through
``async for event in client.events()``. ``client.database_credentials(role,
on_change=...)`` reads database credentials that the client keeps renewed
and rotated; ``client.close()`` (or ``with Client(...)``) revokes them.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
from collections.abc import Iterator
from typing import Any

from . import _native
from ._events import EventStream
from ._native import Client, DbCredentials, Event, Identity, Secret
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
    "DbCredentials",
    "Event",
    "EventStream",
    "Identity",
    "InvalidReferenceError",
    "InvalidResponseError",
    "LeaseExpiredError",
    "NotFoundError",
    "Secret",
    "SecretkitError",
    "ThrottledError",
    "TimeoutError",
    "UnavailableError",
    "audit_identity",
    "parse_reference",
]

# Before the interpreter finalizes: stop the event thread and let tokio
# threads finish handing results to Python (see src/bridge.rs).
atexit.register(_native._shutdown)

# After os.fork() (gunicorn --preload, Celery prefork, multiprocessing's
# "fork"): the child starts its own runtime, event thread and, at each
# client's first use there, its own core client (see src/fork.rs).
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_native._after_fork_in_child)


@contextlib.contextmanager
def audit_identity(**fields: object) -> Iterator[Identity]:
    """Attribute the reads in this block (this thread or asyncio task, and
    what it awaits) to an identity in the audit trail of audited clients:

        with secretkit.audit_identity(service="billing", user=user.id, request_id=rid):
            key = client.get("ssm:/prod/billing/api-key")
    """
    identity = Identity(**fields)
    token = _native.identity_var().set(identity)
    try:
        yield identity
    finally:
        _native.identity_var().reset(token)


def parse_reference(reference: str) -> dict[str, Any]:
    """The parsed form of a reference (scheme, path, version, stage, ttl_ms,
    field); raises InvalidReferenceError."""
    return json.loads(_native.parse_reference_json(reference))
