"""Fork safety: a child process works as if it had imported secretkit itself.

gunicorn --preload, Celery's prefork pool, uWSGI and multiprocessing's
'fork' start method build the client (and start the runtime) in a parent
and use it in forked children, which inherit memory but no threads. Every
child here runs under a deadline, so a hang fails the test instead of
stalling the suite.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port, get_json, wait_until

from secretkit import Client, SecretkitError

DB_PASSWORD = "s3cureP@ssw0rd!"
SSM_PASSWORD = "ssm:/prod/myapp/db-password"
ASM_PASSWORD = "asm:prod/myapp/db-credentials#password"
ASM_USERNAME = "asm:prod/myapp/db-credentials#username"
VAULT_API_KEY = "vault:secret/myapp/config#api_key"
HERE = Path(__file__).resolve().parent

FORK = multiprocessing.get_context("fork")


class ChildFailed(AssertionError):
    pass


def _run_child(conn: Any, target: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        conn.send(("ok", target(*args)))
    except BaseException as e:
        conn.send(("error", f"{type(e).__name__}: {e}\n{traceback.format_exc()}"))
        raise


def forked(
    target: Callable[..., Any], *arg_lists: tuple[Any, ...], timeout: float = 60
) -> list[Any]:
    """Run `target(*args)` in one forked child per entry of `arg_lists`, all
    at once; their return values, in order. A child that raises, exits
    non-zero or is still running after `timeout` seconds fails the test."""
    children = []
    for args in arg_lists:
        mine, theirs = FORK.Pipe(duplex=False)
        process = FORK.Process(target=_run_child, args=(theirs, target, args), daemon=True)
        process.start()
        theirs.close()
        children.append((process, mine))
    deadline = time.monotonic() + timeout
    results, problems = [], []
    for i, (process, conn) in enumerate(children):
        left = max(0.0, deadline - time.monotonic())
        if conn.poll(left):
            status, value = conn.recv()
        else:
            status, value = "hung", f"no answer within {timeout} s"
        process.join(max(0.0, deadline - time.monotonic()) + 5)
        if process.is_alive():
            process.kill()
            process.join(5)
            problems.append(f"child {i}: still running after {timeout} s ({status}: {value})")
        elif status != "ok":
            problems.append(f"child {i}: {status}: {value}")
        elif process.exitcode != 0:
            problems.append(f"child {i}: exit code {process.exitcode}")
        results.append(value)
    if problems:
        raise ChildFailed("\n".join(problems))
    return results


def aws(servers: dict[str, str], endpoint: str | None = None) -> dict[str, str]:
    return {
        "region": servers["AWS_REGION"],
        "access_key_id": servers["AWS_ACCESS_KEY_ID"],
        "secret_access_key": servers["AWS_SECRET_ACCESS_KEY"],
        "endpoint": endpoint or servers["AWS_ENDPOINT_URL"],
    }


def vault(servers: dict[str, str]) -> dict[str, str]:
    return {"address": servers["VAULT_ADDR"], "token": servers["VAULT_TOKEN"]}


def test_forked_children_read_cached_and_uncached_secrets(
    servers: dict[str, str], ssm: Any, unique: str
) -> None:
    own = [f"ssm:/fork/{unique}/{i}" for i in range(4)]
    for i, ref in enumerate(own):
        ssm.put_parameter(Name=ref[4:], Value=f"child-{i}", Type="SecureString")
    client = Client.from_env()
    events: list[Any] = []  # list.append: no lock a fork could catch held
    client.subscribe(events.append)
    dropped: list[Any] = []
    dropped_id = client.subscribe(dropped.append)
    # The runtime is running and the cache is warm when the children fork.
    assert client.get(SSM_PASSWORD).reveal() == DB_PASSWORD
    assert client.get(ASM_PASSWORD).reveal() == DB_PASSWORD
    wait_until(lambda: len(events) >= 2, what="the parent's created events")
    wait_until(lambda: len(dropped) == len(events), what="the same events for both callbacks")

    def child(i: int) -> dict[str, Any]:
        dropped_before = len(dropped)
        client.unsubscribe(dropped_id)  # the id the parent was given
        out = {
            "cached_ssm": client.get(SSM_PASSWORD).reveal(),
            "cached_asm": client.get(ASM_PASSWORD).reveal(),
            "vault": client.get(VAULT_API_KEY).reveal(),
            "own": client.get(own[i]).reveal(),
            "async": asyncio.run(client.get_async(ASM_USERNAME)).reveal(),
            "many": [s.reveal() for s in client.get_many([SSM_PASSWORD, VAULT_API_KEY])],
            "stats": client.stats(),
            "fresh_client": Client.from_env().get(own[i]).reveal(),
        }
        # The subscription made in the parent hears the child's own reads.
        wait_until(
            lambda: any(e.kind == "created" and e.reference == own[i] for e in events),
            what=f"a created event for {own[i]} in the child",
        )
        out["dropped_events"] = len(dropped) - dropped_before
        return out

    results = forked(child, *[(i,) for i in range(4)], timeout=60)
    for i, out in enumerate(results):
        assert out["cached_ssm"] == out["cached_asm"] == DB_PASSWORD
        assert out["vault"] == "sk-abc123"
        assert out["own"] == out["fresh_client"] == f"child-{i}"
        assert out["async"] == "app_user"
        assert out["many"] == [DB_PASSWORD, "sk-abc123"]
        # A fresh client in the child: the parent's cached SSM read was read
        # again (with the child's own parameter, two calls), and the counters
        # start from zero.
        assert out["stats"]["backend_calls"]["ssm"] == 2, out["stats"]
        assert out["stats"]["backend_calls"]["asm"] == 1, out["stats"]
        assert out["dropped_events"] == 0
    # The parent goes on with its own cache and runtime.
    before = client.stats()
    assert client.get(SSM_PASSWORD).reveal() == DB_PASSWORD
    assert client.get(own[0]).reveal() == "child-0"
    assert asyncio.run(client.get_async(VAULT_API_KEY)).reveal() == "sk-abc123"
    after = client.stats()
    assert after["backend_calls"]["ssm"] == before["backend_calls"]["ssm"] + 1
    assert after["hits"] > before["hits"]
    wait_until(
        lambda: any(e.kind == "created" and e.reference == own[0] for e in events),
        what="the parent's own created event",
    )


def test_child_forked_while_a_read_is_in_flight(servers: dict[str, str], silent_port: int) -> None:
    # One client whose AWS endpoint never answers (its Vault is real), and
    # a read on it under way in a thread when the process forks.
    silent = f"http://127.0.0.1:{silent_port}"
    stuck = Client(aws=aws(servers, silent), vault=vault(servers), timeout=1)
    real = Client.from_env()
    assert real.get(SSM_PASSWORD).reveal() == DB_PASSWORD
    outcome: dict[str, Any] = {}

    def read() -> None:
        try:
            outcome["value"] = stuck.get(SSM_PASSWORD)
        except SecretkitError as e:
            outcome["error"] = e

    # A daemon: on a broken build the parent's read can hang too (the child
    # registers its sockets in the epoll instance it shares with the parent).
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(0.3)  # connected, waiting for an answer that never comes

    def child() -> dict[str, Any]:
        started = time.monotonic()
        out: dict[str, Any] = {
            "vault": stuck.get(VAULT_API_KEY).reveal(),
            "ssm": real.get(SSM_PASSWORD).reveal(),
        }
        try:
            stuck.get(SSM_PASSWORD)
            out["stuck"] = "answered"
        except SecretkitError as e:
            out["stuck"] = type(e).__name__
        out["took"] = time.monotonic() - started
        return out

    [out] = forked(child, (), timeout=45)
    assert out["vault"] == "sk-abc123"
    assert out["ssm"] == DB_PASSWORD
    # The child's own read of the silent endpoint times out like any other.
    assert out["stuck"] in ("TimeoutError", "UnavailableError"), out
    reader.join(30)
    assert not reader.is_alive()
    assert isinstance(outcome.get("error"), SecretkitError), outcome
    assert stuck.get(VAULT_API_KEY).reveal() == "sk-abc123"
    assert real.get(SSM_PASSWORD).reveal() == DB_PASSWORD


class Interrupted(Exception):
    pass


def test_a_wait_in_a_forked_child_can_be_interrupted(
    servers: dict[str, str], silent_port: int
) -> None:
    # A 30 s timeout: only the signal can end the wait early.
    stuck = Client(aws=aws(servers, f"http://127.0.0.1:{silent_port}"), timeout=30)
    real = Client.from_env()
    real.get(SSM_PASSWORD)

    def child() -> float:
        def on_alarm(signum: int, frame: Any) -> None:
            raise Interrupted

        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        started = time.monotonic()
        try:
            stuck.get(SSM_PASSWORD)
        except Interrupted:
            return time.monotonic() - started
        raise AssertionError("the read ended without the signal")

    [took] = forked(child, (), timeout=20)
    assert took < 5, took


LIFECYCLE = ("SK_PG_HOST", "SK_PG_PORT", "SK_PG_DB", "SK_PG_ADMIN_USER", "SK_PG_ADMIN_PASSWORD")


def role_exists(env: dict[str, str], username: str) -> bool:
    assert re.fullmatch(r"[\w-]+", username)  # safe to quote below
    done = subprocess.run(
        [
            "psql",
            "-h",
            env["SK_PG_HOST"],
            "-p",
            env["SK_PG_PORT"],
            "-d",
            env["SK_PG_DB"],
            "-U",
            env["SK_PG_ADMIN_USER"],
            "-tAc",
            f"select count(*) from pg_roles where rolname = '{username}'",
        ],
        env={**os.environ, "PGPASSWORD": env["SK_PG_ADMIN_PASSWORD"], "PGCONNECT_TIMEOUT": "5"},
        capture_output=True,
        text=True,
        timeout=15,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip() == "1"


def test_leases_stay_with_the_process_that_read_them(servers: dict[str, str]) -> None:
    missing = [name for name in LIFECYCLE if not os.environ.get(name)]
    if missing:
        pytest.fail(
            f"lifecycle servers not configured: {missing} unset; start them with "
            "`tests/servers.py start --env-file F --fixtures --vault-lifecycle` and source F"
        )
    role = servers["SK_VAULT_DB_ROLE"]
    client = Client(vault=vault(servers))
    parent = client.database_credentials(role)
    assert role_exists(servers, parent.username)

    def child() -> dict[str, Any]:
        mine = client.database_credentials(role)
        return {
            "username": mine.username,
            "lease": mine.lease["id"] if mine.lease else None,
            "revoked": client.close(),  # the child's lease only
        }

    [out] = forked(child, (), timeout=45)
    assert parent.lease is not None
    # The child read its own credentials: the parent's cache and lease were
    # not carried over ...
    assert out["username"] != parent.username
    assert out["lease"] != parent.lease["id"]
    # ... and closing the child's client revoked only its own lease.
    assert out["revoked"] == 1
    assert not role_exists(servers, out["username"])
    assert role_exists(servers, parent.username)
    # The parent still holds (and finally revokes) exactly its own lease.
    assert client.database_credentials(role).username == parent.username
    assert client.close() == 1
    assert not role_exists(servers, parent.username)


def test_gunicorn_preload_workers(servers: dict[str, str], tmp_path: Path) -> None:
    workers, requests, threads = 4, 2000, 8
    port = free_port()
    log = tmp_path / "gunicorn.log"
    command = [
        sys.executable, "-m", "gunicorn", "--preload",
        "--workers", str(workers), "--worker-class", "sync",
        "--bind", f"127.0.0.1:{port}", "--chdir", str(HERE),
        "--timeout", "20", "--graceful-timeout", "10",
        "fork_app:app",
    ]  # fmt: skip
    with log.open("wb") as out:
        server = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "SK_FORK_APP_TTL": "1s"},
        )
    url = f"http://127.0.0.1:{port}/"
    answers: list[dict[str, Any]] = []
    failures: list[str] = []
    try:
        wait_until(
            lambda: server.poll() is not None or log.read_text().count("Booting worker") >= workers,
            timeout=60,
            what="gunicorn's workers booting",
        )
        assert server.poll() is None, log.read_text()

        def up() -> bool:
            try:
                return get_json(url, 5)[0] == 200
            except OSError:
                return False

        wait_until(up, timeout=30, what="gunicorn answering")
        lock = threading.Lock()
        sent = 0
        # At least `requests` requests and at least 3 s, so the 1 s TTL runs
        # out (and refreshes happen) several times during the load.
        until = time.monotonic() + 3

        def drive() -> None:
            nonlocal sent
            while True:
                with lock:
                    enough = sent >= requests and time.monotonic() > until
                    if enough or len(failures) > 20:
                        return
                    sent += 1
                try:
                    status, body = get_json(url, 10)
                except OSError as e:
                    status, body = 0, {"error": repr(e)}
                with lock:
                    answers.append(body)
                    if status != 200:
                        failures.append(f"{status}: {body}")

        drivers = [threading.Thread(target=drive) for _ in range(threads)]
        for d in drivers:
            d.start()
        for d in drivers:
            d.join(300)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
    text = log.read_text()
    assert not failures, f"{len(failures)} failed requests, e.g. {failures[:3]}\n{text[-3000:]}"
    assert len(answers) >= requests
    pids = {a["pid"] for a in answers}
    assert server.pid not in pids
    assert len(pids) == workers, f"answers from {len(pids)} workers: {pids}"
    # With ?ttl=1s the workers read from the backends again during the load
    # (each worker's own client; the master's warm reads are not counted).
    assert max(a["backend_calls"] for a in answers) > 3
    assert "panicked" not in text and "Traceback" not in text, text[-3000:]
