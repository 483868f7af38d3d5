"""Where a click-tracked link may send a browser: a campaign's ``redirect_url`` and ``links``.

The platform answers a click with ``302 Location: <the campaign's URL>``, so the URL is checked
when the campaign is saved (a 400 naming the field) and nothing else is ever redirected to:

- **http or https only**: ``javascript:``, ``data:``, ``file:``, ``vbscript:`` and every other
  scheme are refused (a browser would run or open them);
- **an absolute URL with a host**: ``//evil.example`` (scheme-relative), ``/path`` and
  ``https:evil.example`` are refused;
- **no user name or password** (``https://bank.example@evil.example/`` shows one host and goes to
  another);
- **no control characters, spaces or backslashes**: CR/LF would split the ``Location`` header,
  and browsers read ``\\`` as ``/`` (``https:\\\\evil.example``);
- **a valid host**: a name (letters, digits, hyphens; international names IDNA-encodable) or an
  IP address, at most 253 characters, and a valid port;
- at most :data:`MAX_URL_CHARS` characters.

The URL is kept as given (trimmed). This module is pure (standard library only).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_URL_CHARS = 2000
SCHEMES = ("http", "https")
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+$")  # names and IPv4, once IDNA-encoded
_IPV6 = re.compile(r"^[0-9A-Fa-f:.]+$")


def redirect_target(value: object, field: str = "url") -> str:
    """``value`` if it is a URL a click may be redirected to (see the module docstring), else
    ValueError naming ``field`` and what is wrong."""
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a URL (text)")
    text = value.strip()
    if not text:
        raise ValueError(f"{field} is empty")
    if len(text) > MAX_URL_CHARS:
        raise ValueError(f"{field} is longer than {MAX_URL_CHARS} characters")
    if any(ord(char) < 33 or ord(char) == 127 or char.isspace() or char == "\\" for char in text):
        raise ValueError(f"{field} may not contain spaces, control characters (CR, LF, tab) or backslashes")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{field} is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in SCHEMES:
        raise ValueError(f"{field} must be an http or https URL, not {parts.scheme or 'a relative one'!r}"[:200])
    if "@" in parts.netloc:
        raise ValueError(f"{field} may not carry a user name or password (user@host)")
    host = parts.hostname or ""
    if not host or not text[len(parts.scheme):].startswith("://"):
        raise ValueError(f"{field} must be an absolute URL with a host (https://example.com/...)")
    try:
        valid = _IPV6.match(host) is not None if ":" in host else _HOST.match(host.encode("idna").decode()) is not None
    except UnicodeError:
        valid = False
    if not valid or len(host) > 253 or port == 0:
        raise ValueError(f"{field} has a host name or port that is not valid")
    return text
