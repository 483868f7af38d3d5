"""A small per-process cache whose entries live a fixed number of seconds.

The inbound path reads a few things on every message that change rarely and are edited
elsewhere (by the API, in another process): our numbers and their channels' flows, and each
account's opt-out words. Keeping them for :data:`SECONDS` takes their reads off the hot path; a
change made anywhere applies to every worker within that bound (docs/sessions.md, "Performance").
Only what was found is kept: a number created a moment ago is seen at once.
"""

from __future__ import annotations

import time
from typing import Callable, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

#: How long a cached number or opt-out word list is used before it is read again.
SECONDS = 5.0
MAX_ENTRIES = 10_000


class TtlCache(Generic[K, V]):
    def __init__(self, seconds: float = SECONDS, clock: Callable[[], float] = time.monotonic,
                 max_entries: int = MAX_ENTRIES) -> None:
        self.seconds = seconds
        self.clock = clock
        self.max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self.clock() >= entry[0]:
            del self._entries[key]
            return None
        return entry[1]

    def put(self, key: K, value: V) -> V:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # a bound, not an eviction policy: the next reads refill it
        self._entries[key] = (self.clock() + self.seconds, value)
        return value

    def clear(self) -> None:
        self._entries.clear()
