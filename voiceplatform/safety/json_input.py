"""Parsing JSON from outside (API bodies; later the SMS and WhatsApp bridges' webhooks) into plain
data that every later step can store, echo and re-encode without a crash.

Python's :func:`json.loads` accepts things that blow up further on: it recurses once per nesting
level (a body nested 1,000 deep raises RecursionError, a 500), it decodes ``"\\ud800"`` to a lone
surrogate that no UTF-8 encoder (PostgreSQL's, Flask's, the SMS gateway's) can write, it reads
``NaN`` and ``Infinity``, and it turns 4,000 digits into an integer no database column holds.
:func:`parse_json` refuses all of these with :class:`HostileJsonError`:

- the nesting depth is measured *before* parsing, without recursion: strings are cut out with one
  regular expression (C speed), and the running depth of the brackets left is a prefix sum
  computed by C iterators, so a 1 MB body of ``[`` costs milliseconds and never reaches the parser;
- after parsing, the value is re-encoded to UTF-8 once (C speed): a lone surrogate anywhere, in a
  key or a value, fails that encoding;
- numbers go through hooks: integers outside signed 64 bits, and floats that are not finite, are
  refused (no id, count or amount of the platform is bigger, and JSON clients in JavaScript lose
  precision past 2^53 anyway).

This module is pure (standard library only).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from typing import Any

from voiceplatform.exceptions import HostileJsonError

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_MAX_INT_DIGITS = 20  # 2**63 has 19 digits; a longer literal is refused before int() reads it
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def nesting_depth(data: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (brackets inside strings ignored).
    Linear in the size, no recursion."""
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    return max(itertools.accumulate(map(_DEPTH_STEP.__getitem__, brackets)))


def _integer(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > _MAX_INT_DIGITS:
        raise HostileJsonError(f"a number with {len(digits)} digits is not accepted (at most 64-bit integers)")
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise HostileJsonError(f"{text} does not fit in 64 bits")
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise HostileJsonError(f"{text[:40]} is out of range for a number")
    return value


def _constant(text: str) -> Any:
    raise HostileJsonError(f"{text} is not JSON (use null or a number)")


def parse_json(data: bytes, *, max_depth: int) -> Any:
    """The value of the UTF-8 JSON text ``data``. Raises HostileJsonError (with a message fit for
    the client) for text that is not UTF-8 or not JSON, and for the hostile cases above."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    depth = nesting_depth(data)
    if depth > max_depth:
        raise HostileJsonError(f"the JSON nests {depth} levels deep; at most {max_depth} are accepted")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HostileJsonError(f"the body is not UTF-8 (byte {exc.start})") from exc
    try:
        value = json.loads(text, parse_int=_integer, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise HostileJsonError(f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except RecursionError as exc:  # not reachable past the depth check; kept so it can never be a 500
        raise HostileJsonError("the JSON nests too deep") from exc
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise HostileJsonError("a string holds a lone UTF-16 surrogate (such as \\ud800), which is not text") from exc
    return value
