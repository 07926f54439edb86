#!/usr/bin/env python3
"""Invoke the Lambda handler locally, the way the Lambda runtime would: one
execution environment (a child process) runs the init phase (importing the
handler module) once, then the invocations; between invocations it can be
frozen (SIGSTOP, then SIGCONT), as Lambda freezes an idle environment.
Prints each response body as JSON, one per line; the warm invocation is
served from the client's cache, so its fetched_at values equal the cold
one's. Exit status 1 if any invocation failed.

    python invoke_local.py                    # handler.py: a cold and a warm invocation
    python invoke_local.py --runtime node     # handler.mjs (npm install here first)
    python invoke_local.py --freeze 3         # then 3 s frozen and a third invocation

Reads AWS_* / VAULT_* (and SECRETS_TTL_SECONDS) from the environment.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
EVENT = {"rawPath": "/secrets", "requestContext": {"http": {"method": "GET"}}}


class Context:
    """The attributes of the Lambda context object a handler commonly uses."""

    function_name = "secretkit-example"
    function_version = "$LATEST"
    memory_limit_in_mb = 128

    def __init__(self, timeout_s: float = 30.0) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def sandbox() -> int:
    """The Python execution environment: init, then one invocation per line."""
    sys.path.insert(0, str(HERE))
    import handler  # the init phase: the client, and the secrets read once

    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "invoke":
            break
        print(json.dumps(handler.handler(EVENT, Context())), flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runtime", choices=("python", "node"), default="python")
    ap.add_argument(
        "--freeze", type=float, metavar="SECONDS", help="freeze, then invoke again"
    )
    ap.add_argument("--sandbox", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.sandbox:
        return sandbox()

    if args.runtime == "python":
        command = [sys.executable, str(Path(__file__).resolve()), "--sandbox"]
    else:
        command = ["node", str(HERE / "sandbox.mjs")]
    env = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert env.stdin is not None and env.stdout is not None
    # A hung environment fails the run instead of stalling it.
    watchdog = threading.Timer(120, env.kill)
    watchdog.start()
    status = 0
    try:
        if env.stdout.readline().strip() != "ready":
            print("invoke_local: the init phase failed", file=sys.stderr)
            return 1
        for n in range(3 if args.freeze else 2):
            if n == 2:
                os.kill(env.pid, signal.SIGSTOP)
                time.sleep(args.freeze)
                os.kill(env.pid, signal.SIGCONT)
            env.stdin.write("invoke\n")
            env.stdin.flush()
            line = env.stdout.readline()
            if not line:
                print("invoke_local: the environment died", file=sys.stderr)
                return 1
            response = json.loads(line)
            print(json.dumps(json.loads(response["body"])), flush=True)
            if response["statusCode"] != 200:
                status = 1
    finally:
        watchdog.cancel()
        env.stdin.close()
        try:
            env.wait(10)
        except subprocess.TimeoutExpired:
            env.kill()
    return status


if __name__ == "__main__":
    sys.exit(main())
