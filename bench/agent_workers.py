"""Backend calls and Vault leases for N worker processes (standing in for N
gunicorn workers), each with its own secretkit client, without and with
`secretkit agent` in front of the backends.

    set -a; . /tmp/env; set +a      # from tests/servers.py start --env-file /tmp/env
    bash scripts/build-bindings.sh          # builds target/bin/secretkit (the agent)
    .venv/bin/python bench/agent_workers.py [--workers 1 4 8] [--reads 200] [--agent-bin PATH]

For each N, N processes (multiprocessing, spawn) start together on a barrier;
each creates `Client.from_env()` and reads `ssm:/prod/myapp/db-password`,
`asm:prod/myapp/db-credentials#password` and
`vault:database/creds/<SK_VAULT_DB_ROLE>#username` --reads times each, waits
until every worker has read (so all hold their leases at once), then
`client.close()` (which revokes the leases it holds).

- without the agent: backend calls = the sum of the workers'
  `stats()["backend_calls"]`; leases = distinct database usernames;
- with the agent (`secretkit agent` started by this script on a free loopback
  port, one fresh agent per N, SECRETKIT_AGENT / SECRETKIT_AGENT_TOKEN set
  for the workers): backend calls = the agent's
  `secretkit_backend_calls_total` lines of /metrics; leases = distinct
  usernames (1 expected). The workers' own calls go to the agent.

In both cases the leases Vault holds under database/creds/<role>/ (LIST
sys/leases/lookup, with VAULT_TOKEN) are counted while every worker holds its
credentials, and again after the workers closed (and the agent stopped).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROLE = os.environ.get("SK_VAULT_DB_ROLE", "myapp-readonly")
REFERENCES = (
    "ssm:/prod/myapp/db-password",
    "asm:prod/myapp/db-credentials#password",
    f"vault:database/creds/{ROLE}#username",
)


def worker(reads: int, start: Barrier, held: Barrier, done: Barrier, out: Queue) -> None:
    from secretkit import Client

    start.wait()
    t0 = time.perf_counter()
    client = Client.from_env()
    usernames: set[str] = set()
    for _ in range(reads):
        for ref in REFERENCES:
            value = client.get(ref).reveal()
            if ref.startswith("vault:"):
                usernames.add(value)
    elapsed = time.perf_counter() - t0
    stats = client.stats()
    held.wait()  # the parent counts Vault's leases now
    done.wait()
    revoked = client.close()
    out.put({"calls": stats["backend_calls"], "usernames": sorted(usernames),
             "revoked": revoked, "seconds": elapsed})


def vault_leases() -> int | None:
    """Leases Vault holds under database/creds/<role>/ (None if it cannot say)."""
    url = f"{os.environ['VAULT_ADDR']}/v1/sys/leases/lookup/database/creds/{ROLE}/"
    request = urllib.request.Request(url, method="LIST", headers={"X-Vault-Token": os.environ["VAULT_TOKEN"]})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return len(json.load(answer)["data"]["keys"])
    except urllib.error.HTTPError as e:
        return 0 if e.code == 404 else None


def run_workers(n: int, reads: int, env: dict[str, str]) -> tuple[list[dict], str, float]:
    """Runs n workers with `env` added to theirs; returns their reports, the
    leases Vault held while they all held theirs (and just before they
    started: other clients of the same Vault count too), and the wall time."""
    before = vault_leases()
    ctx = mp.get_context("spawn")
    start, held, done = ctx.Barrier(n + 1), ctx.Barrier(n + 1), ctx.Barrier(n + 1)
    out = ctx.Queue()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # spawn copies the parent's environment
    try:
        procs = [ctx.Process(target=worker, args=(reads, start, held, done, out)) for _ in range(n)]
        for p in procs:
            p.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    start.wait(timeout=120)
    t0 = time.perf_counter()
    held.wait(timeout=300)
    wall = time.perf_counter() - t0
    leases = f"{vault_leases()} ({before} before)"
    done.wait(timeout=60)
    reports = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return reports, leases, wall


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def agent_calls(base: str, token: str) -> dict[str, int]:
    request = urllib.request.Request(f"{base}/metrics", headers={"X-Aws-Parameters-Secrets-Token": token})
    with urllib.request.urlopen(request, timeout=10) as answer:
        text = answer.read().decode()
    pattern = r'^secretkit_backend_calls_total\{backend="(\w+)"\} (\d+)'
    return {b: int(v) for b, v in re.findall(pattern, text, re.M)}


def with_agent(n: int, reads: int, agent_bin: str) -> dict:
    token, port = secrets.token_hex(16), free_port()
    base = f"http://127.0.0.1:{port}"
    agent = subprocess.Popen([agent_bin, "agent", "--listen", f"127.0.0.1:{port}"],
                             env={**os.environ, "SECRETKIT_AGENT_TOKEN": token},
                             stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/ping", timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        reports, leases, wall = run_workers(n, reads, {"SECRETKIT_AGENT": base, "SECRETKIT_AGENT_TOKEN": token})
        calls = agent_calls(base, token)
    finally:
        agent.send_signal(signal.SIGTERM)
        _, err = agent.communicate(timeout=60)
    revoked = re.search(r"(\d+) lease\(s\) revoked", err)
    return {"calls": calls, "reports": reports, "leases": leases, "wall": wall,
            "revoked": int(revoked.group(1)) if revoked else None, "after": vault_leases()}


def without_agent(n: int, reads: int) -> dict:
    reports, leases, wall = run_workers(n, reads, {})
    calls: dict[str, int] = {}
    for r in reports:
        for backend, count in r["calls"].items():
            calls[backend] = calls.get(backend, 0) + count
    return {"calls": calls, "reports": reports, "leases": leases, "wall": wall,
            "revoked": sum(r["revoked"] for r in reports), "after": vault_leases()}


def row(n: int, mode: str, r: dict) -> str:
    calls = {b: c for b, c in r["calls"].items() if b in ("ssm", "asm", "vault")}
    users = {u for rep in r["reports"] for u in rep["usernames"]}
    by = ", ".join(f"{b} {c}" for b, c in sorted(calls.items()))
    return (f"| {n} | {mode} | {sum(calls.values())} ({by}) | {len(users)} | {r['leases']} | "
            f"{r['revoked']} | {r['after']} | {r['wall']:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--agent-bin", default=os.environ.get("SECRETKIT_BIN", str(ROOT / "target/bin/secretkit")))
    args = parser.parse_args()
    print(f"{args.reads} reads of each of {', '.join(REFERENCES)} per worker")
    print("\n| workers | agent | backend calls | distinct usernames | Vault leases held | "
          "leases revoked at close | Vault leases after | seconds (start → all read) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for n in args.workers:
        print(row(n, "no", without_agent(n, args.reads)), flush=True)
        print(row(n, "yes", with_agent(n, args.reads, args.agent_bin)), flush=True)


if __name__ == "__main__":
    main()
