"""The Secret object: metadata, immutability, and no way to copy it out by accident."""

from __future__ import annotations

import copy
import pickle

import pytest

from secretkit import Client, Secret


@pytest.fixture()
def secret(client: Client) -> Secret:
    return client.get("ssm:/prod/myapp/db-password")


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickling_refuses(secret: Secret, protocol: int) -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(secret, protocol=protocol)


def test_copying_refuses(secret: Secret) -> None:
    with pytest.raises(TypeError):
        copy.copy(secret)
    with pytest.raises(TypeError):
        copy.deepcopy(secret)
    with pytest.raises(TypeError):
        copy.deepcopy({"password": secret})


def test_secret_is_read_only_and_not_constructible(secret: Secret) -> None:
    with pytest.raises(AttributeError):
        secret.reference = "env:X"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Secret()  # type: ignore[call-arg]


def test_format_spec_applies_to_the_redacted_text(secret: Secret) -> None:
    shown = "Secret(ssm:/prod/myapp/db-password, <redacted>)"
    assert f"{secret:>60}" == shown.rjust(60)
    assert f"{secret:^60}" == shown.center(60)


def test_no_lease_without_a_lease_id(client: Client) -> None:
    assert client.get("asm:prod/myapp/db-credentials").lease is None
    # KV v1 answers carry a lease_duration (a refresh hint) but no lease id.
    assert client.get("vault:kv1/app").lease is None
