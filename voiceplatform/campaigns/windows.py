"""Calling windows, in each contact's own time zone: "09:00 to 20:00, Monday to Saturday".

A contact outside its window waits for the next opening; it is never skipped. Daylight-saving
changes are handled by the zone database (an opening that falls in a skipped hour moves to the
first valid local time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class CallingWindow:
    start: time = time(9, 0)
    end: time = time(20, 0)
    days: frozenset[int] = frozenset(range(7))  # 0 = Monday

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError("a calling window must start before it ends, within one day")
        if not self.days or not self.days <= set(range(7)):
            raise ValueError("a calling window needs at least one day, 0 (Monday) to 6 (Sunday)")


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def next_opening(window: CallingWindow, when: datetime, zone_name: str) -> datetime:
    """``when`` if the contact may be called then, else the next moment it may (UTC)."""
    tz = zone(zone_name)
    local = when.astimezone(tz)
    if local.weekday() in window.days and window.start <= local.time() < window.end:
        return when
    day: date = local.date()
    if local.weekday() in window.days and local.time() < window.start:
        return _utc(day, window.start, tz)
    for offset in range(1, 8):
        candidate = day + timedelta(days=offset)
        if candidate.weekday() in window.days:
            return _utc(candidate, window.start, tz)
    raise AssertionError("a window with at least one day always opens within a week")


def _utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    local = datetime.combine(day, at, tzinfo=tz)
    # A time in a skipped hour (spring forward) does not exist: round-trip to the first real one.
    as_utc = local.astimezone(timezone.utc)
    if as_utc.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        as_utc = (local + timedelta(hours=1)).replace(minute=0).astimezone(timezone.utc)
    return as_utc
