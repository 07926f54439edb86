"""`client.events()`: cache events as an async iterator.

The callback runs on the "secretkit-events" thread and hands each event to
the event loop that created the stream (`loop.call_soon_threadsafe`), where
an asyncio.Queue holds it until the iterator asks. Closing the stream
(`aclose()`, leaving `async with`, or dropping it) unsubscribes.

The queue holds at most MAX_QUEUED_EVENTS: a stream nobody iterates must not
grow without limit. Past it new events are dropped and counted, and the count
is logged as a warning on the "secretkit" logger before the next event is
queued.

asyncio and logging are imported when they are first needed, not with
secretkit: together they are most of `import secretkit`'s time (measured with
`python -X importtime`), and most programs never make a stream.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio
    from types import TracebackType

    from ._native import Client, Event

_CLOSED: Any = object()
MAX_QUEUED_EVENTS = 10_000


class _Inbox:
    """The loop side of a stream: a bounded queue and what it dropped."""

    def __init__(self) -> None:
        import asyncio

        # One place kept for the _CLOSED marker, which must always fit.
        self.queue: asyncio.Queue[Any] = asyncio.Queue(MAX_QUEUED_EVENTS + 1)
        self.dropped = 0

    def put(self, event: Event) -> None:
        if self.queue.qsize() >= MAX_QUEUED_EVENTS:
            self.dropped += 1
            return
        if self.dropped:
            import logging

            logging.getLogger("secretkit").warning(
                "%d secretkit events were dropped: more than %d waited for the event stream",
                self.dropped,
                MAX_QUEUED_EVENTS,
            )
            self.dropped = 0
        self.queue.put_nowait(event)


def _deliver(loop: asyncio.AbstractEventLoop, inbox: _Inbox, event: Event) -> None:
    try:
        loop.call_soon_threadsafe(inbox.put, event)
    except RuntimeError:
        pass  # the loop is closed: nobody is listening any more


class EventStream:
    """``async for event in client.events(): ...`` — every event from the
    moment the stream is created. Create it inside the running loop."""

    def __init__(self, client: Client) -> None:
        import asyncio

        self._loop = asyncio.get_running_loop()
        self._inbox = _Inbox()
        self._queue = self._inbox.queue
        self._client: Client | None = client
        self._id = client.subscribe(functools.partial(_deliver, self._loop, self._inbox))

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        if self._client is None:
            raise StopAsyncIteration
        event = await self._queue.get()
        if event is _CLOSED:
            raise StopAsyncIteration
        return event

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        """Unsubscribe; a pending ``__anext__`` ends the iteration."""
        client, self._client = self._client, None
        if client is not None:
            client.unsubscribe(self._id)
            self._queue.put_nowait(_CLOSED)

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.unsubscribe(self._id)
