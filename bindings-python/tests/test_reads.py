"""Reads against the real servers: moto (SSM, Secrets Manager) and OpenBao."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from secretkit import (
    Client,
    InvalidResponseError,
    NotFoundError,
)

DB_PASSWORD = "s3cureP@ssw0rd!"
DB_CREDENTIALS = {"username": "app_user", "password": DB_PASSWORD}
VAULT_CONFIG = {"db_host": "mydb.internal", "db_name": "myapp_prod", "api_key": "sk-abc123"}


@pytest.mark.parametrize("which", ["from_env", "explicit"])
def test_example_secrets_whole_and_by_field(request: pytest.FixtureRequest, which: str) -> None:
    client: Client = request.getfixturevalue("client" if which == "from_env" else "explicit_client")
    # SSM SecureString comes back decrypted.
    assert client.get("ssm:/prod/myapp/db-password").reveal() == DB_PASSWORD
    creds = client.get("asm:prod/myapp/db-credentials")
    assert json.loads(creds.reveal()) == DB_CREDENTIALS
    assert client.get("asm:prod/myapp/db-credentials#username").reveal() == "app_user"
    assert client.get("asm:prod/myapp/db-credentials#password").reveal() == DB_PASSWORD
    assert json.loads(client.get("vault:secret/myapp/config").reveal()) == VAULT_CONFIG
    for field, value in VAULT_CONFIG.items():
        assert client.get(f"vault:secret/myapp/config#{field}").reveal() == value


def test_secret_metadata(client: Client) -> None:
    before = time.time()
    secret = client.get("ssm:/test/versioned")
    assert secret.reveal() == "two"
    assert secret.version == "2"
    assert secret.reference == "ssm:/test/versioned"
    assert before - 1 <= secret.fetched_at <= time.time() + 1
    assert secret.lease is None
    assert client.get("ssm:/test/versioned?version=1").reveal() == "one"
    assert client.get("ssm:/test/versioned:blue").reveal() == "one"
    assert client.get("vault:secret/test/versioned?version=1#n").reveal() == "1"
    assert client.get("vault:kv1/app#token").reveal() == "v1-token"


def test_asm_previous_stage_and_version_id(client: Client) -> None:
    previous = client.get("asm:test/staged?stage=AWSPREVIOUS")
    assert json.loads(previous.reveal()) == {"v": "1"}
    assert previous.version == os.environ["SK_TEST_ASM_STAGED_V1"]
    assert client.get("asm:test/staged#v").reveal() == "2"
    v2 = os.environ["SK_TEST_ASM_STAGED_V2"]
    assert client.get(f"asm:test/staged?version={v2}#v").reveal() == "2"


NON_UTF8 = b"\xff\xfe\x00binary"


def put_binary_secret(servers: dict[str, str], name: str, value: bytes) -> None:
    """The seeded test/binary fixture happens to be valid UTF-8, so seed one
    that is not (idempotently) to see reveal() refuse it."""
    import boto3

    sm = boto3.client(
        "secretsmanager",
        endpoint_url=servers["AWS_ENDPOINT_URL"],
        region_name=servers["AWS_REGION"],
        aws_access_key_id=servers["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=servers["AWS_SECRET_ACCESS_KEY"],
    )
    try:
        sm.create_secret(Name=name, SecretBinary=value)
    except sm.exceptions.ResourceExistsException:
        sm.put_secret_value(SecretId=name, SecretBinary=value)


def test_binary_secret_reveals_as_bytes(client: Client) -> None:
    assert client.get("asm:test/binary").reveal_bytes() == b"\xff\x00\x01binary"


@pytest.mark.parametrize("backend", ["asm", "file"])
def test_non_utf8_secret_reveal_raises_typed_error(
    client: Client, servers: dict[str, str], tmp_path: Path, backend: str
) -> None:
    if backend == "asm":
        put_binary_secret(servers, "test/binary-non-utf8-python", NON_UTF8)
        ref = "asm:test/binary-non-utf8-python"
    else:
        (tmp_path / "blob").write_bytes(NON_UTF8)
        ref = f"file:{tmp_path / 'blob'}"
    secret = client.get(ref)
    assert secret.reveal_bytes() == NON_UTF8
    with pytest.raises(InvalidResponseError) as info:
        secret.reveal()
    err = info.value
    assert (err.kind, err.code, err.reference) == ("invalid_response", "INVALID_RESPONSE", ref)
    assert "reveal_bytes" in err.message


@pytest.mark.parametrize(
    "ref",
    [
        "ssm:/prod/myapp/missing",
        "asm:prod/myapp/missing",
        "vault:secret/myapp/missing",
        "vault:secret/test/versioned?version=99",
    ],
)
def test_missing_secret_is_not_found_naming_the_reference(client: Client, ref: str) -> None:
    with pytest.raises(NotFoundError) as info:
        client.get(ref)
    err = info.value
    assert (err.kind, err.code, err.reference) == ("not_found", "NOT_FOUND", ref)
    assert ref in str(err)


@pytest.mark.parametrize(
    ("ref", "value"),
    [
        ("asm:test/plain-text#user", "not json"),
        ("ssm:/test/plain#user", "hello"),
        ("ssm:/prod/myapp/db-password#user", DB_PASSWORD),
    ],
)
def test_field_of_a_non_json_secret(client: Client, ref: str, value: str) -> None:
    with pytest.raises(InvalidResponseError) as info:
        client.get(ref)
    err = info.value
    assert err.reference == ref
    assert value not in str(err) and value not in repr(err) and value not in err.message


@pytest.mark.parametrize(
    "ref", ["asm:prod/myapp/db-credentials#nope", "vault:secret/myapp/config#nope"]
)
def test_missing_field(client: Client, ref: str) -> None:
    with pytest.raises(NotFoundError) as info:
        client.get(ref)
    err = info.value
    assert err.reference == ref and "nope" in err.message
    for value in [DB_PASSWORD, "app_user", *VAULT_CONFIG.values()]:
        assert value not in str(err) and value not in repr(err)


def test_env_reference(
    client: Client, monkeypatch: pytest.MonkeyPatch, fresh_env_name: str
) -> None:
    monkeypatch.setenv(fresh_env_name, "from-the-env")
    assert client.get(f"env:{fresh_env_name}").reveal() == "from-the-env"
    monkeypatch.setenv(f"{fresh_env_name}_JSON", '{"user": "u1"}')
    assert client.get(f"env:{fresh_env_name}_JSON#user").reveal() == "u1"
    with pytest.raises(NotFoundError):
        client.get(f"env:{fresh_env_name}_UNSET")


def test_file_reference(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "db-password"
    path.write_bytes(b"file-secret")
    secret = client.get(f"file:{path}")
    assert secret.reveal() == "file-secret"
    assert "file-secret" not in repr(secret)
    with pytest.raises(NotFoundError) as info:
        client.get(f"file:{tmp_path / 'absent'}")
    assert info.value.reference == f"file:{tmp_path / 'absent'}"


def test_cache_hit_invalidate_and_clear(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "rotating"
    path.write_text("v1")
    ref = f"file:{path}"
    first = client.get(ref)
    path.write_text("v2")
    hit = client.get(ref)
    assert hit.reveal() == "v1" and hit.fetched_at == first.fetched_at
    client.invalidate(ref + "?ttl=5s")  # same cache entry, whatever the ttl
    assert client.get(ref).reveal() == "v2"
    path.write_text("v3")
    client.clear()
    assert client.get(ref).reveal() == "v3"


def test_ttl_zero_is_not_cached(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "uncached"
    path.write_text("a")
    assert client.get(f"file:{path}?ttl=0s").reveal() == "a"
    path.write_text("b")
    assert client.get(f"file:{path}?ttl=0s").reveal() == "b"


def test_cache_hits_are_fast(client: Client) -> None:
    ref = "vault:secret/myapp/config#api_key"
    client.get(ref)
    n = 20_000
    start = time.perf_counter()
    for _ in range(n):
        client.get(ref)
    per_hit = (time.perf_counter() - start) / n
    # The fast path never leaves the calling thread; generous bound for slow CI.
    assert per_hit < 50e-6, f"{per_hit * 1e6:.1f} µs per cache hit"
