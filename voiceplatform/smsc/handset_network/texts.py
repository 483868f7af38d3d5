"""Texts as a handset network carries them: what a submitted ``short_message`` says, and a reply
encoded as the parts a phone would send (GSM-7 when it can, UCS-2 otherwise, concatenated with an
8-bit-reference UDH ``05 00 03 ref total index`` when it is long).

The alphabet and the split come from :mod:`voiceplatform.text.sms_segments` (the project's one
table and one splitter). The few lines that turn septets into bytes are the handset network's own,
so it reads what the platform sends without using the platform's encoder.
"""

from __future__ import annotations

from dataclasses import dataclass

from voiceplatform.text.sms_segments import (
    ESCAPE,
    GSM7_BASIC_TABLE,
    GSM7_EXTENSION_TABLE,
    Encoding,
    measure,
)

from voiceplatform.smsc.handset_network.pdu import ESM_UDHI

#: data_coding values (SMPP 3.4, 5.2.19).
SMSC_DEFAULT = 0  # GSM-7 here, as on Jasmin's connectors
IA5 = 1
LATIN_1 = 3
UCS2 = 8

_GSM7_BYTE = {ch: bytes((septet,)) for septet, ch in enumerate(GSM7_BASIC_TABLE) if septet != ESCAPE}
_GSM7_BYTE.update({ch: bytes((ESCAPE, septet)) for septet, ch in GSM7_EXTENSION_TABLE.items()})


def gsm7_decode(data: bytes) -> str:
    out: list[str] = []
    escaped = False
    for septet in data:
        if escaped:
            out.append(GSM7_EXTENSION_TABLE.get(septet) or _basic(septet))
            escaped = False
        elif septet == ESCAPE:
            escaped = True
        else:
            out.append(_basic(septet))
    return "".join(out)


def _basic(septet: int) -> str:
    return GSM7_BASIC_TABLE[septet] if septet < len(GSM7_BASIC_TABLE) and septet != ESCAPE else "\ufffd"


def gsm7_encode(text: str) -> bytes:
    return b"".join(_GSM7_BYTE[ch] for ch in text)


@dataclass(frozen=True, slots=True)
class Content:
    """A short_message read: its text, and the UDH (hex) and concatenation numbers if it has one."""

    text: str
    udh: str | None = None
    reference: int | None = None
    total: int | None = None
    index: int | None = None


def read(short_message: bytes, data_coding: int, esm_class: int) -> Content:
    udh = b""
    payload = short_message
    if esm_class & ESM_UDHI and short_message:
        udh = short_message[:1 + short_message[0]]
        payload = short_message[len(udh):]
    text = _decode(payload, data_coding)
    if len(udh) == 6 and udh[1:3] == b"\x00\x03":
        return Content(text, udh.hex(), udh[3], udh[4], udh[5])
    if len(udh) == 7 and udh[1:3] == b"\x08\x04":  # 16-bit reference
        return Content(text, udh.hex(), int.from_bytes(udh[3:5], "big"), udh[5], udh[6])
    return Content(text, udh.hex() or None)


def _decode(payload: bytes, data_coding: int) -> str:
    if data_coding == UCS2:
        return payload.decode("utf-16-be", "replace")
    if data_coding == LATIN_1:
        return payload.decode("latin-1")
    if data_coding == IA5:
        return payload.decode("ascii", "replace")
    if data_coding == SMSC_DEFAULT:
        return gsm7_decode(payload)
    return payload.hex()


@dataclass(frozen=True, slots=True)
class Part:
    short_message: bytes
    data_coding: int
    esm_class: int


def encode_parts(text: str, reference: int) -> list[Part]:
    """``text`` as a phone sends it: one part, or concatenated parts with UDH (``reference`` is
    the 8-bit message reference they share)."""
    size = measure(text)
    if size.encoding is Encoding.GSM7:
        coding, encode = SMSC_DEFAULT, gsm7_encode
    else:
        coding, encode = UCS2, _ucs2
    if size.segments == 1:
        return [Part(encode(text), coding, 0)]
    total = len(size.parts)
    return [
        Part(bytes((5, 0, 3, reference & 0xFF, total, index)) + encode(part), coding, ESM_UDHI)
        for index, part in enumerate(size.parts, start=1)
    ]


def _ucs2(text: str) -> bytes:
    return text.encode("utf-16-be", "surrogatepass")
