"""PostgreSQL rotation handlers for AWS Lambda (see ``secretkit.rotation``).

Each call runs one step (``createSecret``, ``setSecret``, ``testSecret``,
``finishSecret``) of the rotation the event names; a failed step raises, so
the service retries it and AWSCURRENT stays as it was. The step is logged at
INFO on the ``secretkit.rotation`` logger (the secret and step, never a
value).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from .. import _native

log = logging.getLogger("secretkit.rotation")


def _run(event: Mapping[str, Any], strategy: str) -> None:
    step, secret = event.get("Step"), event.get("SecretId")
    log.info("%s of secret %s (%s)", step, secret, strategy)
    _native.rotate(json.dumps(dict(event)), strategy)


def single_user(event: Mapping[str, Any], context: object = None) -> None:
    """Lambda handler: the secret's own user changes its password."""
    _run(event, "single_user")


def alternating_users(event: Mapping[str, Any], context: object = None) -> None:
    """Lambda handler: ``user`` and ``user_clone`` take turns; the secret's
    ``masterarn`` names the secret of a user that may manage both."""
    _run(event, "alternating_users")
