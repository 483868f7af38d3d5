"""The handset network's SMPP codec, checked against smpplib (an independent implementation):
what one writes the other reads, field by field."""

from __future__ import annotations

from typing import Any

import pytest
import smpplib.smpp

from voiceplatform.smsc.handset_network import pdu
from voiceplatform.smsc.handset_network.pdu import Command, PduError, ShortMessage, Status, Tag


def _split(raw: bytes) -> pdu.Pdu:
    return pdu.decode(raw[:16], raw[16:])


class _Sequences:
    """What smpplib wants of a client while parsing: a sequence counter."""

    sequence = 0

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence


def _parse(raw: bytes) -> object:
    return smpplib.smpp.parse_pdu(raw, client=_Sequences(), allow_unknown_opt_params=True)


def _make(command: str, sequence: int, **fields: object) -> bytes:
    made = smpplib.smpp.make_pdu(command, client=_Sequences(), **fields)
    made.sequence = sequence
    return bytes(made.generate())


def test_a_submit_sm_written_by_smpplib_is_read_field_by_field() -> None:
    raw = _make(
        "submit_sm", 7, source_addr_ton=5, source_addr_npi=0, source_addr="Clinic",
        dest_addr_ton=1, dest_addr_npi=1, destination_addr="12025550700",
        esm_class=0x40, data_coding=8, registered_delivery=1,
        short_message=b"\x05\x00\x03\x07\x02\x01" + "مرحبا".encode("utf-16-be"),
        user_message_reference=42)
    decoded = _split(raw)
    assert (decoded.command_id, decoded.sequence, decoded.status) == (Command.SUBMIT_SM, 7, 0)
    message = ShortMessage.parse(decoded.body)
    assert message.source_addr == "Clinic" and message.source_addr_ton == 5
    assert message.destination_addr == "12025550700"
    assert (message.esm_class, message.data_coding, message.registered_delivery) == (0x40, 8, 1)
    assert message.short_message.endswith("مرحبا".encode("utf-16-be"))
    assert message.tlvs[Tag.USER_MESSAGE_REFERENCE] == (42).to_bytes(2, "big")


def test_a_receipt_written_here_is_read_by_smpplib() -> None:
    receipt = ShortMessage(
        source_addr="12025550700", destination_addr="15550100", esm_class=0x04,
        short_message=b"id:abc123 sub:001 dlvrd:001 stat:DELIVRD err:000 text:",
        tlvs={Tag.RECEIPTED_MESSAGE_ID: b"abc123\x00", Tag.MESSAGE_STATE: b"\x02"})
    raw = pdu.encode(Command.DELIVER_SM, Status.ESME_ROK, 9, receipt.body())
    parsed: Any = _parse(raw)
    assert parsed.command == "deliver_sm" and parsed.sequence == 9
    assert parsed.source_addr == b"12025550700" and parsed.destination_addr == b"15550100"
    assert parsed.esm_class == 0x04
    assert parsed.receipted_message_id == b"abc123"
    assert parsed.message_state == 2
    assert parsed.short_message.startswith(b"id:abc123")


def test_a_body_survives_its_own_round_trip() -> None:
    message = ShortMessage(source_addr="1", destination_addr="2", short_message=b"x" * 254,
                           data_coding=3, tlvs={Tag.NETWORK_ERROR_CODE: b"\x03\x00\x01"})
    assert ShortMessage.parse(message.body()) == message


def test_responses_are_what_smpplib_expects() -> None:
    resp: Any = _parse(pdu.submit_sm_resp(Status.ESME_ROK, 3, "m1"))
    assert (resp.command, resp.sequence, resp.status, resp.message_id) == ("submit_sm_resp", 3, 0, b"m1")
    refused = pdu.submit_sm_resp(Status.ESME_RTHROTTLED, 4, "")
    assert len(refused) == 16 and _split(refused).status == Status.ESME_RTHROTTLED  # no body
    bind: Any = _parse(pdu.bind_resp(Command.BIND_TRANSCEIVER, 0, 1, "handsets"))
    assert bind.command == "bind_transceiver_resp" and bind.system_id == b"handsets"
    enquire = _split(pdu.response(Command.ENQUIRE_LINK, 5))
    assert (enquire.command_id, enquire.sequence) == (Command.ENQUIRE_LINK_RESP, 5)


def test_a_bind_is_read() -> None:
    raw = _make("bind_transceiver", 1, system_id="jasmin", password="secret",
                system_type="", interface_version=0x34)
    bind = pdu.Bind.parse(_split(raw))
    assert (bind.system_id, bind.password, bind.interface_version) == ("jasmin", "secret", 0x34)


@pytest.mark.parametrize("body, why", [
    (b"\x00", "ends inside"),
    (b"\x00\x01\x01" + b"1" * 40, "no NUL"),  # an address longer than its field
    (ShortMessage("1", "2", b"hi").body()[:-1], "past the end"),  # sm_length says 2, 1 is there
    (ShortMessage("1", "2", b"hi").body() + b"\x04\x24\x00\x09ab", "past the end"),  # a TLV too short
])
def test_broken_bodies_are_refused_with_a_reason(body: bytes, why: str) -> None:
    with pytest.raises(PduError, match=why) as caught:
        ShortMessage.parse(body)
    assert caught.value.status == Status.ESME_RINVMSGLEN


@pytest.mark.parametrize("length", [0, 15, pdu.MAX_PDU_SIZE + 1])
def test_an_impossible_command_length_is_refused(length: int) -> None:
    with pytest.raises(PduError):
        pdu.body_length(length.to_bytes(4, "big") + bytes(12))


def test_a_short_message_over_254_octets_cannot_be_written() -> None:
    with pytest.raises(PduError):
        ShortMessage("1", "2", b"x" * 255).body()
