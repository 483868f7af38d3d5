"""The 24-hour window: open from the user's last message, closed at its end."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from whatsapp_bridge.window import closes_at, window_open

LAST = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def test_open_for_24_hours() -> None:
    assert window_open(LAST, LAST)
    assert window_open(LAST, LAST + timedelta(hours=23, minutes=59, seconds=59))
    assert not window_open(LAST, LAST + timedelta(hours=24))
    assert closes_at(LAST) == LAST + timedelta(hours=24)


def test_never_wrote_is_closed_and_free_entry_points_last_72_hours() -> None:
    assert not window_open(None, LAST)
    assert closes_at(None) is None
    assert window_open(LAST, LAST + timedelta(hours=71), hours=72)


def test_naive_times_are_utc() -> None:
    naive = LAST.replace(tzinfo=None)
    assert window_open(naive, LAST + timedelta(hours=1))
    assert not window_open(LAST, naive + timedelta(days=2))
    riyadh = timezone(timedelta(hours=3))
    assert window_open(LAST, (LAST + timedelta(hours=2)).astimezone(riyadh))
