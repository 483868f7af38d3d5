"""HTTP byte ranges (RFC 9110 section 14) for the audio player: one range per request.

``parse_range(header, size)`` gives None for no Range header (send everything), the ByteRange to
send, or raises NotSatisfiable: for a range that starts past the end, a malformed header, a unit
other than bytes, or several ranges at once (browsers seek with one range at a time; we do not
answer multipart/byteranges), or a header longer than ``max_header_chars``
(:mod:`voiceplatform.limits`) or with positions of more than 19 digits (no file is that big; the
digits are never turned into a huge integer). The caller answers 416 with
``Content-Range: bytes */<size>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voiceplatform.limits import current as current_limits

_SPEC = re.compile(r"^\s*([0-9]{0,19})\s*-\s*([0-9]{0,19})\s*$")  # ASCII digits only


class NotSatisfiable(Exception):
    """The range cannot be served: answered 416, never an error page."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def parse_range(header: str | None, size: int, max_chars: int | None = None) -> ByteRange | None:
    if header is None or not header.strip():
        return None
    limit = current_limits().max_header_chars if max_chars is None else max_chars
    if len(header) > limit:
        raise NotSatisfiable(f"a Range header of {len(header)} characters (at most {limit})")
    unit, _, specs = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in specs:
        raise NotSatisfiable(f"unsupported range {header!r}")
    match = _SPEC.match(specs)
    if match is None or match.group(1) == match.group(2) == "":
        raise NotSatisfiable(f"malformed range {header!r}")
    first, last = match.group(1), match.group(2)
    if first == "":  # a suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise NotSatisfiable("an empty suffix range")
        return ByteRange(max(0, size - length), size - 1)
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if start >= size or (last != "" and int(last) < start):
        raise NotSatisfiable(f"range {header!r} is outside 0-{size - 1}")
    return ByteRange(start, end)
