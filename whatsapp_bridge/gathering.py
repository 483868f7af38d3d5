"""Group writes under load, never delay a lone one: a writer that wrote within the last
``busy_within`` seconds pauses ``pause`` seconds before its next write, so what arrives meanwhile
goes in the same transaction. Paced sends ask one at a time (at 80/s, one every 12.5 ms), so
without the pause each start mark and each answer was a transaction of its own; a reply to a
user after a quiet moment is written at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gevent

PAUSE = 0.02
BUSY_WITHIN = 0.05


class Gathering:
    def __init__(self, pause: float = PAUSE, busy_within: float = BUSY_WITHIN,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], Any] = gevent.sleep) -> None:
        self.pause = pause
        self.busy_within = busy_within
        self.clock = clock
        self.sleep = sleep
        self.pauses = 0
        self._last: float | None = None

    def before_write(self) -> None:
        """Pause if the last write was recent (see the module's docstring)."""
        if self._last is not None and self.clock() - self._last < self.busy_within:
            self.pauses += 1
            self.sleep(self.pause)

    def wrote(self) -> None:
        self._last = self.clock()
