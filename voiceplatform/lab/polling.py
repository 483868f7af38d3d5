"""Wait for a condition with a deadline, polling with backoff (never a fixed sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from voiceplatform.lab import defaults

T = TypeVar("T")


def poll(check: Callable[[], T | None], timeout: float) -> T | None:
    """Call ``check`` until it returns something other than None, or ``timeout`` passes.

    Returns the first non-None result, or None at the deadline. The delay between calls starts
    small and grows, so a quick condition is seen quickly and a slow one costs little CPU.
    """
    deadline = time.monotonic() + timeout
    delay = defaults.POLL_FIRST
    while True:
        result = check()
        if result is not None:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        time.sleep(min(delay, remaining))
        delay = min(delay * defaults.POLL_FACTOR, defaults.POLL_MAX)
