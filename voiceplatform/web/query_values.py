"""Reading numbers and days from the web UI's query strings without ever crashing the request.

Every number a page takes from its URL goes through here, so that a value too big for the
database's 64-bit ids, a day past 9999-12-31, a digit from another script (``"²".isdigit()`` is
true) or 5,000 digits is a ``ValueError`` the page reports (400), never a database error or an
``OverflowError`` (500).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

MAX_ID = 2**31 - 1  # ids are INTEGER columns: 32 bits on PostgreSQL (SQLite would take 64)
_ASCII_INT = re.compile(r"-?[0-9]{1,19}")


def whole_number(text: str, low: int, high: int) -> int:
    """An ASCII decimal integer in ``low..high`` (at most 19 digits, so no huge int is ever built)."""
    text = text.strip()
    if not _ASCII_INT.fullmatch(text):
        raise ValueError(f"{text[:40]!r} is not a whole number")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{value} is outside {low}-{high}")
    return value


def database_id(text: str) -> int:
    return whole_number(text, 1, MAX_ID)


def day_start(text: str, days_after: int = 0) -> datetime:
    """Midnight UTC of the day ``text`` names (YYYY-MM-DD), ``days_after`` days later."""
    try:
        day = date.fromisoformat(text.strip()) + timedelta(days=days_after)
    except OverflowError as exc:
        raise ValueError(f"{text[:40]!r} is past the last day there is") from exc
    return datetime.combine(day, time.min, tzinfo=timezone.utc)
