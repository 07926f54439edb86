"""The Lambda example (examples/lambda/) invoked locally, Python and Node
handlers: the init phase reads every secret once, a warm invocation is
served from the cache with no backend call, and after the execution
environment was frozen (SIGSTOP) past the TTL the next invocation reads the
values again and answers correctly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lambda"


def invoke(runtime: str, *args: str) -> list[dict[str, Any]]:
    if runtime == "node" and not (EXAMPLE / "node_modules" / "secretkit").exists():
        # secretkit from ../../bindings-node (file: dependency: a link, no download).
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=EXAMPLE,
            check=True,
            timeout=120,
        )
    done = subprocess.run(
        [sys.executable, str(EXAMPLE / "invoke_local.py"), "--runtime", runtime, *args],
        env={**os.environ, "SECRETS_TTL_SECONDS": "2", "SECRETKIT_EXAMPLE_FINGERPRINTS": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def fetched(body: dict[str, Any]) -> list[str]:
    return [s["fetched_at"] for s in body["secrets"]]


@pytest.mark.parametrize("runtime", ["python", "node"])
def test_init_reads_once_warm_is_cached_and_a_freeze_past_the_ttl_reads_again(
    servers: dict[str, str], runtime: str
) -> None:
    cold, warm, thawed = invoke(runtime, "--freeze", "3")
    for body in (cold, warm, thawed):
        assert all("error" not in s for s in body["secrets"]), body
    calls = cold["backend_calls"]
    assert (calls["ssm"], calls["asm"]) == (1, 1) and calls["vault"] >= 1, calls
    # Warm: the same values, the same fetch, not one more call.
    assert fetched(warm) == fetched(cold) and warm["backend_calls"] == calls
    # Frozen 3 s with a 2 s TTL: read again, same values.
    assert all(t > c for t, c in zip(fetched(thawed), fetched(cold), strict=True)), json.dumps(
        {"cold": cold, "thawed": thawed}
    )
    prints = [[s["fingerprint"] for s in body["secrets"]] for body in (cold, thawed)]
    assert prints[0] == prints[1]
    assert thawed["backend_calls"]["ssm"] > calls["ssm"]
    assert thawed["backend_calls"]["asm"] > calls["asm"]
