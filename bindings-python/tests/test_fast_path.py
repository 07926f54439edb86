"""The hit path (one Secret object per backend read), awaitable hits that
never leave the calling task, cancellation, and a clean interpreter exit."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import wait_until

from secretkit import Client, NotFoundError, Secret, SecretkitError


def test_a_hit_hands_out_the_same_secret_until_the_read_changes(
    client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "v"
    path.write_text("one")
    ref = f"file:{path}"
    first = client.get(ref)
    assert client.get(ref) is first
    assert asyncio.run(_get_async(client, ref)) is first
    path.write_text("two")
    second = client.refresh(ref)
    assert second.reveal() == "two"
    hit = client.get(ref)
    assert hit is not first and hit.reveal() == "two"
    assert first.reveal() == "one"  # an old Secret keeps its value
    client.invalidate(ref)
    path.write_text("three")
    assert client.get(ref).reveal() == "three"
    client.clear()
    path.write_text("four")
    assert client.get(ref).reveal() == "four"


def test_a_change_through_another_spelling_is_seen_by_the_next_hit(
    client: Client, monkeypatch: pytest.MonkeyPatch, fresh_env_name: str
) -> None:
    plain, other = f"env:{fresh_env_name}", f"env:{fresh_env_name}?ttl=2h"
    monkeypatch.setenv(fresh_env_name, "one")
    first = client.get(plain)
    assert client.get(plain) is first  # a hit: its window runs to the refresh-ahead point
    monkeypatch.setenv(fresh_env_name, "two")
    # The other spelling stores into the same cache entry: the plain
    # reference's window is still open, but the client's generation moved.
    assert client.refresh(other).reveal() == "two"
    assert client.get(plain).reveal() == "two"
    assert asyncio.run(_get_async(client, plain)).reveal() == "two"


def test_stats_count_every_hit_including_repeats(client: Client) -> None:
    ref = "vault:secret/myapp/config#db_host"
    client.get(ref)
    for _ in range(999):
        client.get(ref)

    async def awaited() -> None:
        for _ in range(500):
            await client.get_async(ref)

    asyncio.run(awaited())
    stats = client.stats()
    assert (stats["misses"], stats["hits"]) == (1, 1499)
    assert client.stats()["hits"] == 1499, "counted once"


def test_repeats_stop_at_the_refresh_ahead_point(servers: dict[str, str]) -> None:
    client = Client.from_env(default_ttl=1, refresh_ahead=0.5, ttl_jitter=0)
    ref = "ssm:/prod/myapp/db-password"
    first = client.get(ref)
    for _ in range(100):
        assert client.get(ref) is first
    assert client.stats()["refreshes"] == 0, "not due yet"
    time.sleep(0.6)
    assert client.get(ref) is first, "served from the cache while it refreshes"
    assert client.stats()["refreshes"] == 1
    wait_until(lambda: client.get(ref) is not first, what="the refreshed read handed out")
    assert client.stats()["backend_calls"]["ssm"] == 2


def test_spellings_and_fields_are_separate_secrets(client: Client) -> None:
    whole = client.get("vault:secret/myapp/config")
    field = client.get("vault:secret/myapp/config#api_key")
    assert field.reveal() == "sk-abc123" and field is not whole
    assert client.get("vault:secret/myapp/config#api_key") is field
    assert client.get("vault:secret/myapp/config?ttl=60s#api_key").reveal() == "sk-abc123"


def test_many_references_stay_correct_past_the_memo_bound(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(5000):
        monkeypatch.setenv(f"SK_MEMO_{i}", str(i))
    for _ in range(2):
        for i in range(0, 5000, 7):
            assert client.get(f"env:SK_MEMO_{i}").reveal() == str(i)


def test_reference_must_be_a_str(client: Client) -> None:
    with pytest.raises(TypeError):
        client.get(b"env:HOME")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        client.get_async(None)  # type: ignore[arg-type]


async def _get_async(client: Client, ref: str) -> Secret:
    return await client.get_async(ref)


def test_an_awaited_hit_does_not_yield_to_the_loop(client: Client) -> None:
    ref = "asm:prod/myapp/db-credentials#username"

    async def main() -> int:
        await client.get_async(ref)  # miss: goes through the loop
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.ensure_future(ticker())
        await asyncio.sleep(0)
        before = ticks
        for _ in range(1000):
            assert (await client.get_async(ref)).reveal() == "app_user"
        during = ticks - before
        task.cancel()
        return during

    assert asyncio.run(main()) == 0


def test_an_awaited_hit_works_without_a_running_loop(client: Client) -> None:
    secret = client.get("vault:secret/myapp/config#db_name")
    awaitable = client.get_async("vault:secret/myapp/config#db_name")
    with pytest.raises(StopIteration) as done:
        awaitable.__await__().__next__()
    assert done.value.value is secret


def test_a_remembered_not_found_raises_when_awaited(client: Client) -> None:
    ref = "ssm:/prod/myapp/missing-fast-path"
    with pytest.raises(NotFoundError):
        client.get(ref)

    async def main() -> None:
        pending = client.get_async(ref)  # a negative-cache hit: no error yet
        with pytest.raises(NotFoundError):
            await pending

    asyncio.run(main())
    assert client.stats()["backend_calls"]["ssm"] == 1


def test_cancelling_an_awaited_miss(silent_port: int) -> None:
    client = Client(vault={"address": f"http://127.0.0.1:{silent_port}", "token": "t"}, timeout=5)

    async def main() -> float:
        start = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(client.get_async("vault:secret/slow"), 0.2)
        task = asyncio.ensure_future(client.get_async("vault:secret/slow"))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - start

    assert asyncio.run(main()) < 1.5


def test_an_async_miss_outside_a_loop_is_a_coroutine(client: Client) -> None:
    ref = "ssm:/prod/myapp/db-password"
    assert asyncio.run(client.get_async(ref)).reveal() == "s3cureP@ssw0rd!"


def test_async_errors_are_typed(client: Client) -> None:
    async def main() -> list[Any]:
        return await asyncio.gather(
            client.refresh_async("asm:prod/myapp/missing"),
            client.prefetch_async("vault:secret/"),
            client.get_async("nope"),
            return_exceptions=True,
        )

    missing, prefetch, invalid = asyncio.run(main())
    assert isinstance(missing, NotFoundError)
    assert missing.reference == "asm:prod/myapp/missing"
    assert isinstance(prefetch, SecretkitError) and prefetch.kind == "config"
    assert isinstance(invalid, SecretkitError) and invalid.kind == "invalid_reference"


EXIT_SCRIPT = """
import asyncio
from secretkit import Client

client = Client.from_env()
client.subscribe(lambda event: None)
ref = "vault:secret/myapp/config?ttl=0s#api_key"

async def main():
    for _ in range(150):
        await asyncio.gather(*(client.get_async(ref) for _ in range(8)))

asyncio.run(main())
print("ok")
"""


def test_the_interpreter_exits_cleanly_while_tokio_completes_futures(
    servers: dict[str, str], tmp_path: Path
) -> None:
    """Tokio threads hand results to Python; at exit none may be left inside
    Python (CPython < 3.14 kills such threads and the process aborts)."""
    script = tmp_path / "exit.py"
    script.write_text(textwrap.dedent(EXIT_SCRIPT))
    for _ in range(4):
        done = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip() == "ok"


def test_import_does_not_load_asyncio_or_logging() -> None:
    # Most of a cold `import secretkit` was asyncio; it is loaded on first
    # use (an event stream, an awaited miss), so a sync program never pays.
    code = (
        "import sys, secretkit; "
        "print(sorted(m for m in ('asyncio', 'logging') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
