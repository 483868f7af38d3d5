"""The ESME and its binds against the handset network in this process (no Jasmin, no database):
submits answered by sequence number through the window, never more in flight than the window;
a throttling answer slows the bind down; a submit never written (no bind) is told apart from one
whose answer never came (silence, or the connection dropping); a refused bind says why; a peer
that stops answering enquire_link is dropped; the pool rebinds, with backoff, to an SMSC that
comes back; deliveries reach the handler and are answered when it says; TLS with a checked
certificate."""

from __future__ import annotations

import datetime
import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path

import gevent
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from gevent.server import StreamServer

from voiceplatform.exceptions import SmppBindError, SmppConnectionError
from voiceplatform.lab.polling import poll
from voiceplatform.smsc.handset_network import pdu
from voiceplatform.smsc.handset_network.numbers import HANDSET_NUMBERS
from voiceplatform.smsc.handset_network.pdu import Command, Status
from voiceplatform.smsc.handset_network.records import Recorder
from voiceplatform.smsc.handset_network.server import HandsetNetwork

from sms_bridge.addressing import destination_address, source_address
from sms_bridge.binds import BindPool
from sms_bridge.config import BridgeSettings, SmppRoute
from sms_bridge.esme import (ESME_RTHROTTLED, Deliver, Esme, SubmitNotSent, SubmitRequest, SubmitUnanswered)
from sms_bridge.gsm7 import encode_gsm7

OURS = "+12025559100"
ACCOUNT = ("platform", "secret")


def request(destination: str, text: str = "hello") -> SubmitRequest:
    return SubmitRequest(source_address(OURS), destination_address(destination), encode_gsm7(text), 0)


def start_network(tmp_path: Path, port: int = 0) -> HandsetNetwork:
    network = HandsetNetwork("127.0.0.1", port, Recorder(tmp_path / f"records-{port}.jsonl"),
                             credentials=dict([ACCOUNT]), receipt_seconds=0)
    network.start()
    return network


@pytest.fixture
def network(tmp_path: Path) -> Iterator[HandsetNetwork]:
    server = start_network(tmp_path)
    yield server
    server.stop()
    server.recorder.close()


def route_to(address: tuple[str, int], **options: object) -> SmppRoute:
    return SmppRoute(address[0], address[1], *ACCOUNT, **options)  # type: ignore[arg-type]


class Handler:
    def __init__(self, answer: bool = True) -> None:
        self.delivered: list[Deliver] = []
        self.answer = answer

    def __call__(self, esme: Esme, deliver: Deliver) -> None:
        self.delivered.append(deliver)
        if self.answer:
            esme.respond(deliver.sequence)


def bound(route: SmppRoute, settings: BridgeSettings | None = None, handler: Handler | None = None) -> Esme:
    esme = Esme(route, settings or BridgeSettings(route=route), handler or Handler())
    esme.open()
    return esme


def test_submits_are_answered_by_sequence_and_receipts_delivered(network: HandsetNetwork) -> None:
    handler = Handler()
    esme = bound(route_to(network.address), handler=handler)
    try:
        answers = [gevent.spawn(esme.submit, request(HANDSET_NUMBERS[name], f"to {name}"))
                   for name in ("delivered", "undelivered", "reply-1")]
        gevent.joinall(answers, raise_error=True)
        ids = [greenlet.value.message_id for greenlet in answers]
        assert all(greenlet.value.accepted for greenlet in answers) and len(set(ids)) == 3
        submitted = {r["destination"]: r["message_id"] for r in network.recorder.records if r["kind"] == "submit_sm"}
        assert [submitted[HANDSET_NUMBERS[n].lstrip("+")] for n in ("delivered", "undelivered", "reply-1")] == ids
        assert poll(lambda: True if len(handler.delivered) >= 4 else None, 5)  # three receipts and the reply "1"
        receipts = {d.receipted_message_id: d.message_state for d in handler.delivered if d.esm_class & 0x04}
        assert receipts == {ids[0]: 2, ids[1]: 5, ids[2]: 2}
        [reply] = [d for d in handler.delivered if not d.esm_class & 0x04]
        assert (reply.source_addr, reply.source_ton, reply.destination_addr, reply.short_message) == (
            "12025550711", 1, OURS.lstrip("+"), b"1")
        assert poll(lambda: True if sum(r["kind"] == "deliver_sm_resp" for r in network.recorder.records) >= 4
                    else None, 5), "every deliver_sm answered"
    finally:
        esme.unbind()


def test_never_more_submits_in_flight_than_the_window(network: HandsetNetwork) -> None:
    route = route_to(network.address, window=3)
    esme = bound(route, BridgeSettings(route=route, response_timeout=0.3))
    seen: list[int] = []
    try:
        def watch() -> None:
            while True:
                seen.append(esme.outstanding)
                gevent.sleep(0.01)

        watcher = gevent.spawn(watch)
        stuck = [gevent.spawn(esme.submit, request(HANDSET_NUMBERS["no-response"], f"silence {n}")) for n in range(7)]
        gevent.joinall(stuck)
        watcher.kill()
        assert all(isinstance(greenlet.exception, SubmitUnanswered) for greenlet in stuck)
        assert max(seen) == 3
        assert sum(r["kind"] == "submit_sm" for r in network.recorder.records) == 7
        assert esme.submit(request(HANDSET_NUMBERS["delivered"])).accepted  # the window is free again
    finally:
        esme.unbind()


def test_a_throttling_answer_slows_the_bind_down(network: HandsetNetwork) -> None:
    route = route_to(network.address)
    esme = bound(route, BridgeSettings(route=route, throttle_pause=0.5))
    try:
        answer = esme.submit(request(HANDSET_NUMBERS["throttled-once"]))
        assert answer.status == ESME_RTHROTTLED and answer.slow_down and not answer.accepted
        assert esme.paused
        assert esme.submit(request(HANDSET_NUMBERS["throttled-once"])).accepted  # waited, then sent again
        assert not esme.paused
        attempts = [r["status"] for r in network.recorder.records if r["kind"] == "submit_sm"]
        assert attempts == ["ESME_RTHROTTLED", "ESME_ROK"]
    finally:
        esme.unbind()


def test_not_written_and_unanswered_are_told_apart(network: HandsetNetwork) -> None:
    esme = bound(route_to(network.address))
    waiting = gevent.spawn(esme.submit, request(HANDSET_NUMBERS["no-response"]))
    assert poll(lambda: True if esme.outstanding else None, 5)
    network.stop()  # the connection drops while the answer is awaited
    waiting.join(5)
    assert isinstance(waiting.exception, SubmitUnanswered)
    assert esme.closed.wait(5) and not esme.bound
    with pytest.raises(SubmitNotSent):
        esme.submit(request(HANDSET_NUMBERS["delivered"]))


def test_a_refused_bind_says_why(network: HandsetNetwork) -> None:
    route = SmppRoute(*network.address, system_id="platform", password="wrong")
    with pytest.raises(SmppBindError) as raised:
        Esme(route, BridgeSettings(route=route), Handler()).open()
    assert raised.value.status == Status.ESME_RINVPASWD and "ESME_RINVPASWD" in str(raised.value)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nobody = closed.getsockname()
    with pytest.raises(SmppConnectionError):
        Esme(route_to(nobody), BridgeSettings(), Handler()).open()


def test_a_peer_that_stops_answering_is_dropped() -> None:
    def mute(sock: socket.socket, _address: object) -> None:  # answers the bind, then nothing at all
        header = sock.recv(16)
        length, command, _status, sequence = pdu.HEADER.unpack(header)
        sock.recv(length - 16)
        sock.sendall(pdu.bind_resp(command, Status.ESME_ROK, sequence, "mute"))
        while sock.recv(4096):
            pass

    server = StreamServer(("127.0.0.1", 0), mute)
    server.start()
    try:
        route = route_to((server.server_host, server.server_port))
        esme = bound(route, BridgeSettings(route=route, enquire_link_every=0.1, link_timeout=0.2))
        assert esme.closed.wait(5)
        assert "enquire_link" in (esme.close_reason or "")
    finally:
        server.stop()


def test_the_pool_rebinds_with_backoff_when_the_smsc_comes_back(tmp_path: Path) -> None:
    network = start_network(tmp_path)
    port = network.address[1]
    route = route_to(network.address, binds=2)
    settings = BridgeSettings(route=route, reconnect_min=0.05, reconnect_max=0.2, bind_wait=0.2)
    pool = BindPool(route, settings, Handler()).start()
    try:
        assert pool.wait_bound(2, timeout=5)
        assert pool.submit(request(HANDSET_NUMBERS["delivered"])).accepted
        network.stop()
        assert poll(lambda: True if not pool.bound else None, 5)
        with pytest.raises(SubmitNotSent):  # no bind within bind_wait: the message goes back to the queue
            pool.submit(request(HANDSET_NUMBERS["delivered"]))
        assert poll(lambda: True if pool.bind_failures >= 2 else None, 5)  # it kept trying
        network = start_network(tmp_path, port)
        assert pool.wait_bound(2, timeout=10)
        assert pool.submit(request(HANDSET_NUMBERS["delivered"])).accepted
    finally:
        pool.stop()
        network.stop()


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test smsc")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
                   .not_valid_after(now + datetime.timedelta(hours=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "smsc.pem", directory / "smsc.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_tls_with_a_checked_certificate(network: HandsetNetwork, tmp_path: Path) -> None:
    cert_file, key_file = _certificate(tmp_path)

    def relay(tls: socket.socket, _address: object) -> None:  # TLS in front of the handset network
        plain = socket.create_connection(network.address)

        def pump(source: socket.socket, target: socket.socket) -> None:
            try:
                while data := source.recv(65536):
                    target.sendall(data)
            except OSError:
                pass
            finally:
                target.close()

        gevent.joinall([gevent.spawn(pump, tls, plain), gevent.spawn(pump, plain, tls)])

    proxy = StreamServer(("127.0.0.1", 0), relay, certfile=str(cert_file), keyfile=str(key_file))
    proxy.start()
    try:
        address = ("127.0.0.1", proxy.server_port)
        esme = bound(route_to(address, tls=True, ca_file=str(cert_file)))
        try:
            assert esme.submit(request(HANDSET_NUMBERS["delivered"], "over TLS")).accepted
        finally:
            esme.unbind()
        with pytest.raises(SmppConnectionError):  # another CA: the certificate is refused
            Esme(route_to(address, tls=True), BridgeSettings(), Handler()).open()
    finally:
        proxy.stop()
    assert [r["text"] for r in network.recorder.records if r["kind"] == "submit_sm"] == ["over TLS"]
