"""Functions flows can call in templates and conditions: dates and times, business hours, regex
tests and input normalisation. All of them are sandbox-safe (pure computations on values; no
I/O) and bounded (text they scan is capped at ``MAX_SUBJECT`` characters).

Time never comes from the system clock here: ``now`` is put in the template context by the run,
from the clock the driver passed to ``start``/``resume`` (the golden tests fix it), and the
functions that need "now" (``age``, ``business_hours``, two-digit years in ``parse_date``) read
it from that context.

- ``now`` (context): an aware datetime in the session's time zone (the contact's ``timezone``
  field when it is a valid IANA zone, else the flow's ``timezone:``, else UTC); ``today`` its date.
- ``days(n)``, ``hours(n)``, ``minutes(n)``, ``weeks(n)``: durations, for ``now + days(2)``.
- ``value|parse_date``: what a caller typed or said, as a date: ``21111962``, ``21/11/1962``,
  ``21-11-62``, ``21.11.1962``, ``21 11 1962``, ``1962-11-21``. Day first (``order='mdy'`` for
  month first). None when it is not a real date (``31/02/2000``).
- ``value|date('%d %B %Y')``: format a date, a datetime or an ISO text (default ``%Y-%m-%d``).
- ``value|age``: whole years from a date (of birth) to today.
- ``value|in_zone('Asia/Riyadh')``: a datetime in another zone.
- ``business_hours('Mon-Fri 09:00-17:30; Sat 10:00-13:00', closed=['2026-12-25'])``: whether
  ``now`` (or ``at=``) falls in those hours, in the session's time zone.
- ``value is matching('^05\\d{8}$')``: a regular-expression search (anchor it yourself).
- ``value|digits``: only the digits (any script's digits, as 0-9): ``"05-12 34"`` → ``"051234"``.
- ``value|normalize`` (or ``normalise``): lower case, no accents, punctuation or extra spaces,
  as choice matching sees a reply.
- ``track_link()``, ``track_link('offer')``: the recipient's own click-tracked short link
  (voiceplatform.flow.short_links).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import pass_context
from jinja2.runtime import Context

from voiceplatform.flow.matching import normalise
from voiceplatform.flow.short_links import check_name, track_link

MAX_SUBJECT = 1_000  # characters a regex test or a parser looks at (a regex cannot be stopped)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DATE_PARTS = re.compile(r"^(\d{1,4})[\s/.\-]+(\d{1,2})[\s/.\-]+(\d{1,4})$")
_HOURS_CLAUSE = re.compile(r"^(?P<days>[a-z]+(?:\s*-\s*[a-z]+)?)\s+(?P<times>.+)$")
_TIME_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


# ---- time zones ---------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def zone(name: str) -> tzinfo | None:
    """The IANA zone ``name``, or None when there is no such zone."""
    if not name or name.upper() == "UTC":
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def is_zone(name: str) -> bool:
    return zone(name) is not None


def local_now(now: datetime, *names: Any) -> datetime:
    """``now`` in the first of ``names`` that is a valid zone (UTC when none is)."""
    for name in names:
        if isinstance(name, str):
            found = zone(name)
            if found is not None:
                return now.astimezone(found)
    return now.astimezone(timezone.utc)


def _now(context: Context) -> datetime:
    value = context.get("now")
    if isinstance(value, datetime):
        return value
    return datetime.now(timezone.utc)  # only outside a run (validation folding): never in a session


# ---- durations, formatting ---------------------------------------------------------------------


def days(n: float) -> timedelta:
    return timedelta(days=float(n))


def hours(n: float) -> timedelta:
    return timedelta(hours=float(n))


def minutes(n: float) -> timedelta:
    return timedelta(minutes=float(n))


def weeks(n: float) -> timedelta:
    return timedelta(weeks=float(n))


def _as_date_or_time(value: Any) -> date | None:
    if isinstance(value, (date, datetime)):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value[:MAX_SUBJECT])
        except ValueError:
            return None
    return None


def format_date(value: Any, fmt: str = "%Y-%m-%d") -> str:
    found = _as_date_or_time(value)
    if found is None:
        return ""
    if len(fmt) > 100:
        raise ValueError("a date format is at most 100 characters")
    return found.strftime(fmt)


def in_zone(value: Any, name: str) -> datetime | None:
    found = _as_date_or_time(value)
    target = zone(name)
    if not isinstance(found, datetime) or target is None:
        return None
    return found.astimezone(target)


# ---- what callers type --------------------------------------------------------------------------


def ascii_digits(text: str) -> str:
    """Every decimal digit (Arabic-Indic ones included) as 0-9; other characters kept."""
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def digits(value: Any) -> str:
    return "".join(str(unicodedata.decimal(ch)) for ch in str(value or "")[:MAX_SUBJECT] if ch.isdecimal())


def normalize(value: Any) -> str:
    return normalise(str(value or "")[:MAX_SUBJECT])


def _year(text: str, now: datetime) -> int:
    year = int(text)
    if len(text) <= 2:  # a two-digit year is the latest one not in the future
        year += 2000 if year <= now.year % 100 else 1900
    return year


def _real_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_date_text(value: Any, now: datetime, order: str = "dmy") -> date | None:
    """See the module docstring. ``order`` is ``dmy`` or ``mdy`` (year-first is recognised by
    its four digits)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = ascii_digits(" ".join(str(value or "")[:MAX_SUBJECT].split()))
    if not text:
        return None
    month_first = order.lower() == "mdy"
    if text.isdigit():
        if len(text) == 8:
            first, second, year = (text[0:2], text[2:4], text[4:8])
            found = _day_month(first, second, year, now, month_first)
            return found or _real_date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
        if len(text) == 6:
            return _day_month(text[0:2], text[2:4], text[4:6], now, month_first)
        return None
    parts = _DATE_PARTS.match(text)
    if parts is None:
        return None
    a, b, c = parts.groups()
    if len(a) == 4:
        return _real_date(int(a), int(b), int(c))
    if len(c) not in (2, 4):
        return None
    return _day_month(a, b, c, now, month_first)


def _day_month(first: str, second: str, year: str, now: datetime, month_first: bool) -> date | None:
    day, month = (second, first) if month_first else (first, second)
    return _real_date(_year(year, now), int(month), int(day))


@pass_context
def parse_date(context: Context, value: Any, order: str = "dmy") -> date | None:
    return parse_date_text(value, _now(context), order)


@pass_context
def age(context: Context, value: Any) -> int | None:
    born = parse_date_text(value, _now(context))
    if born is None:
        return None
    today = _now(context).date()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


# ---- business hours -----------------------------------------------------------------------------


@lru_cache(maxsize=256)
def parse_hours(spec: str) -> tuple[tuple[int, int, int], ...]:
    """``"Mon-Fri 09:00-17:30; Sat 10:00-13:00"`` as (weekday, start minute, end minute) rows.
    Clauses are separated by ``;`` or ``,``; a clause is a day or a day range, then one or more
    ``HH:MM-HH:MM`` ranges; ``daily`` means every day. Raises ValueError naming the bad part."""
    if len(spec) > MAX_SUBJECT:
        raise ValueError("business hours are at most 1,000 characters")
    rows: list[tuple[int, int, int]] = []
    for clause in filter(None, (part.strip() for part in re.split(r"[;,]", spec.lower()))):
        match = _HOURS_CLAUSE.match(clause)
        if match is None:
            raise ValueError(f"{clause!r} is not 'Mon-Fri 09:00-17:00'")
        weekdays = _weekdays(match["days"])
        for times in match["times"].split():
            found = _TIME_RANGE.match(times) if "-" in times else None
            if found is None:
                raise ValueError(f"{times!r} is not a range like 09:00-17:00")
            h1, m1, h2, m2 = (int(part) for part in found.groups())
            start, end = h1 * 60 + m1, h2 * 60 + m2
            if not (0 <= start < end <= 24 * 60 and m1 < 60 and m2 < 60):
                raise ValueError(f"{times!r} does not go forward within one day")
            rows.extend((weekday, start, end) for weekday in weekdays)
    if not rows:
        raise ValueError("business hours are empty")
    return tuple(rows)


def _weekdays(text: str) -> list[int]:
    if text in ("daily", "everyday"):
        return list(range(7))
    names = [part.strip()[:3] for part in text.split("-")]
    for name in names:
        if name not in _DAYS:
            raise ValueError(f"{name!r} is not a day (mon ... sun)")
    first, last = _DAYS.index(names[0]), _DAYS.index(names[-1])
    return [(first + offset) % 7 for offset in range((last - first) % 7 + 1)]


def is_open(spec: str, at: datetime, closed: Iterable[Any] = ()) -> bool:
    day = at.date()
    for holiday in closed or ():
        if parse_date_text(holiday, at, "dmy") == day or str(holiday) == day.isoformat():
            return False
    minute = at.hour * 60 + at.minute
    weekday = at.weekday()
    return any(w == weekday and start <= minute < end for w, start, end in parse_hours(spec))


@pass_context
def business_hours(context: Context, spec: str, at: Any = None, closed: Iterable[Any] = ()) -> bool:
    moment = _as_date_or_time(at) if at is not None else _now(context)
    if not isinstance(moment, datetime):
        raise ValueError("business_hours(at=...) needs a date and time")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_now(context).tzinfo)
    return is_open(str(spec), moment.astimezone(_now(context).tzinfo), closed)


# ---- tests --------------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def compiled_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def matching(value: Any, pattern: str) -> bool:
    if value is None or type(value).__name__.endswith("Undefined"):
        return False
    return compiled_pattern(str(pattern)).search(str(value)[:MAX_SUBJECT]) is not None


FILTERS = {
    "parse_date": parse_date, "date": format_date, "age": age, "in_zone": in_zone,
    "digits": digits, "normalize": normalize, "normalise": normalize,
}
GLOBALS = {
    "days": days, "hours": hours, "minutes": minutes, "weeks": weeks,
    "business_hours": business_hours, "track_link": track_link,
}
TESTS = {"matching": matching}
# Calls whose constant first argument validation checks: function name -> checker.
CONSTANT_CHECKS: dict[str, Callable[[Any], object]] = {
    "business_hours": parse_hours, "matching": compiled_pattern, "track_link": check_name,
}
