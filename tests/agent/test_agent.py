"""`secretkit agent` and the `secretkit` CLI against moto and OpenBao.

The requests are the shapes AWS documents for its Parameters and Secrets
extension, made with the standard library (`urllib.request`, `http.client`)
as Lambda functions make them. The agent binary is built by
scripts/build-bindings.sh (SECRETKIT_BIN overrides it). The servers come
from the environment (tests/servers.py's env file); tests fail, never
skip, without them.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import socket
import stat
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest

REPO = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
BIN = Path(os.environ.get("SECRETKIT_BIN", TARGET / "bin" / "secretkit"))
NEEDED = ("AWS_ENDPOINT_URL", "VAULT_ADDR", "VAULT_TOKEN", "SK_VAULT_DB_ROLE")


@pytest.fixture(scope="session")
def servers() -> dict[str, str]:
    missing = [n for n in NEEDED if not os.environ.get(n)]
    if missing:
        pytest.fail(f"servers not configured ({missing} unset): source tests/servers.py's env file")
    if not BIN.exists():
        pytest.fail(f"{BIN} is missing: run scripts/build-bindings.sh")
    return dict(os.environ)


class Agent:
    """A running `secretkit agent` on a free loopback port or a Unix socket."""

    def __init__(self, listen: str, token: str, env: dict[str, str]) -> None:
        self.listen = listen
        self.token = token
        self.proc = subprocess.Popen(
            [str(BIN), "agent", "--listen", listen],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.request("/ping", token=None)[0] == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"the agent did not start: {self.proc.communicate()[0]}")
            time.sleep(0.05)

    def connection(self) -> http.client.HTTPConnection:
        if self.listen.startswith("unix://"):
            return UnixConnection(self.listen.removeprefix("unix://"))
        host, port = self.listen.rsplit(":", 1)
        return http.client.HTTPConnection(host, int(port), timeout=30)

    def request(
        self, path: str, token: str | None = "", headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """GET path; token "" sends the agent's own token, None none at all."""
        sent = dict(headers or {})
        if token is not None:
            sent["X-Aws-Parameters-Secrets-Token"] = token or self.token
        conn = self.connection()
        try:
            conn.request("GET", path, headers=sent)
            response = conn.getresponse()
            body = response.read().decode()
        finally:
            conn.close()
        try:
            return response.status, json.loads(body)
        except ValueError:
            return response.status, body

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=60)
        return self.proc.returncode, out


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(self.path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def agent_env(servers: dict[str, str], token: str) -> dict[str, str]:
    env = {k: v for k, v in servers.items() if not k.startswith("SECRETKIT_")}
    env["SECRETKIT_AGENT_TOKEN"] = token
    return env


@pytest.fixture()
def agent(servers: dict[str, str]) -> Iterator[Agent]:
    token = secrets.token_hex(16)
    a = Agent(f"127.0.0.1:{free_port()}", token, agent_env(servers, token))
    yield a
    if a.proc.poll() is None:
        a.stop()


def q(path: str, **params: str) -> str:
    return f"{path}?{urllib.parse.urlencode(params)}"


def test_parameters_come_back_in_get_parameters_shape(agent: Agent) -> None:
    # The request AWS's extension documentation shows, made with urllib.
    url = f"http://{agent.listen}" + q(
        "/systemsmanager/parameters/get", name="/prod/myapp/db-password", withDecryption="true"
    )
    request = urllib.request.Request(url, headers={"X-Aws-Parameters-Secrets-Token": agent.token})
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    assert body["Parameter"]["Name"] == "/prod/myapp/db-password"
    assert body["Parameter"]["Value"] == "s3cureP@ssw0rd!"
    assert body["Parameter"]["Version"] == 1
    status, body = agent.request(q("/systemsmanager/parameters/get", name="/test/versioned", label="blue"))
    assert (status, body["Parameter"]["Value"], body["Parameter"]["Selector"]) == (200, "one", ":blue")
    status, body = agent.request(q("/systemsmanager/parameters/get", name="/test/versioned", version="2"))
    assert (status, body["Parameter"]["Value"], body["Parameter"]["Version"]) == (200, "two", 2)


def test_secrets_come_back_in_get_secret_value_shape(agent: Agent) -> None:
    status, body = agent.request(q("/secretsmanager/get", secretId="prod/myapp/db-credentials"))
    assert status == 200, body
    assert json.loads(body["SecretString"])["username"] == "app_user"
    assert body["Name"] == "prod/myapp/db-credentials"
    assert body["VersionStages"] == ["AWSCURRENT"]
    assert body["VersionId"]
    status, body = agent.request(q("/secretsmanager/get", secretId="test/staged", versionStage="AWSPREVIOUS"))
    assert (status, json.loads(body["SecretString"]), body["VersionStages"]) == (200, {"v": "1"}, ["AWSPREVIOUS"])
    status, body = agent.request(q("/secretsmanager/get", secretId="test/binary"))
    assert status == 200 and "SecretString" not in body
    import base64

    assert base64.b64decode(body["SecretBinary"]) == b"\xff\x00\x01binary"


def test_failures_have_the_aws_error_shape(agent: Agent) -> None:
    status, body = agent.request(q("/secretsmanager/get", secretId="no/such/secret"))
    assert (status, body["__type"]) == (400, "ResourceNotFoundException"), body
    assert "no/such/secret" in body["message"]
    status, body = agent.request(q("/systemsmanager/parameters/get", name="/no/such"))
    assert (status, body["__type"]) == (400, "ParameterNotFound"), body
    # Characters AWS names cannot hold never reach the reference grammar.
    for bad in ["/prod/myapp/db-password#x", "/a?ttl=1s", "/a%2e"]:
        status, body = agent.request(q("/systemsmanager/parameters/get", name=bad))
        assert (status, body["__type"]) == (400, "ValidationException"), (bad, body)
    status, body = agent.request(q("/secretsmanager/get", secretId="a", versionStage="X", versionId="Y"))
    assert (status, body["__type"]) == (400, "ValidationException")


def test_vault_and_every_reference_through_the_native_endpoint(agent: Agent) -> None:
    status, body = agent.request(q("/v1/secret", ref="vault:secret/myapp/config#api_key"))
    assert status == 200, body
    assert body["value"] == "sk-abc123"
    assert body["reference"] == "vault:secret/myapp/config#api_key"
    assert body["max_age_ms"] > 0 and body["lease"] is None
    status, body = agent.request(q("/v1/secret", ref="asm:test/binary"))
    assert status == 200 and "value" not in body and body["value_base64"]
    status, body = agent.request(q("/v1/secret", ref="vault:secret/no/such"))
    assert (status, body["error"]["kind"], body["error"]["reference"]) == (404, "not_found", "vault:secret/no/such")
    status, body = agent.request(q("/v1/secret", ref="nope:x"))
    assert (status, body["error"]["kind"]) == (400, "invalid_reference")
    # The agent's environment and files are not its callers' to read.
    status, body = agent.request(q("/v1/secret", ref="env:VAULT_TOKEN"))
    assert (status, body["error"]["kind"]) == (403, "access_denied"), body
    status, body = agent.request(q("/v1/secret", ref="file:/etc/hostname"))
    assert (status, body["error"]["kind"]) == (403, "access_denied"), body


def test_many_callers_cost_the_backend_one_call(agent: Agent) -> None:
    from concurrent.futures import ThreadPoolExecutor

    path = q("/systemsmanager/parameters/get", name="/test/plain")
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: agent.request(path), range(64)))
    assert {(s, b["Parameter"]["Value"]) for s, b in answers} == {(200, "hello")}
    status, metrics = agent.request("/metrics")
    assert status == 200
    assert 'secretkit_backend_calls_total{backend="ssm"} 1' in metrics, metrics
    assert 'secretkit_agent_answers_total{result="ok"} 64' in metrics


def test_requests_without_the_token_or_through_a_proxy_are_refused(agent: Agent) -> None:
    path = q("/systemsmanager/parameters/get", name="/prod/myapp/db-password")
    status, body = agent.request(path, token=None)
    assert (status, body["error"]["kind"]) == (401, "refused")
    status, body = agent.request(path, token="not-the-token")
    assert (status, body["error"]["kind"]) == (403, "refused")
    status, body = agent.request(path, headers={"X-Forwarded-For": "203.0.113.9"})
    assert (status, body["error"]["kind"]) == (400, "refused")
    # Vault Agent's header is accepted too.
    status, body = agent.request(path, token=None, headers={"X-Vault-Token": agent.token})
    assert status == 200
    assert "s3cureP@ssw0rd!" not in json.dumps(agent.request(path, token="x")[1])
    status, metrics = agent.request("/metrics")
    for reason, n in [("no_token", 1), ("bad_token", 2), ("forwarded", 1)]:
        assert f'secretkit_agent_refused_total{{reason="{reason}"}} {n}' in metrics
    assert agent.request("/metrics", token=None)[0] == 401
    assert agent.request("/ping", token=None) == (200, "healthy")


def test_the_agent_refuses_to_listen_beyond_loopback_or_without_a_token(servers: dict[str, str]) -> None:
    env = agent_env(servers, "t")
    out = subprocess.run(
        [str(BIN), "agent", "--listen", "0.0.0.0:2773"], env=env, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 6 and "loopback" in out.stderr, out
    for name in ["SECRETKIT_AGENT_TOKEN", "AWS_TOKEN", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"]:
        env.pop(name, None)
    out = subprocess.run(
        [str(BIN), "agent", "--listen", f"127.0.0.1:{free_port()}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 6 and "token is not set" in out.stderr, out


def test_a_unix_socket_is_private_to_the_agents_user(servers: dict[str, str], tmp_path: Path) -> None:
    token = secrets.token_hex(16)
    path = tmp_path / "agent.sock"
    path.write_text("left by an agent that died")  # replaced, not an error
    path.unlink()
    socket.socket(socket.AF_UNIX).bind(str(path))  # a stale socket nobody listens on
    a = Agent(f"unix://{path}", token, agent_env(servers, token))
    try:
        mode = path.stat().st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600, oct(mode)
        status, body = a.request(q("/secretsmanager/get", secretId="test/plain-text"))
        assert (status, body["SecretString"]) == (200, "not json")
        # A second agent on the same socket is refused while the first lives.
        second = subprocess.run(
            [str(BIN), "agent", "--listen", f"unix://{path}"],
            env=agent_env(servers, token),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 1 and "another agent" in second.stderr, second
    finally:
        code, out = a.stop()
    assert code == 0, out
    assert not path.exists()


def vault_get(servers: dict[str, str], path: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        servers["VAULT_ADDR"] + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"X-Vault-Token": servers["VAULT_TOKEN"]},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def test_shutdown_revokes_the_leases_the_agent_holds(agent: Agent, servers: dict[str, str]) -> None:
    role = servers["SK_VAULT_DB_ROLE"]
    status, body = agent.request(q("/v1/secret", ref=f"vault:database/creds/{role}#username"))
    assert status == 200, body
    lease = body["lease"]["id"]
    assert body["lease"]["duration_secs"] > 0
    # A second caller shares the lease rather than taking another.
    assert agent.request(q("/v1/secret", ref=f"vault:database/creds/{role}#password"))[1]["lease"]["id"] == lease
    assert vault_get(servers, "/v1/sys/leases/lookup", "PUT", {"lease_id": lease})[0] == 200
    code, out = agent.stop()
    assert code == 0, out
    assert "1 lease(s) revoked" in out, out
    status, body = vault_get(servers, "/v1/sys/leases/lookup", "PUT", {"lease_id": lease})
    assert status == 400 and "invalid lease" in json.dumps(body), body


def cli(servers: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), *args], env=servers, capture_output=True, text=True, timeout=60)


def test_cli_get_redacts_unless_asked_and_exits_by_failure_kind(servers: dict[str, str]) -> None:
    out = cli(servers, "get", "ssm:/prod/myapp/db-password", "vault:secret/myapp/config#api_key")
    assert out.returncode == 0, out
    assert out.stdout.splitlines() == [
        "ssm:/prod/myapp/db-password (version 1): <redacted>",
        "vault:secret/myapp/config#api_key (version 1): <redacted>",
    ]
    assert "s3cureP@ssw0rd!" not in out.stdout + out.stderr
    out = cli(servers, "get", "--reveal", "--json", "asm:prod/myapp/db-credentials#password", "ssm:/no/such")
    assert out.returncode == 3, out
    answers = json.loads(out.stdout)
    assert answers[0]["value"] == "s3cureP@ssw0rd!"
    assert answers[1]["error"]["kind"] == "not_found"
    assert "ssm:/no/such" in out.stderr
    assert cli(servers, "get", "bogus:ref").returncode == 6
    assert cli(servers, "get").returncode == 2  # usage
    completion = cli(servers, "completions", "bash")
    assert completion.returncode == 0 and "secretkit" in completion.stdout


# --- Clients reading through the agent (SECRETKIT_AGENT) ---------------------

WORKER = """
import json, sys
from secretkit import Client
client = Client.from_env()
role = sys.argv[1]
username = client.get(f"vault:database/creds/{role}#username").reveal()
password = client.get("ssm:/prod/myapp/db-password")
again = client.get("ssm:/prod/myapp/db-password")
stats = client.stats()
print(json.dumps({
    "username": username,
    "same": password.reveal() == again.reveal(),
    "ssm_calls": stats["backend_calls"]["ssm"],
    "vault_calls": stats["backend_calls"]["vault"],
}))
client.close()
"""


def python() -> str:
    return str(REPO / ".venv" / "bin" / "python")


def client_env(servers: dict[str, str], agent: Agent) -> dict[str, str]:
    """A worker's environment: the agent, and still VAULT_* and AWS_* (which
    the agent replaces: the worker must not use them)."""
    env = dict(servers)
    env["SECRETKIT_AGENT"] = agent.listen if agent.listen.startswith("unix://") else f"http://{agent.listen}"
    env["SECRETKIT_AGENT_TOKEN"] = agent.token
    return env


def lease_count(servers: dict[str, str], role: str) -> int:
    status, body = vault_get(servers, f"/v1/sys/leases/lookup/database/creds/{role}/", "LIST")
    return len(body.get("data", {}).get("keys", [])) if status == 200 else 0


def metric(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_four_worker_processes_share_one_read_and_one_lease_through_a_unix_socket(
    servers: dict[str, str], tmp_path: Path
) -> None:
    role = servers["SK_VAULT_DB_ROLE"]
    token = secrets.token_hex(16)
    a = Agent(f"unix://{tmp_path / 'agent.sock'}", token, agent_env(servers, token))
    try:
        leases_before = lease_count(servers, role)
        workers = [
            subprocess.Popen(
                [python(), "-c", WORKER, role],
                env=client_env(servers, a),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        results = []
        for w in workers:
            out, err = w.communicate(timeout=60)
            assert w.returncode == 0, err
            results.append(json.loads(out))
        # One lease for the host: every worker has the same database user.
        assert len({r["username"] for r in results}) == 1, results
        assert all(r["same"] for r in results)
        # Each worker asked the agent once per secret (its own cache took the
        # repeat); the agent asked the backends once for all four.
        assert all((r["ssm_calls"], r["vault_calls"]) == (1, 1) for r in results), results
        status, metrics = a.request("/metrics")
        # (Concurrent misses that joined one read each count as a miss; the
        # calls are what reached the backend.)
        assert metric(metrics, 'secretkit_backend_calls_total{backend="ssm"}') == 1, metrics
        assert metrics.count("secretkit_lease_ttl_seconds{") == 1, metrics
        assert lease_count(servers, role) == leases_before + 1
        # The lease is renewed once for the four of them, by the agent (the
        # role's leases last 10 s: the first renewal comes within about 7 s).
        renewed_line = 'secretkit_reads_total{backend="vault",outcome="renewed"}'
        deadline = time.monotonic() + 15
        while metric(a.request("/metrics")[1], renewed_line) == 0:
            assert time.monotonic() < deadline, "the agent never renewed the lease"
            time.sleep(0.2)
        assert metric(a.request("/metrics")[1], renewed_line) == 1
        assert lease_count(servers, role) == leases_before + 1
        # The workers closed their clients: the agent's lease is still live.
        username = results[0]["username"]
        status, body = a.request(q("/v1/secret", ref=f"vault:database/creds/{role}#username"))
        assert (status, body["value"]) == (200, username)
    finally:
        code, out = a.stop()
    assert code == 0 and "1 lease(s) revoked" in out, out
    assert lease_count(servers, role) == leases_before


def test_a_client_serves_its_cached_value_while_the_agent_restarts(
    servers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from secretkit import Client, UnavailableError

    token = secrets.token_hex(16)
    listen = f"127.0.0.1:{free_port()}"
    first = Agent(listen, token, agent_env(servers, token))
    monkeypatch.setenv("SECRETKIT_AGENT", f"http://{listen}")
    monkeypatch.setenv("SECRETKIT_AGENT_TOKEN", token)
    client = Client.from_env(retry_base=0.05, retry_max=0.2, read_attempts=1, timeout=2)
    try:
        reference = "ssm:/test/plain?ttl=1s"
        assert client.get(reference).reveal() == "hello"
        assert first.stop()[0] == 0
        time.sleep(1.2)  # past the TTL: the next read goes to the agent, which is gone
        assert client.get(reference).reveal() == "hello"  # stale-if-error
        assert client.stats()["stale_serves"] >= 1
        # A reference it never read has nothing to fall back on: a typed error.
        with pytest.raises(UnavailableError) as failure:
            client.get("ssm:/test/versioned")
        assert "agent request failed" in str(failure.value)
        second = Agent(listen, token, agent_env(servers, token))
        try:
            assert client.get("ssm:/test/versioned").reveal() == "two"
            # The stale entry is read again once its retry back-off (at most
            # retry_max) has passed: reads stop being stale serves.
            deadline = time.monotonic() + 10
            while True:
                stale = client.stats()["stale_serves"]
                assert client.get(reference).reveal() == "hello"
                if client.stats()["stale_serves"] == stale:
                    break
                assert time.monotonic() < deadline, "still serving stale after the agent came back"
                time.sleep(0.1)
        finally:
            second.stop()
    finally:
        client.close()


def test_a_wrong_token_is_an_auth_error_naming_the_reference(
    agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    from secretkit import AuthError, Client

    monkeypatch.setenv("SECRETKIT_AGENT", f"http://{agent.listen}")
    monkeypatch.setenv("SECRETKIT_AGENT_TOKEN", "not-the-token")
    client = Client.from_env()
    with pytest.raises(AuthError) as failure:
        client.get("asm:test/plain-text")
    assert failure.value.reference == "asm:test/plain-text"
    assert "HTTP 403" in str(failure.value)
    client.close()


# --- Operator commands ---------------------------------------------------------


def test_cli_ls_lists_the_references_under_a_prefix(servers: dict[str, str]) -> None:
    out = cli(servers, "ls", "ssm:/test/")
    assert out.returncode == 0, out
    listed = out.stdout.splitlines()
    assert {"ssm:/test/plain", "ssm:/test/versioned"} <= set(listed), listed
    assert "hello" not in out.stdout
    out = cli(servers, "ls", "--json", "asm:prod/myapp/")
    assert out.returncode == 0 and json.loads(out.stdout) == ["asm:prod/myapp/db-credentials"], out
    assert cli(servers, "ls", "vault:secret/").returncode == 6


def test_cli_rotate_starts_a_secrets_manager_rotation(servers: dict[str, str]) -> None:
    sm = boto3.client("secretsmanager", endpoint_url=servers["AWS_ENDPOINT_URL"])
    name = f"test/rotate-{secrets.token_hex(4)}"
    first = sm.create_secret(Name=name, SecretString="before")["VersionId"]
    out = cli(servers, "rotate", "--json", f"asm:{name}")
    assert out.returncode == 0, out
    version = json.loads(out.stdout)["version"]
    stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert version != first and "AWSCURRENT" in stages[version], stages
    out = cli(servers, "rotate", "asm:test/no-such-secret")
    assert out.returncode == 3 and "asm:test/no-such-secret" in out.stderr, out
    assert cli(servers, "rotate", "ssm:/test/plain").returncode == 6
    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def new_lease(servers: dict[str, str], role: str) -> str:
    status, body = vault_get(servers, f"/v1/database/creds/{role}")
    assert status == 200, body
    return str(body["lease_id"])


def lease_alive(servers: dict[str, str], lease: str) -> bool:
    return vault_get(servers, "/v1/sys/leases/lookup", "PUT", {"lease_id": lease})[0] == 200


def test_cli_revoke_ends_one_lease_or_every_lease_under_a_path(servers: dict[str, str]) -> None:
    one, two, three = (new_lease(servers, "myapp-long") for _ in range(3))
    out = cli(servers, "revoke", one)
    assert out.returncode == 0, out
    assert not lease_alive(servers, one) and lease_alive(servers, two)
    out = cli(servers, "revoke", "--prefix", "--json", "database/creds/myapp-long")
    assert out.returncode == 0 and json.loads(out.stdout)["revoked"] == "database/creds/myapp-long", out
    assert not lease_alive(servers, two) and not lease_alive(servers, three)
    assert cli(servers, "revoke", "--force", "database/creds/x").returncode == 2  # needs --prefix
    out = cli(servers, "revoke", "--prefix", "database/../sys")
    assert out.returncode == 6, out


def test_cli_audit_shows_who_read_a_reference(servers: dict[str, str], tmp_path: Path) -> None:
    trail = tmp_path / "audit.jsonl"
    script = f"""
import secretkit
from secretkit import Client
client = Client.from_env(audit_file={str(trail)!r})
with secretkit.audit_identity(service="billing", user="42"):
    client.get("ssm:/prod/myapp/db-password")
    client.get("ssm:/prod/myapp/db-password")
with secretkit.audit_identity(service="reports"):
    client.get("asm:prod/myapp/db-credentials#password")
client.close()
"""
    done = subprocess.run([python(), "-c", script], env=servers, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done
    out = cli(servers, "audit", str(trail), "--reference", "ssm:/prod/myapp/db-password")
    assert out.returncode == 0, out
    lines = out.stdout.splitlines()
    assert lines[-1] == "read by: service=billing user=42", lines
    assert any(" miss " in line for line in lines) and any(" hit " in line for line in lines), lines
    records = json.loads(cli(servers, "audit", "--json", str(trail)).stdout)
    assert {r["reference"] for r in records} == {
        "ssm:/prod/myapp/db-password",
        "asm:prod/myapp/db-credentials#password",
    }
    assert "s3cureP@ssw0rd!" not in out.stdout + json.dumps(records)
    out = cli(servers, "audit", str(trail), "--since", "2999-01-01T00:00:00Z")
    assert out.returncode == 3, out


def test_refresh_now_reads_past_the_cache_like_the_aws_agent(agent: Agent, servers: dict[str, str]) -> None:
    sm = boto3.client("secretsmanager", endpoint_url=servers["AWS_ENDPOINT_URL"])
    name = f"test/refresh-{secrets.token_hex(4)}"
    sm.create_secret(Name=name, SecretString="first")
    try:
        path = q("/secretsmanager/get", secretId=name)
        assert agent.request(path)[1]["SecretString"] == "first"
        sm.put_secret_value(SecretId=name, SecretString="second")
        assert agent.request(path)[1]["SecretString"] == "first"  # cached
        status, body = agent.request(q("/secretsmanager/get", secretId=name, refreshNow="true"))
        assert (status, body["SecretString"]) == (200, "second"), body
        assert agent.request(path)[1]["SecretString"] == "second"  # the cache took it
    finally:
        sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def test_connections_are_bounded_and_idle_ones_closed(servers: dict[str, str], tmp_path: Path) -> None:
    token = secrets.token_hex(16)
    config = tmp_path / "agent.toml"
    config.write_text("max_connections = 3\nidle_timeout = 1.0\n")
    env = agent_env(servers, token)
    env["SECRETKIT_AGENT_CONFIG"] = str(config)
    a = Agent(f"127.0.0.1:{free_port()}", token, env)
    try:
        # Three keep-alive connections, each used once and left open.
        held = []
        for _ in range(3):
            conn = a.connection()
            conn.request("GET", "/ping")
            assert conn.getresponse().read() == b"healthy"
            held.append(conn)
        # A fourth caller is answered at once, not left in the backlog.
        started = time.monotonic()
        status, body = a.request("/ping", token=None)
        assert (status, body["error"]["kind"]) == (503, "refused"), body
        assert time.monotonic() - started < 0.5
        # The idle ones are closed after idle_timeout: callers get in again.
        time.sleep(1.5)
        assert a.request("/ping", token=None) == (200, "healthy")
        for conn in held:
            conn.close()
    finally:
        a.stop()
    (tmp_path / "bad.toml").write_text("idle_timeout = 0\n")
    bad = subprocess.run(
        [str(BIN), "agent", "--listen", f"127.0.0.1:{free_port()}"],
        env={**env, "SECRETKIT_AGENT_CONFIG": str(tmp_path / "bad.toml")},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 6 and "idle_timeout" in bad.stderr, bad
