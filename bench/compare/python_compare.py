"""secretkit next to what Python users pick instead, in one run against the
servers of tests/servers.py: boto3 + a TTL dict, aws-secretsmanager-caching,
AWS Lambda Powertools parameters, hvac + a TTL dict. Writes JSON rows that
bench/compare/render.py turns into the tables; run by bench/compare.sh.

    python bench/compare/python_compare.py --out rows.json
    python bench/compare/python_compare.py --rss LIB     (one child per library)

Environment: the servers' env file, DELAY_AWS_URL / DELAY_VAULT_URL (the
delay proxies), and COMPARE_* tunables (see compare.sh).

Reuses bindings-python/bench: `measure` (cache_hit.py), the thread harness
and the secretkit / caching / Powertools cold-read cases (cold_reads.py), and
the botocore call counter (common.py).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bindings-python" / "bench"))

import cold_reads  # noqa: E402
from cache_hit import measure  # noqa: E402
from common import ASM_NAME, SSM_NAME, boto  # noqa: E402

from secretkit import Client  # noqa: E402

ASM = f"asm:{ASM_NAME}"
SSM = f"ssm:{SSM_NAME}"
VAULT = "vault:secret/myapp/config#api_key"
ENV = os.environ
HIT_RUNS = int(ENV.get("COMPARE_HIT_RUNS", "7"))
HIT_SECONDS = float(ENV.get("COMPARE_HIT_SECONDS", "0.3"))
COLD_SIZES = [int(n) for n in ENV.get("COMPARE_COLD_SIZES", "64 10000").split()]
REFRESH_SECONDS = float(ENV.get("COMPARE_REFRESH_SECONDS", "10"))
RSS_HITS = int(ENV.get("COMPARE_RSS_HITS", "1000000"))
RSS_MAX_SECONDS = float(ENV.get("COMPARE_RSS_MAX_SECONDS", "60"))
NO_VAULT = "n/a: Powertools parameters has no Vault provider"
# Import name -> what compare.sh installs, for the n/a rows if one is missing.
PEERS = {
    "boto3": "boto3",
    "aws_secretsmanager_caching": "aws-secretsmanager-caching==1.2.0",
    "aws_lambda_powertools": "aws-lambda-powertools==3.37.0",
    "hvac": "hvac",
}


def missing(module: str | None) -> str | None:
    """Why a case cannot run (its peer is not installed), or None."""
    if module is None or importlib.util.find_spec(module) is not None:
        return None
    return f"n/a: {PEERS[module]} is not installed in {sys.prefix}"


# botocore logs every connection the pool discards under 10,000 threads.
logging.getLogger("urllib3").setLevel(logging.ERROR)


class TtlDict:
    """The snippet users write: a dict of (value, deadline), the fetch
    inline on a miss. No locking, no single flight."""

    def __init__(self, fetch: Callable[[str], str], ttl: float = 300) -> None:
        self.fetch, self.ttl, self.cache = fetch, ttl, {}
        self.calls = 0

    def get(self, name: str) -> str:
        hit = self.cache.get(name)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            return hit[0]
        self.calls += 1
        value = self.fetch(name)
        self.cache[name] = (value, now + self.ttl)
        return value


def boto3_dict(endpoint: str | None = None, ttl: float = 300) -> TtlDict:
    api = boto("secretsmanager")
    if endpoint:
        api = boto3_at(endpoint)
    return TtlDict(lambda name: api.get_secret_value(SecretId=name)["SecretString"], ttl)


def boto3_at(endpoint: str) -> Any:
    import boto3

    return boto3.client("secretsmanager", endpoint_url=endpoint, region_name=ENV["AWS_REGION"])


def hvac_dict(address: str | None = None, ttl: float = 300) -> TtlDict:
    import hvac

    vault = hvac.Client(url=address or ENV["VAULT_ADDR"], token=ENV["VAULT_TOKEN"])

    def fetch(path: str) -> str:
        answer = vault.secrets.kv.v2.read_secret_version(
            path=path, mount_point="secret", raise_on_deleted_version=True
        )
        return answer["data"]["data"]["api_key"]

    return TtlDict(fetch, ttl)


def secretkit_at(aws: str | None = None, vault: str | None = None, **options: Any) -> Client:
    """A client at the given endpoints (the delay proxies), else from the env."""
    if not aws and not vault:
        return Client.from_env(**options)
    return Client(
        aws={
            "region": ENV["AWS_REGION"],
            "access_key_id": ENV["AWS_ACCESS_KEY_ID"],
            "secret_access_key": ENV["AWS_SECRET_ACCESS_KEY"],
            "endpoint": aws or ENV["AWS_ENDPOINT_URL"],
        },
        vault={"address": vault or ENV["VAULT_ADDR"], "token": ENV["VAULT_TOKEN"]},
        **options,
    )


def row(
    measure_: str,
    key: str,
    library: str,
    text: str,
    metrics: dict,
    ratio: list[str],
    sk: bool = False,
) -> dict:
    return {
        "measure": measure_,
        "key": key,
        "library": library,
        "text": text,
        "metrics": metrics,
        "ratio": ratio,
        "secretkit": sk,
    }


def na(measure_: str, key: str, library: str, why: str) -> dict:
    return row(measure_, key, library, why, {}, [])


def log(msg: str) -> None:
    print(f"[python] {msg}", file=sys.stderr, flush=True)


# ---- 1. cache hit ----------------------------------------------------------


def cache_hits(expected: dict[str, str]) -> list[dict]:
    sk = Client.from_env()
    env: dict[str, Any] = {
        "get": sk.get,
        "ASM": ASM,
        "SSM": SSM,
        "VAULT": VAULT,
        "ASM_NAME": ASM_NAME,
        "SSM_NAME": SSM_NAME,
    }
    # Peers are built only when installed.
    if not missing("boto3"):
        env["b3"] = boto3_dict().get
    if not missing("aws_secretsmanager_caching"):
        from aws_secretsmanager_caching import SecretCache

        env["sm_cache"] = SecretCache(client=boto("secretsmanager"))
    if not missing("aws_lambda_powertools"):
        from aws_lambda_powertools.utilities import parameters

        env["get_secret"], env["get_parameter"] = (
            parameters.get_secret,
            parameters.get_parameter,
        )
    if not missing("hvac"):
        env["hv"] = hvac_dict().get
    # (key, library, statement, needs); secretkit's rows need nothing. Each
    # answers right before it is timed.
    cases = [
        ("asm", "secretkit `client.get('asm:…').reveal()`", "get(ASM).reveal()", None),
        # The Secret alone: what BENCHMARKS.md's hit rows time; the peers give the value.
        ("asm", "secretkit `client.get('asm:…')` (the `Secret`, not revealed)", "get(ASM)", None),
        ("asm", "boto3 + TTL dict", "b3(ASM_NAME)", "boto3"),
        (
            "asm",
            "aws-secretsmanager-caching `get_secret_string`",
            "sm_cache.get_secret_string(ASM_NAME)",
            "aws_secretsmanager_caching",
        ),
        (
            "asm",
            "Powertools `get_secret` (max_age 300)",
            "get_secret(ASM_NAME, max_age=300)",
            "aws_lambda_powertools",
        ),
        ("ssm", "secretkit `client.get('ssm:…').reveal()`", "get(SSM).reveal()", None),
        (
            "ssm",
            "Powertools `get_parameter` (max_age 300, decrypt)",
            "get_parameter(SSM_NAME, max_age=300, decrypt=True)",
            "aws_lambda_powertools",
        ),
        (
            "vault",
            "secretkit `client.get('vault:…#api_key').reveal()`",
            "get(VAULT).reveal()",
            None,
        ),
        ("vault", "hvac + TTL dict", "hv('myapp/config')", "hvac"),
    ]
    rows = []
    for key, library, stmt, needs in cases:
        if why := missing(needs):
            rows.append(na("1. cache hit, ns per read", key, library, why))
            continue
        is_sk = needs is None
        got = eval(stmt, env)
        got = got.reveal() if hasattr(got, "reveal") else got
        assert got == expected[key], f"{library} answered a wrong value"
        log(f"cache hit: {library}")
        ns = statistics.median(measure(stmt, env, HIT_RUNS, HIT_SECONDS))
        text = f"{ns:,.0f} ns"
        rows.append(
            row(
                "1. cache hit, ns per read",
                key,
                library,
                text,
                {"ns": ns},
                ["ns"],
                is_sk,
            )
        )
    rows.append(na("1. cache hit, ns per read", "vault", "Powertools", NO_VAULT))
    return rows


# ---- 2. concurrent cold reads ----------------------------------------------


def cold(expected: dict[str, str]) -> list[dict]:
    cold_reads.EXPECTED.update(expected)
    rows = []
    for n in COLD_SIZES:
        title = f"2. backend calls, {n:,} concurrent cold reads (threads)"

        def b3_case(n: int) -> tuple[int, float, int, str]:
            cache = boto3_dict()
            took, wrong = cold_reads.in_threads(n, lambda: cache.get(ASM_NAME))
            return cache.calls, took, wrong, ""

        def hv_case(n: int) -> tuple[int, float, int, str]:
            cache = hvac_dict()
            took, wrong = cold_reads.in_threads(n, lambda: cache.get("myapp/config"))
            return cache.calls, took, wrong, ""

        cases: list[tuple[str, str, Callable[[int], tuple[int, float, int, str]], str | None]] = [
            (
                "asm",
                "secretkit `client.get`",
                lambda n: cold_reads.secretkit_threads(n, ASM),
                None,
            ),
            ("asm", "boto3 + TTL dict", b3_case, "boto3"),
            (
                "asm",
                "aws-secretsmanager-caching",
                cold_reads.caching_threads,
                "aws_secretsmanager_caching",
            ),
            (
                "asm",
                "Powertools `get_secret`",
                lambda n: cold_reads.powertools_threads(n, "asm"),
                "aws_lambda_powertools",
            ),
            (
                "vault",
                "secretkit `client.get`",
                lambda n: cold_reads.secretkit_threads(n, VAULT),
                None,
            ),
            ("vault", "hvac + TTL dict", hv_case, "hvac"),
        ]
        for key, library, run, needs in cases:
            if why := missing(needs):
                rows.append(na(title, key, f"{library} ({key})", why))
                continue
            is_sk = needs is None
            log(f"{n} cold reads: {library} ({key})")
            calls, took, wrong, detail = run(n)
            text = f"{calls:,} call{'s' * (calls != 1)} in {took:.2f} s" + (f" ({detail})" if detail else "")
            if wrong:
                text += f", {wrong} wrong answers"
            rows.append(
                row(
                    title,
                    key,
                    f"{library} ({key})",
                    text,
                    {"calls": calls},
                    ["calls"],
                    is_sk,
                )
            )
        rows.append(na(title, "vault", "Powertools (vault)", NO_VAULT))
    return rows


# ---- 3. reads across refreshes with a slow backend ---------------------------


def proxy_count(url: str) -> int:
    import urllib.request

    with urllib.request.urlopen(f"{url}/__proxy__/count") as answer:
        return json.load(answer)["requests"]


def timed_reads(read: Callable[[], Any], proxy: str) -> dict:
    """A read every ~1 ms for REFRESH_SECONDS after one warm read; latencies in µs."""
    read()
    before = proxy_count(proxy)
    times = []
    end = time.perf_counter() + REFRESH_SECONDS
    next_at = time.perf_counter()
    while (now := time.perf_counter()) < end:
        read()
        times.append((time.perf_counter() - now) * 1e6)
        next_at += 0.001
        time.sleep(max(0.0, next_at - time.perf_counter()))
    calls = proxy_count(proxy) - before
    times.sort()
    return {
        "reads": len(times),
        "p50": times[len(times) // 2],
        "p99": times[int(len(times) * 0.99)],
        "max": times[-1],
        "calls": calls,
    }


def fmt_us(us: float) -> str:
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.1f} µs"


def refresh() -> list[dict]:
    aws, vault = ENV["DELAY_AWS_URL"], ENV["DELAY_VAULT_URL"]
    title = f"3. reads every ~1 ms for {REFRESH_SECONDS:g} s, TTL 1 s, +20 ms per backend request"
    sk = secretkit_at(aws=aws, vault=vault, default_ttl=1)

    def caching() -> Callable[[], Any]:
        from aws_secretsmanager_caching import SecretCache, SecretCacheConfig

        cache = SecretCache(config=SecretCacheConfig(secret_refresh_interval=1), client=boto3_at(aws))
        return lambda: cache.get_secret_string(ASM_NAME)

    def powertools() -> Callable[[], Any]:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        provider = SecretsProvider(boto3_client=boto3_at(aws))
        return lambda: provider.get(ASM_NAME, max_age=1)

    # (key, library, makes the read, proxy, needs): peers built only when installed.
    cases: list[tuple[str, str, Callable[[], Callable[[], Any]], str, str | None]] = [
        (
            "asm",
            "secretkit (refresh ahead at 75 %)",
            lambda: lambda: sk.get(ASM).reveal(),
            aws,
            None,
        ),
        (
            "asm",
            "boto3 + TTL dict",
            lambda: partial(boto3_dict(endpoint=aws, ttl=1).get, ASM_NAME),
            aws,
            "boto3",
        ),
        (
            "asm",
            "aws-secretsmanager-caching (refresh interval 1 s)",
            caching,
            aws,
            "aws_secretsmanager_caching",
        ),
        (
            "asm",
            "Powertools `get_secret` (max_age 1)",
            powertools,
            aws,
            "aws_lambda_powertools",
        ),
        (
            "vault",
            "secretkit (refresh ahead at 75 %)",
            lambda: lambda: sk.get(VAULT).reveal(),
            vault,
            None,
        ),
        (
            "vault",
            "hvac + TTL dict",
            lambda: partial(hvac_dict(address=vault, ttl=1).get, "myapp/config"),
            vault,
            "hvac",
        ),
    ]
    rows = []
    for key, library, make, proxy, needs in cases:
        if why := missing(needs):
            rows.append(na(title, key, f"{library} ({key})", why))
            continue
        is_sk = needs is None
        read = make()
        log(f"slow backend: {library} ({key})")
        r = timed_reads(read, proxy)
        text = (
            f"slowest {fmt_us(r['max'])}; p50 {fmt_us(r['p50'])}, p99 {fmt_us(r['p99'])}; "
            f"backend calls {r['calls']}, {r['reads']:,} reads"
        )
        rows.append(row(title, key, f"{library} ({key})", text, r, ["max"], is_sk))
    return rows


# ---- 5. RSS growth over many hits, one process per library ------------------

RSS_LIBS = {
    "secretkit-asm": ("asm", "secretkit `client.get('asm:…')`", None),
    "boto3-dict": ("asm", "boto3 + TTL dict", "boto3"),
    "caching": ("asm", "aws-secretsmanager-caching", "aws_secretsmanager_caching"),
    "powertools": ("asm", "Powertools `get_secret`", "aws_lambda_powertools"),
    "secretkit-vault": ("vault", "secretkit `client.get('vault:…')`", None),
    "hvac-dict": ("vault", "hvac + TTL dict", "hvac"),
}


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def rss_child(lib: str) -> None:
    """Warm up, note RSS, do RSS_HITS hits (bounded in time), note RSS again."""
    if lib in ("secretkit-asm", "secretkit-vault"):
        sk = Client.from_env()
        ref = ASM if lib == "secretkit-asm" else VAULT

        def read() -> Any:
            return sk.get(ref).reveal()

    elif lib == "boto3-dict":
        read = lambda: b3.get(ASM_NAME)  # noqa: E731
        b3 = boto3_dict()
    elif lib == "caching":
        from aws_secretsmanager_caching import SecretCache

        sm_cache = SecretCache(client=boto("secretsmanager"))
        read = lambda: sm_cache.get_secret_string(ASM_NAME)  # noqa: E731
    elif lib == "powertools":
        from aws_lambda_powertools.utilities import parameters

        read = lambda: parameters.get_secret(ASM_NAME, max_age=3600)  # noqa: E731
    else:
        hv = hvac_dict()
        read = lambda: hv.get("myapp/config")  # noqa: E731
    for _ in range(10_000):
        read()
    gc.collect()
    before = rss_mib()
    hits = 0
    deadline = time.perf_counter() + RSS_MAX_SECONDS
    while hits < RSS_HITS and time.perf_counter() < deadline:
        for _ in range(1000):
            read()
        hits += 1000
    gc.collect()
    print(json.dumps({"before": before, "after": rss_mib(), "hits": hits}))


def rss() -> list[dict]:
    rows = []
    title = f"5. RSS growth over {RSS_HITS:,} hits (after warm-up → after)"
    for lib, (key, library, needs) in RSS_LIBS.items():
        if why := missing(needs):
            rows.append(na(title, key, f"{library} ({key})", why))
            continue
        is_sk = needs is None
        log(f"RSS: {library}")
        out = subprocess.run(
            [sys.executable, __file__, "--rss", lib],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        growth = r["after"] - r["before"]
        text = f"{r['before']:.1f} → {r['after']:.1f} MiB (+{growth:.2f} MiB)"
        if r["hits"] < RSS_HITS:
            text += f"; stopped at the {RSS_MAX_SECONDS:g} s cap after {r['hits']:,} hits"
        metrics = {"growth_mib": growth, "after_mib": r["after"], "hits": r["hits"]}
        rows.append(
            row(
                title,
                key,
                f"{library} ({key})",
                text,
                metrics,
                ["growth_mib", "after_mib"],
                is_sk,
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="JSON rows are written here")
    parser.add_argument("--rss", choices=sorted(RSS_LIBS), help="(internal) one RSS child")
    parser.add_argument("--only", default="hit,cold,refresh,rss", help="comma-separated parts")
    args = parser.parse_args()
    if args.rss:
        rss_child(args.rss)
        return
    warm = Client.from_env()
    expected = {
        "asm": warm.get(ASM).reveal(),
        "ssm": warm.get(SSM).reveal(),
        "vault": warm.get(VAULT).reveal(),
    }
    parts = {
        "hit": lambda: cache_hits(expected),
        "cold": lambda: cold(expected),
        "refresh": refresh,
        "rss": rss,
    }
    rows = []
    for part in args.only.split(","):
        rows += parts[part]()
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
