"""sms_bridge.wire against smpplib (what the bridge used before, an independent implementation):
the PDUs it packs are byte for byte smpplib's for the same fields, and what smpplib or the
handset network writes it reads field by field; broken input is a WireError."""

from __future__ import annotations

import time

import pytest
import smpplib.smpp

from sms_bridge import wire
from sms_bridge.esme import Deliver
from voiceplatform.smsc.handset_network import receipts
from voiceplatform.smsc.handset_network.pdu import ShortMessage


class _Sequences:
    """What smpplib wants of a client: a sequence counter."""

    sequence = 0

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence


def _smpplib(command: str, sequence: int, **fields: object) -> bytes:
    made = smpplib.smpp.make_pdu(command, client=_Sequences(), **fields)
    made.sequence = sequence
    return bytes(made.generate())


@pytest.mark.parametrize("source, source_ton, source_npi, esm_class, data_coding, short_message", [
    ("12025559800", 1, 1, 0, 0, b"Your appointment is tomorrow at 10:00."),
    ("Clinic", 5, 0, 0x40, 8, b"\x05\x00\x03\x07\x02\x01" + "مرحبا".encode("utf-16-be")),
    ("5550", 3, 0, 0x40, 0, b"\x05\x00\x03\xff\x03\x03" + b"x" * 148),
])
def test_a_submit_sm_is_smpplibs_byte_for_byte(source: str, source_ton: int, source_npi: int, esm_class: int,
                                               data_coding: int, short_message: bytes) -> None:
    packed = wire.submit_sm(
        41, source_ton=source_ton, source_npi=source_npi, source=source, destination_ton=1, destination_npi=1,
        destination="12025557000", esm_class=esm_class, registered_delivery=1, data_coding=data_coding,
        short_message=short_message)
    assert packed == _smpplib(
        "submit_sm", 41, service_type="", source_addr_ton=source_ton, source_addr_npi=source_npi, source_addr=source,
        dest_addr_ton=1, dest_addr_npi=1, destination_addr="12025557000", esm_class=esm_class,
        registered_delivery=1, data_coding=data_coding, short_message=short_message)


def test_the_answers_and_keep_alives_are_smpplibs_byte_for_byte() -> None:
    assert wire.deliver_sm_resp(9) == _smpplib("deliver_sm_resp", 9)
    assert wire.deliver_sm_resp(9, 0x64) == _smpplib("deliver_sm_resp", 9, status=0x64)
    for command, name in ((wire.ENQUIRE_LINK, "enquire_link"), (wire.ENQUIRE_LINK_RESP, "enquire_link_resp"),
                          (wire.UNBIND, "unbind"), (wire.UNBIND_RESP, "unbind_resp")):
        assert wire.pack(command, 12) == _smpplib(name, 12), name


def test_a_submit_sm_resp_gives_its_message_id_and_an_error_none() -> None:
    accepted = wire.frame(_smpplib("submit_sm_resp", 3, message_id="0a1b2c3d"))
    assert (accepted.command_id, accepted.sequence, accepted.status) == (wire.SUBMIT_SM_RESP, 3, 0)
    assert wire.message_id(accepted.body) == "0a1b2c3d"
    assert wire.message_id(b"") is None and wire.message_id(b"\x00") is None


def test_a_receipt_from_the_handset_network_is_read_field_by_field() -> None:
    submitted = ShortMessage(source_addr="12025559800", destination_addr="12025550701", short_message=b"hello",
                             registered_delivery=1)
    now = time.time()
    body = receipts.receipt(submitted, "hello", "00ff00aa", "UNDELIV", "001", now, now).body()
    deliver = Deliver.read(77, wire.frame(wire.pack(wire.DELIVER_SM, 77, body)).body)
    assert (deliver.sequence, deliver.source_addr, deliver.destination_addr) == (77, "12025550701", "12025559800")
    assert (deliver.esm_class, deliver.receipted_message_id, deliver.message_state) == (0x04, "00ff00aa", 5)
    assert deliver.short_message.startswith(b"id:00ff00aa sub:001 dlvrd:000") and deliver.sar is None


def test_a_deliver_sm_written_by_smpplib_is_read_with_its_sar_and_addresses() -> None:
    raw = _smpplib("deliver_sm", 5, source_addr_ton=1, source_addr_npi=1, source_addr="12025550714",
                   dest_addr_ton=3, dest_addr_npi=0, destination_addr="5550", data_coding=8,
                   short_message="مرحبا".encode("utf-16-be"), sar_msg_ref_num=513, sar_total_segments=3,
                   sar_segment_seqnum=2)
    deliver = Deliver.read(5, wire.frame(raw).body)
    assert (deliver.source_addr, deliver.source_ton, deliver.destination_addr, deliver.destination_ton) == (
        "12025550714", 1, "5550", 3)
    assert deliver.data_coding == 8 and deliver.short_message == "مرحبا".encode("utf-16-be")
    assert deliver.sar is not None and (deliver.sar.reference, deliver.sar.total, deliver.sar.sequence) == (513, 3, 2)
    assert deliver.receipted_message_id is None and deliver.message_state is None


@pytest.mark.parametrize("body", [
    b"",  # nothing at all
    b"\x00\x01\x01" + b"1" * 30,  # an address without its NUL within 21 octets
    ShortMessage(source_addr="1", destination_addr="2", short_message=b"abc").body()[:-2],  # short_message cut
    ShortMessage(source_addr="1", destination_addr="2", short_message=b"abc").body() + b"\x04\x27\x00\x05\x02",
])
def test_a_broken_deliver_sm_is_a_wire_error(body: bytes) -> None:
    with pytest.raises(wire.WireError):
        wire.deliver_sm(body)


@pytest.mark.parametrize("length", [0, 15, wire.MAX_PDU + 1])
def test_a_command_length_that_cannot_be_a_pdu_is_a_wire_error(length: int) -> None:
    with pytest.raises(wire.WireError):
        wire.length_of(length.to_bytes(4, "big"))
    with pytest.raises(wire.WireError):
        wire.submit_sm(1, source_ton=1, source_npi=1, source="1", destination_ton=1, destination_npi=1,
                       destination="2", esm_class=0, registered_delivery=1, data_coding=0, short_message=b"x" * 255)
