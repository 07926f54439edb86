"""Cache events: subscribe callbacks, the async iterator, refresh ahead."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import threading
import time
import weakref
from typing import Any

import pytest
from conftest import Recorder, wait_until

from secretkit import Client, Event, EventStream, UnavailableError

DB_PASSWORD = "s3cureP@ssw0rd!"


def test_every_clients_notable_events_reach_the_secretkit_logger(
    ssm: Any, unique: str, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"/logged-{unique}"
    ref = f"ssm:{name}"
    ssm.put_parameter(Name=name, Value="logged-value-1", Type="SecureString")
    caplog.set_level(logging.DEBUG, logger="secretkit")
    client = Client.from_env()  # no subscription of its own

    def logged(kind: str) -> list[logging.LogRecord]:
        return [r for r in caplog.records if getattr(r, "secretkit_event", None) == kind]

    client.get(ref)  # created: routine, not logged
    ssm.put_parameter(Name=name, Value="logged-value-2", Type="SecureString", Overwrite=True)
    client.refresh(ref)
    wait_until(lambda: bool(logged("changed")), what="the changed record")
    (changed,) = logged("changed")
    assert (changed.name, changed.levelno) == ("secretkit", logging.INFO)
    assert changed.getMessage() == f"changed {ref} version 1 -> 2"
    assert changed.secretkit_reference == ref  # type: ignore[attr-defined]
    assert logged("created") == []
    assert "logged-value" not in caplog.text


def test_a_failed_read_is_a_warning_on_the_secretkit_logger(
    closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="secretkit")
    client = Client(vault={"address": f"http://127.0.0.1:{closed_port}", "token": "t"})
    with pytest.raises(UnavailableError):
        client.get("vault:secret/down#field")

    def failures() -> list[str]:
        return [
            r.getMessage()
            for r in caplog.records
            if r.levelno == logging.WARNING and r.getMessage().startswith("error vault:secret/down")
        ]

    wait_until(lambda: bool(failures()), what="the error record")
    assert failures()[0].startswith("error vault:secret/down: UNAVAILABLE: ")
    client.close()  # its token lookup would go on retrying into later tests' logs


def test_changed_event_after_put_parameter_and_refresh(
    ssm: Any, unique: str, recorder: Recorder
) -> None:
    name = f"/events-{unique}"
    ref = f"ssm:{name}"
    ssm.put_parameter(Name=name, Value="v1", Type="SecureString")
    client = Client.from_env()
    sub = client.subscribe(recorder)
    assert isinstance(sub, int)
    client.get(ref)
    created = recorder.wait_for(lambda e: e.kind == "created")
    assert (created.reference, created.old_version, created.new_version) == (ref, None, "1")
    assert created.error is None

    ssm.put_parameter(Name=name, Value="v2", Type="SecureString", Overwrite=True)
    client.refresh(ref)
    changed = recorder.wait_for(lambda e: e.kind == "changed")
    assert (changed.reference, changed.old_version, changed.new_version) == (ref, "1", "2")
    assert abs(changed.at - time.time()) < 5
    # Callbacks run on the one event thread, never on the caller's.
    assert recorder.threads == {"secretkit-events"}
    for event in recorder.events:
        assert "v1" not in repr(event) and "v2" not in repr(event)

    client.unsubscribe(sub)
    client.unsubscribe(sub)  # twice is fine
    client.refresh(ref)
    time.sleep(0.2)
    assert recorder.kinds() == ["created", "changed"]


def test_changed_event_through_the_async_iterator(ssm: Any, unique: str) -> None:
    name = f"/events-async-{unique}"
    ref = f"ssm:{name}"
    ssm.put_parameter(Name=name, Value="v1", Type="String")
    client = Client.from_env()

    async def main() -> list[Event]:
        seen = []
        async with client.events() as events:
            assert isinstance(events, EventStream)
            await client.get_async(ref)
            await asyncio.to_thread(
                ssm.put_parameter, Name=name, Value="v2", Type="String", Overwrite=True
            )
            await client.refresh_async(ref)
            async for event in events:
                seen.append(event)
                if event.kind == "changed":
                    break
        # Closed: the iteration is over and the client no longer feeds it.
        with pytest.raises(StopAsyncIteration):
            await events.__anext__()
        return seen

    seen = asyncio.run(asyncio.wait_for(main(), 10))
    assert [e.kind for e in seen] == ["created", "changed"]
    assert (seen[1].old_version, seen[1].new_version) == ("1", "2")


def test_aclose_ends_a_pending_iteration(client: Client) -> None:
    async def main() -> list[Any]:
        events = client.events()
        waiting = asyncio.ensure_future(events.__anext__())
        await asyncio.sleep(0.05)
        await events.aclose()
        return await asyncio.gather(waiting, return_exceptions=True)

    (result,) = asyncio.run(main())
    assert isinstance(result, StopAsyncIteration)


def test_events_needs_a_running_loop(client: Client) -> None:
    with pytest.raises(RuntimeError):
        client.events()


def test_error_event_when_the_backend_is_down(closed_port: int, recorder: Recorder) -> None:
    client = Client(vault={"address": f"http://127.0.0.1:{closed_port}", "token": "t"})
    client.subscribe(recorder)
    with pytest.raises(UnavailableError):
        client.get("vault:secret/down#field")
    # The token's own lookup fails too and may report first (vault:auth/token/self).
    event = recorder.wait_for(lambda e: e.kind == "error" and e.reference == "vault:secret/down")
    assert isinstance(event.error, UnavailableError)
    assert event.error.kind == "unavailable" and event.error.code == "UNAVAILABLE"
    assert event.error.reference == "vault:secret/down"
    assert (event.old_version, event.new_version) == (None, None)
    client.close()


def test_a_raising_callback_is_reported_and_breaks_nothing(
    client: Client, recorder: Recorder, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    reported: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)

    def broken(event: Event) -> None:
        raise ValueError("listener bug")

    client.subscribe(broken)
    client.subscribe(recorder)
    (tmp_path / "a").write_text("a")
    (tmp_path / "b").write_text("b")
    assert client.get(f"file:{tmp_path / 'a'}").reveal() == "a"
    assert client.get(f"file:{tmp_path / 'b'}").reveal() == "b"
    wait_until(lambda: len(recorder.kinds()) == 2, what="both events")
    wait_until(lambda: len(reported) == 2, what="both failures reported")
    assert all(isinstance(r.exc_value, ValueError) for r in reported)
    assert reported[0].object is broken


def test_evicted_event_and_max_entries(tmp_path: Any, recorder: Recorder) -> None:
    client = Client(max_entries=2)
    client.subscribe(recorder)
    for name in "abc":
        (tmp_path / name).write_text(name)
        client.get(f"file:{tmp_path / name}")
    evicted = recorder.wait_for(lambda e: e.kind == "evicted")
    assert evicted.reference == f"file:{tmp_path / 'a'}"


def test_event_is_a_small_frozen_class(client: Client, recorder: Recorder) -> None:
    client.subscribe(recorder)
    client.get("vault:secret/myapp/config#db_host")
    event = recorder.wait_for(lambda e: e.kind == "created")
    assert repr(event) == (
        "Event(kind='created', reference='vault:secret/myapp/config', "
        "old_version=None, new_version='1')"
    )
    with pytest.raises(AttributeError):
        event.kind = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Event()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        client.subscribe("not callable")  # type: ignore[arg-type]


def test_a_client_in_a_cycle_with_its_callback_is_collected(servers: dict[str, str]) -> None:
    class Service:
        def __init__(self) -> None:
            self.client = Client.from_env()
            self.client.subscribe(self.on_event)

        def on_event(self, event: Event) -> None:
            pass

    service = Service()
    alive = weakref.ref(service)
    del service
    gc.collect()
    assert alive() is None


def test_refresh_ahead_serves_at_once_and_refreshes_in_the_background(
    servers: dict[str, str], recorder: Recorder
) -> None:
    ref = "ssm:/prod/myapp/db-password"
    client = Client.from_env(default_ttl=1, refresh_ahead=0.5, ttl_jitter=0)
    client.subscribe(recorder)
    first = client.get(ref)
    recorder.wait_for(lambda e: e.kind == "created")
    time.sleep(0.6)  # past refresh_ahead (0.5 s), before expiry (1 s)

    start = time.perf_counter()
    again = client.get(ref)
    elapsed = time.perf_counter() - start
    assert again is first and again.reveal() == DB_PASSWORD
    assert elapsed < 0.01, f"the hit waited {elapsed * 1e3:.1f} ms"

    # Nobody calls get; the refresh happens on its own.
    refreshed = recorder.wait_for(lambda e: e.kind == "refreshed", timeout=3)
    assert refreshed.reference == ref and refreshed.new_version == "1"
    stats = client.stats()
    assert stats["refreshes"] == 1
    assert stats["misses"] == 1  # only the very first read waited
    assert stats["backend_calls"]["ssm"] == 2
    # The refreshed value is a new read: the next hit hands out a new object.
    newer = client.get(ref)
    assert newer is not first and newer.fetched_at > first.fetched_at


def test_events_from_many_threads_arrive_in_order_per_reference(
    client: Client, recorder: Recorder, tmp_path: Any
) -> None:
    client.subscribe(recorder)
    paths = [tmp_path / f"f{i}" for i in range(8)]
    for p in paths:
        p.write_text(p.name)

    def read(p: Any) -> None:
        ref = f"file:{p}"
        client.get(ref)
        client.refresh(ref)

    threads = [threading.Thread(target=read, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_until(lambda: len(recorder.kinds()) == 16, what="16 events")
    for p in paths:
        assert recorder.kinds(f"file:{p}") == ["created", "refreshed"]


def test_a_blocked_callback_bounds_the_queue_and_the_drops_are_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The dispatcher's queue is shared by every client in the process: collect
    # the clients earlier tests left behind, so none of their events (a
    # background refresh, a renewal) takes a place in it during this test.
    gc.collect()
    bound = 10_000
    extra = 50
    names = [f"SK_FLOOD_{i}" for i in range(bound + extra + 1)]
    for name in names:
        monkeypatch.setenv(name, "x")
    client = Client(max_entries=2 * len(names))
    release = threading.Event()
    delivered: list[str] = []

    def slow(event: Event) -> None:
        release.wait(30)  # the first event holds the dispatcher thread
        delivered.append(event.reference)

    client.subscribe(slow)
    for name in names[:-1]:
        client.get(f"env:{name}")  # one 'created' event each, none delivered yet
    release.set()
    wait_until(lambda: len(delivered) >= bound, timeout=30, what="the queue drained")
    with caplog.at_level("WARNING", logger="secretkit"):
        client.get(f"env:{names[-1]}")  # the event that carries the count
        wait_until(lambda: f"env:{names[-1]}" in delivered, timeout=30, what="the last event")
    flood = len(delivered) - 1  # all but the last read's event
    # The dispatcher held one event while the queue filled: bound or bound + 1 got through.
    assert bound <= flood <= bound + 1, flood
    dropped = len(names) - 1 - flood
    # Only the drop notices: a client another test left behind (not yet
    # collected) may log its own background errors on the same logger.
    messages = [
        r.getMessage()
        for r in caplog.records
        if r.name == "secretkit" and "dropped" in r.getMessage()
    ]
    assert messages == [
        f"{dropped} secretkit events were dropped: more than {bound} waited for the callbacks"
    ], messages


def test_an_event_stream_nobody_reads_is_bounded_and_logs_the_drops(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Any
) -> None:
    import secretkit._events

    monkeypatch.setattr(secretkit._events, "MAX_QUEUED_EVENTS", 3)
    paths = [tmp_path / str(i) for i in range(6)]
    for path in paths:
        path.write_text("x")

    async def main() -> list[str]:
        client = Client()
        seen: list[str] = []
        async with client.events() as stream:
            for path in paths[:5]:
                await client.get_async(f"file:{path}")
            await asyncio.sleep(0.2)  # all five reach the loop; two do not fit
            for _ in range(3):
                seen.append((await stream.__anext__()).reference)
            with caplog.at_level("WARNING", logger="secretkit"):
                await client.get_async(f"file:{paths[5]}")
                seen.append((await asyncio.wait_for(stream.__anext__(), 5)).reference)
        return seen

    seen = asyncio.run(main())
    assert seen == [f"file:{p}" for p in paths[:3]] + [f"file:{paths[5]}"]
    # Only the drop notices: a client another test left behind (not yet
    # collected) may log its own background errors on the same logger.
    messages = [
        r.getMessage()
        for r in caplog.records
        if r.name == "secretkit" and "dropped" in r.getMessage()
    ]
    assert messages == ["2 secretkit events were dropped: more than 3 waited for the event stream"]
