"""Time zone names and language tags from outside (API bodies, contact files, bridges), checked.

``ZoneInfo(name)`` accepts any file under the machine's zoneinfo directories: ``localtime`` (the
*server's* zone, whatever it is), ``posixrules``, ``Factory`` (a zone whose abbreviation is
"-00"), ``posix/...`` and ``right/...`` (leap-second clocks). None of these is a contact's zone,
and ``localtime`` changes meaning with the machine. :func:`iana_zone` accepts only names from
:func:`zoneinfo.available_timezones` without those.

A language is a BCP 47-ish tag, ``en``, ``pt-BR``, ``zh_Hant``: a 2-3 letter primary language and
at most two subtags of 2-8 letters or digits, at most :data:`MAX_LANGUAGE_CHARS` characters (the
contacts' ``language`` column). :func:`language_tag` refuses anything else (a 314-character value
would be kept by SQLite and fail on PostgreSQL).
"""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache

from voiceplatform.exceptions import InvalidLanguageError, InvalidTimezoneError

MAX_LANGUAGE_CHARS = 10  # voiceplatform.models.contacts.Contact.language is String(10)
MAX_ZONE_CHARS = 64  # Contact.timezone is String(64)
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,8}){0,2}")
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})
_NOT_ZONE_PREFIXES = ("posix/", "right/")


@lru_cache(maxsize=1)
def iana_zones() -> frozenset[str]:
    """The IANA zone names this machine knows (read once: listing them walks the tz database)."""
    return frozenset(name for name in zoneinfo.available_timezones()
                     if name not in _NOT_ZONES and not name.startswith(_NOT_ZONE_PREFIXES))


def iana_zone(name: object, field: str = "timezone") -> str:
    """``name`` if it is an IANA time zone name (``Europe/Paris``, ``UTC``), else InvalidTimezoneError."""
    if not isinstance(name, str) or len(name) > MAX_ZONE_CHARS or name not in iana_zones():
        shown = repr(name)[:80] if isinstance(name, str) else type(name).__name__
        raise InvalidTimezoneError(f"{field} {shown} is not an IANA time zone name (such as Europe/Paris)", field)
    return name


def language_tag(value: object, field: str = "language") -> str:
    """``value`` if it is a language tag (``en``, ``pt-BR``) of at most 10 characters, else InvalidLanguageError."""
    if not isinstance(value, str) or len(value) > MAX_LANGUAGE_CHARS or not _LANGUAGE.fullmatch(value):
        shown = repr(value)[:40] if isinstance(value, str) else type(value).__name__
        raise InvalidLanguageError(f"{field} {shown} is not a language tag such as en or pt-BR "
                                   f"(at most {MAX_LANGUAGE_CHARS} characters)", field)
    return value
