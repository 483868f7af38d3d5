"""Property tests: any text encodes, splits and decodes back to itself, and no part is over its
limit; the count the composer shows is the count the encoder sends."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sms_bridge.data_coding import decode_user_data
from sms_bridge.mo_messages import read_mo
from sms_bridge.reassembly import Reassembler
from sms_bridge.submit_encoding import encode_message
from sms_bridge.udh import concatenation_of, split_user_data
from voiceplatform.text.sms_segments import GSM7_BASIC_TABLE, GSM7_EXTENSION, Encoding, measure

GSM7_CHARS = sorted(set(GSM7_BASIC_TABLE.replace("\x1b", "")) | GSM7_EXTENSION)
# Texts of every kind: pure GSM-7 (extension characters weighted up so they meet the boundaries),
# Arabic with Arabic-Indic digits, emoji, and any character a string can hold but a lone surrogate.
gsm7_text = st.text(st.sampled_from(GSM7_CHARS + ["€", "[", "]", "{", "}"] * 8), max_size=700)
arabic_text = st.text(st.sampled_from(list("ابتثجحخدذرزسشصضطظعغفقكلمنهوي ٠١٢٣٤٥٦٧٨٩،؟") + ["😀", "🌙", "👍", "🏽"]),
                      max_size=400)
any_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=400)
texts = st.one_of(gsm7_text, arabic_text, any_text)


@settings(max_examples=300, deadline=None)
@given(texts, st.integers(0, 255))
def test_round_trip_and_limits(text: str, reference: int) -> None:
    message = encode_message(text, reference)
    size = measure(text)
    assert len(message.parts) == size.segments
    single, part_limit = (160, 153) if size.encoding is Encoding.GSM7 else (140, 134)  # UCS-2 in octets
    decoded = []
    for number, part in enumerate(message.parts, start=1):
        header, body = split_user_data(part.short_message, bool(part.esm_class & 0x40))
        if len(message.parts) == 1:
            assert header == b"" and len(body) <= single
        else:
            concat = concatenation_of(header)
            assert concat is not None and (concat.reference, concat.total, concat.sequence) == (
                reference, len(message.parts), number)
            assert len(body) <= part_limit
        if size.encoding is Encoding.UCS2:
            assert body.decode("utf-16-be") == part.text           # strict: no surrogate pair cut
        else:
            assert body[-1:] != b"\x1b"                             # no escape pair cut
        assert decode_user_data(body, message.data_coding) == part.text
        decoded.append(part.text)
    assert "".join(decoded) == text
    # GSM-7 was chosen exactly when every character allows it.
    assert (size.encoding is Encoding.GSM7) == all(ch in GSM7_CHARS for ch in text)


@settings(max_examples=200, deadline=None)
@given(texts, st.integers(0, 255), st.data())
def test_parts_sent_in_any_order_are_reassembled(text: str, reference: int, data: st.DataObject) -> None:
    message = encode_message(text, reference)
    parts = data.draw(st.permutations(message.parts))
    reassembler = Reassembler(timeout=60, clock=lambda: 0.0)
    results = [reassembler.add(read_mo("+966500000001", "4321", p.short_message, message.data_coding, p.esm_class))
               for p in parts]
    done = [r for r in results if r is not None]
    assert len(done) == 1 and done[0].text == text and done[0].complete
    assert results[-1] is done[0] and reassembler.pending == 0


def greedy_reference(text: str, encoding: Encoding, limit: int) -> tuple[str, ...]:
    """The obvious cut, one character at a time: what the fast split must equal."""
    parts: list[str] = []
    current, used = "", 0
    for ch in text:
        cost = 2 if (ch in GSM7_EXTENSION if encoding is Encoding.GSM7 else ord(ch) > 0xFFFF) else 1
        if used + cost > limit:
            parts.append(current)
            current, used = "", 0
        current += ch
        used += cost
    return tuple(parts + [current])


@settings(max_examples=300, deadline=None)
@given(texts)
def test_the_split_is_the_greedy_cut(text: str) -> None:
    size = measure(text)
    if size.segments > 1:
        assert size.parts == greedy_reference(text, size.encoding, size.per_segment)
