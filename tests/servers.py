#!/usr/bin/env python3
"""Start, seed and stop the real servers the integration tests talk to.

    .venv/bin/python tests/servers.py start --env-file PATH [--fixtures]
    .venv/bin/python tests/servers.py seed  --env-file PATH [--fixtures]
    .venv/bin/python tests/servers.py stop  --env-file PATH

`start` launches moto's server (AWS SSM + Secrets Manager) and an OpenBao dev
server (Vault API) on free loopback ports, detached in their own sessions,
waits for both, seeds the example secrets (and with --fixtures the test
fixtures described in tests/fixtures.md), and writes PATH (shell `export`
lines) and PATH.json.  Logs and pid files live in PATH.state/.

`stop` terminates both process groups; it is idempotent and never fails when
they are already gone.  `seed` re-seeds running servers; it is idempotent
(values already in place are left alone, so versions stay as documented).

Binaries come from the venv this script runs under (scripts/install-deps.sh);
override with SK_MOTO_SERVER_BIN / SK_BAO_BIN.  Only stdlib + boto3.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

READY_TIMEOUT = float(os.environ.get("SK_SERVERS_READY_TIMEOUT", "60"))
STOP_GRACE = 5.0
START_ATTEMPTS = 3
REGION = "us-east-1"
# substrings of the command lines we start; stop only signals groups that match
MOTO_MARK = "moto_server"
BAO_MARK = "-dev-root-token-id="

# Example secrets from the product docs.
SSM_DB_PASSWORD = ("/prod/myapp/db-password", "s3cureP@ssw0rd!")
ASM_DB_CREDENTIALS = (
    "prod/myapp/db-credentials",
    '{"username":"app_user","password":"s3cureP@ssw0rd!"}',
)
VAULT_CONFIG = (
    "myapp/config",
    {"db_host": "mydb.internal", "db_name": "myapp_prod", "api_key": "sk-abc123"},
)


def log(msg: str) -> None:
    print(f"servers: {msg}", file=sys.stderr, flush=True)


class Fail(Exception):
    pass


# --------------------------------------------------------------------------
# paths, env files


def state_dir(env_file: Path) -> Path:
    return env_file.with_name(env_file.name + ".state")


def json_path(env_file: Path) -> Path:
    return env_file.with_name(env_file.name + ".json")


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_env(env_file: Path, env: dict[str, str]) -> None:
    lines = ["# written by tests/servers.py; source it: . " + shlex.quote(str(env_file))]
    lines += [f"export {k}={shlex.quote(str(v))}" for k, v in env.items()]
    atomic_write(env_file, "\n".join(lines) + "\n")
    atomic_write(json_path(env_file), json.dumps(env, indent=2) + "\n")


def read_env(env_file: Path) -> dict[str, str]:
    jp = json_path(env_file)
    if jp.exists():
        try:
            return json.loads(jp.read_text())
        except ValueError:
            pass
    env: dict[str, str] = {}
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            line = line.strip()
            if line.startswith("export ") and "=" in line:
                k, _, v = line[len("export "):].partition("=")
                parts = shlex.split(v)
                env[k.strip()] = parts[0] if parts else ""
    return env


# --------------------------------------------------------------------------
# processes


def find_bin(name: str, override: str) -> str:
    if os.environ.get(override):
        return os.environ[override]
    cand = Path(sys.executable).parent / name
    if cand.exists():
        return str(cand)
    from shutil import which

    found = which(name)
    if not found:
        raise Fail(f"{name} not found (run scripts/install-deps.sh, use .venv/bin/python, or set {override})")
    return found


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_port(also_next: bool = False) -> int:
    """A free loopback port; with also_next, port+1 is free too (bao's cluster listener)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not also_next or (port < 65535 and port_free(port + 1)):
            return port
    raise Fail("could not find a free loopback port")


def child_env() -> dict[str, str]:
    # Keep a previously sourced env file from steering the servers.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    return env


def spawn(argv: list[str], logfile: Path, cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    with open(logfile, "ab") as out:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(cwd),
            env=env,
            start_new_session=True,
            close_fds=True,
        )


def log_tail(logfile: Path, n: int = 20) -> str:
    try:
        lines = logfile.read_text(errors="replace").splitlines()[-n:]
    except OSError:
        return "  (no log)"
    return "\n".join("  | " + l for l in lines) or "  (empty log)"


def http_get(url: str, headers: dict | None = None, timeout: float = 2.0) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_ready(name: str, proc: subprocess.Popen, url: str, ok, logfile: Path, deadline: float) -> None:
    last = "no answer yet"
    while time.monotonic() < deadline:
        rc = proc.poll()
        if rc is not None:
            raise Fail(f"{name} exited with status {rc} before answering; log {logfile}:\n{log_tail(logfile)}")
        try:
            status, body = http_get(url, timeout=1.0)
            if ok(status, body):
                return
            last = f"HTTP {status}"
        except (OSError, urllib.error.URLError) as e:
            last = str(e)
        time.sleep(0.1)
    raise Fail(f"{name} did not answer {url} within {READY_TIMEOUT:.0f}s ({last}); log {logfile}:\n{log_tail(logfile)}")


def proc_cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def group_members(pgid: int, zombies: bool = False) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        # field 5 (pgrp) comes after "pid (comm) state ppid"
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 2 and fields[2] == str(pgid) and (zombies or fields[0] != "Z"):
            pids.append(int(d.name))
    return pids


def ours(pgid: int, marker: str) -> list[int]:
    """Live members of process group pgid, if that group is really one we started."""
    members = group_members(pgid)
    if any(marker in proc_cmdline(p) for p in members):
        return members
    return []


def kill_groups(targets: list[tuple[int, str | None, str]]) -> list[str]:
    """SIGTERM each (pgid, marker, what) group that is really ours (marker None:
    a child we have not reaped yet, so certainly ours), SIGKILL what
    is left after STOP_GRACE, and wait (bounded) until they are gone.  Returns
    the descriptions of the groups that were running."""
    live = {}
    for pgid, marker, what in targets:
        if pgid <= 1 or pgid in live or (marker is not None and not ours(pgid, marker)):
            continue
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        except PermissionError as e:
            raise Fail(f"cannot signal {what} (pgid {pgid}): {e}")
        live[pgid] = what

    def gone(pgid: int, zombies: bool) -> bool:
        try:  # reap it ourselves if it is our child (start's failure path)
            os.waitpid(pgid, os.WNOHANG)
        except ChildProcessError:
            pass
        return not group_members(pgid, zombies=zombies)

    deadline = time.monotonic() + STOP_GRACE
    while time.monotonic() < deadline and not all(gone(g, False) for g in live):
        time.sleep(0.05)
    for pgid, what in live.items():
        if not gone(pgid, False):
            log(f"{what} (pgid {pgid}) ignored SIGTERM for {STOP_GRACE:.0f}s; SIGKILL")
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    # Detached servers are reaped by init, not by us: give it a moment so that
    # `pgrep` right after `stop` does not still list zombies.
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and not all(gone(g, True) for g in live):
        time.sleep(0.05)
    return [f"{what} (pid {pgid})" for pgid, what in live.items()]


def reap(proc: subprocess.Popen | None) -> None:
    if proc is not None:
        try:
            proc.wait(timeout=0)
        except subprocess.TimeoutExpired:
            pass


# --------------------------------------------------------------------------
# start / stop


def start_moto(sd: Path, deadline: float) -> tuple[subprocess.Popen, int]:
    exe = find_bin("moto_server", "SK_MOTO_SERVER_BIN")
    logfile = sd / "moto.log"
    for attempt in range(1, START_ATTEMPTS + 1):
        port = free_port()
        proc = spawn([exe, "-H", "127.0.0.1", "-p", str(port)], logfile, sd, child_env())
        (sd / "moto.pid").write_text(f"{proc.pid}\n")
        try:
            wait_ready("moto_server", proc, f"http://127.0.0.1:{port}/moto-api/",
                       lambda s, b: s == 200, logfile, deadline)
            return proc, port
        except Fail:
            kill_groups([(proc.pid, None, "moto_server")])
            reap(proc)
            if attempt == START_ATTEMPTS or time.monotonic() >= deadline:
                raise
            log(f"moto_server failed on port {port}, retrying")
    raise AssertionError("unreachable")


def start_bao(sd: Path, token: str, deadline: float) -> tuple[subprocess.Popen, int]:
    exe = find_bin("bao", "SK_BAO_BIN")
    logfile = sd / "bao.log"
    env = child_env()
    env["HOME"] = str(sd)  # token helper etc. stay inside the state dir
    for attempt in range(1, START_ATTEMPTS + 1):
        port = free_port(also_next=True)  # dev mode binds the cluster listener on port+1
        argv = [exe, "server", "-dev", "-dev-no-store-token",
                f"-dev-root-token-id={token}", f"-dev-listen-address=127.0.0.1:{port}"]
        proc = spawn(argv, logfile, sd, env)
        (sd / "bao.pid").write_text(f"{proc.pid}\n")
        try:
            wait_ready("openbao", proc, f"http://127.0.0.1:{port}/v1/sys/health",
                       lambda s, b: s == 200, logfile, deadline)
            return proc, port
        except Fail:
            kill_groups([(proc.pid, None, "openbao")])
            reap(proc)
            if attempt == START_ATTEMPTS or time.monotonic() >= deadline:
                raise
            log(f"openbao failed on port {port}, retrying")
    raise AssertionError("unreachable")


def running_from(env_file: Path) -> list[str]:
    env = read_env(env_file)
    sd = state_dir(env_file)
    alive = []
    for key, pidfile, marker in (("SK_MOTO_PID", "moto.pid", MOTO_MARK), ("SK_BAO_PID", "bao.pid", BAO_MARK)):
        for raw in (env.get(key, ""), (sd / pidfile).read_text().strip() if (sd / pidfile).exists() else ""):
            if raw.isdigit() and ours(int(raw), marker):
                alive.append(f"{key}={raw}")
    return sorted(set(alive))


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def cmd_start(env_file: Path, fixtures: bool) -> None:
    t0 = time.monotonic()
    signal.signal(signal.SIGTERM, _interrupt)  # clean up what we started
    alive = running_from(env_file)
    if alive:
        raise Fail(f"{env_file} already has running servers ({', '.join(alive)}); run `stop --env-file {env_file}` first")
    sd = state_dir(env_file)
    sd.mkdir(parents=True, exist_ok=True)
    for f in ("moto.log", "bao.log"):
        (sd / f).write_bytes(b"")
    token = "sk-dev-" + secrets.token_hex(16)
    deadline = time.monotonic() + READY_TIMEOUT
    moto = bao = None
    try:
        moto, moto_port = start_moto(sd, deadline)
        log(f"moto on 127.0.0.1:{moto_port} (pid {moto.pid}, log {sd / 'moto.log'})")
        bao, bao_port = start_bao(sd, token, deadline)
        log(f"openbao on 127.0.0.1:{bao_port} (pid {bao.pid}, log {sd / 'bao.log'})")
        env = {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            # never let an SDK fall back to the instance metadata service
            "AWS_EC2_METADATA_DISABLED": "true",
            "VAULT_ADDR": f"http://127.0.0.1:{bao_port}",
            "VAULT_TOKEN": token,
            "BAO_ADDR": f"http://127.0.0.1:{bao_port}",
            "BAO_TOKEN": token,
            "SK_MOTO_PID": str(moto.pid),
            "SK_BAO_PID": str(bao.pid),
            "SK_STATE_DIR": str(sd),
        }
        env.update(seed(env, fixtures))
        write_env(env_file, env)
    except BaseException:
        started = [(bao, "openbao"), (moto, "moto_server")]
        kill_groups([(p.pid, None, w) for p, w in started if p is not None])
        for p, _ in started:
            reap(p)
        raise
    log(f"ready in {time.monotonic() - t0:.1f}s; env in {env_file} (+ .json)")


def cmd_stop(env_file: Path) -> None:
    env = read_env(env_file)
    sd = state_dir(env_file)
    targets = []
    for key, pidfile, marker, what in (("SK_MOTO_PID", "moto.pid", MOTO_MARK, "moto_server"),
                                       ("SK_BAO_PID", "bao.pid", BAO_MARK, "openbao")):
        pids = {env.get(key, "")}
        if (sd / pidfile).exists():
            pids.add((sd / pidfile).read_text().strip())
        targets += [(int(raw), marker, what) for raw in pids if raw.isdigit()]
    stopped = kill_groups(targets)
    log("stopped " + ", ".join(stopped) if stopped else f"nothing running for {env_file}")


def cmd_seed(env_file: Path, fixtures: bool) -> None:
    env = read_env(env_file)
    if not env.get("AWS_ENDPOINT_URL") or not env.get("VAULT_ADDR"):
        raise Fail(f"{env_file}: no server addresses (start first)")
    env.update(seed(env, fixtures))
    write_env(env_file, env)


# --------------------------------------------------------------------------
# seeding


def aws_clients(env: dict[str, str]):
    import boto3

    kw = dict(endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env.get("AWS_REGION", REGION),
              aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", "testing"),
              aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", "testing"))
    return boto3.client("ssm", **kw), boto3.client("secretsmanager", **kw)


def err_code(e: Exception) -> str:
    return getattr(e, "response", {}).get("Error", {}).get("Code", "")


def ssm_put(ssm, name: str, value: str, type_: str) -> None:
    """Put if missing or different (keeps the version stable on re-seed)."""
    try:
        cur = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
        if cur["Value"] == value and cur["Type"] == type_:
            return
    except Exception as e:
        if err_code(e) != "ParameterNotFound":
            raise
    ssm.put_parameter(Name=name, Value=value, Type=type_, Overwrite=True)


def ssm_versioned(ssm, name: str) -> None:
    """v1 = one (label blue), v2 = two; rebuilt unless exactly that."""
    try:
        hist = []
        kw = {"Name": name, "WithDecryption": True}
        while True:
            page = ssm.get_parameter_history(**kw)
            hist += page["Parameters"]
            if not page.get("NextToken"):
                break
            kw["NextToken"] = page["NextToken"]
        shape = [(h["Version"], h["Value"], sorted(h.get("Labels", []))) for h in hist]
        if shape == [(1, "one", ["blue"]), (2, "two", [])]:
            return
        ssm.delete_parameter(Name=name)
    except Exception as e:
        if err_code(e) != "ParameterNotFound":
            raise
    ssm.put_parameter(Name=name, Value="one", Type="String")
    ssm.put_parameter(Name=name, Value="two", Type="String", Overwrite=True)
    ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=["blue"])


def asm_put(sm, name: str, **value) -> None:
    """Create, or put a new AWSCURRENT value if it differs."""
    try:
        cur = sm.get_secret_value(SecretId=name)
        if all(cur.get(k) == v for k, v in value.items()):
            return
        sm.put_secret_value(SecretId=name, **value)
    except Exception as e:
        if err_code(e) != "ResourceNotFoundException":
            raise
        sm.create_secret(Name=name, **value)


def asm_staged(sm, name: str) -> tuple[str, str]:
    """AWSPREVIOUS = {"v":"1"}, AWSCURRENT = {"v":"2"}; returns (v1 id, v2 id)."""
    v1, v2 = '{"v":"1"}', '{"v":"2"}'
    try:
        prev = sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
        cur = sm.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")
        if prev["SecretString"] == v1 and cur["SecretString"] == v2:
            return prev["VersionId"], cur["VersionId"]
        sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    except Exception as e:
        if err_code(e) != "ResourceNotFoundException":
            raise
    id1 = sm.create_secret(Name=name, SecretString=v1)["VersionId"]
    id2 = sm.put_secret_value(SecretId=name, SecretString=v2)["VersionId"]
    return id1, id2


def vault(env: dict[str, str], method: str, path: str, body=None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(env["VAULT_ADDR"] + "/v1/" + path, data=data, method=method,
                                 headers={"X-Vault-Token": env["VAULT_TOKEN"],
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    try:
        doc = json.loads(raw) if raw else {}
    except ValueError:
        doc = {"raw": raw.decode(errors="replace")}
    return status, doc


def vault_ok(env, method, path, body=None, allow=(200, 204)) -> dict:
    status, doc = vault(env, method, path, body)
    if status not in allow:
        raise Fail(f"vault {method} /v1/{path}: HTTP {status} {doc}")
    return doc


def kv2_put(env, mount: str, path: str, data: dict) -> None:
    """Write unless already current; a missing or different secret is rebuilt at version 1."""
    status, doc = vault(env, "GET", f"{mount}/data/{path}")
    if status == 200 and (doc.get("data") or {}).get("data") == data:
        return
    vault_ok(env, "DELETE", f"{mount}/metadata/{path}")
    vault_ok(env, "POST", f"{mount}/data/{path}", {"data": data})


def kv2_versioned(env, mount: str, path: str, versions: list[dict]) -> None:
    status, meta = vault(env, "GET", f"{mount}/metadata/{path}")
    if status == 200 and meta["data"].get("current_version") == len(versions):
        same = True
        for i, want in enumerate(versions, 1):
            s, d = vault(env, "GET", f"{mount}/data/{path}?version={i}")
            same = same and s == 200 and (d.get("data") or {}).get("data") == want
        if same:
            return
    vault_ok(env, "DELETE", f"{mount}/metadata/{path}")
    for data in versions:
        vault_ok(env, "POST", f"{mount}/data/{path}", {"data": data})


def seed(env: dict[str, str], fixtures: bool) -> dict[str, str]:
    """Seed examples (+ fixtures); returns env variables to record."""
    out: dict[str, str] = {}
    ssm, sm = aws_clients(env)

    ssm_put(ssm, *SSM_DB_PASSWORD, "SecureString")
    asm_put(sm, ASM_DB_CREDENTIALS[0], SecretString=ASM_DB_CREDENTIALS[1])
    kv2_put(env, "secret", *VAULT_CONFIG)
    log(f"seeded examples: ssm {SSM_DB_PASSWORD[0]}, secretsmanager {ASM_DB_CREDENTIALS[0]}, "
        f"vault secret/{VAULT_CONFIG[0]}")
    if not fixtures:
        out["SK_FIXTURES"] = env.get("SK_FIXTURES", "0")
        return out

    ssm_put(ssm, "/test/plain", "hello", "String")
    ssm_versioned(ssm, "/test/versioned")

    asm_put(sm, "test/plain-text", SecretString="not json")
    asm_put(sm, "test/binary", SecretBinary=b"\xff\x00\x01binary")
    id1, id2 = asm_staged(sm, "test/staged")
    out["SK_TEST_ASM_STAGED_V1"] = id1
    out["SK_TEST_ASM_STAGED_V2"] = id2

    mounts = vault_ok(env, "GET", "sys/mounts")
    mounts = mounts.get("data", mounts)
    if "kv1/" not in mounts:
        vault_ok(env, "POST", "sys/mounts/kv1", {"type": "kv", "options": {"version": "1"}})
    elif (mounts["kv1/"].get("options") or {}).get("version", "1") != "1":
        raise Fail("vault mount kv1/ exists but is not KV v1")
    status, cur = vault(env, "GET", "kv1/app")
    if status != 200 or cur.get("data") != {"token": "v1-token"}:
        vault_ok(env, "POST", "kv1/app", {"token": "v1-token"})
    kv2_versioned(env, "secret", "test/versioned", [{"n": "1"}, {"n": "2"}])
    log("seeded fixtures: ssm /test/plain /test/versioned; secretsmanager test/plain-text test/binary "
        "test/staged; vault kv1/app secret/test/versioned")
    out["SK_FIXTURES"] = "1"
    return out


# --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("start", "seed", "stop"):
        p = sub.add_parser(name)
        p.add_argument("--env-file", required=True, type=Path)
        if name != "stop":
            p.add_argument("--fixtures", action="store_true", help="also seed the test fixtures (tests/fixtures.md)")
    args = ap.parse_args(argv)
    env_file = args.env_file.resolve()
    try:
        if args.cmd == "start":
            cmd_start(env_file, args.fixtures)
        elif args.cmd == "seed":
            cmd_seed(env_file, args.fixtures)
        else:
            cmd_stop(env_file)
    except Fail as e:
        log(f"ERROR: {e}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
