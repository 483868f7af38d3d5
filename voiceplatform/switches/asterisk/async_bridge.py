"""An asyncio event loop that runs on the gevent hub, so greenlets can call coroutines as
blocking code and coroutines can wait for greenlets.

The loop is asyncio-gevent's ``EventLoop`` (a selector loop whose selector is gevent's). The two
crossings are done here rather than with asyncio-gevent's ``future_to_greenlet`` /
``greenlet_to_future``: those schedule work with a plain ``call_soon`` from outside the loop, which
does not wake a loop that sleeps in its selector, so a command waited for the next unrelated I/O
(latency tails under load, and a hang when the loop was otherwise idle). ``call_soon_threadsafe``
writes to the loop's self-pipe and wakes it at once. Running asyncio on a separate OS thread under
monkey-patching hung while creating the loop, so the loop stays on the hub. See
docs/decisions/asterisk-driver.md.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, TypeVar

import asyncio_gevent
import gevent
from gevent.event import Event

T = TypeVar("T")


class BridgeTimeout(TimeoutError):
    """A coroutine run through the bridge did not finish in time (it has been cancelled)."""


class AsyncBridge:
    def __init__(self) -> None:
        self.loop = asyncio_gevent.EventLoop()
        self._runner = gevent.spawn(self.loop.run_forever)

    def call(self, coroutine: Awaitable[T], timeout: float | None = None) -> T:
        """Run a coroutine on the loop and block this greenlet until it is done."""
        finished = Event()
        holder: dict[str, asyncio.Future[Any]] = {}

        def begin() -> None:
            task = asyncio.ensure_future(coroutine, loop=self.loop)
            holder["task"] = task
            task.add_done_callback(lambda _task: finished.set())

        self.loop.call_soon_threadsafe(begin)
        if not finished.wait(timeout):
            task = holder.get("task")
            if task is not None:
                self.loop.call_soon_threadsafe(task.cancel)
            raise BridgeTimeout(f"no result within {timeout}s")
        return holder["task"].result()

    async def wait_greenlet(self, function: Callable[..., Any], *args: Any) -> Any:
        """From a coroutine: run ``function`` in a new greenlet and wait for it."""
        future = self.loop.create_future()

        def settle(outcome: str, value: Any) -> None:
            if future.done():
                return
            if outcome == "ok":
                future.set_result(value)
            else:
                future.set_exception(value)

        def run() -> None:
            try:
                result = function(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
                self.loop.call_soon_threadsafe(settle, "error", exc)
            else:
                self.loop.call_soon_threadsafe(settle, "ok", result)

        gevent.spawn(run)
        return await future

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._runner.join(timeout=5)
        if not self.loop.is_closed():
            self.loop.close()
