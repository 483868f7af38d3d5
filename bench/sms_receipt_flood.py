"""An SMSC for one measure of bench/sms.py: it accepts transceiver binds and, on :meth:`flood`,
sends a delivery receipt for each of the given message ids as fast as the socket takes them
(the receipts the handset network sends, built by its own code:
voiceplatform.smsc.handset_network.receipts),
then counts the ``deliver_sm_resp`` that come back. What it measures is the client's side:
reading, parsing, storing and answering receipts, with no submit traffic beside them.

Runs in the benchmark's process on gevent (a greenlet per connection); the receipts of a flood
are encoded before the clock starts and go out over the binds in turn, each bind's in one
write, so the flood itself costs the measured process next to nothing."""

from __future__ import annotations

import itertools
import socket
import time

import gevent
from gevent.event import Event
from gevent.server import StreamServer

from voiceplatform.smsc.handset_network import pdu, receipts
from voiceplatform.smsc.handset_network.pdu import Command, ShortMessage, Status

SYSTEM_ID = "flood"


class _Bind:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sequence = itertools.count(1)


class ReceiptFlood:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self._server = StreamServer((host, 0), self._serve)
        self.binds: list[_Bind] = []
        self.answered = 0
        self.refused = 0  # deliver_sm_resp with an error status
        self._expected = 0
        self._done = Event()

    @property
    def port(self) -> int:
        return int(self._server.server_port or 0)

    def start(self) -> ReceiptFlood:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(timeout=1)

    def wait_binds(self, count: int, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.binds) < count and time.monotonic() < deadline:
            gevent.sleep(0.01)
        return len(self.binds) >= count

    def flood(self, message_ids: list[str], source: str, destination: str, timeout: float = 300.0) -> float:
        """Send a DELIVRD receipt for each id; gives the seconds until every one was answered."""
        self.answered = self.refused = 0
        self._expected = len(message_ids)
        self._done.clear()
        submitted = ShortMessage(source_addr=source.lstrip("+"), destination_addr=destination.lstrip("+"),
                                 short_message=b"", registered_delivery=1)
        now = time.time()
        binds = list(self.binds)
        blobs: list[list[bytes]] = [[] for _ in binds]
        for index, message_id in enumerate(message_ids):  # encoded before the clock starts
            body = receipts.receipt(submitted, "receipt bench", message_id, "DELIVRD", "000", now, now).body()
            bind = binds[index % len(binds)]
            blobs[index % len(binds)].append(pdu.encode(Command.DELIVER_SM, Status.ESME_ROK, next(bind.sequence), body))
        began = time.perf_counter()
        senders = [gevent.spawn(bind.sock.sendall, b"".join(blob)) for bind, blob in zip(binds, blobs)]
        self._done.wait(timeout)
        gevent.joinall(senders, timeout=1)
        return time.perf_counter() - began

    def _serve(self, sock: socket.socket, _address: tuple[str, int]) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        bind = _Bind(sock)
        try:
            while True:
                header = _read(sock, pdu.HEADER_SIZE)
                if header is None:
                    return
                body = _read(sock, pdu.body_length(header))
                if body is None:
                    return
                request = pdu.decode(header, body)
                if request.command_id in pdu.BINDS:
                    sock.sendall(pdu.bind_resp(request.command_id, Status.ESME_ROK, request.sequence, SYSTEM_ID))
                    self.binds.append(bind)
                elif request.command_id in (Command.ENQUIRE_LINK, Command.UNBIND):
                    sock.sendall(pdu.response(request.command_id, request.sequence))
                    if request.command_id == Command.UNBIND:
                        return
                elif request.command_id == Command.DELIVER_SM_RESP:
                    self.answered += 1
                    self.refused += request.status != Status.ESME_ROK
                    if self.answered >= self._expected:
                        self._done.set()
        except OSError:
            return
        finally:
            if bind in self.binds:
                self.binds.remove(bind)
            sock.close()


def _read(sock: socket.socket, count: int) -> bytes | None:
    chunks: list[bytes] = []
    while count:
        chunk = sock.recv(count)
        if not chunk:
            return None
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)
