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


@pytest.mark.parametrize("text, lengths", [
    ("a" * 152 + "€" + "b" * 10, [152, 12]),     # the escape pair is not cut: part one holds 152
    ("a" * 153 + "€" + "b" * 10, [153, 12]),
    ("€" * 81, [152, 10]),                       # 76 euros a part, never 76 and a half
    ("ب" * 66 + "😀" + "ب" * 4, [66, 6]),          # the surrogate pair is not cut: part one holds 66
    ("😀" * 36, [66, 6]),                          # 33 emoji a part
])
def test_parts_follow_the_real_cut(text: str, lengths: list[int]) -> None:
    size = measure(text)
    units = [sum(2 if ch == "€" or ord(ch) > 0xFFFF else 1 for ch in part) for part in size.parts]
    assert units == lengths and size.segments == len(lengths)
    assert "".join(size.parts) == text


def test_the_euro_count_that_ceil_gets_wrong() -> None:
    # 153 euros = 306 septets = 2 x 153, but a part holds 76 euros (152 septets): three parts.
    size = measure("€" * 153)
    assert size.units == 306 and size.segments == 3
    assert [len(part) for part in size.parts] == [76, 76, 1]


@pytest.mark.parametrize("text, characters, remaining", [
    ("", 0, 160),
    ("Hello", 5, 155),
    ("€", 1, 158),
    ("a" * 160, 160, 0),
    ("a" * 161, 161, 153 - 8),
    ("مرحبا", 5, 65),
    ("😀", 1, 68),                               # one character, two units
    ("ب" * 71, 71, 67 - 4),
])
def test_what_the_composer_shows(text: str, characters: int, remaining: int) -> None:
    size = measure(text)
    assert (size.characters, size.remaining) == (characters, remaining)
    sizes = {"gsm7": (160, 153), "ucs2": (70, 67)}[size.encoding.value]
    assert size.per_segment == (sizes[0] if size.segments == 1 else sizes[1])
