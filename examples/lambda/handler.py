"""AWS Lambda handler reading its secrets through secretkit.

The pattern (bindings-python/README.md, "AWS Lambda"):
- the client is made once per execution environment, at import (the "init"
  phase), never inside the handler: warm invocations reuse it and its cache;
- the secrets are read at init too (`get_many`: the backends in parallel,
  batched per backend): with provisioned concurrency the init runs before any
  request arrives, so no request waits for a backend (on demand, the first
  request waits for the init either way). A backend that is down fails the
  request that needs it, not the init (return_exceptions=True);
- between invocations Lambda freezes the process: the cache's clocks go on,
  its background refreshes do not. A value whose refresh-ahead point passed
  during a freeze is served at once and refreshed in the background after
  the thaw; one whose TTL ran out is read again by the next invocation, and
  a Vault lease that expired is never served.
Configuration comes from the function's environment: Lambda supplies the AWS
credentials and region; VAULT_ADDR/VAULT_TOKEN are set on the function.

The response is API Gateway / function-URL shaped: the example references in
their redacted form, version and fetch time — never a value.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone

from secretkit import Client, SecretkitError

REFERENCES = (
    "ssm:/prod/myapp/db-password",
    "asm:prod/myapp/db-credentials#password",
    "vault:secret/myapp/config#api_key",
)

# SECRETS_TTL_SECONDS: this example's knob for the cache's TTL (5 minutes by
# default); invoke_local.py's freeze test sets it short.
CLIENT = Client.from_env(default_ttl=float(os.environ.get("SECRETS_TTL_SECONDS", "300")))
CLIENT.get_many(list(REFERENCES), return_exceptions=True)

# Fingerprints (length + sha256 prefix) only on request, so the demo can prove
# the values were really read; a real function would not return them.
EXPOSE_FINGERPRINTS = os.environ.get("SECRETKIT_EXAMPLE_FINGERPRINTS") == "1"


def describe(secret) -> dict:
    entry = {
        "reference": secret.reference,
        "redacted": str(secret),
        "version": secret.version,
        "fetched_at": datetime.fromtimestamp(secret.fetched_at, timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
    }
    if EXPOSE_FINGERPRINTS:
        value = secret.reveal_bytes()
        entry["fingerprint"] = {"length": len(value), "sha256": hashlib.sha256(value).hexdigest()[:12]}
    return entry


def read(reference: str) -> dict:
    try:
        return describe(CLIENT.get(reference))
    except SecretkitError as err:
        # Errors name the reference and the kind, never a value.
        return {"reference": reference, "error": {"kind": err.kind, "code": err.code, "message": err.message}}


def handler(event, context):
    secrets = [read(reference) for reference in REFERENCES]
    ok = not any("error" in s for s in secrets)
    body = {
        "app": "lambda",
        "request_id": getattr(context, "aws_request_id", None),
        "secrets": secrets,
        # Calls to each backend since init: a warm invocation adds none.
        "backend_calls": CLIENT.stats()["backend_calls"],
    }
    return {
        "statusCode": 200 if ok else 502,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }
