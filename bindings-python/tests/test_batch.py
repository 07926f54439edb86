"""get_many, prefetch, refresh and stats against moto, counting backend calls."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from secretkit import (
    Client,
    InvalidReferenceError,
    NotFoundError,
    Secret,
    SecretkitError,
)


@pytest.fixture()
def seeded(ssm: Any, asm: Any, unique: str) -> dict[str, str]:
    """25 SSM parameters and 25 Secrets Manager secrets: reference -> value."""
    refs = {}
    for i in range(25):
        name = f"/batch-{unique}/p{i:02}"
        ssm.put_parameter(Name=name, Value=f"ssm-{i}", Type="SecureString")
        refs[f"ssm:{name}"] = f"ssm-{i}"
    for i in range(25):
        name = f"batch-{unique}/s{i:02}"
        asm.create_secret(Name=name, SecretString=f"asm-{i}")
        refs[f"asm:{name}"] = f"asm-{i}"
    return refs


def calls(client: Client) -> dict[str, int]:
    return client.stats()["backend_calls"]


def test_get_many_batches_50_reads_into_5_calls(seeded: dict[str, str]) -> None:
    client = Client.from_env()
    refs = list(seeded)
    secrets = client.get_many(refs)
    assert [s.reveal() for s in secrets] == list(seeded.values())
    assert [s.reference for s in secrets] == refs
    assert all(isinstance(s, Secret) for s in secrets)
    # SSM GetParameters takes 10 names a call, BatchGetSecretValue 20 ids.
    assert calls(client) == {"ssm": 3, "asm": 2, "vault": 0, "env": 0, "file": 0}
    stats = client.stats()
    assert stats["misses"] == 50 and stats["errors"] == 0
    # Every answer is now cached on its own.
    assert client.get(refs[7]).reveal() == seeded[refs[7]]
    assert client.get_many(refs[::-1])[0].reveal() == seeded[refs[-1]]
    assert calls(client)["ssm"] == 3 and calls(client)["asm"] == 2


def test_get_many_async_in_one_loop(seeded: dict[str, str]) -> None:
    client = Client.from_env()
    refs = list(seeded)
    secrets = asyncio.run(_get_many_async(client, refs))
    assert [s.reveal() for s in secrets] == list(seeded.values())
    assert calls(client)["ssm"] == 3 and calls(client)["asm"] == 2


async def _get_many_async(client: Client, refs: list[str], **kw: Any) -> list[Any]:
    return await client.get_many_async(refs, **kw)


def test_get_many_raises_the_first_error_or_returns_them(seeded: dict[str, str]) -> None:
    client = Client.from_env()
    ssm_ref, asm_ref = next(iter(seeded)), list(seeded)[-1]
    refs = [ssm_ref, "ssm:/batch-missing/x", "nope", asm_ref, "asm:batch-missing/y"]
    with pytest.raises(NotFoundError) as info:
        client.get_many(refs)
    assert info.value.reference == "ssm:/batch-missing/x"

    results = client.get_many(refs, return_exceptions=True)
    assert results[0].reveal() == seeded[ssm_ref]
    assert isinstance(results[1], NotFoundError)
    assert results[1].reference == "ssm:/batch-missing/x"
    assert isinstance(results[2], InvalidReferenceError)
    assert results[3].reveal() == seeded[asm_ref]
    assert isinstance(results[4], NotFoundError) and results[4].kind == "not_found"

    results = asyncio.run(_get_many_async(client, refs, return_exceptions=True))
    assert [type(r) for r in results] == [
        Secret,
        NotFoundError,
        InvalidReferenceError,
        Secret,
        NotFoundError,
    ]
    with pytest.raises(InvalidReferenceError):
        asyncio.run(_get_many_async(client, ["nope"]))


def test_get_many_mixed_backends_and_empty(client: Client) -> None:
    refs = ["vault:secret/myapp/config#db_name", "asm:prod/myapp/db-credentials#username"]
    assert [s.reveal() for s in client.get_many(refs)] == ["myapp_prod", "app_user"]
    assert client.get_many([]) == []
    with pytest.raises(TypeError):
        client.get_many("ssm:/prod/myapp/db-password")  # a str is not a list of refs


def test_prefetch_then_hits_without_calls(seeded: dict[str, str], unique: str) -> None:
    client = Client.from_env()
    assert client.prefetch(f"ssm:/batch-{unique}/") == 25
    assert calls(client)["ssm"] == 3  # GetParametersByPath pages hold 10
    assert asyncio.run(_prefetch_async(client, f"asm:batch-{unique}/")) == 25
    before = client.stats()
    for ref, value in seeded.items():
        assert client.get(ref).reveal() == value
    after = client.stats()
    assert after["backend_calls"] == before["backend_calls"]
    assert after["hits"] - before["hits"] == 50
    assert after["misses"] == before["misses"]


async def _prefetch_async(client: Client, prefix: str) -> int:
    return await client.prefetch_async(prefix)


def test_prefetch_errors_are_typed(client: Client) -> None:
    with pytest.raises(SecretkitError) as info:
        client.prefetch("vault:secret/myapp/")
    assert info.value.kind == "config"
    with pytest.raises(InvalidReferenceError):
        client.prefetch("nope")
    assert client.prefetch("ssm:/batch-nothing-here/") == 0


def test_refresh_picks_up_a_new_value(ssm: Any, unique: str) -> None:
    name = f"/refresh-{unique}"
    ssm.put_parameter(Name=name, Value="first", Type="String")
    client = Client.from_env()
    ref = f"ssm:{name}"
    assert client.get(ref).reveal() == "first"
    ssm.put_parameter(Name=name, Value="second", Type="String", Overwrite=True)
    assert client.get(ref).reveal() == "first"  # cached for 300 s
    fresh = client.refresh(ref)
    assert (fresh.reveal(), fresh.version) == ("second", "2")
    assert client.get(ref).reveal() == "second"

    ssm.put_parameter(Name=name, Value="third", Type="String", Overwrite=True)
    assert asyncio.run(_refresh_async(client, ref)).reveal() == "third"
    assert client.get(ref).reveal() == "third"
    assert calls(client)["ssm"] == 3


async def _refresh_async(client: Client, ref: str) -> Secret:
    return await client.refresh_async(ref)


def test_refresh_of_a_missing_secret_raises(client: Client) -> None:
    with pytest.raises(NotFoundError):
        client.refresh("ssm:/refresh-missing")


def test_stats_shape_and_counts(client: Client) -> None:
    assert client.stats() == {
        "hits": 0,
        "misses": 0,
        "refreshes": 0,
        "stale_serves": 0,
        "errors": 0,
        "backend_calls": {"ssm": 0, "asm": 0, "vault": 0, "env": 0, "file": 0},
    }
    for _ in range(5):
        client.get("vault:secret/myapp/config#api_key")
    with pytest.raises(NotFoundError):
        client.get("vault:secret/myapp/missing")
    stats = client.stats()
    assert (stats["hits"], stats["misses"], stats["errors"]) == (4, 2, 1)
    assert stats["backend_calls"]["vault"] == 2
