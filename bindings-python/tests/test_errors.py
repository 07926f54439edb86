"""Typed errors, configuration, and failing backends (no hangs)."""

from __future__ import annotations

import builtins
import pickle
import time
from pathlib import Path

import pytest

import secretkit
from secretkit import (
    Client,
    ConfigError,
    InvalidReferenceError,
    SecretkitError,
    TimeoutError,
    UnavailableError,
    _native,
    errors,
)


def test_one_exception_class_per_core_error_kind() -> None:
    classes = {
        cls.kind: cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, SecretkitError) and cls is not SecretkitError
    }
    assert {k for k, _ in _native.ERROR_KINDS} == set(classes)
    for kind, code in _native.ERROR_KINDS:
        cls = classes[kind]
        assert cls.code == code
        assert getattr(secretkit, cls.__name__) is cls
    assert issubclass(TimeoutError, builtins.TimeoutError)
    assert issubclass(InvalidReferenceError, ValueError)


def test_errors_pickle_and_print_without_values() -> None:
    err = secretkit.NotFoundError("no secret at this path", "vault:secret/x")
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is type(err)
    assert (again.message, again.reference, again.kind) == (err.message, err.reference, "not_found")
    assert str(err) == "not_found (vault:secret/x): no secret at this path"


def test_vault_unreachable_is_unavailable_quickly(closed_port: int) -> None:
    client = Client(vault={"address": f"http://127.0.0.1:{closed_port}", "token": "t"})
    start = time.monotonic()
    with pytest.raises(UnavailableError) as info:
        client.get("vault:secret/myapp/config#api_key")
    assert time.monotonic() - start < 5
    err = info.value
    assert (err.kind, err.code) == ("unavailable", "UNAVAILABLE")
    assert err.reference == "vault:secret/myapp/config#api_key"
    client.close()  # its token lookup would go on retrying in the background


def test_silent_vault_times_out_as_typed_error(silent_port: int) -> None:
    client = Client(vault={"address": f"http://127.0.0.1:{silent_port}", "token": "t"}, timeout=0.5)
    start = time.monotonic()
    with pytest.raises(TimeoutError) as info:
        client.get("vault:secret/slow")
    assert time.monotonic() - start < 5
    assert isinstance(info.value, builtins.TimeoutError)
    assert info.value.code == "TIMEOUT"


def test_backend_not_configured_is_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        Client().get("ssm:/prod/myapp/db-password")
    assert info.value.reference == "ssm:/prod/myapp/db-password"
    with pytest.raises(ConfigError):
        Client().get("vault:secret/myapp/config")


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(TypeError, match="endpont"):
        Client(
            aws={
                "region": "us-east-1",
                "access_key_id": "a",
                "secret_access_key": "b",
                "endpont": "http://127.0.0.1:1",
            }
        )
    with pytest.raises(ConfigError, match="token"):
        Client(vault={"address": "http://127.0.0.1:1"})
    with pytest.raises(ConfigError, match="default_ttl"):
        Client(default_ttl=-1)
    with pytest.raises(ConfigError, match="timeout"):
        Client.from_env(timeout=float("nan"))
    with pytest.raises(ConfigError, match="token"):
        Client(vault={"address": "http://127.0.0.1:1", "token": ""})


def test_from_env_reads_the_environment(
    servers: dict[str, str], monkeypatch: pytest.MonkeyPatch, closed_port: int, tmp_path: Path
) -> None:
    # The servers from the environment work...
    assert Client.from_env().get("vault:secret/myapp/config#db_name").reveal() == "myapp_prod"
    # ...and the client follows the environment when it changes.
    monkeypatch.setenv("VAULT_ADDR", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port}")
    moved = Client.from_env(timeout=2)
    with pytest.raises(UnavailableError):
        moved.get("vault:secret/myapp/config#db_name")
    with pytest.raises(SecretkitError) as info:
        moved.get("ssm:/prod/myapp/db-password")
    assert info.value.kind in ("unavailable", "timeout")
    moved.close()
    # VAULT_ADDR without any token is a configuration error.
    for name in ("VAULT_TOKEN", "BAO_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ConfigError, match="VAULT_TOKEN"):
        Client.from_env()


def test_from_env_settings_override(servers: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "value"
    path.write_text("1")
    client = Client.from_env(default_ttl=0, max_entries=10, timeout=3.5)
    assert client.get(f"file:{path}").reveal() == "1"
    path.write_text("2")
    assert client.get(f"file:{path}").reveal() == "2"  # default_ttl=0: nothing cached
