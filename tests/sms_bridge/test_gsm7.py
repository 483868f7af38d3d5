"""The GSM 03.38 table and the unpacked GSM-7 codec, including the characters smpplib 2.2.4 gets
wrong: its table has a backtick at 0x5F where § belongs (so § is sent as UCS-2 and a backtick is
sent as 0x5F, which handsets show as §), and it lacks the form feed of the extension table."""

from __future__ import annotations

import pytest

from sms_bridge.errors import NotGsm7Error
from sms_bridge.gsm7 import decode_gsm7, encode_gsm7
from voiceplatform.text.sms_segments import GSM7_BASIC, GSM7_EXTENSION, Encoding, measure

# (character, septets) from 3GPP TS 23.038 6.2.1, a sample across the table.
CODES = [
    ("@", b"\x00"), ("£", b"\x01"), ("$", b"\x02"), ("¥", b"\x03"), ("è", b"\x04"), ("Ç", b"\x09"),
    ("\n", b"\x0a"), ("\r", b"\x0d"), ("Δ", b"\x10"), ("_", b"\x11"), ("Ξ", b"\x1a"), ("Æ", b"\x1c"),
    ("É", b"\x1f"), (" ", b"\x20"), ("¤", b"\x24"), ("0", b"\x30"), ("?", b"\x3f"), ("¡", b"\x40"),
    ("A", b"\x41"), ("Ä", b"\x5b"), ("Ü", b"\x5e"), ("§", b"\x5f"), ("¿", b"\x60"), ("a", b"\x61"),
    ("ä", b"\x7b"), ("à", b"\x7f"),
    ("\f", b"\x1b\x0a"), ("^", b"\x1b\x14"), ("{", b"\x1b\x28"), ("}", b"\x1b\x29"), ("\\", b"\x1b\x2f"),
    ("[", b"\x1b\x3c"), ("~", b"\x1b\x3d"), ("]", b"\x1b\x3e"), ("|", b"\x1b\x40"), ("€", b"\x1b\x65"),
]


@pytest.mark.parametrize("ch, septets", CODES)
def test_each_character_has_its_code(ch: str, septets: bytes) -> None:
    assert encode_gsm7(ch) == septets
    assert decode_gsm7(septets) == ch


def test_the_whole_alphabet_round_trips() -> None:
    assert len(GSM7_BASIC) == 127 and len(GSM7_EXTENSION) == 10
    text = "".join(sorted(GSM7_BASIC | GSM7_EXTENSION))
    encoded = encode_gsm7(text)
    assert len(encoded) == 127 + 2 * 10 and max(encoded) <= 0x7F
    assert decode_gsm7(encoded) == text


def test_what_smpplib_maps_wrongly() -> None:
    assert encode_gsm7("§") == b"\x5f"                      # smpplib: not in its table, so UCS-2
    assert measure("Art. 5 § 2").encoding is Encoding.GSM7
    assert measure("`code`").encoding is Encoding.UCS2       # smpplib: sent as 0x5F, shown as §
    with pytest.raises(NotGsm7Error, match="U\\+0060"):
        encode_gsm7("`")
    assert encode_gsm7("\f") == b"\x1b\x0a"                  # smpplib: no form feed


@pytest.mark.parametrize("ch", ["`", "ç", "\x1b", "’", "ب", "😀", "\t", "\u00a0"])
def test_characters_outside_the_alphabet(ch: str) -> None:
    assert measure("a" + ch).encoding is Encoding.UCS2
    with pytest.raises(NotGsm7Error):
        encode_gsm7("a" + ch)


@pytest.mark.parametrize("septets, text", [
    (b"\x1b\x41", "A"),         # an escape before a code with no extension: the basic character
    (b"\x1b\x1b\x41", " A"),    # escape escape: a space (reserved for another extension table)
    (b"ab\x1b", "ab"),          # a trailing escape is dropped
    (b"a\x80\xffb", "a\ufffd\ufffdb"),  # not septets
    (b"", ""),
])
def test_decoding_odd_input(septets: bytes, text: str) -> None:
    assert decode_gsm7(septets) == text
