"""Meta's sending rules, each on the controllable clock.

- :class:`ServiceWindows`: the 24-hour customer-service window per (business number, user),
  opened or refreshed by each message the user sends; outside it only templates go (131047).
- :class:`ThroughputLimiter`: messages per second per business number, inbound and outbound
  counted together over a sliding one-second window; 80/s by default, 1,000/s upgraded (130429).
- :class:`PairRateLimiter`: about one message every 6 s from a business number to one user,
  with bursts of up to 45 that borrow from later quota (131056): a token bucket.
"""

from __future__ import annotations

from collections import deque
from typing import Callable

from voiceplatform.testing.whatsapp_cloud.errors import CloudApiError

WINDOW_SECONDS = 24 * 3600
FREE_ENTRY_POINT_SECONDS = 72 * 3600
PAIR_INTERVAL_SECONDS = 6.0
PAIR_BURST = 45

Clock = Callable[[], float]


class ServiceWindows:
    """The customer-service windows, and the 72 h free-entry-point windows that a reply to a
    click-to-WhatsApp ad or a Page button opens (every message in one is free)."""

    def __init__(self, clock: Clock, length_seconds: float = WINDOW_SECONDS,
                 entry_point_seconds: float = FREE_ENTRY_POINT_SECONDS) -> None:
        self._clock = clock
        self.length_seconds = length_seconds
        self.entry_point_seconds = entry_point_seconds
        self._last_inbound: dict[tuple[str, str], float] = {}
        self._entry_points: dict[tuple[str, str], float] = {}

    def user_came_from_entry_point(self, phone_number_id: str, user_id: str) -> None:
        self._entry_points[(phone_number_id, user_id)] = self._clock()

    def entry_point_open(self, phone_number_id: str, user_id: str) -> bool:
        opened = self._entry_points.get((phone_number_id, user_id))
        return opened is not None and self._clock() - opened < self.entry_point_seconds

    def entry_point_closes_at(self, phone_number_id: str, user_id: str) -> float | None:
        opened = self._entry_points.get((phone_number_id, user_id))
        return None if opened is None else opened + self.entry_point_seconds

    def user_wrote(self, phone_number_id: str, user_id: str) -> None:
        self._last_inbound[(phone_number_id, user_id)] = self._clock()

    def is_open(self, phone_number_id: str, user_id: str) -> bool:
        last = self._last_inbound.get((phone_number_id, user_id))
        return last is not None and self._clock() - last < self.length_seconds

    def closes_at(self, phone_number_id: str, user_id: str) -> float | None:
        last = self._last_inbound.get((phone_number_id, user_id))
        return None if last is None else last + self.length_seconds

    def require_open(self, phone_number_id: str, user_id: str) -> None:
        if not self.is_open(phone_number_id, user_id):
            raise CloudApiError(131047, "Message failed to send because more than 24 hours have "
                                        "passed since the customer last replied to this number.")


class ThroughputLimiter:
    """A sliding one-second window per number. Inbound messages take a slot without ever being
    refused; an outbound message that finds the window full is refused and takes none."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._events: dict[str, deque[float]] = {}

    def _window(self, phone_number_id: str) -> deque[float]:
        events = self._events.setdefault(phone_number_id, deque())
        horizon = self._clock() - 1.0
        while events and events[0] <= horizon:
            events.popleft()
        return events

    def count_inbound(self, phone_number_id: str) -> None:
        self._window(phone_number_id).append(self._clock())

    def admit_outbound(self, phone_number_id: str, tier: int) -> None:
        events = self._window(phone_number_id)
        if len(events) >= tier:
            raise CloudApiError(130429, f"Message failed to send because there were too many messages "
                                        f"sent from this phone number in a short period of time "
                                        f"(throughput {tier} messages per second).")
        events.append(self._clock())

    def in_last_second(self, phone_number_id: str) -> int:
        return len(self._window(phone_number_id))


class PairRateLimiter:
    """A token bucket per (number, user): ``burst`` tokens, one more every ``interval`` seconds."""

    def __init__(self, clock: Clock, interval_seconds: float = PAIR_INTERVAL_SECONDS,
                 burst: int = PAIR_BURST) -> None:
        self._clock = clock
        self.interval_seconds = interval_seconds
        self.burst = burst
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def admit(self, phone_number_id: str, user_id: str) -> None:
        now = self._clock()
        key = (phone_number_id, user_id)
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + max(0.0, now - at) / self.interval_seconds)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            raise CloudApiError(131056, "Message failed to send because there were too many messages "
                                        "sent from this phone number to the same phone number in a "
                                        "short period of time.")
        self._buckets[key] = (tokens - 1.0, now)
