"""How an SMS text is encoded and how many segments it takes (3GPP TS 23.038 / 23.040).

A text is sent in GSM-7 when every character is in the GSM 03.38 default alphabet or its
extension table (an extension character such as ``€`` or ``[`` costs two septets); otherwise the
whole message is sent in UCS-2 (Arabic text always is). One segment holds 160 GSM-7 septets or 70
UCS-2 code units; a longer message is split into concatenated parts whose user-data header leaves
153 septets or 67 code units each. UCS-2 counts UTF-16 code units, so a character outside the
Basic Multilingual Plane (most emoji) counts two.

Pure and dependency-free, so the flow validator uses it for its warnings and the SMPP encoder of a
later issue can use the same counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

SINGLE = {"gsm7": 160, "ucs2": 70}
PART = {"gsm7": 153, "ucs2": 67}


class Encoding(str, Enum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclass(frozen=True, slots=True)
class SmsSize:
    """The encoding, the length in its units (septets or UTF-16 code units), the segment count,
    the units one segment holds at that count, and the characters that forced UCS-2."""

    encoding: Encoding
    units: int
    segments: int
    per_segment: int
    non_gsm: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return "GSM-7" if self.encoding is Encoding.GSM7 else "UCS-2"


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def gsm7_septets(text: str) -> int:
    """Septets of a GSM-7 text (extension characters count two). Assumes ``is_gsm7(text)``."""
    return sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)


def ucs2_units(text: str) -> int:
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def measure(text: str) -> SmsSize:
    """The encoding and segment count of ``text`` as one SMS (an empty text is one segment)."""
    non_gsm = tuple(dict.fromkeys(ch for ch in text if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION))
    if non_gsm:
        encoding, units = Encoding.UCS2, ucs2_units(text)
    else:
        encoding, units = Encoding.GSM7, gsm7_septets(text)
    single, part = SINGLE[encoding.value], PART[encoding.value]
    if units <= single:
        return SmsSize(encoding, units, 1, single, non_gsm)
    return SmsSize(encoding, units, -(-units // part), part, non_gsm)
