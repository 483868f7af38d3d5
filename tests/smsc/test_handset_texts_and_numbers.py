"""How the handset network reads submitted texts and writes replies, and which script each
number runs."""

from __future__ import annotations

import pytest

from voiceplatform.smsc.handset_network import texts
from voiceplatform.smsc.handset_network.numbers import (
    ARABIC_REPLY,
    HANDSET_NUMBERS,
    THREE_PART_REPLY,
    digits,
    numbers_like,
    script_for,
)
from voiceplatform.smsc.handset_network.pdu import ESM_UDHI, Status
from voiceplatform.smsc.handset_network.receipts import receipt, receipt_text
from voiceplatform.smsc.handset_network.pdu import ShortMessage, Tag


def test_gsm7_reads_escapes_and_the_default_alphabet() -> None:
    assert texts.gsm7_decode(b"\x1be5 \x00") == "€5 @"
    assert texts.gsm7_decode(texts.gsm7_encode("Price: 10€ [ok] ~ ^")) == "Price: 10€ [ok] ~ ^"
    assert texts.gsm7_decode(b"\x80") == "\ufffd"  # not a septet


def test_a_concatenated_part_is_read_with_its_numbers() -> None:
    udh = bytes((5, 0, 3, 0x2A, 3, 2))
    content = texts.read(udh + texts.gsm7_encode("middle"), 0, ESM_UDHI)
    assert (content.text, content.reference, content.total, content.index) == ("middle", 0x2A, 3, 2)
    assert content.udh == udh.hex()
    assert texts.read("مرحبا".encode("utf-16-be"), 8, 0).text == "مرحبا"


def test_the_three_part_reply_is_three_udh_parts_of_at_most_153_septets() -> None:
    parts = texts.encode_parts(THREE_PART_REPLY, reference=9)
    assert len(parts) == 3
    assert all(p.esm_class == ESM_UDHI and p.data_coding == 0 for p in parts)
    assert [p.short_message[:6] for p in parts] == [bytes((5, 0, 3, 9, 3, i)) for i in (1, 2, 3)]
    assert all(len(p.short_message) - 6 <= 153 for p in parts)
    assert "".join(texts.read(p.short_message, 0, ESM_UDHI).text for p in parts) == THREE_PART_REPLY


def test_arabic_goes_as_one_ucs2_part_and_short_latin_as_gsm7() -> None:
    [arabic] = texts.encode_parts(ARABIC_REPLY, reference=1)
    assert arabic.data_coding == 8 and arabic.esm_class == 0
    assert arabic.short_message.decode("utf-16-be") == ARABIC_REPLY
    [stop] = texts.encode_parts("STOP", reference=1)
    assert (stop.data_coding, stop.short_message) == (0, b"STOP")


@pytest.mark.parametrize("name", sorted(HANDSET_NUMBERS))
def test_every_documented_number_runs_its_script(name: str) -> None:
    number = HANDSET_NUMBERS[name]
    assert script_for(number).name == name
    assert script_for(number.lstrip("+")).name == name


def test_ranges_and_unknown_numbers() -> None:
    assert {script_for(n).name for n in numbers_like("delivered", 1000)} == {"delivered"}
    assert {script_for(n).name for n in numbers_like("reply-1", 3, offset=997)} == {"reply-1"}
    assert script_for("+447700900123").name == "delivered"
    assert script_for("+12025556999").name == "delivered"
    with pytest.raises(ValueError):
        numbers_like("delivered", 2, offset=999)
    assert digits("+12025550700") == digits("0012025550700") == "12025550700"


def test_the_slow_number_takes_the_configured_delay() -> None:
    assert script_for(HANDSET_NUMBERS["slow-receipt"], slow_receipt_seconds=0.5).receipt_delay == 0.5
    assert script_for(HANDSET_NUMBERS["throttled-once"]).refusal == Status.ESME_RTHROTTLED
    assert script_for(HANDSET_NUMBERS["queue-full-once"]).refusal == Status.ESME_RMSGQFUL


def test_a_receipt_carries_the_tlvs_and_the_customary_text() -> None:
    submitted = ShortMessage(source_addr="15550100", destination_addr="12025550701",
                             short_message=b"hello", source_addr_ton=5, dest_addr_ton=1)
    made = receipt(submitted, "hello", "abc", "UNDELIV", "001", 0.0, 60.0)
    assert (made.source_addr, made.destination_addr) == ("12025550701", "15550100")
    assert (made.source_addr_ton, made.dest_addr_ton) == (1, 5)
    assert made.esm_class == 0x04
    assert made.tlvs[Tag.RECEIPTED_MESSAGE_ID] == b"abc\x00"
    assert made.tlvs[Tag.MESSAGE_STATE] == b"\x05"
    assert made.tlvs[Tag.NETWORK_ERROR_CODE] == b"\x03\x00\x01"
    assert made.short_message.decode() == (
        "id:abc sub:001 dlvrd:000 submit date:7001010000 done date:7001010001 "
        "stat:UNDELIV err:001 text:hello")
    assert receipt_text("x", "DELIVRD", "000", "مرحبا يا", 0, 0).endswith("text:????? ??")
