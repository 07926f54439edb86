#!/usr/bin/env python3
"""Helpers for scripts/demo.sh: wait for an example app, then print its
/secrets answer readably and prove each value was really read.

    demo_report.py wait URL [--pid PID] [--timeout S]    # until it answers HTTP
    demo_report.py show NAME (URL | -) --servers-env ENV_FILE
    demo_report.py health URL LABEL

`show` prints each secret's redacted form, version and fetch time, and checks
the fingerprint the app computed (length + sha256 prefix of the revealed
value, exposed only under SECRETKIT_EXAMPLE_FINGERPRINTS=1) against one
computed here from the backends themselves (boto3 and the Vault HTTP API,
independent of secretkit). No value is ever printed. With `-` it reads JSON
documents, one per line, from stdin (the Lambda invocations: cold, then warm).
Exit status 1 when an app answered an error, a fingerprint is missing or does
not match, or the answer shows a value in clear.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def http_get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def alive(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def cmd_wait(url: str, pid: int | None, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not alive(pid):
            print(f"  process {pid} exited before {url} answered", file=sys.stderr)
            return 1
        try:
            http_get(url, timeout=2.0)
            return 0  # any HTTP answer: the app is up (show/health judge it)
        except (OSError, urllib.error.URLError) as e:
            last = str(getattr(e, "reason", e))
        time.sleep(0.2)
    print(f"  {url} did not answer within {timeout:.0f}s ({last})", file=sys.stderr)
    return 1


# --------------------------------------------------------------------------
# the values as the backends hold them, read without secretkit


def backend_values(env_file: Path) -> dict[str, bytes]:
    import boto3

    env = json.loads(env_file.with_name(env_file.name + ".json").read_text())
    aws = dict(endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
               aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    ssm = boto3.client("ssm", **aws)
    sm = boto3.client("secretsmanager", **aws)
    req = urllib.request.Request(env["VAULT_ADDR"] + "/v1/secret/data/myapp/config",
                                 headers={"X-Vault-Token": env["VAULT_TOKEN"]})
    with urllib.request.urlopen(req, timeout=10) as r:
        vault_config = json.load(r)["data"]["data"]
    db_credentials = json.loads(sm.get_secret_value(SecretId="prod/myapp/db-credentials")["SecretString"])
    return {
        "ssm:/prod/myapp/db-password":
            ssm.get_parameter(Name="/prod/myapp/db-password", WithDecryption=True)["Parameter"]["Value"].encode(),
        "asm:prod/myapp/db-credentials#password": db_credentials["password"].encode(),
        "vault:secret/myapp/config#api_key": vault_config["api_key"].encode(),
    }


def fingerprint(value: bytes) -> dict:
    return {"length": len(value), "sha256": hashlib.sha256(value).hexdigest()[:12]}


# --------------------------------------------------------------------------


def report(title: str, doc: dict, truth: dict[str, bytes], raw: str) -> bool:
    ok = True
    print(f"  {title}")
    leaked = [ref for ref, value in truth.items() if value.decode(errors="replace") in raw]
    if leaked:
        print(f"    ✗ the answer contains the plain value of {', '.join(leaked)}")
        ok = False
    width = max((len(s.get("redacted", s["reference"])) for s in doc["secrets"]), default=0)
    for s in doc["secrets"]:
        if "error" in s:
            e = s["error"]
            print(f"    ✗ {s['reference']}: {e.get('code')} {e.get('message')}")
            ok = False
            continue
        fp, want = s.get("fingerprint"), truth.get(s["reference"])
        if fp is None or want is None:
            proof, good = "no fingerprint to check", False
        elif fp == fingerprint(want):
            proof, good = f"len {fp['length']:>2}  sha256 {fp['sha256']}…  = backend", True
        else:
            proof, good = f"len {fp['length']}  sha256 {fp['sha256']}…  ≠ backend {fingerprint(want)}", False
        ok = ok and good
        version = s.get("version") or "-"
        if len(version) > 8:
            version = version[:8] + "…"
        print(f"    {'✓' if good else '✗'} {s['redacted']:<{width}}  v{version:<9}  fetched {s['fetched_at']}  {proof}")
    return ok


def cmd_show(name: str, source: str, env_file: Path) -> int:
    truth = backend_values(env_file)
    if source == "-":
        docs = [(line, None) for line in sys.stdin.read().splitlines() if line.strip()]
        titles = [f"{name} — {'cold' if i == 0 else 'warm'} invocation" for i in range(len(docs))]
    else:
        status, body = http_get(source)
        docs = [(body.decode(errors="replace"), status)]
        titles = [f"{name} — GET {source} → {status}"]
    if not docs:
        print(f"  {name}: no answer")
        return 1
    ok, parsed = True, []
    for (raw, status), title in zip(docs, titles):
        try:
            doc = json.loads(raw)
        except ValueError:
            print(f"  {title}\n    ✗ not JSON: {raw[:200]!r}")
            ok = False
            continue
        parsed.append(doc)
        ok = report(title, doc, truth, raw) and ok and status in (None, 200)
    if len(parsed) == 2:  # lambda: the warm invocation must be a cache hit
        times = [[s.get("fetched_at") for s in d["secrets"]] for d in parsed]
        same = times[0] == times[1]
        print(f"    {'✓' if same else '✗'} warm invocation served from the client's cache "
              f"({'same' if same else 'different'} fetched_at)")
        ok = ok and same
    return 0 if ok else 1


def cmd_health(url: str, label: str) -> int:
    try:
        status, body = http_get(url)
        answer = json.loads(body)
    except (OSError, ValueError, urllib.error.URLError) as e:
        status, answer = 0, {"error": str(e)}
    ok = status == 200 and answer.get("status") == "ok"
    print(f"    {'✓' if ok else '✗'} {label}: {'ok' if ok else f'HTTP {status} {answer}'}")
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("wait")
    w.add_argument("url")
    w.add_argument("--pid", type=int)
    w.add_argument("--timeout", type=float, default=60.0)
    s = sub.add_parser("show")
    s.add_argument("name")
    s.add_argument("source", help="URL, or - for JSON lines on stdin")
    s.add_argument("--servers-env", type=Path, required=True)
    h = sub.add_parser("health")
    h.add_argument("url")
    h.add_argument("label")
    args = ap.parse_args()
    if args.cmd == "health":
        return cmd_health(args.url, args.label)
    if args.cmd == "wait":
        return cmd_wait(args.url, args.pid, args.timeout)
    return cmd_show(args.name, args.source, args.servers_env)


if __name__ == "__main__":
    sys.exit(main())
