"""Shared by the benchmark scripts: the servers from the environment, boto3
clients, a botocore call counter, and the header every run prints."""

from __future__ import annotations

import os
import platform
import shlex
import sys
import threading
from typing import Any

NEEDED = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")
ASM_NAME = "prod/myapp/db-credentials"
SSM_NAME = "/prod/myapp/db-password"


def require_servers() -> dict[str, str]:
    missing = [n for n in NEEDED if not os.environ.get(n)]
    if missing:
        sys.exit(
            f"servers not configured ({', '.join(missing)} unset): run "
            "`.venv/bin/python tests/servers.py start --env-file F` and `set -a; . F; set +a`"
        )
    return {n: os.environ[n] for n in NEEDED}


def header(title: str) -> None:
    """Print what ran, exactly, so the figures can be reproduced."""
    import secretkit

    command = " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv])
    print(f"# {title}")
    print(f"# command: {command}")
    print(f"# AWS_ENDPOINT_URL={os.environ['AWS_ENDPOINT_URL']} (moto from tests/servers.py)")
    print(
        f"# python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} cpus; secretkit from {os.path.dirname(secretkit.__file__)}"
    )
    print()


def boto(service: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
        region_name=os.environ["AWS_REGION"],
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
    )


class CallCounter:
    """Counts API calls a boto3 client makes (botocore `before-call` event)."""

    def __init__(self, client: Any) -> None:
        self.calls = 0
        self.by_operation: dict[str, int] = {}
        self._lock = threading.Lock()
        client.meta.events.register("before-call", self._seen)

    def _seen(self, event_name: str = "", **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        with self._lock:
            self.calls += 1
            self.by_operation[operation] = self.by_operation.get(operation, 0) + 1

    def detail(self) -> str:
        return ", ".join(f"{op} {n}" for op, n in sorted(self.by_operation.items()))
