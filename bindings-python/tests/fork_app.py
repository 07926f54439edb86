"""The WSGI app of test_fork.py's gunicorn test.

`gunicorn --preload` imports this module once, in the master: the module-level
client is built there, its runtime runs and its cache is warm when gunicorn
forks the workers. Every request reads three secrets (SSM, Secrets Manager,
Vault) with a short `?ttl=`, so refreshes happen in the workers during the
load, and answers with the worker's pid and its client's counters.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

from secretkit import Client

TTL = os.environ.get("SK_FORK_APP_TTL", "1s")
EXPECTED = {
    f"ssm:/prod/myapp/db-password?ttl={TTL}": "s3cureP@ssw0rd!",
    f"asm:prod/myapp/db-credentials?ttl={TTL}#password": "s3cureP@ssw0rd!",
    f"vault:secret/myapp/config?ttl={TTL}#api_key": "sk-abc123",
}

client = Client.from_env()
for _reference in EXPECTED:
    client.get(_reference)  # warm: read in the master, before the fork


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body: dict[str, Any] = {"pid": os.getpid()}
    try:
        wrong = [ref for ref, want in EXPECTED.items() if client.get(ref).reveal() != want]
        body["wrong"] = wrong
        stats = client.stats()
        body["backend_calls"] = sum(stats["backend_calls"].values())
        body["refreshes"] = stats["refreshes"]
        ok = not wrong
    except Exception as e:  # reported to the test, which counts it as a failure
        body["error"] = f"{type(e).__name__}: {e}"
        ok = False
    data = json.dumps(body).encode()
    status = "200 OK" if ok else "500 Internal Server Error"
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    start_response(status, headers)
    return [data]
