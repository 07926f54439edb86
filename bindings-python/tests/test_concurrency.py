"""get_async under asyncio, single flight, and the GIL released while waiting."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import pytest

from secretkit import Client, InvalidReferenceError, NotFoundError, SecretkitError


def test_get_async_fifty_concurrent_gets_of_a_fresh_key(client: Client) -> None:
    ref = "vault:secret/myapp/config#api_key"

    async def main() -> list:
        return await asyncio.gather(*(client.get_async(ref) for _ in range(50)))

    secrets = asyncio.run(main())
    assert len(secrets) == 50
    assert {s.reveal() for s in secrets} == {"sk-abc123"}
    # One backend read served all 50, counted, not inferred from timestamps.
    stats = client.stats()
    assert stats["backend_calls"]["vault"] == 1
    assert stats["misses"] + stats["hits"] == 50
    assert all(repr(s) == f"Secret({ref}, <redacted>)" for s in secrets)


def test_get_async_raises_typed_errors(client: Client) -> None:
    async def main() -> None:
        with pytest.raises(NotFoundError) as info:
            await client.get_async("asm:prod/myapp/missing")
        assert info.value.reference == "asm:prod/myapp/missing"
        with pytest.raises(InvalidReferenceError):
            await client.get_async("nope")

    asyncio.run(main())


def test_get_async_does_not_block_the_event_loop(silent_port: int) -> None:
    client = Client(vault={"address": f"http://127.0.0.1:{silent_port}", "token": "t"}, timeout=1.0)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def main() -> None:
        task = asyncio.create_task(ticker())
        with pytest.raises(SecretkitError) as info:
            await client.get_async("vault:secret/slow")
        task.cancel()
        assert info.value.kind == "timeout"

    asyncio.run(main())
    assert ticks > 20


def test_blocking_get_releases_the_gil(silent_port: int) -> None:
    """A Python thread keeps counting while the main thread waits on a Vault
    that never answers; holding the GIL would freeze it."""
    client = Client(vault={"address": f"http://127.0.0.1:{silent_port}", "token": "t"}, timeout=1.0)
    count = 0
    stop = threading.Event()

    def counter() -> None:
        nonlocal count
        while not stop.is_set():
            count += 1

    thread = threading.Thread(target=counter)
    thread.start()
    try:
        time.sleep(0.05)
        before = count
        with pytest.raises(SecretkitError):
            client.get("vault:secret/slow")
        progressed = count - before
    finally:
        stop.set()
        thread.join()
    assert progressed > 100_000, f"the counter thread only advanced {progressed} times"


def test_concurrent_blocking_gets_of_different_keys_overlap(silent_port: int) -> None:
    client = Client(vault={"address": f"http://127.0.0.1:{silent_port}", "token": "t"}, timeout=1.0)
    errors: list[BaseException] = []

    def read(ref: str) -> None:
        try:
            client.get(ref)
        except SecretkitError as e:
            errors.append(e)

    threads = [threading.Thread(target=read, args=(f"vault:secret/slow-{i}",)) for i in range(3)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    assert len(errors) == 3 and all(e.kind == "timeout" for e in errors)
    assert elapsed < 2.5, f"three 1 s waits took {elapsed:.2f} s: they did not overlap"


def test_blocking_gets_from_many_threads_share_one_read(client: Client) -> None:
    ref = "asm:prod/myapp/db-credentials#password"
    results: list = []
    barrier = threading.Barrier(16)

    def read() -> None:
        barrier.wait()
        results.append(client.get(ref))

    threads = [threading.Thread(target=read) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 16
    assert len({s.fetched_at for s in results}) == 1


def test_ctrl_c_interrupts_a_blocking_get(silent_port: int) -> None:
    client = Client(
        vault={"address": f"http://127.0.0.1:{silent_port}", "token": "t"}, timeout=30.0
    )
    timer = threading.Timer(0.3, os.kill, args=(os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            client.get("vault:secret/slow")
    finally:
        timer.cancel()
    assert time.monotonic() - start < 3
