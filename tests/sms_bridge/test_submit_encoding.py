"""A text as submit_sm user data: data_coding, unpacked GSM-7 or UTF-16BE, and concatenated parts
with the 05 00 03 ref n i header, never cutting an escape pair or a surrogate pair."""

from __future__ import annotations

import pytest

from sms_bridge.data_coding import decode_user_data
from sms_bridge.errors import InvalidReferenceError, LoneSurrogateError, MessageTooLongError
from sms_bridge.submit_encoding import encode_message
from sms_bridge.udh import UDHI
from voiceplatform.text.sms_segments import Encoding


def body(short_message: bytes) -> bytes:
    return short_message[6:]


def test_a_short_gsm7_text_is_one_unpacked_part() -> None:
    message = encode_message("Hello €5 [ok]", reference=7)
    assert message.data_coding == 0x00 and message.encoding is Encoding.GSM7
    (part,) = message.parts
    assert part.esm_class == 0
    assert part.short_message == b"Hello \x1b\x655 \x1b\x3cok\x1b\x3e"


def test_160_septets_fit_one_part_161_need_two_of_153() -> None:
    assert len(encode_message("a" * 160, 0).parts) == 1
    message = encode_message("a" * 161, reference=0x2A)
    assert [p.short_message[:6] for p in message.parts] == [b"\x05\x00\x03\x2a\x02\x01", b"\x05\x00\x03\x2a\x02\x02"]
    assert [len(body(p.short_message)) for p in message.parts] == [153, 8]
    assert all(p.esm_class == UDHI for p in message.parts)


def test_an_escape_pair_is_never_cut() -> None:
    text = "a" * 152 + "€" + "b" * 10          # the euro would straddle septets 153 and 154
    message = encode_message(text, 1)
    first, second = (body(p.short_message) for p in message.parts)
    assert len(first) == 152 and second.startswith(b"\x1b\x65")
    assert message.parts[0].text == "a" * 152 and message.parts[1].text == "€" + "b" * 10
    assert message.size.segments == 2 and message.size.remaining == 153 - 12


def test_ucs2_only_when_a_character_needs_it() -> None:
    assert encode_message("Ça coûte 5 €", 0).encoding is Encoding.UCS2   # û is not GSM-7
    assert encode_message("Ça côute", 0).encoding is Encoding.UCS2
    assert encode_message("Ça va à Noël? Ñ ü ß", 0).encoding is Encoding.UCS2  # ë
    assert encode_message("Ça va à Zürich? Ñ ß É", 0).encoding is Encoding.GSM7


def test_70_ucs2_units_fit_one_part_71_need_two_of_67() -> None:
    one = encode_message("ب" * 70, 0)
    assert one.data_coding == 0x08 and len(one.parts) == 1 and len(one.parts[0].short_message) == 140
    two = encode_message("ب" * 71, 3)
    assert [len(body(p.short_message)) for p in two.parts] == [134, 8]


def test_an_emoji_surrogate_pair_is_never_cut() -> None:
    text = "a" * 66 + "😀" + "b" * 5            # the emoji would straddle units 67 and 68
    message = encode_message(text, 9)
    first, second = (body(p.short_message) for p in message.parts)
    assert len(first) == 66 * 2 and second == "😀bbbbb".encode("utf-16-be")
    assert second[:2] == b"\xd8\x3d"           # the high surrogate opens the second part


ARABIC = "مرحبا بكم في خدمة العملاء، رصيدكم ١٢٣٫٤٥ ريال. " * 3   # Arabic-Indic digits


def test_arabic_three_parts_with_emoji_at_the_boundaries() -> None:
    first = ARABIC[:66]                 # 66 units, then the crescent would straddle 67 and 68
    second = "🌙" + ARABIC[:64]          # 66 units, then the thumbs up would straddle 67 and 68
    third = "👍🏽" + "شكراً ١٢٣"           # thumbs up and a skin tone: two surrogate pairs
    message = encode_message(first + second + third, reference=0xFE)
    assert message.data_coding == 0x08 and message.encoding is Encoding.UCS2
    assert [p.text for p in message.parts] == [first, second, third]
    assert [p.short_message[:6] for p in message.parts] == [bytes((5, 0, 3, 0xFE, 3, n)) for n in (1, 2, 3)]
    for part in message.parts:
        payload = body(part.short_message)
        assert len(payload) <= 134
        assert payload.decode("utf-16-be") == part.text      # strict: a cut surrogate pair would raise
    whole = "".join(decode_user_data(body(p.short_message), 8) for p in message.parts)
    assert whole == first + second + third
    assert "١٢٣٫٤٥" in whole and "123" not in whole            # the digits are left as they are


def test_arabic_is_ucs2_even_with_only_digits_and_punctuation_besides() -> None:
    message = encode_message("رصيدك 50 SAR", 0)
    assert message.data_coding == 0x08
    assert message.parts[0].short_message == "رصيدك 50 SAR".encode("utf-16-be")


def test_more_than_255_parts_is_refused() -> None:
    assert len(encode_message("a" * 153 * 255, 0).parts) == 255
    with pytest.raises(MessageTooLongError) as refused:
        encode_message("a" * (153 * 255 + 1), 0)
    assert refused.value.code == "sms_too_long" and refused.value.field == "text"


def test_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(LoneSurrogateError, match="U\\+D83D"):
        encode_message("hi \ud83d", 0)


@pytest.mark.parametrize("reference", [-1, 256])
def test_the_reference_is_one_octet(reference: int) -> None:
    with pytest.raises(InvalidReferenceError):
        encode_message("short", reference)


def test_an_empty_text_is_one_empty_part() -> None:
    message = encode_message("", 0)
    assert [p.short_message for p in message.parts] == [b""] and message.data_coding == 0
