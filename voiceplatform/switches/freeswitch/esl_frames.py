"""ESL frames off the wire: a byte-exact reader that replaces greenswitch's parser.

greenswitch reads a line at a time, decodes each line, URL-decodes the whole header block
*before* splitting it into lines (so an encoded newline or ``": "`` inside a value breaks the
headers apart), keeps no event body (a BACKGROUND_JOB result ends up folded into the
``Content-Length`` header's value) and dies on a frame it cannot decode, leaving its greenlets
and every waiting command stuck. This reader:

* keeps a byte buffer and cuts frames by the blank line and ``Content-Length`` (which counts
  **bytes**), so UTF-8 anywhere cannot shift the framing;
* splits header lines first and URL-decodes each value on its own (``switch_url_decode``);
* keeps an event's own body (``Content-Length: N`` inside a ``text/event-plain`` body);
* raises :class:`EslFramingError` for anything it cannot frame (a bad or missing length, a
  header line without ``": "``, bytes that are not UTF-8, a connection closed inside a frame),
  so the connection is dropped cleanly instead of read out of step.

``EslFrame`` has greenswitch's ``ESLEvent`` shape (``headers``, ``data``) plus ``body``.
"""

from __future__ import annotations

import socket
from typing import Optional
from urllib.parse import unquote

from voiceplatform.exceptions import SwitchConnectionError

MAX_HEADER_BYTES = 256 * 1024  # one header block; FreeSWITCH's largest events are ~20 KB
MAX_BODY_BYTES = 16 * 1024 * 1024  # mod_event_socket's read_packet() caps at 10 MB
READ_SIZE = 256 * 1024


class EslFramingError(SwitchConnectionError):
    """The switch sent bytes that are not an ESL frame; the connection cannot be trusted."""


class EslFrame:
    """One frame (a reply, an API response, an event, a notice)."""

    __slots__ = ("headers", "body", "data")

    def __init__(self, headers: dict[str, str], body: Optional[str] = None) -> None:
        self.headers = headers
        self.body = body
        self.data = body  # greenswitch callers read .data for replies and API bodies

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def name(self) -> str:
        return self.headers.get("Event-Name", "")

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        return self.headers.get(name, default)

    def __repr__(self) -> str:
        return f"EslFrame({self.content_type or '?'} {self.name})"


class EventHeaders(dict[str, str]):
    """An event's headers, URL-decoded when read rather than when parsed.

    A channel event has ~90 headers and the driver reads four or five of them, so decoding
    every value up front cost more than framing the event (see
    docs/decisions/freeswitch-driver.md). ``[]``, ``get``, ``items`` and ``values`` return
    decoded values; ``decoded()`` gives a plain dict.
    """

    __slots__ = ()

    def __getitem__(self, name: str) -> str:
        value = dict.__getitem__(self, name)
        return unquote(value) if "%" in value else value

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:  # type: ignore[override]
        value = dict.get(self, name)
        if value is None:
            return default
        return unquote(value) if "%" in value else value

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]  # a list, not a view: decoded values
        return [(name, unquote(value) if "%" in value else value) for name, value in dict.items(self)]

    def values(self) -> list[str]:  # type: ignore[override]  # a list, not a view: decoded values
        return [unquote(value) if "%" in value else value for value in dict.values(self)]

    def decoded(self) -> dict[str, str]:
        return dict(self.items())


def _split_headers(text: str) -> dict[str, str]:
    """``Name: value`` lines (no blank line) → dict of raw (still URL-encoded) values."""
    try:
        return dict([line.split(": ", 1) for line in text.split("\n") if line])  # noqa: C404 - list is faster
    except ValueError:
        pass
    headers: dict[str, str] = {}
    for line in text.split("\n"):
        if not line:
            continue
        name, sep, value = line.partition(": ")
        if not sep:
            if line.endswith(":"):  # "Name:" with an empty value
                headers[line[:-1]] = ""
                continue
            raise EslFramingError(f"malformed ESL header line {line[:80]!r}")
        headers[name] = value
    return headers


def parse_header_block(text: str) -> dict[str, str]:
    """A frame's own header block, each value URL-decoded on its own (after the split, so an
    encoded newline or ``": "`` stays inside its value)."""
    headers = _split_headers(text)
    for name, value in headers.items():
        if "%" in value:
            headers[name] = unquote(value)
    return headers


def parse_event_plain(payload: bytes) -> EslFrame:
    """The body of a ``text/event-plain`` frame: the event's headers, then its own body."""
    split = payload.find(b"\n\n")
    head = payload if split < 0 else payload[:split]
    try:
        headers = EventHeaders(_split_headers(head.decode("utf-8")))
    except UnicodeDecodeError as exc:
        raise EslFramingError(f"event headers are not UTF-8: {exc}") from exc
    body: Optional[str] = None
    length = headers.get("Content-Length")
    if length is not None and split >= 0:
        size = _length(length)
        raw = payload[split + 2 : split + 2 + size]
        if len(raw) != size:
            raise EslFramingError(f"event body shorter than its Content-Length ({len(raw)} < {size})")
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EslFramingError(f"event body is not UTF-8: {exc}") from exc
    return EslFrame(headers, body)


def _length(value: str) -> int:
    try:
        size = int(value)
    except ValueError as exc:
        raise EslFramingError(f"bad Content-Length {value[:40]!r}") from exc
    if size < 0 or size > MAX_BODY_BYTES:
        raise EslFramingError(f"Content-Length {size} out of range")
    return size


class FrameReader:
    """Reads frames from one socket. ``next_frame()`` returns None at a clean end of stream."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = bytearray()
        self._pos = 0
        self.frames = 0
        self.bytes_read = 0

    def feed(self, data: bytes) -> None:
        """Add bytes by hand (benchmarks and tests parse recorded streams this way)."""
        self._buf += data

    def _fill(self) -> bool:
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        chunk = self._sock.recv(READ_SIZE)
        if not chunk:
            return False
        self.bytes_read += len(chunk)
        self._buf += chunk
        return True

    def next_frame(self) -> Optional[EslFrame]:
        buf = self._buf
        while True:
            # FreeSWITCH never sends blank lines between frames; tolerate them like read_packet()
            while self._pos < len(buf) and buf[self._pos] == 0x0A:
                self._pos += 1
            end = buf.find(b"\n\n", self._pos)
            if end >= 0:
                break
            if len(buf) - self._pos > MAX_HEADER_BYTES:
                raise EslFramingError("ESL header block longer than 256 KB")
            if not self._fill():
                if self._pos < len(buf):
                    raise EslFramingError("the connection closed inside a frame header")
                return None
            buf = self._buf
        try:
            head = buf[self._pos : end].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EslFramingError(f"frame headers are not UTF-8: {exc}") from exc
        headers = parse_header_block(head)
        self._pos = end + 2
        content_type = headers.get("Content-Type")
        if content_type is None:
            raise EslFramingError(f"frame without Content-Type ({list(headers)[:3]})")
        length = headers.get("Content-Length")
        if length is None:
            self.frames += 1
            return EslFrame(headers)
        size = _length(length)
        while len(self._buf) - self._pos < size:
            if not self._fill():
                raise EslFramingError(f"the connection closed inside a {size}-byte body")
        start = self._pos
        payload = bytes(self._buf[start : start + size])
        self._pos = start + size
        self.frames += 1
        if content_type == "text/event-plain":
            event = parse_event_plain(payload)
            dict.__setitem__(event.headers, "Content-Type", content_type)
            return event
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EslFramingError(f"{content_type} body is not UTF-8: {exc}") from exc
        return EslFrame(headers, text)
