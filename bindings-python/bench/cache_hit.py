"""Cache hit cost in ns/op: secretkit `get` and `await get_async` next to a
plain dict, aws-secretsmanager-caching and AWS Lambda Powertools parameters,
all reading the same secrets from the same moto server in one run.

    .venv/bin/pip install -r bindings-python/bench/requirements.txt
    set -a; . /tmp/env; set +a      # from tests/servers.py start --env-file /tmp/env
    .venv/bin/python bindings-python/bench/cache_hit.py [--runs 7] [--seconds 0.3]

Each figure is the median of --runs runs; a run times as many calls as fit in
about --seconds with time.perf_counter_ns (timeit's loop, so the per-call
loop overhead is a few ns and is included, the same for every row).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
import timeit
from collections.abc import Callable
from typing import Any

from common import ASM_NAME, SSM_NAME, boto, header, require_servers

import secretkit
from secretkit import Client


def measure(stmt: str, env: dict[str, Any], runs: int, seconds: float) -> list[float]:
    """ns per op for each run of a `timeit` loop sized to last about `seconds`."""
    timer = timeit.Timer(stmt, globals=env, timer=time.perf_counter_ns)
    number = 1
    while (took := timer.timeit(number)) < seconds * 1e9 / 10:
        number *= 4
    number = max(1, int(number * seconds * 1e9 / took))
    return [timer.timeit(number) / number for _ in range(runs)]


def measure_async(client: Client, ref: str, runs: int, seconds: float) -> list[float]:
    """ns per `await client.get_async(ref)`, all runs inside one running loop."""

    async def main() -> list[float]:
        get_async = client.get_async
        await get_async(ref)
        number = 1
        while True:
            start = time.perf_counter_ns()
            for _ in range(number):
                await get_async(ref)
            took = time.perf_counter_ns() - start
            if took >= seconds * 1e9 / 10:
                break
            number *= 4
        number = max(1, int(number * seconds * 1e9 / took))
        results = []
        for _ in range(runs):
            start = time.perf_counter_ns()
            for _ in range(number):
                await get_async(ref)
            results.append((time.perf_counter_ns() - start) / number)
        return results

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.3)
    args = parser.parse_args()
    require_servers()
    header("cache hit, ns per op (median of runs; lower is better)")

    from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider
    from aws_secretsmanager_caching import SecretCache

    client = Client.from_env()
    asm_ref, ssm_ref = f"asm:{ASM_NAME}", f"ssm:{SSM_NAME}"
    expected = {
        "asm": client.get(asm_ref).reveal(),
        "ssm": client.get(ssm_ref).reveal(),
    }
    sm_cache = SecretCache(client=boto("secretsmanager"))
    pt_secrets = SecretsProvider(boto3_client=boto("secretsmanager"))
    pt_ssm = SSMProvider(boto3_client=boto("ssm"))
    plain = {asm_ref: expected["asm"]}
    env: dict[str, Any] = {
        "get": client.get,
        "asm_ref": asm_ref,
        "ssm_ref": ssm_ref,
        "plain": plain,
        "sm_cache": sm_cache,
        "pt_secrets": pt_secrets,
        "pt_ssm": pt_ssm,
        "ASM_NAME": ASM_NAME,
        "SSM_NAME": SSM_NAME,
    }
    # Every candidate must answer with the right value before it is timed.
    checks: list[tuple[str, str, str, Callable[[], Any]]] = [
        ("secretkit get (asm)", "get(asm_ref)", "asm", lambda: client.get(asm_ref).reveal()),
        (
            "secretkit get(...).reveal() (asm)",
            "get(asm_ref).reveal()",
            "asm",
            lambda: client.get(asm_ref).reveal(),
        ),
        ("secretkit get (ssm)", "get(ssm_ref)", "ssm", lambda: client.get(ssm_ref).reveal()),
        ("plain dict lookup", "plain[asm_ref]", "asm", lambda: plain[asm_ref]),
        (
            "aws-secretsmanager-caching get_secret_string",
            "sm_cache.get_secret_string(ASM_NAME)",
            "asm",
            lambda: sm_cache.get_secret_string(ASM_NAME),
        ),
        (
            "powertools get_secret (max_age=300)",
            "pt_secrets.get(ASM_NAME, max_age=300)",
            "asm",
            lambda: pt_secrets.get(ASM_NAME, max_age=300),
        ),
        (
            "powertools get_parameter (max_age=300, decrypt)",
            "pt_ssm.get(SSM_NAME, max_age=300, decrypt=True)",
            "ssm",
            lambda: pt_ssm.get(SSM_NAME, max_age=300, decrypt=True),
        ),
    ]
    rows = []
    for name, stmt, backend, check in checks:
        assert check() == expected[backend], name
        rows.append((name, measure(stmt, env, args.runs, args.seconds)))
    rows.insert(
        1,
        (
            "secretkit await get_async (asm)",
            measure_async(client, asm_ref, args.runs, args.seconds),
        ),
    )
    # The audit trail on (ARCHITECTURE.md, item 5): each hit goes to the core
    # with the caller's identity (a contextvar) and is aggregated there; the
    # file gets one record per (reference, identity) per second. Then the
    # same with the records also logged on "secretkit.audit" (INFO, a
    # NullHandler: the cost of building the records, not of any handler).
    with tempfile.TemporaryDirectory() as tmp:
        audited = Client.from_env(audit_file=f"{tmp}/audit.jsonl")
        logged = Client.from_env(audit_file=f"{tmp}/audit2.jsonl", audit_log=True)
        logging.getLogger("secretkit.audit").setLevel(logging.INFO)
        for name, c in (
            ("secretkit get, audited (file + identity)", audited),
            ("secretkit get, audited + audit_log", logged),
        ):
            with secretkit.audit_identity(service="bench", user="u-1", request_id="r-1"):
                assert c.get(asm_ref).reveal() == expected["asm"]
                env["audited_get"] = c.get
                timed = measure("audited_get(asm_ref)", env, args.runs, args.seconds)
                rows.insert(3, (name, timed))
            c.close()
        records = sum(1 for _ in open(f"{tmp}/audit.jsonl"))
        print(f"audit file after the audited run: {records} records")

    base = statistics.median(rows[0][1])
    print(f"{'what':50} {'median ns':>10} {'min ns':>9} {'x secretkit get':>16}")
    for name, results in rows:
        median = statistics.median(results)
        print(f"{name:50} {median:10.0f} {min(results):9.0f} {median / base:15.2f}x")
    stats = client.stats()
    print()
    print(
        f"secretkit stats after the run: hits={stats['hits']} misses={stats['misses']} "
        f"backend_calls={stats['backend_calls']}"
    )


if __name__ == "__main__":
    main()
