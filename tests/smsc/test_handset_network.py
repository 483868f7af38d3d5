"""The handset network in this process (no Jasmin): binds, submits, receipts, scripted refusals,
silence, MO injection, the record file and the control port. The gateway's side is played by raw
PDUs (for what a library would refuse to send) and by smpplib."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import smpplib.client
import smpplib.exceptions

from tests.smsc.esme import TestEsme
from voiceplatform.smsc.handset_network import pdu
from voiceplatform.smsc.handset_network.control import ControlApp
from voiceplatform.smsc.handset_network.numbers import HANDSET_NUMBERS
from voiceplatform.smsc.handset_network.pdu import Command, ShortMessage, Status
from voiceplatform.smsc.handset_network.records import Recorder, read_file
from voiceplatform.smsc.handset_network.server import HandsetNetwork, NoReceiverError

ACCOUNT = {"jasmin": "secret"}


@pytest.fixture
def network(tmp_path: Path) -> Iterator[HandsetNetwork]:
    server = HandsetNetwork("127.0.0.1", 0, Recorder(tmp_path / "records.jsonl"),
                            credentials=ACCOUNT, receipt_seconds=0, slow_receipt_seconds=0.2)
    server.start()
    yield server
    server.stop()
    server.recorder.close()


@pytest.fixture
def gateway(network: HandsetNetwork) -> Iterator[TestEsme]:
    client = TestEsme(*network.address, "jasmin", "secret")
    yield client
    client.close()


class Raw:
    """A bare connection that sends PDUs as given and reads one PDU at a time."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=5)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self) -> pdu.Pdu | None:
        header = self._exactly(16)
        if header is None:
            return None
        body = self._exactly(pdu.body_length(header)) or b""
        return pdu.decode(header, body)

    def _exactly(self, count: int) -> bytes | None:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def bind(self, password: str = "secret") -> pdu.Pdu | None:
        body = b"jasmin\x00" + password.encode() + b"\x00\x00\x34\x01\x01\x00"
        self.send(pdu.encode(Command.BIND_TRANSCEIVER, 0, 1, body))
        return self.read()


def _submit(destination: str, sequence: int, registered_delivery: int = 1) -> bytes:
    body = ShortMessage("15550100", destination.lstrip("+"), b"hello",
                        registered_delivery=registered_delivery).body()
    return pdu.encode(Command.SUBMIT_SM, 0, sequence, body)


def test_a_wrong_password_is_refused_and_recorded(network: HandsetNetwork) -> None:
    raw = Raw(network.address)
    answer = raw.bind(password="wrong")
    assert answer is not None and answer.status == Status.ESME_RINVPASWD and answer.body == b""
    assert network.recorder.query("bind")[-1]["status"] == "ESME_RINVPASWD"
    client = smpplib.client.Client(*network.address, timeout=5, allow_unknown_opt_params=True)
    client.connect()
    with pytest.raises(smpplib.exceptions.PDUError):
        client.bind_transceiver(system_id="nobody", password="secret")
    client.disconnect()


def test_a_submit_before_bind_is_refused(network: HandsetNetwork) -> None:
    raw = Raw(network.address)
    raw.send(_submit(HANDSET_NUMBERS["delivered"], 5))
    answer = raw.read()
    assert answer is not None
    assert (answer.command_id, answer.status, answer.sequence) == (
        Command.SUBMIT_SM_RESP, Status.ESME_RINVBNDSTS, 5)


def test_a_submit_is_acknowledged_and_receipted(network: HandsetNetwork, gateway: TestEsme) -> None:
    message_id = gateway.submit(HANDSET_NUMBERS["undelivered"], "are you there")
    receipt = gateway.wait_receipt(message_id)
    assert receipt.stat == "UNDELIV" and receipt.message_state == 5
    assert receipt.short_message.decode().startswith(f"id:{message_id} sub:001 dlvrd:000 ")
    [record] = network.recorder.query("submit_sm")
    assert record["message_id"] == message_id and record["text"] == "are you there"
    assert record["source"] == "15550100" and record["script"] == "undelivered"
    assert network.recorder.query("deliver_sm_resp")[-1]["status"] == 0  # the gateway's ack


def test_no_receipt_is_sent_when_none_was_asked(network: HandsetNetwork, gateway: TestEsme) -> None:
    quiet = gateway.submit(HANDSET_NUMBERS["delivered"], "no receipt please", registered_delivery=0)
    asked = gateway.submit(HANDSET_NUMBERS["delivered"], "a receipt please")
    gateway.wait_receipt(asked)
    assert [r["message_id"] for r in network.recorder.query("receipt")] == [asked]
    assert quiet != asked


def test_always_throttled_refuses_every_attempt(network: HandsetNetwork) -> None:
    raw = Raw(network.address)
    raw.bind()
    statuses = []
    for sequence in (2, 3, 4):
        raw.send(_submit(HANDSET_NUMBERS["always-throttled"], sequence))
        answer = raw.read()
        assert answer is not None and answer.sequence == sequence
        statuses.append(answer.status)
    assert statuses == [Status.ESME_RTHROTTLED] * 3
    assert [r["attempt"] for r in network.recorder.query("submit_sm")] == [1, 2, 3]


def test_throttled_once_accepts_the_retry(network: HandsetNetwork) -> None:
    raw = Raw(network.address)
    raw.bind()
    answers = []
    for sequence in (2, 3):
        raw.send(_submit(HANDSET_NUMBERS["throttled-once"], sequence, registered_delivery=0))
        answers.append(raw.read())
    assert [a.status for a in answers if a] == [Status.ESME_RTHROTTLED, Status.ESME_ROK]


def test_the_no_response_number_is_never_answered(network: HandsetNetwork) -> None:
    raw = Raw(network.address)
    raw.bind()
    raw.send(_submit(HANDSET_NUMBERS["no-response"], 2))
    raw.send(pdu.encode(Command.ENQUIRE_LINK, 0, 3))
    answer = raw.read()  # what comes next is the enquire_link's answer: the submit got none
    assert answer is not None and (answer.command_id, answer.sequence) == (Command.ENQUIRE_LINK_RESP, 3)
    [record] = network.recorder.query("submit_sm")
    assert record["status"] is None and record["message_id"] is None


def test_an_unknown_command_gets_a_generic_nack_and_a_broken_length_ends_the_link(
        network: HandsetNetwork) -> None:
    raw = Raw(network.address)
    raw.bind()
    raw.send(pdu.encode(0x00000103, 0, 8))  # data_sm: not spoken here
    answer = raw.read()
    assert answer is not None and (answer.command_id, answer.status) == (Command.GENERIC_NACK, Status.ESME_RINVCMDID)
    raw.send((8).to_bytes(4, "big") + bytes(12))  # a command_length below the header's
    nack = raw.read()
    assert nack is not None and nack.command_id == Command.GENERIC_NACK
    assert raw.read() is None  # and the connection is closed


def test_mo_messages_are_injected_to_a_bound_receiver(network: HandsetNetwork, gateway: TestEsme) -> None:
    assert network.inject_mo("+12025550700", "+15550100", "hello from a phone") == 1
    [mo] = gateway.wait_messages("+12025550700", destination="15550100")
    assert mo.content.text == "hello from a phone" and not mo.is_receipt
    assert network.recorder.query("mo")[-1]["text"] == "hello from a phone"


def test_an_mo_with_no_receiver_is_refused(network: HandsetNetwork) -> None:
    with pytest.raises(NoReceiverError):
        network.inject_mo("+12025550700", "+15550100", "anyone?")


def test_records_go_to_the_file_and_a_restart_goes_on_counting(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    first = Recorder(path)
    first.add("bind", system_id="a")
    first.add("submit_sm", destination="1")
    first.close()
    second = Recorder(path)
    record = second.add("submit_sm", destination="2")
    second.close()
    assert record["n"] == 2 and second.query(after=2) == [record]
    assert [r["destination"] for r in read_file(path) if r["kind"] == "submit_sm"] == ["1", "2"]


# ---- the control port (a WSGI app, called directly) ----

def _call(app: ControlApp, method: str, path: str, body: Any = None, query: str = "") -> tuple[str, Any]:
    raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
               "CONTENT_LENGTH": str(len(raw)), "wsgi.input": io.BytesIO(raw)}
    seen: dict[str, str] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"] = status

    answer = b"".join(app(environ, start_response))
    return seen["status"], json.loads(answer)


def test_the_control_port(network: HandsetNetwork, gateway: TestEsme) -> None:
    app = ControlApp(network)
    status, health = _call(app, "GET", "/health")
    assert status.startswith("200") and health["binds"][0]["system_id"] == "jasmin"
    gateway.submit(HANDSET_NUMBERS["delivered"], "one")
    gateway.submit(HANDSET_NUMBERS["rejected"], "two")
    status, found = _call(app, "GET", "/messages", query="kind=submit_sm&script=rejected")
    assert [r["text"] for r in found["records"]] == ["two"]
    status, sent = _call(app, "POST", "/mo", {"source": "+12025550711", "destination": "15550100",
                                              "text": "1"})
    assert status.startswith("200") and sent == {"parts": 1}


@pytest.mark.parametrize("method, path, body, query, code", [
    ("POST", "/mo", b"{not json", "", "400"),
    ("POST", "/mo", {"source": "x"}, "", "400"),
    ("POST", "/mo", {"source": "+1 202; rm", "destination": "1", "text": "hi"}, "", "400"),
    ("POST", "/mo", {"source": "1", "destination": "2", "text": ""}, "", "400"),
    ("GET", "/messages", None, "after=soon", "400"),
    ("GET", "/messages", None, "password=x", "400"),
    ("DELETE", "/messages", None, "", "404"),
])
def test_the_control_port_refuses_what_it_does_not_take(
        network: HandsetNetwork, method: str, path: str, body: Any, query: str, code: str) -> None:
    status, answer = _call(ControlApp(network), method, path, body, query)
    assert status.startswith(code) and answer["error"]


def test_an_mo_through_the_control_port_with_no_receiver_is_a_409(network: HandsetNetwork) -> None:
    status, answer = _call(ControlApp(network), "POST", "/mo",
                           {"source": "1", "destination": "2", "text": "hi"})
    assert status.startswith("409") and "no gateway" in answer["error"]
