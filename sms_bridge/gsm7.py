"""The GSM 03.38 default alphabet as bytes: one septet per byte ("unpacked"), which is what an
SMSC expects in ``short_message`` with ``data_coding`` 0 (Jasmin does; packing seven bits into
octets is the air interface's business). The table is the counter's
(:mod:`voiceplatform.text.sms_segments`), so what is counted is what is encoded.

An extension character is two bytes: the escape 0x1B, then its code. Decoding follows
3GPP TS 23.038: an escape before a code the extension table does not define stands for the
default-alphabet character of that code, an escape before another escape shows a space, and a
trailing escape is dropped. A byte above 0x7F is not a septet: it decodes to U+FFFD.
"""

from __future__ import annotations

from voiceplatform.text.sms_segments import ESCAPE, GSM7_BASIC_TABLE, GSM7_EXTENSION_TABLE, GSM7_ALPHABET

from sms_bridge.errors import NotGsm7Error

_ENCODE: dict[int, str] = {
    **{ord(ch): chr(septet) for septet, ch in enumerate(GSM7_BASIC_TABLE) if septet != ESCAPE},
    **{ord(ch): chr(ESCAPE) + chr(septet) for septet, ch in GSM7_EXTENSION_TABLE.items()},
}
_BASIC = tuple(GSM7_BASIC_TABLE[:ESCAPE] + " " + GSM7_BASIC_TABLE[ESCAPE + 1:])
_REPLACEMENT = "\ufffd"


def encode_gsm7(text: str) -> bytes:
    """``text`` as unpacked GSM-7 septets; :class:`NotGsm7Error` names a character outside the
    alphabet (the caller measured first, so this is misuse)."""
    if not GSM7_ALPHABET.issuperset(text):
        outside = next(ch for ch in text if ch not in GSM7_ALPHABET)
        raise NotGsm7Error(f"{outside!r} (U+{ord(outside):04X}) is not in the GSM 03.38 alphabet")
    return text.translate(_ENCODE).encode("latin-1")


def decode_gsm7(data: bytes) -> str:
    """Unpacked GSM-7 septets to text; never raises."""
    out: list[str] = []
    escaped = False
    for byte in data:
        if byte > 0x7F:
            out.append(_REPLACEMENT)
            escaped = False
        elif escaped:
            escaped = False
            out.append(" " if byte == ESCAPE else GSM7_EXTENSION_TABLE.get(byte, _BASIC[byte]))
        elif byte == ESCAPE:
            escaped = True
        else:
            out.append(_BASIC[byte])
    return "".join(out)
