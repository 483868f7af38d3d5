"""The pair limit: how fast one business number may write to one user. Meta allows about one
message every 6 seconds to the same user, with bursts (up to 45) that borrow from the quota
after them, and answers 131056 past it; the advice is to back off 4^X seconds (X: how many times
in a row it was hit).

:class:`PairPacer` keeps a token bucket per (number, user) in this process: ``burst`` tokens,
one back every ``every`` seconds. :meth:`PairPacer.take` says go (0) or how long to wait;
:meth:`PairPacer.strike` records a 131056 and gives the backoff (1, 4, 16, 64 ... seconds, at
most ``max_backoff``), which the sender carries on the message's ``next_attempt_at`` so every
worker honours it; :meth:`PairPacer.clear` forgets the strikes once a send went through. The
sender sends one user's messages in order, one at a time, so a user never receives them out of
order nor in parallel.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

Pair = tuple[str, str]  # (phone_number_id, recipient)
MAX_PAIRS = 100_000  # pairs remembered (the least recently used go first)


@dataclass
class _Bucket:
    tokens: float
    at: float
    strikes: int = 0


class PairPacer:
    def __init__(self, burst: int = 45, every: float = 6.0, *, max_backoff: float = 1024.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = burst
        self.every = every
        self.max_backoff = max_backoff
        self.clock = clock
        self._buckets: OrderedDict[Pair, _Bucket] = OrderedDict()

    def _bucket(self, pair: Pair) -> _Bucket:
        now = self.clock()
        bucket = self._buckets.get(pair)
        if bucket is None:
            bucket = self._buckets[pair] = _Bucket(float(self.burst), now)
            if len(self._buckets) > MAX_PAIRS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(pair)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) / self.every)
            bucket.at = now
        return bucket

    def take(self, pair: Pair) -> float:
        """0 and a token taken, or the seconds until one is there."""
        bucket = self._bucket(pair)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) * self.every

    def strike(self, pair: Pair) -> float:
        """Meta answered 131056 for ``pair``: the seconds to wait (4^X, X the strikes before this)."""
        bucket = self._bucket(pair)
        delay = min(float(4 ** bucket.strikes), self.max_backoff)
        bucket.strikes += 1
        return delay

    def clear(self, pair: Pair) -> None:
        bucket = self._buckets.get(pair)
        if bucket is not None:
            bucket.strikes = 0
