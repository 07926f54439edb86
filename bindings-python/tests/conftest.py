"""Shared fixtures. Server addresses come from the environment (source the
env file written by tests/servers.py); tests that need servers FAIL, never
skip, when it is missing."""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

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
