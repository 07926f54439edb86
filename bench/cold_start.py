"""Cold start as a serverless function or a freshly started service meets it:
a whole new process that imports the library, builds a client from the
environment and reads one Secrets Manager secret from moto. secretkit next to
what users would pick instead (boto3; the AWS SDK for JavaScript v3), in one
run, interleaved. Reports wall time and peak RSS (ru_maxrss of the child).

    .venv/bin/python tests/servers.py start --env-file /tmp/sk-env --fixtures
    set -a; . /tmp/sk-env; set +a
    .venv/bin/python bench/cold_start.py [--runs 15]

Uses the installed wheel in .venv and bindings-node as built by
scripts/build-bindings.sh; the AWS SDK v3 is a devDependency there.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "bindings-node"
SECRET = "prod/myapp/db-credentials"

CASES = {
    "python: secretkit": [
        sys.executable,
        "-c",
        f"import secretkit; assert secretkit.Client.from_env().get('asm:{SECRET}').reveal()",
    ],
    "python: boto3": [
        sys.executable,
        "-c",
        "import boto3; "
        f"assert boto3.client('secretsmanager').get_secret_value(SecretId='{SECRET}')['SecretString']",
    ],
    "node: secretkit": [
        "node",
        "-e",
        "const { Client } = require('secretkit'); "
        f"Client.fromEnv().get('asm:{SECRET}').then((s) => {{ if (!s.reveal()) process.exit(1) }})",
    ],
    "node: AWS SDK v3": [
        "node",
        "-e",
        "const { SecretsManagerClient, GetSecretValueCommand } = require('@aws-sdk/client-secrets-manager'); "
        "new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: "
        f"'{SECRET}' }})).then((r) => {{ if (!r.SecretString) process.exit(1) }})",
    ],
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "node -e 0 (floor)": ["node", "-e", "0"],
}


def run(argv: list[str]) -> tuple[float, float]:
    """Wall ms and peak RSS MiB of one process."""
    started = time.perf_counter()
    # stderr too: the AWS SDK v3 warns about Node 20 on every start. A
    # failure shows in the exit status.
    child = subprocess.Popen(argv, cwd=NODE_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = (time.perf_counter() - started) * 1000
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{argv[:2]} exited with {child.returncode}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    for name in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID"):
        if name not in os.environ:
            raise SystemExit(f"{name} is not set: source the env file tests/servers.py wrote")
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in CASES}
    for _ in range(runs):
        for name, argv in CASES.items():
            results[name].append(run(argv))
    print(f"# command: .venv/bin/python bench/cold_start.py --runs {runs}")
    print(f"# load {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} cpus")
    print(f"{'case':28} {'median ms':>10} {'min ms':>8} {'peak RSS MiB':>13}")
    medians = {}
    for name, samples in results.items():
        walls = [w for w, _ in samples]
        rss = statistics.median(r for _, r in samples)
        medians[name] = (statistics.median(walls), rss)
        print(f"{name:28} {medians[name][0]:10.1f} {min(walls):8.1f} {rss:13.1f}")
    floors = {"python": "python -c pass (floor)", "node": "node -e 0 (floor)"}
    for lang, peer in (("python", "boto3"), ("node", "AWS SDK v3")):
        ours, theirs = medians[f"{lang}: secretkit"], medians[f"{lang}: {peer}"]
        floor = medians[floors[lang]]
        print(
            f"{lang}: secretkit / {peer}: wall {ours[0] / theirs[0]:.2f}x, "
            f"peak RSS {ours[1] / theirs[1]:.2f}x; above the bare interpreter: "
            f"wall {(ours[0] - floor[0]) / (theirs[0] - floor[0]):.2f}x, "
            f"RSS {(ours[1] - floor[1]) / (theirs[1] - floor[1]):.2f}x"
        )


if __name__ == "__main__":
    main()
