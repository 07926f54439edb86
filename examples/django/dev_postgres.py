#!/usr/bin/env python3
"""A throwaway PostgreSQL for the Django example, whose role's password is the
one stored in SSM, so the example's connection proves the value secretkit read.

    python dev_postgres.py start --dir DIR --port PORT --servers-env ENV_FILE
    python dev_postgres.py stop  --dir DIR

`start` plays the DBA: it reads /prod/myapp/db-password straight from the AWS
endpoint in ENV_FILE(.json) (boto3, independent of secretkit), runs initdb with
that password for the role app_user (scram-sha-256, loopback only), starts the
server and creates the database `myapp`. The password goes to initdb through a
0600 file that is deleted at once; it is never printed. Idempotent: an old DIR
is stopped and wiped first. Runs the server as `postgres` when run as root
(PostgreSQL refuses root).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROLE, DATABASE, PARAMETER = "app_user", "myapp", "/prod/myapp/db-password"


def pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        sys.exit(f"dev_postgres: {name} not found (apt-get install postgresql)")
    return found


def as_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def run(argv: list[str], **kw) -> None:
    result = subprocess.run(as_owner(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if result.returncode != 0:
        sys.exit(f"dev_postgres: {Path(argv[0]).name} failed:\n{result.stdout}")


def password_from_ssm(env_file: Path) -> str:
    import boto3

    env = json.loads(env_file.with_name(env_file.name + ".json").read_text())
    ssm = boto3.client(
        "ssm",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    return ssm.get_parameter(Name=PARAMETER, WithDecryption=True)["Parameter"]["Value"]


def stop(root: Path) -> None:
    data = root / "data"
    if (data / "postmaster.pid").exists():
        subprocess.run(as_owner([pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start(root: Path, port: int, env_file: Path) -> None:
    stop(root)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    pwfile = root / "pw"
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, password_from_ssm(env_file).encode())
        os.close(fd)
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres", "postgres")
        run([pg_bin("initdb"), "-D", str(root / "data"), "-U", ROLE, f"--pwfile={pwfile}",
             "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"])
    finally:
        pwfile.unlink(missing_ok=True)
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    run([pg_bin("pg_ctl"), "-D", str(root / "data"), "-o", opts, "-l", str(root / "postgres.log"), "-w", "start"])
    # createdb authenticates over loopback; PGPASSWORD only in its own environment.
    env = {**os.environ, "PGPASSWORD": password_from_ssm(env_file)}
    run([pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", ROLE, DATABASE], env=env)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cmd", choices=["start", "stop"])
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--port", type=int)
    ap.add_argument("--servers-env", type=Path)
    args = ap.parse_args()
    root = args.dir.resolve()
    if args.cmd == "stop":
        stop(root)
    elif args.port is None or args.servers_env is None:
        ap.error("start needs --port and --servers-env")
    else:
        start(root, args.port, args.servers_env.resolve())


if __name__ == "__main__":
    main()
