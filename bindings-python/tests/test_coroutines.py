"""Every *_async method returns a coroutine: asyncio.run, create_task and
gather take it, whether or not a loop was running when it was made."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from secretkit import Client, NotFoundError, Secret

CONFIG = "vault:secret/myapp/config#db_host"


def test_asyncio_run_takes_every_async_method(client: Client) -> None:
    # Made with no loop running: nothing starts until asyncio.run awaits it.
    miss = asyncio.run(client.get_async(CONFIG))
    hit = asyncio.run(client.get_async(CONFIG))
    assert isinstance(miss, Secret) and miss.reveal() == "mydb.internal"
    assert hit.fetched_at == miss.fetched_at and client.stats()["misses"] == 1
    refreshed = asyncio.run(client.refresh_async(CONFIG))
    assert refreshed.reveal() == "mydb.internal" and refreshed is not miss
    many = asyncio.run(client.get_many_async(["ssm:/prod/myapp/db-password", CONFIG]))
    assert [s.reveal() for s in many] == ["s3cureP@ssw0rd!", "mydb.internal"]
    assert asyncio.run(client.prefetch_async("ssm:/prod/myapp/")) == 1
    with pytest.raises(NotFoundError):
        asyncio.run(client.get_async("ssm:/prod/myapp/not-there"))
    assert asyncio.run(client.aclose()) == 0
    with pytest.raises(Exception, match="closed"):
        asyncio.run(client.get_async(CONFIG))


def test_nothing_is_read_until_awaited(client: Client) -> None:
    pending = client.get_async("ssm:/prod/myapp/db-password")
    assert asyncio.iscoroutine(pending)
    assert client.stats()["misses"] == 0
    pending.close()  # never started: nothing to stop
    unused = client.get_async("ssm:/prod/myapp/db-password")
    del unused
    assert client.stats()["backend_calls"]["ssm"] == 0


def test_a_coroutine_outside_a_loop_needs_one_when_stepped(client: Client) -> None:
    pending = client.get_async("ssm:/prod/myapp/never-read-without-a-loop")
    with pytest.raises(RuntimeError):
        pending.send(None)
    assert client.stats()["backend_calls"]["ssm"] == 0


def test_create_task_gather_and_reuse(client: Client) -> None:
    async def main() -> list[Any]:
        # Made inside the loop: starts at once, so these read in parallel.
        task = asyncio.create_task(client.get_async(CONFIG))
        many = asyncio.ensure_future(client.get_many_async([CONFIG]))
        gathered = await asyncio.gather(client.refresh_async(CONFIG), task, many)
        once = client.get_async("ssm:/prod/myapp/db-password")
        await once
        with pytest.raises(RuntimeError, match="already awaited"):
            await once
        return gathered

    refreshed, secret, many = asyncio.run(main())
    assert refreshed.reveal() == secret.reveal() == many[0].reveal() == "mydb.internal"


def test_a_coroutine_made_outside_runs_in_a_loop_started_later(client: Client) -> None:
    pending = [client.get_async(CONFIG), client.refresh_async(CONFIG)]

    async def main() -> list[Secret]:
        return await asyncio.gather(*pending)

    assert [s.reveal() for s in asyncio.run(main())] == ["mydb.internal"] * 2


def test_throw_into_a_waiting_coroutine(client: Client) -> None:
    pending = client.get_async(CONFIG)
    with pytest.raises(KeyError):
        pending.throw(KeyError("stop"))
    with pytest.raises(RuntimeError, match="already awaited"):
        asyncio.run(pending)  # type: ignore[arg-type]


def test_a_hit_takes_every_asyncio_entry_point_in_each_loop(client: Client) -> None:
    """A hit the binding answers is a done future (the fast await,
    secretkit/_ready.py) made once per cache window and shared by every
    loop: it must still be a coroutine to asyncio, and gather, tasks,
    wait_for, shield and as_completed must take it in each new loop (a
    future tied to the first loop would be refused in the next)."""

    async def main() -> list[Secret]:
        first = await client.get_async(CONFIG)  # the miss, or the core's hit
        await client.get_async(CONFIG)  # the core's hit, remembered by the binding
        hit = client.get_async(CONFIG)  # answered by the binding's memo
        assert asyncio.iscoroutine(hit) and asyncio.isfuture(hit)
        assert hit.get_loop() is asyncio.get_running_loop()
        same = [await hit, await hit]  # done: awaited as often as wanted
        task = asyncio.create_task(client.get_async(CONFIG))
        gathered = await asyncio.gather(client.get_async(CONFIG), task)
        waited = await asyncio.wait_for(client.get_async(CONFIG), 1)
        shielded = await asyncio.shield(client.get_async(CONFIG))
        (completed,) = [await f for f in asyncio.as_completed([client.get_async(CONFIG)])]
        return [first, *same, *gathered, waited, shielded, completed]

    for _ in range(3):  # a new loop each time
        secrets = asyncio.run(main())
        assert [s.reveal() for s in secrets] == ["mydb.internal"] * 8
        assert len({s.fetched_at for s in secrets}) == 1
    # With no loop running: stepped as a coroutine by asyncio.run.
    assert asyncio.run(client.get_async(CONFIG)).reveal() == "mydb.internal"  # type: ignore[arg-type]
    assert client.stats()["misses"] == 1
