"""The contract server's clock: real time plus an offset the tests control, or frozen.

The 24-hour window, the throughput window, the pair limit and every webhook ``timestamp`` read
this clock, so a test can ``advance(86_400)`` past a window or ``freeze()`` time to send 81
messages "in one second". Webhook delivery delays (retries, status delays) stay in real time.
"""

from __future__ import annotations

import threading
import time


class ControllableClock:
    """Epoch seconds: the wall clock shifted by everything :meth:`advance` added; frozen at one
    instant after :meth:`freeze` (then only :meth:`advance` and :meth:`set` move it)."""

    def __init__(self, start: float | None = None, *, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0 if start is None else start - time.time()
        self._frozen_at: float | None = None
        if frozen:
            self.freeze()

    def now(self) -> float:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        """Move time forward (never backward) by ``seconds``; returns the new time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
                return self._frozen_at
            self._offset += seconds
            return time.time() + self._offset

    def set(self, epoch_seconds: float) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = epoch_seconds
            else:
                self._offset = epoch_seconds - time.time()

    def freeze(self) -> None:
        now = self.now()
        with self._lock:
            self._frozen_at = now

    def unfreeze(self) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - time.time()
                self._frozen_at = None

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None
