"""Shared fixtures. Server addresses come from the environment (source the
env file written by tests/servers.py); tests that need servers FAIL, never
skip, when it is missing."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from secretkit import Client

REPO = Path(__file__).resolve().parents[2]
VECTORS = json.loads((REPO / "tests" / "vectors" / "refs.json").read_text())
NEEDED = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
    "VAULT_ADDR",
    "VAULT_TOKEN",
)


@pytest.fixture(scope="session")
def servers() -> dict[str, str]:
    missing = [name for name in NEEDED if not os.environ.get(name)]
    if missing:
        pytest.fail(
            f"servers not configured: {missing} unset; start them with "
            "`tests/servers.py start --env-file F --fixtures` and source F"
        )
    if os.environ.get("SK_FIXTURES") != "1":
        pytest.fail("test fixtures not seeded: start the servers with --fixtures")
    return {name: os.environ[name] for name in os.environ}


@pytest.fixture()
def client(servers: dict[str, str]) -> Client:
    """A fresh client (so a fresh cache) configured from the environment."""
    return Client.from_env()


@pytest.fixture()
def explicit_client(servers: dict[str, str]) -> Client:
    return Client(
        aws={
            "region": servers["AWS_REGION"],
            "access_key_id": servers["AWS_ACCESS_KEY_ID"],
            "secret_access_key": servers["AWS_SECRET_ACCESS_KEY"],
            "endpoint": servers["AWS_ENDPOINT_URL"],
        },
        vault={"address": servers["VAULT_ADDR"], "token": servers["VAULT_TOKEN"]},
    )


@pytest.fixture()
def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def silent_port() -> Iterator[int]:
    """A port that accepts connections (via the backlog) and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield s.getsockname()[1]


@pytest.fixture()
def fresh_env_name() -> str:
    """An environment variable name no other test or client has cached."""
    return "SK_TEST_" + uuid.uuid4().hex.upper()


@pytest.fixture()
def unique() -> str:
    """A name part no other test run has used on the shared servers."""
    return uuid.uuid4().hex[:12]


def boto(service: str, endpoint: str, region: str = "us-east-1") -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture()
def ssm(servers: dict[str, str]) -> Any:
    return boto("ssm", servers["AWS_ENDPOINT_URL"], servers["AWS_REGION"])


@pytest.fixture()
def asm(servers: dict[str, str]) -> Any:
    return boto("secretsmanager", servers["AWS_ENDPOINT_URL"], servers["AWS_REGION"])


class Recorder:
    """A subscribe() callback that keeps events and lets a test wait for one."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.threads: set[str] = set()
        self._changed = threading.Condition()

    def __call__(self, event: Any) -> None:
        with self._changed:
            self.events.append(event)
            self.threads.add(threading.current_thread().name)
            self._changed.notify_all()

    def wait_for(self, match: Callable[[Any], bool], timeout: float = 5.0) -> Any:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for event in self.events:
                    if match(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    kinds = [(e.kind, e.reference) for e in self.events]
                    raise AssertionError(f"no matching event within {timeout} s; got {kinds}")
                self._changed.wait(left)

    def kinds(self, reference: str | None = None) -> list[str]:
        with self._changed:
            return [e.kind for e in self.events if reference in (None, e.reference)]


@pytest.fixture()
def recorder() -> Recorder:
    return Recorder()


def wait_until(check: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.01)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str, timeout: float) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")
