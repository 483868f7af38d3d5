"""Click-tracked links in messages: ``{{ track_link() }}`` and ``{{ track_link('offer') }}``.

Each recipient gets their own short link, ``<public URL>/l/<token>``, computed from the session it
is sent in and nothing else, so the engine stays pure (no table, no key, no clock):

- the **token** is the session's id (a 32-hex-digit id that the platform issued: its start time
  in milliseconds, then 80 random bits) in base 62, :data:`ID_CHARS` characters, then
  ``-<name>`` for a named link. It is unguessable because the id is, and the platform checks it
  by finding the session when the link is clicked (voiceplatform.engagement.clicks); the page the
  click goes to is never in the token: it is the campaign's ``redirect_url`` (``track_link()``)
  or ``links.<name>``, looked up then, so the link cannot be turned into a redirect to somewhere
  else;
- a session id that is not 32 hex digits (the campaign estimate's stand-in, a simulator run, a
  switch's own call id) gets a link of the same length, from a digest of the id, that leads to the
  neutral page: the estimate measures the real length of the message;
- the **public URL** is ``VOICEPLATFORM_PUBLIC_URL`` (an ``http(s)://host[:port][/path]`` the
  recipients' phones can reach; default :data:`DEFAULT_PUBLIC_URL`), read when the link renders,
  like the resource limits (voiceplatform.limits).

The same module decodes a token (:func:`parse_token`) for the click route. docs/engagement.md.
"""

from __future__ import annotations

import hashlib
import os
import re
import string
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

PUBLIC_URL_ENV = "VOICEPLATFORM_PUBLIC_URL"
DEFAULT_PUBLIC_URL = "http://localhost:8080"  # `voiceplatform serve`'s default port
PATH = "/l/"
ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
ID_CHARS = 22  # 62**22 > 2**128: any 128-bit id fits
NAME_PATTERN = r"[A-Za-z0-9_]{1,24}"
_NAME = re.compile(rf"^{NAME_PATTERN}$")
_TOKEN = re.compile(rf"^([0-9A-Za-z]{{{ID_CHARS}}})(?:-({NAME_PATTERN}))?$")
_HEX_ID = re.compile(r"^[0-9a-f]{32}$")
# http(s)://host[:port][/path]: no user, query, fragment, spaces or control characters
_PUBLIC_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?$")
MAX_PUBLIC_URL = 200


def check_name(name: Any) -> str:
    """A link's name (``track_link('offer')``, ``links.offer``): letters, digits and ``_``, at
    most 24. Raises ValueError saying so."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"a link's name is 1 to 24 letters, digits or _, not {str(name)[:40]!r}")
    return name


def _base62(number: int) -> str:
    chars = []
    for _ in range(ID_CHARS):
        number, digit = divmod(number, 62)
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars))


def token(session_id: str, name: str | None = None) -> str:
    """The token of ``session_id``'s link ``name`` (None: the campaign's redirect URL)."""
    if _HEX_ID.match(session_id):
        number = int(session_id, 16)
    else:  # not a platform-issued id: a stand-in of the same length that no session has
        number = int.from_bytes(hashlib.sha256(session_id.encode()).digest()[:16], "big") | (1 << 128)
    text = _base62(number % (62**ID_CHARS))
    return text if name is None else f"{text}-{check_name(name)}"


def parse_token(text: str) -> tuple[str, str | None] | None:
    """``(session id, link name or None)`` of a token, or None when it is not one of ours (a
    typo, a forgery, a stand-in): no session can have it."""
    found = _TOKEN.match(text)
    if found is None:
        return None
    number = 0
    for char in found.group(1):
        number = number * 62 + ALPHABET.index(char)
    if number >= 1 << 128:
        return None  # a stand-in's digest (or a made-up token): never a session's id
    return f"{number:032x}", found.group(2)


def public_url(environ: Any = None) -> str:
    """``VOICEPLATFORM_PUBLIC_URL`` without its trailing ``/``. Raises ValueError when it is not an
    ``http(s)`` URL with a host (letters, digits, dots, hyphens: an international name in its
    ``xn--`` form) and no query, fragment, user or spaces."""
    raw = (os.environ if environ is None else environ).get(PUBLIC_URL_ENV) or DEFAULT_PUBLIC_URL
    text = raw.strip().rstrip("/")
    if len(text) > MAX_PUBLIC_URL or not _PUBLIC_URL.match(text) or "@" in text:
        raise ValueError(f"{PUBLIC_URL_ENV}={raw[:80]!r} is not an http(s)://host[/path] URL")
    return text


def link(session_id: str, name: str | None = None) -> str:
    return f"{public_url()}{PATH}{token(session_id, name)}"


@pass_context
def track_link(context: Context, name: str | None = None) -> str:
    """The recipient's own short link (see the module docstring)."""
    session = context.get("session")
    session_id = session["id"] if session is not None and "id" in session else ""
    return link(str(session_id), None if name is None or name == "" else check_name(name))
