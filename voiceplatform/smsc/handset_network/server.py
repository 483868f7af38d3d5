"""The handset network's SMSC: an SMPP 3.4 server that plays the mobile network behind a gateway.

It answers binds (transmitter, receiver, transceiver) and ``enquire_link``; acknowledges each
``submit_sm`` with a message id, or refuses or ignores it as the destination's script says
(:mod:`~voiceplatform.smsc.handset_network.numbers`); sends the delivery receipt and the scripted
reply; records everything (:mod:`~voiceplatform.smsc.handset_network.records`); and injects MO
messages on command (:meth:`HandsetNetwork.inject_mo`). What it sends a gateway is kept until the
gateway answers it, and sent again when the gateway was gone
(:mod:`~voiceplatform.smsc.handset_network.forwarding`).

One greenlet reads each connection; receipts and replies go out from their own greenlets, so a
slow receipt never holds up the next submit. Sockets use TCP_NODELAY.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import time
from collections import Counter
from dataclasses import dataclass, field

import gevent
from gevent.lock import Semaphore
from gevent.server import StreamServer

from voiceplatform.smsc.handset_network import pdu, receipts, texts
from voiceplatform.smsc.handset_network.forwarding import REDELIVER_SECONDS, Owed, retry_after_answer
from voiceplatform.smsc.handset_network.numbers import (
    RECEIPT_SECONDS,
    SLOW_RECEIPT_SECONDS,
    Script,
    digits,
    script_for,
)
from voiceplatform.smsc.handset_network.pdu import Command, Pdu, PduError, ShortMessage, Status
from voiceplatform.smsc.handset_network.records import Recorder

log = logging.getLogger(__name__)

MODES = {
    Command.BIND_RECEIVER: "receiver",
    Command.BIND_TRANSMITTER: "transmitter",
    Command.BIND_TRANSCEIVER: "transceiver",
}
#: The network's own name in bind_resp.
SYSTEM_ID = "handsets"
#: ``system_id:password`` of the one account a gateway may bind with (unset: any bind is
#: accepted); an environment variable, so the password is not on a command line.
CREDENTIALS_ENV = "VOICEPLATFORM_HANDSET_CREDENTIALS"


class NoReceiverError(Exception):
    """An MO message was asked for while no receiver or transceiver is bound."""


def _recv_exactly(sock: socket.socket, count: int) -> bytes | None:
    chunks: list[bytes] = []
    while count:
        chunk = sock.recv(count)
        if not chunk:
            return None
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


@dataclass(eq=False)
class Session:
    """One bound (or binding) connection from a gateway."""

    sock: socket.socket
    peer: str
    mode: str | None = None
    system_id: str | None = None
    lock: Semaphore = field(default_factory=Semaphore)
    #: deliver_sm sent on this connection and not answered yet, by sequence number
    owed: dict[int, Owed] = field(default_factory=dict)
    _sequence: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def receives(self) -> bool:
        return self.mode in ("receiver", "transceiver")

    @property
    def transmits(self) -> bool:
        return self.mode in ("transmitter", "transceiver")

    def next_sequence(self) -> int:
        return next(self._sequence)

    def send(self, data: bytes) -> None:
        with self.lock:
            self.sock.sendall(data)


class HandsetNetwork:
    """The SMSC. ``credentials`` maps system_id to password (None accepts any bind)."""

    def __init__(self, host: str, port: int, recorder: Recorder, *,
                 credentials: dict[str, str] | None = None,
                 receipt_seconds: float = RECEIPT_SECONDS,
                 slow_receipt_seconds: float = SLOW_RECEIPT_SECONDS) -> None:
        self.recorder = recorder
        self.credentials = credentials
        self.receipt_seconds = receipt_seconds
        self.slow_receipt_seconds = slow_receipt_seconds
        self.sessions: list[Session] = []
        self._server = StreamServer((host, port), self._serve)
        self._ids = itertools.count(1)
        self._id_prefix = f"{int(time.time()) & 0xFFFFFF:06x}{os.getpid() & 0xFFFF:04x}"
        self._attempts: Counter[tuple[str, str, bytes]] = Counter()
        self._references = itertools.count(1)
        self._next_receiver = 0
        #: deliver_sm owed while no gateway was bound to receive: sent when one binds
        self.held: list[Owed] = []

    @property
    def address(self) -> tuple[str, int]:
        return str(self._server.server_host), int(self._server.server_port or 0)

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop(timeout=2)
        for session in list(self.sessions):
            _close(session.sock)

    # ---- one connection ----

    def _serve(self, sock: socket.socket, address: tuple[str, int]) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        session = Session(sock, f"{address[0]}:{address[1]}")
        self.sessions.append(session)
        try:
            while True:
                header = _recv_exactly(sock, pdu.HEADER_SIZE)
                if header is None:
                    return
                try:
                    body = _recv_exactly(sock, pdu.body_length(header))
                except PduError as exc:  # framing lost: answer and hang up
                    session.send(pdu.generic_nack(exc.status, pdu.HEADER.unpack(header)[3]))
                    return
                if body is None:
                    return
                if not self._handle(session, pdu.decode(header, body)):
                    return
        except OSError as exc:
            log.info("connection from %s ended: %s", session.peer, exc)
        finally:
            self.sessions.remove(session)
            _close(sock)
            owed, session.owed = list(session.owed.values()), {}
            for unanswered in owed:  # the gateway may not have it: sent again
                self._forward(unanswered.again())

    def _handle(self, session: Session, request: Pdu) -> bool:
        """Answer one PDU; False ends the connection."""
        command = request.command_id
        if command in pdu.BINDS:
            self._bind(session, request)
        elif command == Command.ENQUIRE_LINK:
            session.send(pdu.response(command, request.sequence))
        elif command == Command.UNBIND:
            session.send(pdu.response(command, request.sequence))
            return False
        elif command == Command.SUBMIT_SM:
            self._submit(session, request)
        elif command in (Command.DELIVER_SM_RESP, Command.GENERIC_NACK):
            self.recorder.add("deliver_sm_resp", sequence=request.sequence, status=request.status,
                              system_id=session.system_id)
            owed = session.owed.pop(request.sequence, None)
            if owed is not None and retry_after_answer(owed, request.status):
                gevent.spawn_later(REDELIVER_SECONDS, self._forward, owed.again())
        elif command in (Command.ENQUIRE_LINK_RESP, Command.UNBIND_RESP):
            pass
        else:
            session.send(pdu.generic_nack(Status.ESME_RINVCMDID, request.sequence))
        return True

    def _bind(self, session: Session, request: Pdu) -> None:
        try:
            bind = pdu.Bind.parse(request)
        except PduError as exc:
            session.send(pdu.bind_resp(request.command_id, exc.status, request.sequence, SYSTEM_ID))
            return
        status = Status.ESME_ROK
        if session.mode is not None:
            status = Status.ESME_RALYBND
        elif self.credentials is not None and bind.system_id not in self.credentials:
            status = Status.ESME_RINVSYSID
        elif self.credentials is not None and self.credentials[bind.system_id] != bind.password:
            status = Status.ESME_RINVPASWD
        mode = MODES[Command(request.command_id)]
        self.recorder.add("bind", system_id=bind.system_id, mode=mode, status=Status(status).name,
                          peer=session.peer)
        if status == Status.ESME_ROK:
            session.mode, session.system_id = mode, bind.system_id
        session.send(pdu.bind_resp(request.command_id, status, request.sequence, SYSTEM_ID))
        if session.receives and self.held:
            held, self.held = self.held, []
            for owed in held:
                self._forward(owed, session)

    def _submit(self, session: Session, request: Pdu) -> None:
        if not session.transmits:
            session.send(pdu.submit_sm_resp(Status.ESME_RINVBNDSTS, request.sequence, ""))
            return
        try:
            message = ShortMessage.parse(request.body)
        except PduError as exc:
            session.send(pdu.submit_sm_resp(exc.status, request.sequence, ""))
            return
        script = script_for(message.destination_addr, self.slow_receipt_seconds)
        content = texts.read(message.short_message, message.data_coding, message.esm_class)
        key = (message.source_addr, message.destination_addr, message.short_message)
        self._attempts[key] += 1
        attempt = self._attempts[key]
        status = Status.ESME_ROK
        if script.refusals < 0 or attempt <= script.refusals:
            status = script.refusal
        message_id = self._new_id() if status == Status.ESME_ROK and script.responds else None
        self.recorder.add(
            "submit_sm", message_id=message_id,
            status=Status(status).name if script.responds else None,
            attempt=attempt, script=script.name, system_id=session.system_id,
            source=message.source_addr, destination=message.destination_addr,
            data_coding=message.data_coding, esm_class=message.esm_class,
            registered_delivery=message.registered_delivery, text=content.text, udh=content.udh,
            reference=content.reference, total=content.total, index=content.index,
            short_message=message.short_message.hex(),
        )
        if not script.responds:
            return
        session.send(pdu.submit_sm_resp(status, request.sequence, message_id or ""))
        if message_id is None:
            return
        del self._attempts[key]
        gevent.spawn(self._after_submit, session, message, content, message_id, script, time.time())

    def _new_id(self) -> str:
        return f"{self._id_prefix}{next(self._ids):08x}"

    # ---- what follows an accepted message ----

    def _after_submit(self, session: Session, message: ShortMessage, content: texts.Content,
                      message_id: str, script: Script, submitted_at: float) -> None:
        # registered_delivery's low bits: 1 = a receipt whatever happens, 2 = on failure only.
        asked = message.registered_delivery & 0x03
        if script.stat is not None and (asked == 1 or (asked == 2 and script.stat != "DELIVRD")):
            delay = script.receipt_delay or self.receipt_seconds
            if delay:
                gevent.sleep(delay)
            self._send_receipt(session, message, content, message_id, script, submitted_at)
        if script.reply is not None and content.index in (None, content.total):
            self.inject_mo(message.destination_addr, message.source_addr, script.reply, hold=True)

    def _send_receipt(self, session: Session, message: ShortMessage, content: texts.Content,
                      message_id: str, script: Script, submitted_at: float) -> None:
        assert script.stat is not None
        deliver = receipts.receipt(message, content.text, message_id, script.stat, script.err,
                                   submitted_at, time.time())
        self.recorder.add("receipt", message_id=message_id, stat=script.stat, err=script.err,
                          source=deliver.source_addr, destination=deliver.destination_addr)
        self._forward(Owed("receipt", deliver.body(), message_id), session)

    def _forward(self, owed: Owed, preferred: Session | None = None) -> None:
        """Send ``owed`` to ``preferred`` if it still receives, else to another receiver; held
        while there is none."""
        target = preferred if preferred in self.sessions and preferred.receives else self._receiver()
        if target is None:
            log.info("%s %s held: no gateway is bound to receive", owed.what, owed.message_id or "")
            self.held.append(owed)
            return
        if owed.attempt > 1:
            self.recorder.add("redelivery", of=owed.what, message_id=owed.message_id, attempt=owed.attempt,
                              system_id=target.system_id)
        sequence = target.next_sequence()
        target.owed[sequence] = owed
        try:
            target.send(pdu.encode(Command.DELIVER_SM, Status.ESME_ROK, sequence, owed.body))
        except OSError as exc:  # still owed by that connection: sent again once its end is read
            log.info("%s %s not written to %s: %s", owed.what, owed.message_id or "", target.peer, exc)

    def _receiver(self) -> Session | None:
        receivers = [session for session in self.sessions if session.receives]
        if not receivers:
            return None
        self._next_receiver = (self._next_receiver + 1) % len(receivers)
        return receivers[self._next_receiver]

    def inject_mo(self, source: str, destination: str, text: str, *, hold: bool = False) -> int:
        """Send ``text`` from handset ``source`` to ``destination`` (our number) as a phone
        would: one deliver_sm, or UDH-concatenated parts. Returns the number of parts. With no
        gateway bound to receive, NoReceiverError, or (``hold``: a scripted reply) held until one
        binds."""
        target = self._receiver()
        if target is None and not hold:
            raise NoReceiverError("no gateway is bound as receiver or transceiver")
        parts = texts.encode_parts(text, next(self._references))
        for index, part in enumerate(parts, start=1):
            message = ShortMessage(
                source_addr=digits(source), destination_addr=digits(destination),
                short_message=part.short_message, data_coding=part.data_coding,
                esm_class=part.esm_class,
            )
            self.recorder.add("mo", source=message.source_addr, destination=message.destination_addr,
                              text=text, data_coding=part.data_coding, total=len(parts), index=index)
            self._forward(Owed("mo", message.body()), target)
        return len(parts)

    def binds(self) -> list[dict[str, str | None]]:
        return [{"system_id": s.system_id, "mode": s.mode, "peer": s.peer}
                for s in self.sessions if s.mode is not None]


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass
