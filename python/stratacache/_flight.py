"""Single flight: however many threads (or asyncio tasks) ask for the same missing key at
once, the function that makes its value runs once and every caller gets its result (or its
exception, which is not cached)."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from typing import Any, Awaitable, Callable, Dict, Hashable, Tuple


class ThreadFlights:
    """Calls in flight, for threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Dict[Hashable, Future] = {}

    def run(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """Runs ``make()`` unless a call for ``key`` is already running, in which case
        this waits for that call's result (or exception)."""
        with self._lock:
            call = self._calls.get(key)
            leader = call is None
            if leader:
                call = Future()
                self._calls[key] = call
        if not leader:
            return call.result()
        try:
            value = make()
        except BaseException as error:
            call.set_exception(error)
            raise
        else:
            call.set_result(value)
            return value
        finally:
            with self._lock:
                del self._calls[key]


class TaskFlights:
    """Calls in flight, for asyncio tasks (per event loop)."""

    def __init__(self) -> None:
        self._calls: Dict[Tuple[int, Hashable], "asyncio.Task[Any]"] = {}

    async def run(self, key: Hashable, make: Callable[[], Awaitable[Any]]) -> Any:
        """Awaits ``make()`` unless a call for ``key`` is already running on this loop, in
        which case this awaits that call. A caller cancelled while waiting does not cancel
        the call the others wait for."""
        loop = asyncio.get_running_loop()
        slot = (id(loop), key)
        task = self._calls.get(slot)
        if task is None:
            task = loop.create_task(make())
            self._calls[slot] = task
            task.add_done_callback(lambda _t: self._calls.pop(slot, None))
        return await asyncio.shield(task)
