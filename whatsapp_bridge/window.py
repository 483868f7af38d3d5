"""The customer-service window: a user's message opens (or refreshes) 24 hours in which any
message may be sent to them; outside it only templates. A reply to a free entry point (a
click-to-WhatsApp ad, a Page button) opens 72 hours (``hours=72``).

The window runs from the user's last message, closed at its end (a message at exactly
``last + 24 h`` is outside). Times are datetimes; a naive one is taken as UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

WINDOW_HOURS = 24
FREE_ENTRY_POINT_HOURS = 72


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def closes_at(last_inbound_at: datetime | None, hours: float = WINDOW_HOURS) -> datetime | None:
    """When the window opened by the user's last message closes (None: they never wrote)."""
    if last_inbound_at is None:
        return None
    return _aware(last_inbound_at) + timedelta(hours=hours)


def window_open(last_inbound_at: datetime | None, now: datetime, hours: float = WINDOW_HOURS) -> bool:
    """Whether a free-form message may be sent at ``now`` to a user who last wrote at
    ``last_inbound_at`` (None: never, so closed)."""
    end = closes_at(last_inbound_at, hours)
    return end is not None and _aware(now) < end
