"""Backend calls for N concurrent cold reads of one secret: secretkit (its
stats) next to AWS Lambda Powertools parameters and aws-secretsmanager-caching
(counted with a botocore `before-call` hook), in one run against moto.

    .venv/bin/pip install -r bindings-python/bench/requirements.txt
    set -a; . /tmp/env; set +a      # from tests/servers.py start --env-file /tmp/env
    .venv/bin/python bindings-python/bench/cold_reads.py [--sizes 64 10000]

Sync: N threads wait on one barrier, then each reads once from a client (or
provider / cache) that has never read the secret. Async: N asyncio tasks of
one loop each await one secretkit `get_async`. The alternatives have no
async API, so they are measured with threads only.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

from common import ASM_NAME, SSM_NAME, CallCounter, boto, header, require_servers

from secretkit import Client

EXPECTED: dict[str, str] = {}


def in_threads(n: int, read: Callable[[], Any]) -> tuple[float, int]:
    """Seconds for n threads to each read once; how many answers were wrong."""
    barrier = threading.Barrier(n)
    wrong = 0
    lock = threading.Lock()

    def run() -> None:
        nonlocal wrong
        barrier.wait()
        value = read()
        if value not in EXPECTED.values():
            with lock:
                wrong += 1

    threading.stack_size(256 * 1024)
    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - start, wrong


Result = tuple[int, float, int, str]


def backend_calls(client: Client) -> tuple[int, str]:
    calls = {k: v for k, v in client.stats()["backend_calls"].items() if v}
    return sum(calls.values()), ", ".join(f"{k} {v}" for k, v in calls.items())


def secretkit_threads(n: int, ref: str) -> Result:
    client = Client.from_env()
    took, wrong = in_threads(n, lambda: client.get(ref).reveal())
    calls, detail = backend_calls(client)
    return calls, took, wrong, detail


def secretkit_tasks(n: int, ref: str) -> Result:
    client = Client.from_env()

    async def main() -> tuple[float, int]:
        start = time.perf_counter()
        secrets = await asyncio.gather(*(client.get_async(ref) for _ in range(n)))
        took = time.perf_counter() - start
        return took, sum(s.reveal() not in EXPECTED.values() for s in secrets)

    took, wrong = asyncio.run(main())
    calls, detail = backend_calls(client)
    return calls, took, wrong, detail


def powertools_threads(n: int, service: str) -> Result:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider

    api = boto("secretsmanager" if service == "asm" else "ssm")
    counter = CallCounter(api)
    if service == "asm":
        provider: Any = SecretsProvider(boto3_client=api)
        took, wrong = in_threads(n, lambda: provider.get(ASM_NAME, max_age=300))
    else:
        provider = SSMProvider(boto3_client=api)
        took, wrong = in_threads(n, lambda: provider.get(SSM_NAME, max_age=300, decrypt=True))
    return counter.calls, took, wrong, counter.detail()


def caching_threads(n: int) -> Result:
    from aws_secretsmanager_caching import SecretCache

    api = boto("secretsmanager")
    counter = CallCounter(api)
    cache = SecretCache(client=api)
    took, wrong = in_threads(n, lambda: cache.get_secret_string(ASM_NAME))
    return counter.calls, took, wrong, counter.detail()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 10_000])
    args = parser.parse_args()
    require_servers()
    header("backend calls for N concurrent cold reads of one secret (lower is better)")

    warm = Client.from_env()
    EXPECTED["asm"] = warm.get(f"asm:{ASM_NAME}").reveal()
    EXPECTED["ssm"] = warm.get(f"ssm:{SSM_NAME}").reveal()

    cases: list[tuple[str, Callable[[int], Result]]] = [
        ("secretkit get, threads (asm)", lambda n: secretkit_threads(n, f"asm:{ASM_NAME}")),
        ("secretkit await get_async, tasks (asm)", lambda n: secretkit_tasks(n, f"asm:{ASM_NAME}")),
        ("secretkit get, threads (ssm)", lambda n: secretkit_threads(n, f"ssm:{SSM_NAME}")),
        ("secretkit await get_async, tasks (ssm)", lambda n: secretkit_tasks(n, f"ssm:{SSM_NAME}")),
        ("aws-secretsmanager-caching, threads (asm)", caching_threads),
        ("powertools get_secret, threads (asm)", lambda n: powertools_threads(n, "asm")),
        ("powertools get_parameter, threads (ssm)", lambda n: powertools_threads(n, "ssm")),
    ]
    print(f"{'what':45} {'N':>6} {'backend calls':>14} {'seconds':>8} {'wrong':>6}  calls by API")
    for n in args.sizes:
        for name, run in cases:
            calls, took, wrong, detail = run(n)
            print(f"{name:45} {n:6} {calls:14} {took:8.2f} {wrong:6}  {detail}", flush=True)
        print()


if __name__ == "__main__":
    main()
