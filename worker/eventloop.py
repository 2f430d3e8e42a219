"""This process's one asyncio event loop, on a thread of its own, for the HTTP clients of every destination kind.

Callers are synchronous (a Celery task, the API's connection test): ``run`` hands a coroutine to the loop and
waits for its result. The loop starts on first use; a forked process (Celery's pool) gets a loop of its own.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class EventLoop:
    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="event-loop", daemon=True)
        self._thread.start()
        self._closers: list[Callable[[], Awaitable[Any]]] = []
        atexit.register(self._close)

    def run(self, coroutine: Coroutine[Any, Any, T], *, timeout: float | None = None) -> T:
        """Run ``coroutine`` on the loop and return its result (TimeoutError, cancelled, after ``timeout`` s)."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def on_exit(self, close: Callable[[], Awaitable[Any]]) -> None:
        """Await ``close()`` on the loop when the process exits (a session's connections, for instance)."""
        self._closers.append(close)

    def _close(self) -> None:
        if not self._thread.is_alive():
            return
        for close in self._closers:
            with contextlib.suppress(Exception):
                self.run(_awaited(close), timeout=5)


async def _awaited(close: Callable[[], Awaitable[Any]]) -> None:
    await close()


_shared: tuple[int, EventLoop] | None = None
_lock = threading.Lock()


def shared() -> EventLoop:
    """This process's loop (a new one after a fork)."""
    global _shared
    with _lock:
        if _shared is None or _shared[0] != os.getpid():
            _shared = (os.getpid(), EventLoop())
        return _shared[1]
