"""The emulator's clock: emulated time runs ``1 / time_scale`` times faster than real time.

With ``time_scale=0.01`` a 60 s ring timeout lasts 0.6 s of wall time, and every timestamp in
the events (and billsec, record_seconds, ...) is in emulated seconds, so they stay consistent.
"""

from __future__ import annotations

import time


class EmulatedClock:
    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        """Emulated epoch seconds."""
        return self._wall0 + (time.monotonic() - self._mono0) / self.time_scale

    def now_us(self) -> int:
        return int(self.now() * 1_000_000)

    def to_real(self, emulated_seconds: float) -> float:
        return max(0.0, emulated_seconds) * self.time_scale

    def since(self, start: float) -> float:
        return self.now() - start
