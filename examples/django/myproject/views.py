"""/secrets/ lists the example references in their redacted form (never a
value); /health/ proves the database password works by running SELECT 1."""

import hashlib
from datetime import datetime, timezone

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from secretkit import SecretkitError
from secretkit.django import default_client

REFERENCES = (
    "ssm:/prod/myapp/db-password",
    "asm:prod/myapp/db-credentials#password",
    "vault:secret/myapp/config#api_key",
)


def describe(secret) -> dict:
    entry = {
        "reference": secret.reference,
        "redacted": str(secret),
        "version": secret.version,
        "fetched_at": datetime.fromtimestamp(secret.fetched_at, timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
    }
    if settings.EXPOSE_FINGERPRINTS:
        value = secret.reveal_bytes()
        entry["fingerprint"] = {"length": len(value), "sha256": hashlib.sha256(value).hexdigest()[:12]}
    return entry


def error_entry(reference: str, err: SecretkitError) -> dict:
    # Errors name the reference and the kind, never a value.
    return {"reference": reference, "error": {"kind": err.kind, "code": err.code, "message": err.message}}


def secrets(request):
    entries, ok = [], True
    for reference in REFERENCES:
        try:
            entries.append(describe(default_client().get(reference)))
        except SecretkitError as err:
            ok = False
            entries.append(error_entry(reference, err))
    return JsonResponse({"app": "django", "secrets": entries}, status=200 if ok else 502)


def health(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except SecretkitError as err:
        return JsonResponse({"status": "error", "database": err.code}, status=503)
    except Exception as err:  # driver errors: report the class only
        return JsonResponse({"status": "error", "database": type(err).__name__}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
