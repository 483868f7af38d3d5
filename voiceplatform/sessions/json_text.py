"""JSON text for the session writes and the sweeper's reads: orjson (several times faster than the
standard library for a session's state and its history payloads) wherever its result decodes to
the same values, the standard library where it would not.

* :func:`dumps`: what orjson refuses goes to :func:`json.dumps` (an integer beyond 64 bits, a key
  that is not a string, a datetime or a dataclass: it raises as it always did); the text differs
  (no spaces, UTF-8 instead of ``\\u`` escapes), the values it decodes to do not. NaN and the
  infinities, which are not JSON (PostgreSQL refuses them), are written as ``null``;
* :func:`loads`: a text with a run of 20 digits or more (a number orjson would read as a float,
  or refuse) and anything orjson refuses (NaN, a lone surrogate) go to :func:`json.loads`.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS  # json.dumps refuses both
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")  # a digit run becomes a run of zeros
_LONG_NUMBER = b"0" * 20  # (a regular expression's search costs more than the decoding)


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value)


def loads(text: str | bytes) -> Any:
    raw = text.encode(errors="surrogatepass") if isinstance(text, str) else text
    if _LONG_NUMBER not in raw.translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)
