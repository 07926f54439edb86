"""The Vault lease lifecycle through the binding, against OpenBao's database
engine and a real PostgreSQL (servers started with --vault-lifecycle).
Logins are checked with the psql binary.

One client (the module fixture `watched`) reads credentials when the module
starts; its renewal (~7 s) and rotation (at max_ttl, ~27 s) are checked by the
last two tests, so every other test here runs inside that wait.
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import subprocess
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import Recorder, wait_until

from secretkit import (
    AuthError,
    Client,
    ConfigError,
    DbCredentials,
    Event,
    Secret,
)

LIFECYCLE = (
    "SK_PG_HOST",
    "SK_PG_PORT",
    "SK_PG_DB",
    "SK_PG_ADMIN_USER",
    "SK_PG_ADMIN_PASSWORD",
    "SK_VAULT_DB_ROLE",
    "SK_DB_DEFAULT_TTL",
    "SK_DB_MAX_TTL",
    "SK_APPROLE_ROLE_ID_FILE",
    "SK_APPROLE_SECRET_ID_FILE",
)
EVENT_FIELDS = (
    "kind",
    "reference",
    "old_version",
    "new_version",
    "error",
    "at",
    "lease_id",
    "old_lease_id",
    "username",
    "old_username",
    "ttl_secs",
)


@pytest.fixture(scope="module")
def env(servers: dict[str, str]) -> dict[str, str]:
    missing = [name for name in LIFECYCLE if not os.environ.get(name)]
    if missing:
        pytest.fail(
            f"lifecycle servers not configured: {missing} unset; start them with "
            "`tests/servers.py start --env-file F --fixtures --vault-lifecycle` and source F"
        )
    return servers


def role(env: dict[str, str]) -> str:
    return env["SK_VAULT_DB_ROLE"]


def psql(env: dict[str, str], user: str, password: str | Secret, sql: str) -> str | None:
    """The query's output, or None when the login is refused."""
    if isinstance(password, Secret):
        password = password.reveal()
    server = ["-h", env["SK_PG_HOST"], "-p", env["SK_PG_PORT"], "-d", env["SK_PG_DB"]]
    done = subprocess.run(
        ["psql", *server, "-U", user, "-tAc", sql],
        env={**os.environ, "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "5"},
        capture_output=True,
        text=True,
        timeout=15,
    )
    if done.returncode != 0:
        assert "password authentication failed" in done.stderr, done.stderr
        return None
    return done.stdout.strip()


def logs_in(env: dict[str, str], creds: DbCredentials) -> bool:
    return psql(env, creds.username, creds.password, "select count(*) from items") == "3"


def role_exists(env: dict[str, str], username: str) -> bool:
    assert re.fullmatch(r"[\w-]+", username)  # safe to quote below
    sql = f"select count(*) from pg_roles where rolname = '{username}'"
    return psql(env, env["SK_PG_ADMIN_USER"], env["SK_PG_ADMIN_PASSWORD"], sql) == "1"


def token_client(env: dict[str, str], **options: Any) -> Client:
    return Client(vault={"address": env["VAULT_ADDR"], "token": env["VAULT_TOKEN"]}, **options)


def approle(env: dict[str, str], **auth: Any) -> dict[str, Any]:
    return {"address": env["VAULT_ADDR"], "auth": {"method": "approle", **auth}}


def assert_no_password(event: Event, *passwords: Secret) -> None:
    shown = [repr(event)] + [str(getattr(event, name)) for name in EVENT_FIELDS]
    for password in passwords:
        assert not any(password.reveal() in text for text in shown)


@dataclass
class Watched:
    client: Client
    creds: DbCredentials
    read_at: float
    events: Recorder  # client.subscribe
    on_change: Recorder  # database_credentials(on_change=...)
    watch: Recorder  # client.watch(<ref>#username)


@pytest.fixture(scope="module", autouse=True)
def watched(env: dict[str, str]) -> Iterator[Watched]:
    client = token_client(env)
    events, on_change, watch = Recorder(), Recorder(), Recorder()
    client.subscribe(events)
    read_at = time.monotonic()
    creds = client.database_credentials(role(env), on_change=on_change)
    client.watch(f"{creds.reference}#username", watch)
    yield Watched(client, creds, read_at, events, on_change, watch)
    client.close()


def test_database_credentials_log_in_and_a_wrong_password_does_not(
    env: dict[str, str], watched: Watched
) -> None:
    creds = watched.creds
    assert isinstance(creds, DbCredentials)
    assert creds.reference == f"vault:database/creds/{role(env)}"
    assert creds.username.startswith("v-token-")
    assert isinstance(creds.password, Secret)
    assert creds.password.reference == f"{creds.reference}#password"
    assert creds.lease is not None
    assert creds.lease["id"].startswith(f"database/creds/{role(env)}/")
    assert creds.lease["duration"] == int(env["SK_DB_DEFAULT_TTL"])
    assert creds.lease["renewable"] is True
    assert logs_in(env, creds)
    assert psql(env, creds.username, "not-the-password", "select 1") is None
    # The password is redacted wherever the object is shown.
    text = repr(creds) + str(creds) + f"{creds}"
    assert creds.password.reveal() not in text and creds.username in text
    assert "<redacted>" in text
    with pytest.raises(AttributeError):
        creds.username = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        __import__("pickle").dumps(creds)
    with pytest.raises(TypeError):
        __import__("copy").copy(creds)


def test_credentials_are_cached_for_the_life_of_the_lease(
    env: dict[str, str], watched: Watched
) -> None:
    again = watched.client.database_credentials(role(env))
    assert again.username == watched.creds.username
    assert again.lease == watched.creds.lease
    again.unwatch()  # no on_change: nothing to stop


def test_close_revokes_and_returns_the_count(env: dict[str, str]) -> None:
    client = token_client(env)
    creds = client.database_credentials(role(env))
    assert logs_in(env, creds) and role_exists(env, creds.username)
    assert client.close() == 1
    wait_until(lambda: not role_exists(env, creds.username), what="the role dropped")
    assert not logs_in(env, creds)
    with pytest.raises(ConfigError, match="closed"):
        client.get(creds.reference + "#username")
    with pytest.raises(ConfigError, match="closed"):
        client.database_credentials(role(env))
    assert client.close() == 0


def test_with_and_async_with_close(env: dict[str, str]) -> None:
    with token_client(env) as client:
        assert isinstance(client, Client)
        creds = client.database_credentials(role(env))
        assert logs_in(env, creds)
    wait_until(lambda: not role_exists(env, creds.username), what="the role dropped")

    async def main() -> tuple[DbCredentials, DbCredentials, int]:
        async with token_client(env) as client:
            first = await client.database_credentials_async(role(env))
        other = token_client(env)
        second = await other.database_credentials_async(role(env), mount="/database/")
        return first, second, await other.aclose()

    first, second, revoked = asyncio.run(main())
    assert revoked == 1
    for username in (first.username, second.username):
        wait_until(lambda u=username: not role_exists(env, u), what="the role dropped")


def test_with_does_not_swallow_the_exception(env: dict[str, str]) -> None:
    with pytest.raises(KeyError), token_client(env):
        raise KeyError("mine")

    async def main() -> None:
        async with token_client(env):
            raise KeyError("mine")

    with pytest.raises(KeyError):
        asyncio.run(main())


def test_revoke_on_close_false_leaves_the_lease(env: dict[str, str]) -> None:
    client = token_client(env, revoke_on_close=False)
    creds = client.database_credentials(role(env))
    assert client.close() == 0
    assert role_exists(env, creds.username) and logs_in(env, creds)


def test_explicit_approle_from_the_files(env: dict[str, str]) -> None:
    config = approle(
        env,
        role_id_file=Path(env["SK_APPROLE_ROLE_ID_FILE"]),
        secret_id_file=env["SK_APPROLE_SECRET_ID_FILE"],
        mount="approle",
    )
    with Client(vault=config) as client:
        creds = client.database_credentials(role(env))
        assert creds.username.startswith("v-approle-")
        assert logs_in(env, creds)
        assert client.get("vault:secret/myapp/config#db_host").reveal() == "mydb.internal"


def test_explicit_approle_inline(env: dict[str, str]) -> None:
    config = approle(
        env,
        role_id=Path(env["SK_APPROLE_ROLE_ID_FILE"]).read_text().strip(),
        secret_id=Path(env["SK_APPROLE_SECRET_ID_FILE"]).read_text().strip(),
    )

    async def main() -> DbCredentials:
        async with Client(vault=config) as client:
            return await client.database_credentials_async(role(env))

    creds = asyncio.run(main())
    assert creds.username.startswith("v-approle-")


def test_from_env_with_approle_files(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_ROLE_ID_FILE", env["SK_APPROLE_ROLE_ID_FILE"])
    monkeypatch.setenv("VAULT_SECRET_ID_FILE", env["SK_APPROLE_SECRET_ID_FILE"])
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    with Client.from_env() as client:
        creds = client.database_credentials(role(env))
        assert creds.username.startswith("v-approle-")
        assert logs_in(env, creds)


def test_a_wrong_secret_id_is_an_auth_error_naming_no_secret(env: dict[str, str]) -> None:
    role_id = Path(env["SK_APPROLE_ROLE_ID_FILE"]).read_text().strip()
    wrong = "wrong-" + os.urandom(8).hex()
    client = Client(vault=approle(env, role_id=role_id, secret_id=wrong))
    with pytest.raises(AuthError) as info:
        client.database_credentials(role(env))
    error = info.value
    assert (error.kind, error.code) == ("auth", "AUTH")
    shown = " ".join([str(error), repr(error), error.message, str(error.args)])
    assert wrong not in shown and role_id not in shown
    assert "login" in shown


def test_watch_needs_a_valid_reference_and_a_callable(watched: Watched) -> None:
    with pytest.raises(TypeError):
        watched.client.watch("vault:database/creds/x", "not callable")  # type: ignore[arg-type]
    with pytest.raises(ValueError):  # InvalidReferenceError
        watched.client.watch("nope", lambda event: None)
    with pytest.raises(TypeError):
        watched.client.database_credentials("x", on_change=42)  # type: ignore[arg-type]
    watch_id = watched.client.watch("vault:secret/myapp/config", lambda event: None)
    assert isinstance(watch_id, int)
    watched.client.unsubscribe(watch_id)


def test_a_pool_holding_its_watched_credentials_is_collected(env: dict[str, str]) -> None:
    class Pool:
        def __init__(self) -> None:
            self.client = token_client(env)
            self.creds = self.client.database_credentials(role(env), on_change=self.rebuild)

        def rebuild(self, event: Event) -> None:
            pass

    pool = Pool()
    username = pool.creds.username
    pool.client.close()
    alive = weakref.ref(pool)
    del pool
    gc.collect()
    assert alive() is None
    assert not role_exists(env, username)


def test_renewed_events(env: dict[str, str], watched: Watched) -> None:
    creds = watched.creds
    renewed = watched.events.wait_for(
        lambda e: e.kind == "renewed" and e.reference == creds.reference, timeout=12
    )
    assert time.monotonic() - watched.read_at < 12
    assert creds.lease is not None
    assert renewed.lease_id == creds.lease["id"]
    assert renewed.username == creds.username
    assert renewed.ttl_secs == int(env["SK_DB_DEFAULT_TTL"])
    assert (renewed.old_lease_id, renewed.old_username, renewed.error) == (None, None, None)
    assert_no_password(renewed, creds.password)
    assert "lease_id=" in repr(renewed) and "ttl_secs=" in repr(renewed)
    # Cache events have the lease fields, unset.
    created = watched.events.wait_for(lambda e: e.kind == "created")
    assert all(getattr(created, name) is None for name in EVENT_FIELDS[6:])


def test_rotated_before_max_ttl_and_the_new_credentials_log_in(
    env: dict[str, str], watched: Watched
) -> None:
    old = watched.creds
    left = 35 - (time.monotonic() - watched.read_at)
    rotated = watched.events.wait_for(
        lambda e: e.kind == "rotated" and e.reference == old.reference, timeout=left
    )
    assert time.monotonic() - watched.read_at < int(env["SK_DB_MAX_TTL"]) + 5
    heard = watched.on_change.wait_for(lambda e: e.kind == "rotated", timeout=2)
    by_field = watched.watch.wait_for(lambda e: e.kind == "rotated", timeout=2)
    assert old.lease is not None
    for event in (rotated, heard, by_field):
        assert event.reference == old.reference
        assert event.old_username == old.username
        assert event.username and event.username != old.username
        assert event.username.startswith("v-token-")
        assert event.old_lease_id == old.lease["id"]
        assert event.lease_id and event.lease_id != old.lease["id"]
    # on_change and watch hear rotations only.
    assert watched.on_change.kinds() == ["rotated"]
    assert watched.watch.kinds() == ["rotated"]

    new = watched.client.database_credentials(role(env))
    assert new.username == rotated.username
    assert new.lease is not None and new.lease["id"] == rotated.lease_id
    assert logs_in(env, new)
    for event in (rotated, heard, by_field):
        assert_no_password(event, old.password, new.password)

    watched.creds.unwatch()
    watched.creds.unwatch()  # twice is fine
