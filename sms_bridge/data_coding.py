"""``data_coding`` values and the text of user data by them, for messages from handsets.

- 0 (the SMSC's default alphabet): GSM-7, one septet per byte (:mod:`sms_bridge.gsm7`);
- 1 (IA5): ASCII;
- 3: Latin-1;
- 8: UCS-2, read as UTF-16 big-endian so a surrogate pair becomes its character;
- 0xF0-0xFF (the data coding / message class group): bit 2 says 8-bit data, else GSM-7;
- 0x10-0x1F (the general data coding group with a message class): bits 3-2 give the alphabet
  (00 GSM-7, 10 UCS-2, else 8-bit); 0x20-0x3F is compressed, which we cannot read (fallback);
- 0xC0-0xDF (message waiting, stored or discarded): GSM-7; 0xE0-0xEF: UCS-2;
- anything else (8-bit binary, JIS, Cyrillic, ...), the safe fallback: UTF-8 when the bytes are
  valid UTF-8, else Latin-1, so some text always comes out and nothing raises.

Bytes that do not decode become U+FFFD (an odd trailing byte of UCS-2, a lone surrogate).
"""

from __future__ import annotations

from sms_bridge.gsm7 import decode_gsm7

DATA_CODING_DEFAULT = 0x00
DATA_CODING_IA5 = 0x01
DATA_CODING_LATIN1 = 0x03
DATA_CODING_UCS2 = 0x08


def _fallback(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def alphabet_of(data_coding: int) -> str:
    """``gsm7``, ``ascii``, ``latin-1``, ``ucs2`` or ``unknown`` (the fallback)."""
    if data_coding == DATA_CODING_DEFAULT:
        return "gsm7"
    if data_coding == DATA_CODING_IA5:
        return "ascii"
    if data_coding == DATA_CODING_LATIN1:
        return "latin-1"
    if data_coding == DATA_CODING_UCS2:
        return "ucs2"
    if 0xF0 <= data_coding <= 0xFF:
        return "unknown" if data_coding & 0x04 else "gsm7"
    if 0xC0 <= data_coding <= 0xDF:
        return "gsm7"
    if 0xE0 <= data_coding <= 0xEF:
        return "ucs2"
    if 0x10 <= data_coding <= 0x1F:
        return {0x00: "gsm7", 0x08: "ucs2"}.get(data_coding & 0x0C, "unknown")
    return "unknown"


def decode_user_data(data: bytes, data_coding: int) -> str:
    """The text of ``data`` (no user-data header) sent with ``data_coding``; never raises."""
    alphabet = alphabet_of(data_coding)
    if alphabet == "gsm7":
        return decode_gsm7(data)
    if alphabet == "ascii":
        return data.decode("ascii", "replace")
    if alphabet == "latin-1":
        return data.decode("latin-1")
    if alphabet == "ucs2":
        return data.decode("utf-16-be", "replace")
    return _fallback(data)
