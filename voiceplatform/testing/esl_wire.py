"""ESL wire format, byte for byte as FreeSWITCH's mod_event_socket writes it.

Every literal here is taken from FreeSWITCH's own source (``src/mod/event_handlers/
mod_event_socket/mod_event_socket.c``, ``src/switch_event.c`` and ``src/switch_utils.c`` of
signalwire/freeswitch); the test fixtures under ``tests/testing/fixtures/esl/`` hold the public
transcripts the emulator is checked against.

Framing rules that clients trip over, all reproduced here:

* a packet is header lines ``Name: value\\n`` ended by one blank line; a body follows only when
  a ``Content-Length`` header says so, and that length counts **bytes**, not characters;
* events are sent as ``Content-Length: N\\nContent-Type: text/event-plain\\n\\n`` (length first),
  followed by the serialised event, whose own header values are URL-encoded the FreeSWITCH way
  (``switch_url_encode``: bytes outside ``' '..'~'`` and the characters of
  ``SWITCH_URL_UNSAFE`` become ``%XX``; an existing ``%XX`` escape is left alone);
* an event body is appended to the serialised event as ``Content-Length: N\\n\\n<body>``;
* ``text/event-json`` bodies are ``cJSON_PrintUnformatted`` output: raw UTF-8, no spaces.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional, Sequence

# switch_utils.h: #define SWITCH_URL_UNSAFE "\r\n #%&+:;<=>?@[\\]^`{|}\""
SWITCH_URL_UNSAFE = frozenset(b'\r\n #%&+:;<=>?@[\\]^`{|}"')
_HEX_UPPER = b"0123456789ABCDEF"

Headers = Sequence[tuple[str, str]]

AUTH_REQUEST = b"Content-Type: auth/request\n\n"
GOODBYE_MESSAGE = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
ACCESS_DENIED_MESSAGE = "Access Denied, go away.\n"
# mod_event_socket.c, parse_command(): the reply when no branch produced one.
ERR_COMMAND_NOT_FOUND = "-ERR command not found"


def url_encode(value: str) -> str:
    """``switch_url_encode`` (no double encoding) applied to the UTF-8 bytes of ``value``."""
    raw = value.encode("utf-8")
    out = bytearray()
    n = len(raw)
    for i, byte in enumerate(raw):
        if byte == 0x25 and n - 1 - i > 1 and raw[i + 1] in _HEX_UPPER and raw[i + 2] in _HEX_UPPER:
            out.append(byte)  # already an escape: FreeSWITCH leaves it alone
            continue
        if byte < 0x20 or byte > 0x7E or byte in SWITCH_URL_UNSAFE:
            out += b"%" + _HEX_UPPER[byte >> 4 : (byte >> 4) + 1] + _HEX_UPPER[byte & 0x0F : (byte & 0x0F) + 1]
        else:
            out.append(byte)
    return out.decode("ascii")


def url_decode(value: str) -> str:
    """Inverse of :func:`url_encode` (``switch_url_decode``: only ``%XX``, no ``+``), UTF-8 aware."""
    if "%" not in value:
        return value
    raw = value.encode("utf-8")
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] == 0x25 and i + 2 < len(raw) and _is_hex(raw[i + 1]) and _is_hex(raw[i + 2]):
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 3
            continue
        out.append(raw[i])
        i += 1
    return out.decode("utf-8", errors="replace")


def _is_hex(byte: int) -> bool:
    return byte in b"0123456789abcdefABCDEF"


def serialize_plain(headers: Headers, body: Optional[str] = None) -> bytes:
    """``switch_event_serialize(event, &str, SWITCH_TRUE)``."""
    parts = []
    for name, value in headers:
        encoded = url_encode(value)
        parts.append(f"{name}: {encoded or '_undef_'}\n")
    if body:
        body_bytes = body.encode("utf-8")
        parts.append(f"Content-Length: {len(body_bytes)}\n\n")
        return "".join(parts).encode("ascii") + body_bytes
    parts.append("\n")
    return "".join(parts).encode("ascii")


def serialize_json(headers: Headers, body: Optional[str] = None) -> bytes:
    """``switch_event_serialize_json``: one flat object, ``_body`` for the body."""
    obj: dict[str, str] = {}
    for name, value in headers:
        obj[name] = value
    if body is not None:
        obj["Content-Length"] = str(len(body.encode("utf-8")))
        obj["_body"] = body
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def event_frame(fmt: str, payload: bytes) -> bytes:
    """The outer packet of one event (listener_run / read_packet in mod_event_socket.c)."""
    return b"Content-Length: %d\nContent-Type: text/event-%s\n\n" % (len(payload), fmt.encode("ascii")) + payload


def command_reply(reply: str) -> bytes:
    """A ``command/reply``. A reply starting with ``~`` carries its own header block, as in
    mod_event_socket.c (used by ``bgapi``: ``~Reply-Text: +OK Job-UUID: ...\\nJob-UUID: ...``)."""
    if reply.startswith("~"):
        return ("Content-Type: command/reply\n" + reply[1:]).encode("utf-8")
    return f"Content-Type: command/reply\nReply-Text: {reply}\n\n".encode("utf-8")


def bgapi_reply(job_uuid: str) -> bytes:
    return command_reply(f"~Reply-Text: +OK Job-UUID: {job_uuid}\nJob-UUID: {job_uuid}\n\n")


def api_response(body: str) -> bytes:
    data = body.encode("utf-8")
    if not data:
        data = b"-ERR no reply\n"
    return b"Content-Type: api/response\nContent-Length: %d\n\n" % len(data) + data


def disconnect_notice(message: str = GOODBYE_MESSAGE, session_uuid: Optional[str] = None) -> bytes:
    """``send_disconnect()``: with a controlled session it names it and says ``disconnect``."""
    data = message.encode("utf-8")
    if session_uuid:
        head = (
            "Content-Type: text/disconnect-notice\n"
            f"Controlled-Session-UUID: {session_uuid}\n"
            "Content-Disposition: disconnect\n"
            f"Content-Length: {len(data)}\n\n"
        )
    else:
        head = f"Content-Type: text/disconnect-notice\nContent-Length: {len(data)}\n\n"
    return head.encode("utf-8") + data


def linger_notice(session_uuid: str, channel_name: str, linger_time: int) -> bytes:
    """Sent once when a lingering outbound socket's channel goes down."""
    return (
        "Content-Type: text/disconnect-notice\n"
        f"Controlled-Session-UUID: {session_uuid}\n"
        "Content-Disposition: linger\n"
        f"Channel-Name: {channel_name}\n"
        f"Linger-Time: {linger_time}\n"
        "Content-Length: 0\n\n"
    ).encode("utf-8")


def rude_rejection(message: str = ACCESS_DENIED_MESSAGE) -> bytes:
    data = message.encode("utf-8")
    return b"Content-Type: text/rude-rejection\nContent-Length: %d\n\n" % len(data) + data


@dataclass
class Command:
    """One packet a client sent: the command line, its headers, and an optional body."""

    line: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: Optional[str] = None

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """Case-insensitive header lookup, like ``switch_event_get_header``."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return default

    @property
    def name(self) -> str:
        return self.line.split(" ", 1)[0].lower()

    @property
    def arg(self) -> str:
        parts = self.line.split(" ", 1)
        return parts[1] if len(parts) > 1 else ""


class ProtocolError(Exception):
    """The peer sent something ESL cannot parse (a bad Content-Length, a truncated body)."""


MAX_CONTENT_LENGTH = 10 * 1024 * 1024  # read_packet(): max_len


def parse_command_block(block: bytes) -> Command:
    """Split one header block (without the blank line) into a :class:`Command`.

    Mirrors ``read_packet()``: the first line is the command, the rest are ``name: value``
    headers with leading spaces of the value stripped; CR characters are ignored."""
    text = block.decode("utf-8", errors="replace").replace("\r", "")
    lines = [line for line in text.split("\n") if line]
    if not lines:
        raise ProtocolError("empty packet")
    command = Command(line=lines[0].strip())
    for line in lines[1:]:
        if ":" not in line:
            continue
        key, value = line.split(":", 1)
        command.headers.append((key, value.lstrip(" ")))
    return command


def iter_headers(mapping: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    if isinstance(mapping, Mapping):
        return list(mapping.items())
    return list(mapping)
