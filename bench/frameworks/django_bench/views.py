"""GET /secret/ reads prod/myapp/db-credentials' password and answers its
length. The three variants differ only in read() and backend_calls()."""

import json
import os
import time

from django.http import JsonResponse

VARIANT = os.environ["FWB_VARIANT"]
TTL = 300.0  # seconds; secretkit's default TTL is 300 s as well

if VARIANT == "secretkit":
    # As examples/django/myproject/views.py reads: the process-wide client
    # (Client.from_env() on first use, default TTL 300 s).
    from secretkit.django import default_client

    def read() -> str:
        return default_client().get("asm:prod/myapp/db-credentials#password").reveal()

    def backend_calls() -> int:
        return default_client().stats()["backend_calls"]["asm"]

elif VARIANT == "boto3":
    # What users hand-write: boto3 and a dict of (value, deadline).
    import boto3

    _sm = boto3.client("secretsmanager")
    _cache: dict[str, tuple[str, float]] = {}
    _calls = [0]

    def read() -> str:
        name = "prod/myapp/db-credentials"
        hit = _cache.get(name)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        _calls[0] += 1
        value = json.loads(_sm.get_secret_value(SecretId=name)["SecretString"])["password"]
        _cache[name] = (value, time.monotonic() + TTL)
        return value

    def backend_calls() -> int:
        return _calls[0]

elif VARIANT == "floor":
    # No secret read: the framework's own cost.
    def read() -> str:
        return "s3cureP@ssw0rd!"

    def backend_calls() -> int:
        return 0

else:
    raise RuntimeError(f"FWB_VARIANT={VARIANT!r}: secretkit, boto3 or floor")


def secret(request):
    return JsonResponse({"length": len(read())})


def calls(request):
    return JsonResponse({"variant": VARIANT, "pid": os.getpid(), "backend_calls": backend_calls()})
