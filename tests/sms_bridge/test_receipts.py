"""Delivery receipts: the id (receipted_message_id, else the text's id:), the state (the
message_state TLV, else stat:), the other fields, and clear refusals of what cannot be read."""

from __future__ import annotations

from datetime import datetime

import pytest

from sms_bridge.delivery_status import DeliveryStatus
from sms_bridge.errors import MalformedReceiptError
from sms_bridge.receipts import is_receipt, parse_receipt

JASMIN = (b"id:4b5c62e1-7d0f-4e55-9b6a-3f1f4e0c2a11 sub:001 dlvrd:001 submit date:2612021325 "
          b"done date:2612021326 stat:DELIVRD err:000 text:Your code is 1234")


def test_a_jasmin_receipt_with_its_tlvs() -> None:
    receipt = parse_receipt(JASMIN, receipted_message_id=b"4b5c62e1-7d0f-4e55-9b6a-3f1f4e0c2a11\x00",
                            message_state=2)
    assert receipt.message_id == receipt.text_id == "4b5c62e1-7d0f-4e55-9b6a-3f1f4e0c2a11"
    assert receipt.status is DeliveryStatus.DELIVERED and receipt.state == "DELIVRD"
    assert (receipt.submitted, receipt.delivered, receipt.error) == (1, 1, "000")
    assert receipt.submit_date == datetime(2026, 12, 2, 13, 25)
    assert receipt.done_date == datetime(2026, 12, 2, 13, 26)
    assert receipt.text == "Your code is 1234"


def test_the_text_id_when_there_is_no_tlv() -> None:
    receipt = parse_receipt("id:12345 sub:001 dlvrd:000 submit date:261202132501 done date:261202132702 "
                            "stat:UNDELIV err:012 text:")
    assert receipt.message_id == "12345" and receipt.status is DeliveryStatus.UNDELIVERED
    assert receipt.done_date == datetime(2026, 12, 2, 13, 27, 2) and receipt.error == "012"


def test_the_tlv_wins_over_the_text() -> None:
    receipt = parse_receipt("id:abc stat:ENROUTE", receipted_message_id="xyz", message_state=8)
    assert receipt.message_id == "xyz" and receipt.text_id == "abc"
    assert receipt.status is DeliveryStatus.REJECTED


@pytest.mark.parametrize("word, status", [
    ("DELIVRD", DeliveryStatus.DELIVERED), ("UNDELIV", DeliveryStatus.UNDELIVERED),
    ("EXPIRED", DeliveryStatus.EXPIRED), ("REJECTD", DeliveryStatus.REJECTED),
    ("DELETED", DeliveryStatus.UNDELIVERED), ("UNKNOWN", DeliveryStatus.UNKNOWN),
    ("ACCEPTD", DeliveryStatus.ACCEPTED), ("ENROUTE", DeliveryStatus.ENROUTE),
    ("delivrd", DeliveryStatus.DELIVERED), ("FAILED", DeliveryStatus.UNDELIVERED),
])
def test_stat_words(word: str, status: DeliveryStatus) -> None:
    assert parse_receipt(f"id:1 stat:{word}").status is status


@pytest.mark.parametrize("state, status", [
    (1, DeliveryStatus.ENROUTE), (2, DeliveryStatus.DELIVERED), (3, DeliveryStatus.EXPIRED),
    (4, DeliveryStatus.UNDELIVERED), (5, DeliveryStatus.UNDELIVERED), (6, DeliveryStatus.ACCEPTED),
    (7, DeliveryStatus.UNKNOWN), (8, DeliveryStatus.REJECTED),
])
def test_message_state_values(state: int, status: DeliveryStatus) -> None:
    assert parse_receipt(b"", receipted_message_id="m1", message_state=state).status is status


def test_lenient_layout() -> None:
    receipt = parse_receipt("Stat:EXPIRED  ID:77  Submit_date:2612020000 err: text:stat:DELIVRD id:999")
    assert receipt.message_id == "77" and receipt.status is DeliveryStatus.EXPIRED
    assert receipt.submit_date == datetime(2026, 12, 2, 0, 0) and receipt.error is None
    assert receipt.text == "stat:DELIVRD id:999"      # what follows text: is the message, not fields


@pytest.mark.parametrize("value", ["2613021325", "26120213", "abcdefghij", "2612023199"])
def test_a_bad_date_is_left_out(value: str) -> None:
    assert parse_receipt(f"id:1 stat:DELIVRD done date:{value}").done_date is None


@pytest.mark.parametrize("text, tlv_id, state, field", [
    ("sub:001 stat:DELIVRD", None, None, "receipted_message_id"),               # no id anywhere
    ("id: stat:DELIVRD", b"\x00", None, "receipted_message_id"),                # both empty
    ("id:" + "9" * 65 + " stat:DELIVRD", None, None, "receipted_message_id"),   # longer than SMPP's
    ("id:1 stat:HAPPY", None, None, "stat"),                                     # a state we do not know
    ("id:1", None, 42, "stat"),
    ("\x00\xff garbage", None, None, "receipted_message_id"),
])
def test_what_cannot_be_read_is_refused(text: str, tlv_id: bytes | None, state: int | None, field: str) -> None:
    with pytest.raises(MalformedReceiptError) as refused:
        parse_receipt(text, receipted_message_id=tlv_id, message_state=state)
    assert refused.value.field == field and refused.value.code == "malformed_receipt"


@pytest.mark.parametrize("esm_class, receipt", [
    (0x04, True), (0x20, True), (0x44, True), (0x00, False), (0x40, False), (0x08, False),
])
def test_which_deliver_sm_is_a_receipt(esm_class: int, receipt: bool) -> None:
    assert is_receipt(esm_class) is receipt
