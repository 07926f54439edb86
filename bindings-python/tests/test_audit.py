"""The access audit trail and the metrics from Python, against the real moto
and OpenBao: every access of a scripted run is in the JSON-lines file and
reaches the callback and the "secretkit.audit" logger, attributed to the
identity of the code that read it (threads and asyncio tasks), with no value;
at interpreter exit nothing is lost. The metrics feed prometheus_client."""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import secretkit
from secretkit import Client

SSM = "ssm:/prod/myapp/db-password"
ASM = "asm:prod/myapp/db-credentials#password"
KV = "vault:secret/myapp/config#api_key"
MISSING = "ssm:/prod/myapp/not-there"
VALUES = ("s3cureP@ssw0rd!", "sk-abc123")


def tally(records: list[dict[str, Any]]) -> dict[tuple[str, str, str], int]:
    out: collections.Counter[tuple[str, str, str]] = collections.Counter()
    for r in records:
        who = (r.get("identity") or {}).get("user", "-")
        out[(r["reference"], r["outcome"], who)] += r["count"]
    return dict(out)


def test_every_access_is_recorded_with_its_identity_and_never_a_value(
    servers: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "audit.jsonl"
    got: list[dict[str, Any]] = []
    delivered = threading.Event()

    def on_audit(records: list[dict[str, Any]]) -> None:
        got.extend(records)
        delivered.set()

    caplog.set_level(logging.INFO, logger="secretkit.audit")
    client = Client.from_env(
        audit_file=str(path), audit_log=True, on_audit=on_audit, audit_interval=0.2
    )
    with secretkit.audit_identity(user="alice", service="api"):
        for _ in range(5):
            client.get(SSM)
        with pytest.raises(secretkit.NotFoundError):
            client.get(MISSING)
    assert delivered.wait(5), "the interval flush reached the callback"

    async def request(user: str, rid: str) -> None:
        with secretkit.audit_identity(user=user, request_id=rid):
            await asyncio.sleep(0)
            await client.get_async(ASM)
            await client.get_async(ASM)

    async def main() -> None:
        await asyncio.gather(request("bob", "r-1"), request("carol", "r-2"))

    asyncio.run(main())
    client.get(KV)  # no identity
    threads = [
        threading.Thread(target=lambda u=u: _read_as(client, u, 3)) for u in ("dave", "erin")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert client.flush_audit() >= 1
    assert client.stats()["backend_calls"]["asm"] == 1

    client.close()
    lines = path.read_text()
    from_file = [json.loads(line) for line in lines.splitlines()]
    expected_counts = {
        (SSM, "miss", "alice"): 1,
        (SSM, "hit", "alice"): 4,
        (MISSING, "error", "alice"): 1,
        (KV, "miss", "-"): 1,
        (SSM, "hit", "dave"): 3,
        (SSM, "hit", "erin"): 3,
    }
    by_file = tally(from_file)
    for key, n in expected_counts.items():
        assert by_file.get(key) == n, (key, by_file)
    # bob and carol read concurrently, each read attributed to its own task:
    # two records each. Whoever waited for the one backend call they shared
    # is a miss; if the call answered before the other task's first read
    # (a busy machine), that read is a hit.
    for user in ("bob", "carol"):
        assert by_file.get((ASM, "miss", user), 0) + by_file.get((ASM, "hit", user), 0) == 2
    assert by_file[(ASM, "miss", "bob")] == 1
    assert by_file.get((ASM, "miss", "carol"), 0) in (0, 1)
    assert sum(by_file.values()) == 5 + 1 + 4 + 1 + 6
    # The Python sinks are fed on the events thread, shortly after the flush.
    deadline = time.monotonic() + 5
    while tally(got) != by_file and time.monotonic() < deadline:
        time.sleep(0.02)
    assert tally(got) == by_file, "the callback saw the same records as the file"
    logged = [r for r in caplog.records if r.name == "secretkit.audit"]
    assert sum(r.secretkit_audit["count"] for r in logged) == sum(by_file.values())  # type: ignore[attr-defined]
    bob = next(r for r in from_file if (r.get("identity") or {}).get("user") == "bob")
    assert bob["identity"] == {"user": "bob", "request_id": bob["identity"]["request_id"]}
    for value in VALUES:
        assert value not in lines
        assert all(value not in r.getMessage() for r in caplog.records)


def _read_as(client: Client, user: str, n: int) -> None:
    with secretkit.audit_identity(user=user):
        for _ in range(n):
            client.get(SSM)


def test_records_of_a_process_that_exits_without_close_are_not_lost(
    servers: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "audit.jsonl"
    got = tmp_path / "callback.jsonl"
    script = f"""
import json, secretkit
def keep(records):
    with open({str(got)!r}, "a") as f:
        for r in records:
            f.write(json.dumps(r) + "\\n")
client = secretkit.Client.from_env(audit_file={str(path)!r}, on_audit=keep, audit_interval=60)
with secretkit.audit_identity(user="batch"):
    for _ in range(7):
        client.get({SSM!r})
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    for f in (path, got):
        records = [json.loads(line) for line in f.read_text().splitlines()]
        assert tally(records) == {(SSM, "miss", "batch"): 1, (SSM, "hit", "batch"): 6}, f


def test_metrics_reach_prometheus_client(servers: dict[str, str]) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from secretkit.prometheus import SecretkitCollector

    client = Client.from_env()
    for _ in range(4):
        client.get(SSM)
    with pytest.raises(secretkit.NotFoundError):
        client.get(MISSING)
    registry = CollectorRegistry()
    registry.register(SecretkitCollector(client))
    text = generate_latest(registry).decode()
    assert 'secretkit_reads_total{backend="ssm",outcome="hit"} 3.0' in text, text
    assert 'secretkit_reads_total{backend="ssm",outcome="miss"} 1.0' in text
    assert 'secretkit_reads_total{backend="ssm",outcome="error"} 1.0' in text
    assert 'secretkit_backend_read_seconds_count{backend="ssm"} 2.0' in text
    assert "secretkit_cache_entries 2.0" in text  # the value and the remembered not-found
    native = client.metrics_text()
    assert 'secretkit_reads_total{backend="ssm",outcome="hit"} 3' in native
    assert not any(v in text or v in native for v in VALUES)
    client.close()
