#!/usr/bin/env python3
"""Start, seed and stop the real servers the integration tests talk to.

    .venv/bin/python tests/servers.py start --env-file PATH [--fixtures] [--vault-lifecycle ...]
    .venv/bin/python tests/servers.py seed  --env-file PATH [--fixtures] [--vault-lifecycle ...]
    .venv/bin/python tests/servers.py stop  --env-file PATH

`start` launches moto's server (AWS SSM + Secrets Manager) and an OpenBao dev
server (Vault API) on free loopback ports, detached in their own sessions,
waits for both, seeds the example secrets (and with --fixtures the test
fixtures described in tests/fixtures.md), and writes PATH (shell `export`
lines) and PATH.json.  Logs and pid files live in PATH.state/.

`stop` terminates both process groups; it is idempotent and never fails when
they are already gone.  `seed` re-seeds running servers; it is idempotent
(values already in place are left alone, so versions stay as documented).

With --vault-lifecycle, `start` also runs a private PostgreSQL (Debian's
packages, scripts/install-postgres.sh; as the `postgres` user, scram-sha-256
password auth) and configures OpenBao's database secrets engine on it, AppRole
auth and a short-lived token, for the lease / renewal / revocation tests
(tests/fixtures.md, "Vault lifecycle").  `stop` stops that PostgreSQL too.

Binaries come from the venv this script runs under (scripts/install-deps.sh);
override with SK_MOTO_SERVER_BIN / SK_BAO_BIN (and SK_PG_BIN_DIR for the
PostgreSQL bin directory).  Only stdlib + boto3.

--fixtures also plants the leak canary (RELIABILITY.md, "Leak canary"): one
random value, `canary-<32 hex>`, taken from $SK_CANARY (scripts/test.sh makes a
fresh one per run) or else generated, stored as an SSM SecureString, a Secrets
Manager secret (plain, and as the `password` field of a JSON secret), a Vault
KV v2 field and a 0600 file in the state dir; SK_CANARY (the value, which is
also what `env:SK_CANARY` reads) and SK_CANARY_SSM/_ASM/_ASM_JSON/_VAULT/_ENV/
_FILE (the references) go into the env file.  It is never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
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

# --vault-lifecycle: PostgreSQL driven by OpenBao's database secrets engine.
PG_HOST = "127.0.0.1"
PG_ADMIN = "vaultadmin"
PG_DB = "myapp"
PG_READERS = "app_readers"
PG_ITEMS = [(1, "apple"), (2, "banana"), (3, "cherry")]
DB_CONNECTION = "myapp"  # database/config/<name>
DB_ROLE = "myapp-readonly"
DB_ROLE_LONG = ("myapp-long", 60, 600)
DB_CREATION = (f'CREATE ROLE "{{{{name}}}}" WITH LOGIN PASSWORD \'{{{{password}}}}\' '
               f"VALID UNTIL '{{{{expiration}}}}' IN ROLE {PG_READERS};")
APPROLE = "myapp"
POLICY = "myapp"
POLICY_HCL = """\
path "database/creds/*"         { capabilities = ["read"] }
path "secret/data/myapp/*"      { capabilities = ["read"] }
path "sys/leases/renew"         { capabilities = ["update"] }
path "sys/leases/revoke"        { capabilities = ["update"] }
path "auth/token/renew-self"    { capabilities = ["update"] }
path "auth/token/lookup-self"   { capabilities = ["read"] }
"""
SHORT_TOKEN = {"policies": [POLICY], "ttl": "15s", "explicit_max_ttl": "45s", "renewable": True}
# flag: (env variable, default seconds)
LIFECYCLE_TTLS = {
    "db_default_ttl": ("SK_DB_DEFAULT_TTL", 10),
    "db_max_ttl": ("SK_DB_MAX_TTL", 30),
    "approle_token_ttl": ("SK_APPROLE_TOKEN_TTL", 20),
    "approle_token_max_ttl": ("SK_APPROLE_TOKEN_MAX_TTL", 60),
}


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
    env.pop("SK_CANARY", None)  # the servers get the canary through their APIs only
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
# PostgreSQL (--vault-lifecycle)
#
# A private cluster in STATE/pg/ (owned by the postgres OS user: PostgreSQL
# refuses to run as root): data/ (wiped by the next start), run/ (the Unix
# socket), postgres.log.  pg_ctl detaches the postmaster with setsid(), so its
# pid is also its process group.  It is ours when its executable is `postgres`
# and its working directory (the postmaster chdirs to its data directory) or
# its `-D` argument is our data directory.


def pg_bindir() -> Path:
    if os.environ.get("SK_PG_BIN_DIR"):
        d = Path(os.environ["SK_PG_BIN_DIR"])
        if not (d / "initdb").exists():
            raise Fail(f"SK_PG_BIN_DIR={d} has no initdb")
        return d

    def version(d: Path) -> tuple:
        v = d.parent.name
        return tuple(int(x) if x.isdigit() else 0 for x in v.split("."))

    found = sorted((d.parent for d in Path("/usr/lib/postgresql").glob("*/bin/initdb")), key=version)
    if not found:
        raise Fail("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin: "
                   "run scripts/install-postgres.sh (as root), or set SK_PG_BIN_DIR")
    return found[-1]


def pg_paths(sd: Path) -> dict[str, Path]:
    root = sd / "pg"
    return {"root": root, "data": root / "data", "run": root / "run", "log": root / "postgres.log",
            "ctl_log": sd / "pg_ctl.log", "pid": sd / "pg.pid", "sockref": sd / "pg-socket-dir"}


def as_postgres(argv: list[str]) -> list[str]:
    import pwd

    try:
        pg_uid = pwd.getpwnam("postgres").pw_uid
    except KeyError:
        raise Fail("no `postgres` OS user: run scripts/install-postgres.sh (as root)")
    if os.geteuid() == pg_uid:
        return argv
    if os.geteuid() != 0:
        raise Fail("--vault-lifecycle runs PostgreSQL as the `postgres` user: run as root (or as postgres)")
    return ["runuser", "-u", "postgres", "--"] + argv


def pg_env(password: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in child_env().items() if not k.startswith("PG")}
    env["PGCONNECT_TIMEOUT"] = "3"
    if password is not None:
        env["PGPASSWORD"] = password
    return env


def pg_is_ours(pid: int, data: Path) -> bool:
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if not args or Path(args[0].decode(errors="replace")).name != "postgres":
            return False
        if str(data).encode() in args:
            return True
        return os.readlink(f"/proc/{pid}/cwd") == str(data)
    except OSError:
        return False


def pg_postmasters(env: dict[str, str], sd: Path) -> list[int]:
    """Live postmasters of this state dir (from the env file, STATE/pg.pid, postmaster.pid)."""
    p = pg_paths(sd)
    raws = {env.get("SK_PG_PID", "")}
    for f in (p["pid"], p["data"] / "postmaster.pid"):
        try:
            raws.add(f.read_text().split("\n", 1)[0].strip())
        except OSError:
            pass
    return sorted({int(r) for r in raws if r.isdigit() and int(r) > 1 and pg_is_ours(int(r), p["data"])})


def stop_pg(env: dict[str, str], sd: Path) -> list[str]:
    """pg_ctl stop -m fast (as postgres); signals if that does not do it.  Idempotent."""
    p = pg_paths(sd)
    stopped = []
    for pid in pg_postmasters(env, sd):
        try:
            pg_ctl = str(Path(os.readlink(f"/proc/{pid}/exe")).with_name("pg_ctl"))
        except OSError:
            pg_ctl = "pg_ctl"
        try:
            with open(p["ctl_log"], "ab") as out:
                subprocess.run(as_postgres([pg_ctl, "stop", "-D", str(p["data"]), "-m", "fast", "-w", "-t", "10"]),
                               stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                               cwd="/", env=pg_env(), timeout=15)
        except (OSError, subprocess.SubprocessError, Fail) as e:
            log(f"pg_ctl stop failed ({e}); signalling postgresql (pid {pid})")
        if pg_is_ours(pid, p["data"]):
            kill_groups([(pid, str(p["data"]), "postgresql")])
        deadline = time.monotonic() + 5.0  # until init has reaped it
        while time.monotonic() < deadline and group_members(pid, zombies=True):
            time.sleep(0.05)
        stopped.append(f"postgresql (pid {pid})")
    if not pg_postmasters(env, sd):
        try:  # a socket directory outside the state dir (long state paths), see start_pg
            extra = Path(p["sockref"].read_text().strip())
            if extra.name.startswith("sk-pg-") and extra.parent == Path("/tmp"):
                shutil.rmtree(extra, ignore_errors=True)
            p["sockref"].unlink()
        except OSError:
            pass
    return stopped


def psql(bindir: Path, port: int, password: str, db: str, sql: str, user: str = PG_ADMIN) -> str:
    r = subprocess.run([str(bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                        "-h", PG_HOST, "-p", str(port), "-U", user, "-d", db, "-f", "-"],
                       input=sql, capture_output=True, text=True, env=pg_env(password), timeout=30)
    if r.returncode != 0:
        raise Fail(f"psql {user}@{db}: {r.stderr.strip() or r.stdout.strip()}")
    return r.stdout


def start_pg(sd: Path, deadline: float, abort: threading.Event) -> tuple[int, int, str, Path]:
    """initdb + pg_ctl start on a free port; returns (postmaster pid, port, admin password, bindir)."""
    import pwd

    bindir = pg_bindir()
    p = pg_paths(sd)
    pw = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
    if pg_postmasters({}, sd):
        raise Fail(f"a PostgreSQL is still running from {p['data']}; run `stop` first")
    shutil.rmtree(p["root"], ignore_errors=True)
    p["run"].mkdir(parents=True)
    sockdir = p["run"]
    if len(str(sockdir)) + len("/.s.PGSQL.65535") >= 100:  # sun_path limit (107 bytes)
        import tempfile

        sockdir = Path(tempfile.mkdtemp(prefix="sk-pg-", dir="/tmp"))
        p["sockref"].write_text(f"{sockdir}\n")
    password = secrets.token_hex(16)
    pwfile = p["root"] / "pwfile"
    pwfile.write_text(password + "\n")
    os.chmod(pwfile, 0o600)
    for f in (p["log"], p["ctl_log"]):
        f.write_bytes(b"")
    if pw is not None:
        for d in (p["root"], p["run"], pwfile, p["log"], sockdir):
            os.chown(d, pw.pw_uid, pw.pw_gid)
    r = subprocess.run(as_postgres(["test", "-w", str(p["root"]), "-a", "-w", str(sockdir)]), cwd="/")
    if r.returncode != 0:
        raise Fail(f"the postgres user cannot write {p['root']}: every parent directory of the env file "
                   f"must be searchable by it (e.g. use an env file under target/ or /tmp)")

    def run_pg(argv: list[str], timeout: float) -> int:
        with open(p["ctl_log"], "ab") as out:
            out.write(f"$ {shlex.join(argv)}\n".encode())
            out.flush()
            return subprocess.run(as_postgres(argv), stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT, cwd=str(p["root"]), env=pg_env(),
                                  timeout=max(timeout, 1.0)).returncode

    def failed(what: str) -> Fail:
        return Fail(f"postgresql: {what}; log {p['ctl_log']}:\n{log_tail(p['ctl_log'])}\n"
                    f"log {p['log']}:\n{log_tail(p['log'])}")

    try:
        rc = run_pg([str(bindir / "initdb"), "-D", str(p["data"]), "-U", PG_ADMIN, f"--pwfile={pwfile}",
                     "--auth-host=scram-sha-256", "--auth-local=scram-sha-256",
                     "-E", "UTF8", "--locale=C", "--no-sync"], deadline - time.monotonic())
    except subprocess.TimeoutExpired:
        rc = -1
    finally:
        pwfile.unlink()
    if rc != 0:
        raise failed(f"initdb exited with status {rc}")
    for attempt in range(1, START_ATTEMPTS + 1):
        if abort.is_set():
            raise Fail("postgresql: start aborted")
        port = free_port()
        opts = (f"-p {port} -k {shlex.quote(str(sockdir))} -c listen_addresses={PG_HOST} "
                "-c fsync=off -c full_page_writes=off -c synchronous_commit=off")
        remaining = deadline - time.monotonic()
        try:
            rc = run_pg([str(bindir / "pg_ctl"), "start", "-D", str(p["data"]), "-l", str(p["log"]),
                         "-w", "-t", str(max(int(remaining), 1)), "-o", opts], remaining + 5)
        except subprocess.TimeoutExpired:
            rc = -1
        pids = pg_postmasters({}, sd)
        if rc == 0 and pids:
            pid = pids[0]
            p["pid"].write_text(f"{pid}\n")
            last = ""
            while time.monotonic() < deadline and not abort.is_set():  # accepts password logins?
                try:
                    psql(bindir, port, password, "postgres", "SELECT 1;")
                    return pid, port, password, bindir
                except (Fail, subprocess.SubprocessError) as e:
                    last = str(e)
                    time.sleep(0.1)
            stop_pg({}, sd)
            raise failed(f"did not accept connections on {PG_HOST}:{port} ({last or 'aborted'})")
        stop_pg({}, sd)
        if attempt == START_ATTEMPTS or time.monotonic() >= deadline:
            raise failed(f"pg_ctl start exited with status {rc}")
        log(f"postgresql failed on port {port}, retrying")
    raise AssertionError("unreachable")


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
        except BaseException as e:  # Fail, or an interrupt while waiting: do not leave it running
            kill_groups([(proc.pid, None, "moto_server")])
            reap(proc)
            if not isinstance(e, Fail) or attempt == START_ATTEMPTS or time.monotonic() >= deadline:
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
        except BaseException as e:  # Fail, or an interrupt while waiting: do not leave it running
            kill_groups([(proc.pid, None, "openbao")])
            reap(proc)
            if not isinstance(e, Fail) or attempt == START_ATTEMPTS or time.monotonic() >= deadline:
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
    alive += [f"SK_PG_PID={pid}" for pid in pg_postmasters(env, sd)]
    return sorted(set(alive))


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def cmd_start(env_file: Path, fixtures: bool, lifecycle: dict[str, int] | None = None) -> None:
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
    pg_thread, pg_result, pg_abort = None, {}, threading.Event()
    if lifecycle is not None:
        pg_bindir()  # fail early, before anything runs, when PostgreSQL is not installed

        def run() -> None:  # PostgreSQL comes up while moto and bao do
            try:
                pg_result["ok"] = res = start_pg(sd, deadline, pg_abort)
                seed_pg({"SK_PG_PORT": str(res[1]), "SK_PG_ADMIN_PASSWORD": res[2]})
            except BaseException as e:
                pg_result["err"] = e

        pg_thread = threading.Thread(target=run, name="start_pg", daemon=True)
        pg_thread.start()
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
        if pg_thread is not None:
            pg_thread.join(max(deadline - time.monotonic(), 0) + 10)
            if "err" in pg_result:
                raise pg_result["err"]
            if "ok" not in pg_result:
                raise Fail("postgresql did not come up in time")
            pg_pid, pg_port, pg_password, _ = pg_result["ok"]
            log(f"postgresql on {PG_HOST}:{pg_port} (pid {pg_pid}, log {pg_paths(sd)['log']})")
            env.update({
                "SK_PG_HOST": PG_HOST,
                "SK_PG_PORT": str(pg_port),
                "SK_PG_DB": PG_DB,
                "SK_PG_ADMIN_USER": PG_ADMIN,
                "SK_PG_ADMIN_PASSWORD": pg_password,
                "SK_PG_PID": str(pg_pid),
            })
            env.update(seed_lifecycle(env, sd, lifecycle, pg_seeded=True))
        write_env(env_file, env)
    except BaseException:
        started = [(bao, "openbao"), (moto, "moto_server")]
        kill_groups([(p.pid, None, w) for p, w in started if p is not None])
        for p, _ in started:
            reap(p)
        if pg_thread is not None:
            pg_abort.set()
            pg_thread.join(READY_TIMEOUT + 10)
            stop_pg({}, sd)
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
    pg: dict = {}
    pg_thread = None
    if pg_postmasters(env, sd):  # alongside the others: each waits for init to reap its processes

        def run() -> None:
            try:
                pg["stopped"] = stop_pg(env, sd)
            except BaseException as e:
                pg["err"] = e

        pg_thread = threading.Thread(target=run, name="stop_pg", daemon=True)
        pg_thread.start()
    stopped = kill_groups(targets)
    if pg_thread is not None:
        pg_thread.join()
        if "err" in pg:
            raise pg["err"]
        stopped += pg["stopped"]
    log("stopped " + ", ".join(stopped) if stopped else f"nothing running for {env_file}")


def cmd_seed(env_file: Path, fixtures: bool, lifecycle: dict[str, int] | None = None) -> None:
    env = read_env(env_file)
    if not env.get("AWS_ENDPOINT_URL") or not env.get("VAULT_ADDR"):
        raise Fail(f"{env_file}: no server addresses (start first)")
    if lifecycle is not None and not (env.get("SK_PG_PORT") and pg_postmasters(env, state_dir(env_file))):
        raise Fail(f"{env_file}: no PostgreSQL running (start with --vault-lifecycle first)")
    env.update(seed(env, fixtures))
    if lifecycle is not None:
        env.update(seed_lifecycle(env, state_dir(env_file), lifecycle))
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
    out.update(seed_canary(env, ssm, sm))
    out["SK_FIXTURES"] = "1"
    return out


CANARY_FORMAT = re.compile(r"canary-[0-9a-f]{32}")


def seed_canary(env: dict[str, str], ssm, sm) -> dict[str, str]:
    """The leak canary in every backend; returns SK_CANARY and the references.
    Letters, digits and `-` only, so every quoting (JSON, repr, shell, URL)
    leaves it intact and the scan finds it wherever it is copied."""
    canary = os.environ.get("SK_CANARY") or env.get("SK_CANARY") or "canary-" + secrets.token_hex(16)
    if not CANARY_FORMAT.fullmatch(canary):
        raise Fail("SK_CANARY must be `canary-` and 32 lowercase hex digits")
    creds = {"username": "leak-canary", "password": canary}
    ssm_put(ssm, "/test/canary", canary, "SecureString")
    asm_put(sm, "test/canary", SecretString=canary)
    asm_put(sm, "test/canary-json", SecretString=json.dumps(creds))
    kv2_put(env, "secret", "test/canary", creds)
    path = Path(env["SK_STATE_DIR"]) / "canary"
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:  # no newline: file: reads the bytes as they are
        f.write(canary)
    os.replace(tmp, path)
    log("seeded the leak canary (value not shown): ssm /test/canary, secretsmanager test/canary "
        f"test/canary-json, vault secret/test/canary, env SK_CANARY, file {path}")
    return {
        "SK_CANARY": canary,
        "SK_CANARY_SSM": "ssm:/test/canary",
        "SK_CANARY_ASM": "asm:test/canary",
        "SK_CANARY_ASM_JSON": "asm:test/canary-json#password",
        "SK_CANARY_VAULT": "vault:secret/test/canary#password",
        "SK_CANARY_ENV": "env:SK_CANARY",
        "SK_CANARY_FILE": f"file:{path}",
    }


def write_secret_file(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text + "\n")
    os.replace(tmp, path)


def sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def seed_pg(env: dict[str, str]) -> None:
    """Database myapp, group role app_readers, table items (3 rows) readable by it."""
    bindir, port, pw = pg_bindir(), int(env["SK_PG_PORT"]), env["SK_PG_ADMIN_PASSWORD"]
    psql(bindir, port, pw, "postgres", f"""
SELECT 'CREATE DATABASE {PG_DB}' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = {sql_str(PG_DB)})\\gexec
DO $$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {sql_str(PG_READERS)}) THEN
    CREATE ROLE {PG_READERS} NOLOGIN;
  END IF;
END$$;
""")
    rows = ", ".join(f"({i}, {sql_str(n)})" for i, n in PG_ITEMS)
    ids = ", ".join(str(i) for i, _ in PG_ITEMS)
    psql(bindir, port, pw, PG_DB, f"""
CREATE TABLE IF NOT EXISTS items (id integer PRIMARY KEY, name text NOT NULL);
DELETE FROM items WHERE id NOT IN ({ids});
INSERT INTO items (id, name) VALUES {rows}
  ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name WHERE items.name IS DISTINCT FROM EXCLUDED.name;
GRANT CONNECT ON DATABASE {PG_DB} TO {PG_READERS};
GRANT USAGE ON SCHEMA public TO {PG_READERS};
GRANT SELECT ON items TO {PG_READERS};
""")


def seed_lifecycle(env: dict[str, str], sd: Path, ttls: dict[str, int], pg_seeded: bool = False) -> dict[str, str]:
    """PostgreSQL objects, then OpenBao: database engine + roles, AppRole, policy, a short token.
    Idempotent (writes are overwrites); the secret id is kept while valid, the short token is new."""
    if not pg_seeded:
        seed_pg(env)
    out: dict[str, str] = {}

    mounts = vault_ok(env, "GET", "sys/mounts")
    mounts = mounts.get("data", mounts)
    if "database/" not in mounts:
        vault_ok(env, "POST", "sys/mounts/database", {"type": "database"})
    elif mounts["database/"].get("type") != "database":
        raise Fail("vault mount database/ exists but is not the database secrets engine")
    vault_ok(env, "POST", f"database/config/{DB_CONNECTION}", {
        "plugin_name": "postgresql-database-plugin",
        "connection_url": f"postgresql://{{{{username}}}}:{{{{password}}}}@{PG_HOST}:{env['SK_PG_PORT']}/{PG_DB}"
                          "?sslmode=disable",
        "username": env["SK_PG_ADMIN_USER"],
        "password": env["SK_PG_ADMIN_PASSWORD"],
        "allowed_roles": "*",
    })
    for role, default_ttl, max_ttl in ((DB_ROLE, ttls["db_default_ttl"], ttls["db_max_ttl"]), DB_ROLE_LONG):
        vault_ok(env, "POST", f"database/roles/{role}", {
            "db_name": DB_CONNECTION,
            "creation_statements": [DB_CREATION],
            "default_ttl": default_ttl,
            "max_ttl": max_ttl,
        })

    auths = vault_ok(env, "GET", "sys/auth")
    auths = auths.get("data", auths)
    if "approle/" not in auths:
        vault_ok(env, "POST", "sys/auth/approle", {"type": "approle"})
    elif auths["approle/"].get("type") != "approle":
        raise Fail("vault auth mount approle/ exists but is not AppRole")
    vault_ok(env, "PUT", f"sys/policies/acl/{POLICY}", {"policy": POLICY_HCL})
    vault_ok(env, "POST", f"auth/approle/role/{APPROLE}", {
        "token_policies": [POLICY],
        "token_ttl": ttls["approle_token_ttl"],
        "token_max_ttl": ttls["approle_token_max_ttl"],
        "secret_id_ttl": 0,
    })
    role_id = vault_ok(env, "GET", f"auth/approle/role/{APPROLE}/role-id")["data"]["role_id"]
    sid_file = sd / "secret-id"
    secret_id = sid_file.read_text().strip() if sid_file.exists() else ""
    if secret_id:
        status, doc = vault(env, "POST", f"auth/approle/role/{APPROLE}/secret-id/lookup", {"secret_id": secret_id})
        if status != 200 or not doc.get("data"):
            secret_id = ""
    if not secret_id:
        secret_id = vault_ok(env, "POST", f"auth/approle/role/{APPROLE}/secret-id", {})["data"]["secret_id"]
    short = vault_ok(env, "POST", "auth/token/create", SHORT_TOKEN)["auth"]["client_token"]
    write_secret_file(sd / "role-id", role_id)
    write_secret_file(sid_file, secret_id)
    write_secret_file(sd / "short-token", short)
    log(f"seeded vault lifecycle: database/roles/{DB_ROLE} (ttl {ttls['db_default_ttl']}s, "
        f"max {ttls['db_max_ttl']}s), database/roles/{DB_ROLE_LONG[0]}, auth/approle/role/{APPROLE}, "
        f"short token (ttl 15s, max 45s)")
    out.update({
        "SK_VAULT_DB_ROLE": DB_ROLE,
        "SK_APPROLE_ROLE_ID_FILE": str(sd / "role-id"),
        "SK_APPROLE_SECRET_ID_FILE": str(sid_file),
        "SK_SHORT_TOKEN_FILE": str(sd / "short-token"),
    })
    out.update({var: str(ttls[key]) for key, (var, _) in LIFECYCLE_TTLS.items()})
    return out


def parse_ttl(text: str) -> int:
    """Seconds from `10`, `10s`, `5m` or `1h`."""
    t = text.strip().lower()
    mult = {"s": 1, "m": 60, "h": 3600}.get(t[-1:], None)
    num = t[:-1] if mult else t
    if not num.isdigit() or int(num) <= 0:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use e.g. 10, 10s, 5m)")
    return int(num) * (mult or 1)


def lifecycle_ttls(args, env_file: Path) -> dict[str, int] | None:
    """The TTLs for --vault-lifecycle: flag, else the env file's (a re-seed keeps them), else default."""
    given = [k for k in LIFECYCLE_TTLS if getattr(args, k, None) is not None]
    if not getattr(args, "vault_lifecycle", False):
        if given:
            raise Fail("--" + given[0].replace("_", "-") + " needs --vault-lifecycle")
        return None
    env = read_env(env_file) if args.cmd == "seed" else {}
    ttls = {}
    for key, (var, default) in LIFECYCLE_TTLS.items():
        val = getattr(args, key)
        if val is None:
            val = int(env[var]) if env.get(var, "").isdigit() else default
        ttls[key] = val
    for lo, hi in (("db_default_ttl", "db_max_ttl"), ("approle_token_ttl", "approle_token_max_ttl")):
        if ttls[lo] > ttls[hi]:
            raise Fail(f"--{lo.replace('_', '-')} ({ttls[lo]}s) exceeds --{hi.replace('_', '-')} ({ttls[hi]}s)")
    return ttls


# --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("start", "seed", "stop"):
        p = sub.add_parser(name)
        p.add_argument("--env-file", required=True, type=Path)
        if name != "stop":
            p.add_argument("--fixtures", action="store_true", help="also seed the test fixtures (tests/fixtures.md)")
            p.add_argument("--vault-lifecycle", action="store_true",
                           help="also run PostgreSQL and set up OpenBao's database engine, AppRole and a "
                                "short-lived token (tests/fixtures.md, Vault lifecycle)")
            for flag, what in (("--db-default-ttl", "default_ttl of database/roles/" + DB_ROLE),
                               ("--db-max-ttl", "max_ttl of database/roles/" + DB_ROLE),
                               ("--approle-token-ttl", f"token_ttl of AppRole role {APPROLE}"),
                               ("--approle-token-max-ttl", f"token_max_ttl of AppRole role {APPROLE}")):
                key = flag[2:].replace("-", "_")
                p.add_argument(flag, type=parse_ttl, default=None, metavar="SECONDS",
                               help=f"{what} (default {LIFECYCLE_TTLS[key][1]}s; needs --vault-lifecycle)")
    args = ap.parse_args(argv)
    env_file = args.env_file.resolve()
    try:
        if args.cmd == "start":
            cmd_start(env_file, args.fixtures, lifecycle_ttls(args, env_file))
        elif args.cmd == "seed":
            cmd_seed(env_file, args.fixtures, lifecycle_ttls(args, env_file))
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
