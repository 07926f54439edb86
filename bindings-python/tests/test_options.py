"""Every ClientSettings option as a keyword of Client(...) and Client.from_env(...)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from secretkit import Client, ConfigError, NotFoundError, UnavailableError

SECONDS = [
    "default_ttl",
    "max_stale",
    "negative_ttl",
    "retry_base",
    "retry_max",
    "timeout",
    "revoke_replaced_after",
]
FRACTIONS = ["ttl_jitter", "refresh_ahead"]


def all_options() -> dict[str, float]:
    return {
        "default_ttl": 60,
        "ttl_jitter": 0.2,
        "refresh_ahead": 0.5,
        "max_stale": 0,
        "negative_ttl": 1.5,
        "retry_base": 0.5,
        "retry_max": 30,
        "max_entries": 100,
        "timeout": 2.5,
        "revoke_on_close": False,
        "revoke_replaced_after": 5,
        "allow_http": False,
        "allow_local": True,
        "read_attempts": 2,
    }


def reads_home(client: Client) -> bool:
    return client.get("env:HOME").reveal() == os.environ["HOME"]


def test_every_option_is_accepted(servers: dict[str, str]) -> None:
    assert reads_home(Client(**all_options()))
    client = Client.from_env(**all_options())
    assert client.get("vault:secret/myapp/config#db_name").reveal() == "myapp_prod"
    none = dict.fromkeys(all_options())
    assert reads_home(Client(**none)) and reads_home(Client.from_env(**none))


@pytest.mark.parametrize("name", SECONDS + FRACTIONS + ["max_entries"])
@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf")])
def test_bad_numbers_are_config_errors(name: str, bad: float) -> None:
    if name == "max_entries" and bad != -1:
        bad_value: object = 0
    else:
        bad_value = bad
    for make in (Client, Client.from_env):
        with pytest.raises(ConfigError, match=name) as info:
            make(**{name: bad_value})
        assert info.value.code == "CONFIG"


@pytest.mark.parametrize("name", FRACTIONS)
def test_fractions_stay_within_zero_and_one(name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Client(**{name: 1.5})
    assert reads_home(Client(**{name: 0})) and reads_home(Client(**{name: 1}))


def test_zero_timeout_is_rejected() -> None:
    with pytest.raises(ConfigError, match="timeout"):
        Client(timeout=0)


def test_read_attempts_bounds_the_calls_of_one_failing_read(closed_port: int) -> None:
    for bad in (0, 11, -1):
        with pytest.raises(ConfigError, match="read_attempts"):
            Client(read_attempts=bad)
    with pytest.raises(TypeError):
        Client(read_attempts=2.5)
    # AWS, not Vault: a Vault token's own lookup would fail and count too.
    aws = {
        "region": "us-east-1",
        "access_key_id": "a",
        "secret_access_key": "b",
        "endpoint": f"http://127.0.0.1:{closed_port}",
    }
    for attempts in (1, 3):
        client = Client(aws=aws, read_attempts=attempts)
        with pytest.raises(UnavailableError):
            client.get("ssm:/down")
        stats = client.stats()
        assert stats["backend_calls"]["ssm"] == attempts
        assert stats["errors"] == 1  # one failed read, however many tries


def test_unknown_options_and_wrong_types_are_type_errors() -> None:
    with pytest.raises(TypeError, match="default_tll"):
        Client(default_tll=5)
    with pytest.raises(TypeError, match="max_entires"):
        Client.from_env(max_entires=5)
    with pytest.raises(TypeError):
        Client(default_ttl="5 minutes")
    with pytest.raises(TypeError):
        Client(max_entries=2.5)
    with pytest.raises(TypeError):
        Client(revoke_on_close="no")


def test_negative_ttl_is_applied(monkeypatch: pytest.MonkeyPatch, fresh_env_name: str) -> None:
    client = Client(negative_ttl=0.3)
    ref = f"env:{fresh_env_name}"
    with pytest.raises(NotFoundError):
        client.get(ref)
    monkeypatch.setenv(fresh_env_name, "now set")
    with pytest.raises(NotFoundError):
        client.get(ref)  # remembered for 0.3 s
    time.sleep(0.35)
    assert client.get(ref).reveal() == "now set"


def test_max_stale_zero_turns_stale_serving_off(tmp_path: Path) -> None:
    path = tmp_path / "gone"
    path.write_text("x")
    client = Client(default_ttl=0.2, ttl_jitter=0, refresh_ahead=1, max_stale=0)
    ref = f"file:{path}"
    assert client.get(ref).reveal() == "x"
    path.unlink()
    time.sleep(0.25)
    with pytest.raises(NotFoundError):
        client.get(ref)
    assert client.stats()["stale_serves"] == 0


def vault(**auth: object) -> dict[str, object]:
    return {"address": "http://127.0.0.1:1", "auth": auth}


def test_vault_auth_config_is_checked_before_any_login(tmp_path: Path) -> None:
    role_file = tmp_path / "role-id"
    ok = [
        vault(method="approle", role_id="r", secret_id="s"),
        vault(method="approle", role_id_file=role_file, secret_id_file=str(role_file)),
        vault(method="approle", role_id="r", secret_id="s", mount="other-approle"),
        vault(method="kubernetes", role="app"),
        vault(method="kubernetes", role="app", jwt_file=role_file, mount="k8s"),
        vault(method="jwt", role="app", jwt="a.b.c"),
        vault(method="jwt", role="app", jwt_file=role_file),
        vault(method="token_file", path=role_file),
        {"address": "http://127.0.0.1:1", "token": "t", "namespace": "ns", "auth": None},
        {"address": "https://10.0.0.1", "token": "t", "tls_server_name": "vault.example.com"},
    ]
    for config in ok:
        Client(vault=config)  # accepted: files are read at login, not here
    config_errors = {
        "method": vault(role_id="r", secret_id="s"),
        "ldap": vault(method="ldap"),
        "role_id or role_id_file is required": vault(method="approle", secret_id="s"),
        "not both": vault(method="approle", role_id="r", role_id_file="f", secret_id="s"),
        "role is required": vault(method="kubernetes"),
        "jwt or jwt_file": vault(method="jwt", role="app"),
        "path is required": vault(method="token_file"),
        "token or an auth method": {**vault(method="token_file", path="f"), "token": "t"},
        "without a token": {"address": "http://127.0.0.1:1"},
        # The TLS server name reaches core, which wants a DNS name
        # (core/tests/real_faults.rs proves one against OpenBao).
        "not a DNS name": {
            "address": "https://10.0.0.1",
            "token": "t",
            "tls_server_name": "10.0.0.1",
        },
    }
    for message, config in config_errors.items():
        with pytest.raises(ConfigError, match=message):
            Client(vault=config)
    # Typos and keys of another method are TypeErrors, like unknown options.
    with pytest.raises(TypeError, match="secret_id_fiel"):
        Client(vault=vault(method="approle", role_id="r", secret_id_fiel="f"))
    with pytest.raises(TypeError, match="role_id"):
        Client(vault=vault(method="jwt", role="app", jwt="x", role_id="r"))
    with pytest.raises(TypeError, match="auht"):
        Client(vault={"address": "http://127.0.0.1:1", "auht": {}})
    with pytest.raises(TypeError):
        Client(vault=vault(method="approle", role_id=1, secret_id="s"))
