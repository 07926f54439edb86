"""What ``get_async`` returns for a cache hit the binding answers itself.

A done ``asyncio.Future`` holding the ``Secret``: ``await`` on it takes
CPython's fast path for futures (the C future's iterator answers through
``am_send``, with no ``StopIteration`` object per await), which the native
``Ready`` awaitable cannot take (pyo3 classes have no ``am_send``):
measured 47 against 203 ns per ``await`` (BENCHMARKS.md). The native memo
makes one per cache window (``memo.rs``), the first time ``get_async``
answers from it; this module is imported then, so ``import secretkit``
does not import asyncio.

It belongs to no loop. Asking for the running loop on every hit would cost
a ``getpid()`` system call on Python 3.11 (its ``_get_running_loop`` checks
the pid), several times the rest of the hit. A future is done before
anyone can wait on it, so no loop ever has to run its callbacks but the one
that asks: ``get_loop()`` answers the running loop, and
``add_done_callback`` schedules on it, which is all that ``gather``,
``ensure_future``, ``wait``, ``wait_for`` and ``shield`` use. It is also a
coroutine, like every other ``*_async`` answer, so ``asyncio.run`` and
``create_task`` take it as they take a miss.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from typing import Any, NoReturn


class _NoLoop:
    """Stands in for the loop a future is made with (it asks for get_debug)."""

    def get_debug(self) -> bool:
        return False


_NO_LOOP = _NoLoop()


class ReadyFuture(asyncio.Future):  # type: ignore[type-arg]
    """A completed read: awaiting it gives the ``Secret`` at once."""

    def __init__(self, value: Any) -> None:
        super().__init__(loop=_NO_LOOP)  # type: ignore[arg-type]
        self.set_result(value)

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    def add_done_callback(
        self,
        fn: Callable[[Any], object],
        *,
        context: contextvars.Context | None = None,
    ) -> None:
        asyncio.get_running_loop().call_soon(fn, self, context=context)

    def send(self, value: Any) -> NoReturn:
        raise StopIteration(self.result())

    def throw(self, kind: Any, value: Any = None, traceback: Any = None) -> NoReturn:
        raise kind if value is None else value

    def close(self) -> None:
        """Nothing to stop: the read is done."""
