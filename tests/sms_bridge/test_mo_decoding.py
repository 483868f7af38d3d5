"""Messages from handsets: text by data_coding, and user-data headers (8- and 16-bit references,
other elements skipped, invalid concatenation ignored as the standard says, overruns refused)."""

from __future__ import annotations

import pytest

from sms_bridge.data_coding import alphabet_of, decode_user_data
from sms_bridge.errors import MalformedUserDataError
from sms_bridge.mo_messages import read_mo
from sms_bridge.udh import Concatenation, concatenation_of, information_elements, split_user_data


@pytest.mark.parametrize("data, data_coding, text", [
    (b"Hi \x1b\x65 5 \x00", 0x00, "Hi € 5 @"),                          # GSM-7, unpacked
    (b"Caf\xe9", 0x03, "Café"),                                         # Latin-1
    ("١ نعم 😀".encode("utf-16-be"), 0x08, "١ نعم 😀"),                  # UCS-2 with a surrogate pair
    (b"\x00\x41\x00", 0x08, "A\ufffd"),                                  # an odd trailing byte
    (b"\xd8\x3d\x00\x41", 0x08, "\ufffdA"),                              # a lone high surrogate
    (b"plain ascii", 0x01, "plain ascii"),                               # IA5
    (b"\x00\x48", 0x18, "H"),                                            # UCS-2 with a message class
    (b"\x48\x69", 0xF0, "Hi"),                                           # GSM-7, class 0 (flash)
    ("café".encode("utf-8"), 0x04, "café"),                              # 8-bit: UTF-8 if it is
    (b"\xff\xfe", 0x04, "\xff\xfe"),                                     # ... else Latin-1, never raising
    (b"\x80abc", 0x77, "\x80abc"),                                       # a reserved value: the fallback
])
def test_text_by_data_coding(data: bytes, data_coding: int, text: str) -> None:
    assert decode_user_data(data, data_coding) == text


def test_every_data_coding_decodes_without_raising() -> None:
    every_byte = bytes(range(256))
    for data_coding in range(256):
        assert alphabet_of(data_coding) in {"gsm7", "ascii", "latin-1", "ucs2", "unknown"}
        assert len(decode_user_data(every_byte, data_coding)) > 0


def test_an_8_bit_reference_header() -> None:
    mo = read_mo("+966501234567", "4321", b"\x05\x00\x03\x2a\x03\x02" + b"part two", 0, 0x40)
    assert mo.concatenation == Concatenation(0x2A, 3, 2, 8) and mo.body == b"part two"


def test_a_16_bit_reference_header_beside_another_element() -> None:
    # a port-addressing element (IEI 0x05) first, then concatenation with a 16-bit reference
    header = bytes((0x05, 4, 0x0B, 0x84, 0x23, 0xF0, 0x08, 4, 0x12, 0x34, 2, 1))
    mo = read_mo("+966501234567", "4321", bytes((len(header),)) + header + b"body", 0, 0x40)
    assert mo.concatenation == Concatenation(0x1234, 2, 1, 16) and mo.body == b"body"
    assert [iei for iei, _ in information_elements(header)] == [0x05, 0x08]


@pytest.mark.parametrize("element", [
    bytes((0x00, 3, 7, 0, 1)),      # total 0
    bytes((0x00, 3, 7, 3, 0)),      # part 0
    bytes((0x00, 3, 7, 3, 4)),      # part 4 of 3
    bytes((0x00, 2, 7, 3)),         # the wrong length
])
def test_an_invalid_concatenation_element_is_ignored(element: bytes) -> None:
    assert concatenation_of(element) is None
    mo = read_mo("a", "b", bytes((len(element),)) + element + b"text", 0, 0x40)
    assert mo.concatenation is None and mo.body == b"text"


def test_without_udhi_the_bytes_are_all_text() -> None:
    mo = read_mo("a", "b", b"\x05\x00\x03\x01\x02\x01xy", 0, 0x00)
    assert mo.concatenation is None and mo.body == b"\x05\x00\x03\x01\x02\x01xy"


def test_sar_tlvs_when_there_is_no_header() -> None:
    sar = Concatenation(0x0102, 2, 2, 16)
    assert read_mo("a", "b", b"xy", 0, 0, sar=sar).concatenation == sar
    assert read_mo("a", "b", b"xy", 0, 0, sar=Concatenation(1, 2, 3, 16)).concatenation is None


@pytest.mark.parametrize("short_message", [
    b"",                            # UDHI but nothing
    b"\x09\x00\x03\x01",            # a header longer than the message
    b"\x02\x00\x05",                # an element longer than its header
    b"\x01\x00",                    # an element with no length octet
])
def test_a_header_that_overruns_is_refused(short_message: bytes) -> None:
    with pytest.raises(MalformedUserDataError) as refused:
        read_mo("a", "b", short_message, 0, 0x40)
    assert refused.value.code == "malformed_user_data"


def test_split_user_data_keeps_an_empty_header() -> None:
    assert split_user_data(b"\x00rest", True) == (b"", b"rest")
