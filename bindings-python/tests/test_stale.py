"""Stale if error through a real outage: a private moto server is killed
while a client reads, then restarted on the same port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, Recorder, boto, wait_until

from secretkit import Client

MOTO = REPO / ".venv" / "bin" / "moto_server"
NAME = "/stale/db-password"


class Moto:
    """moto_server on a fixed loopback port, in its own process group."""

    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert MOTO.exists(), f"{MOTO} missing: run scripts/install-deps.sh"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(MOTO), "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"moto did not start on {self.port}:\n{self.log.read_text()[-2000:]}"
                    ) from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def seed(self, value: str) -> None:
        boto("ssm", self.url).put_parameter(
            Name=NAME, Value=value, Type="SecureString", Overwrite=True
        )


@pytest.fixture()
def moto(tmp_path: Path) -> Iterator[Moto]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = Moto(port, tmp_path / "moto.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_stale_values_through_an_outage_then_recovery(moto: Moto, recorder: Recorder) -> None:
    moto.seed("before-outage")
    client = Client(
        aws={
            "region": "us-east-1",
            "access_key_id": "testing",
            "secret_access_key": "testing",
            "endpoint": moto.url,
        },
        default_ttl=1,
        ttl_jitter=0,
        retry_base=0.2,
        retry_max=0.4,
        timeout=2,
    )
    client.subscribe(recorder)
    ref = f"ssm:{NAME}"
    assert client.get(ref).reveal() == "before-outage"

    moto.stop()
    gets = 0
    deadline = time.monotonic() + 2.5  # well past the 1 s TTL
    while time.monotonic() < deadline:
        assert client.get(ref).reveal() == "before-outage"
        gets += 1
        time.sleep(0.005)

    stats = client.stats()
    assert stats["stale_serves"] > 0
    assert stats["errors"] >= 1
    errors = [e for e in recorder.events if e.kind == "error"]
    assert errors and all(e.error.kind in ("unavailable", "timeout") for e in errors)
    # Retries back off (0.2 s, then every 0.4 s): a handful of calls, not one per get.
    outage_calls = stats["backend_calls"]["ssm"] - 1
    assert gets > 100
    assert 1 <= outage_calls <= 10, f"{outage_calls} calls during the outage for {gets} gets"

    moto.start()
    moto.seed("after-outage")
    wait_until(lambda: client.get(ref).reveal() == "after-outage", timeout=5, what="recovery")
    changed = recorder.wait_for(lambda e: e.kind == "changed")
    assert changed.reference == ref
    assert client.stats()["backend_calls"]["ssm"] - 1 <= outage_calls + 15
