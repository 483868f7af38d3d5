"""How an SMS text is encoded, how many parts it takes and which characters go in each part
(3GPP TS 23.038 / 23.040). The one counting implementation: the flow validator's warnings, the
campaign composer's character count and parts preview, pricing and the SMPP encoder
(``sms_bridge.submit_encoding``) all read :func:`measure`.

A text is sent in GSM-7 when every character is in the GSM 03.38 default alphabet or its
extension table (an extension character such as ``€`` or ``[`` costs two septets: the escape 0x1B
and its code); otherwise the whole message is sent in UCS-2 (Arabic text always is). One segment
holds 160 GSM-7 septets or 70 UCS-2 code units; a longer message is split into concatenated parts
whose user-data header leaves 153 septets or 67 code units each. UCS-2 counts UTF-16 code units, so
a character outside the Basic Multilingual Plane (most emoji) counts two.

The split works on characters, never on units: an escape pair and a surrogate pair always stay in
one part. So a part may hold one unit less than its size (152 septets before a ``€``, 66 code units
before an emoji), and the part count is that of the real split, not ``ceil(units / 153)``.

Pure and dependency-free.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

#: The GSM 03.38 default alphabet in septet order, 0x00 to 0x7F. Position 0x1B is the escape to
#: the extension table, not a character (:data:`ESCAPE`). 0x09 is the capital Ç, as in the
#: Unicode consortium's mapping; 0x5F is § and 0x60 is ¿ (the backtick is not in the alphabet).
GSM7_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: The septet that announces an extension-table character.
ESCAPE = 0x1B
#: The extension table: the septet after :data:`ESCAPE`, and the character it stands for.
GSM7_EXTENSION_TABLE = {
    0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\",
    0x3C: "[", 0x3D: "~", 0x3E: "]", 0x40: "|", 0x65: "€",
}

GSM7_BASIC = frozenset(GSM7_BASIC_TABLE) - {chr(ESCAPE)}
GSM7_EXTENSION = frozenset(GSM7_EXTENSION_TABLE.values())
GSM7_ALPHABET = GSM7_BASIC | GSM7_EXTENSION
_EXTENSION_CHAR = re.compile("[" + re.escape("".join(sorted(GSM7_EXTENSION))) + "]")

SINGLE = {"gsm7": 160, "ucs2": 70}
PART = {"gsm7": 153, "ucs2": 67}
#: A concatenated message numbers its parts in one octet.
MAX_PARTS = 255


class Encoding(str, Enum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclass(frozen=True, slots=True)
class SmsSize:
    """What the composer shows and the encoder sends: the encoding; the length in its units
    (septets or UTF-16 code units) and in characters; the part count and the units one part holds
    at that count; the units still free in the last part before the message needs another one;
    the characters that forced UCS-2; and the text of each part."""

    encoding: Encoding
    units: int
    characters: int
    segments: int
    per_segment: int
    remaining: int
    parts: tuple[str, ...]
    non_gsm: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return "GSM-7" if self.encoding is Encoding.GSM7 else "UCS-2"


def is_gsm7(text: str) -> bool:
    return GSM7_ALPHABET.issuperset(text)


def gsm7_septets(text: str) -> int:
    """Septets of a GSM-7 text (extension characters count two). Assumes ``is_gsm7(text)``."""
    return len(text) + len(_EXTENSION_CHAR.findall(text))


def ucs2_units(text: str) -> int:
    """UTF-16 code units of ``text`` (a lone surrogate counts one)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def units_of(text: str, encoding: Encoding) -> int:
    return gsm7_septets(text) if encoding is Encoding.GSM7 else ucs2_units(text)


def split_parts(text: str, encoding: Encoding, part_units: int) -> tuple[str, ...]:
    """``text`` cut greedily into parts of at most ``part_units`` units, only between characters.

    Each part takes the most characters that fit: starting from ``part_units`` characters, it
    drops at least half the excess each round (a character costs at most two units, so this
    never drops below the most that fit), and the counting is done by C code, not per character.
    """
    if part_units < 2:
        raise ValueError("a part holds at least two units (one character of either size)")
    parts: list[str] = []
    start = 0
    while True:
        count = min(part_units, len(text) - start)
        units = units_of(text[start:start + count], encoding)
        while units > part_units:
            count -= (units - part_units + 1) // 2
            units = units_of(text[start:start + count], encoding)
        parts.append(text[start:start + count])
        start += count
        if start >= len(text):
            return tuple(parts)


def measure(text: str) -> SmsSize:
    """The encoding, size and parts of ``text`` as one SMS (an empty text is one empty part)."""
    non_gsm: tuple[str, ...] = ()
    if is_gsm7(text):
        encoding, units = Encoding.GSM7, gsm7_septets(text)
    else:
        encoding, units = Encoding.UCS2, ucs2_units(text)
        non_gsm = tuple(sorted(set(text) - GSM7_ALPHABET, key=text.index))
    single, part = SINGLE[encoding.value], PART[encoding.value]
    if units <= single:
        return SmsSize(encoding, units, len(text), 1, single, single - units, (text,), non_gsm)
    parts = split_parts(text, encoding, part)
    last = units_of(parts[-1], encoding)
    return SmsSize(encoding, units, len(text), len(parts), part, part - last, parts, non_gsm)
