"""GSM-7 detection and SMS segment counts (3GPP TS 23.038 / 23.040)."""

from __future__ import annotations

import pytest

from voiceplatform.text.sms_segments import Encoding, is_gsm7, measure


@pytest.mark.parametrize("text, encoding, units, segments", [
    ("", Encoding.GSM7, 0, 1),
    ("a" * 160, Encoding.GSM7, 160, 1),
    ("a" * 161, Encoding.GSM7, 161, 2),        # concatenated: 153 a part
    ("a" * 306, Encoding.GSM7, 306, 2),
    ("a" * 307, Encoding.GSM7, 307, 3),
    ("€" * 80, Encoding.GSM7, 160, 1),          # extension characters cost two septets
    ("[" * 81, Encoding.GSM7, 162, 2),
    ("ب" * 70, Encoding.UCS2, 70, 1),           # Arabic: UCS-2, 70 a segment
    ("ب" * 71, Encoding.UCS2, 71, 2),           # 67 a part
    ("ب" * 134, Encoding.UCS2, 134, 2),
    ("ب" * 135, Encoding.UCS2, 135, 3),
    ("😀" * 35, Encoding.UCS2, 70, 1),          # outside the BMP: two UTF-16 units each
    ("Don’t" + "a" * 70, Encoding.UCS2, 75, 2),  # one curly apostrophe makes it all UCS-2
])
def test_encoding_and_segments(text: str, encoding: Encoding, units: int, segments: int) -> None:
    size = measure(text)
    assert (size.encoding, size.units, size.segments) == (encoding, units, segments)


def test_gsm7_alphabet() -> None:
    assert is_gsm7("Hello @ £5 ¥ è é Ø Å Δ _ ¡ ¿ ä ö ñ ü à {} [] ~ | € ^ \\")
    assert not is_gsm7("Hello ’")
    assert not is_gsm7("مرحبا")
    assert measure("Don’t").non_gsm == ("’",)
    assert measure("مرحبا").label == "UCS-2" and measure("hi").label == "GSM-7"
