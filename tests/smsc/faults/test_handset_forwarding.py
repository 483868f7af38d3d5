"""The handset network keeps what it owes a gateway (handset_network.forwarding), in this process:
a receipt made while no gateway is bound is sent to the next one that binds; one left unanswered
when its connection ends is sent again; a temporary refusal is sent again, a permanent one is
not. (Before, a receipt for a gateway that had been killed was dropped, so a message submitted
just before Jasmin died stayed ``accepted`` for ever.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.smsc.test_handset_network import Raw, _submit
from voiceplatform.lab.polling import poll
from voiceplatform.smsc.handset_network import pdu
from voiceplatform.smsc.handset_network.forwarding import ESME_RX_T_APPN
from voiceplatform.smsc.handset_network.numbers import HANDSET_NUMBERS
from voiceplatform.smsc.handset_network.pdu import Command, Status, Tag
from voiceplatform.smsc.handset_network.records import Recorder
from voiceplatform.smsc.handset_network.server import HandsetNetwork

ESME_RX_P_APPN = 0x65


@pytest.fixture
def network(tmp_path: Path) -> Iterator[HandsetNetwork]:
    server = HandsetNetwork("127.0.0.1", 0, Recorder(tmp_path / "records.jsonl"), receipt_seconds=0,
                            slow_receipt_seconds=0.3)
    server.start()
    yield server
    server.stop()
    server.recorder.close()


def _bound(network: HandsetNetwork) -> Raw:
    gateway = Raw(network.address)
    answer = gateway.bind()
    assert answer is not None and answer.status == Status.ESME_ROK
    return gateway


def _submitted(gateway: Raw, destination: str) -> str:
    gateway.send(_submit(destination, 2))
    answer = gateway.read()
    assert answer is not None and answer.command_id == Command.SUBMIT_SM_RESP and answer.status == Status.ESME_ROK
    return answer.body.rstrip(b"\x00").decode()


def _receipt_for(gateway: Raw) -> tuple[int, str]:
    """The next PDU, a receipt: its sequence and the message id it reports on."""
    delivered = gateway.read()
    assert delivered is not None and delivered.command_id == Command.DELIVER_SM
    message = pdu.ShortMessage.parse(delivered.body)
    return delivered.sequence, message.tlvs[Tag.RECEIPTED_MESSAGE_ID].rstrip(b"\x00").decode()


def _answer(gateway: Raw, sequence: int, status: int) -> None:
    gateway.send(pdu.encode(Command.DELIVER_SM_RESP, status, sequence, b"\x00"))


def test_a_receipt_made_while_no_gateway_is_bound_goes_to_the_next_one(network: HandsetNetwork) -> None:
    first = _bound(network)
    message_id = _submitted(first, HANDSET_NUMBERS["slow-receipt"])
    first.sock.close()  # gone before its receipt (0.3 s later) is made
    held = poll(lambda: network.held or None, 5)
    assert held is not None and [owed.message_id for owed in held] == [message_id]
    second = _bound(network)
    sequence, receipted = _receipt_for(second)
    assert receipted == message_id
    _answer(second, sequence, Status.ESME_ROK)
    assert poll(lambda: network.recorder.query("deliver_sm_resp") or None, 5)
    assert network.held == [] and not any(session.owed for session in network.sessions)
    second.sock.close()


def test_a_receipt_unanswered_when_the_connection_ends_is_sent_again(network: HandsetNetwork) -> None:
    first = _bound(network)
    message_id = _submitted(first, HANDSET_NUMBERS["delivered"])
    _sequence, receipted = _receipt_for(first)
    assert receipted == message_id
    first.sock.close()  # read, never answered: as a gateway killed before it stored the receipt
    second = _bound(network)
    sequence, again = _receipt_for(second)
    assert again == message_id
    _answer(second, sequence, Status.ESME_ROK)
    [redelivery] = network.recorder.query("redelivery")
    assert (redelivery["of"], redelivery["message_id"], redelivery["attempt"]) == ("receipt", message_id, 2)
    second.sock.close()


def test_a_temporary_refusal_is_sent_again_and_a_permanent_one_settles_it(network: HandsetNetwork) -> None:
    gateway = _bound(network)
    message_id = _submitted(gateway, HANDSET_NUMBERS["undelivered"])
    sequence, receipted = _receipt_for(gateway)
    _answer(gateway, sequence, ESME_RX_T_APPN)  # "could not store it now"
    sequence, again = _receipt_for(gateway)  # a second later, on the same connection
    assert receipted == again == message_id
    _answer(gateway, sequence, ESME_RX_P_APPN)  # "cannot take it, ever"
    assert poll(lambda: True if len(network.recorder.query("deliver_sm_resp")) == 2 else None, 5)
    assert network.held == [] and not any(session.owed for session in network.sessions)
    assert [r["attempt"] for r in network.recorder.query("redelivery")] == [2]
    gateway.sock.close()
