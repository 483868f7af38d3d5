"""An asyncio event loop that runs on the gevent hub, so greenlets can call coroutines as
blocking code and coroutines can wait for greenlets.

Running asyncio on a separate OS thread under monkey-patching hung while creating the loop (see
docs/decisions/asterisk-driver.md); asyncio-gevent's loop avoids threads altogether.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, TypeVar

import asyncio_gevent
import gevent

T = TypeVar("T")


class AsyncBridge:
    def __init__(self) -> None:
        self.loop = asyncio_gevent.EventLoop()
        self._runner = gevent.spawn(self.loop.run_forever)

    def call(self, coroutine: Awaitable[T], timeout: float | None = None) -> T:
        """Run a coroutine on the loop and block this greenlet until it is done."""
        greenlet = asyncio_gevent.future_to_greenlet(coroutine, loop=self.loop)
        greenlet.start()
        try:
            return greenlet.get(timeout=timeout)
        except gevent.Timeout:
            greenlet.kill(block=False)
            raise

    @staticmethod
    async def wait_greenlet(function: Callable[..., Any], *args: Any) -> Any:
        """From a coroutine: run ``function`` in a new greenlet and wait for it."""
        greenlet = gevent.spawn(function, *args)
        return await asyncio_gevent.greenlet_to_future(greenlet)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._runner.join(timeout=5)
        if not self.loop.is_closed():
            self.loop.close()


def current_loop_is(bridge: AsyncBridge) -> bool:
    try:
        return asyncio.get_running_loop() is bridge.loop
    except RuntimeError:
        return False
