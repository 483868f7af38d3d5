"""One transceiver bind to an SMSC. smpplib connects and binds; from then on the PDUs are packed
and read by sms_bridge.wire (smpplib's generic codec cost 40 % of the bridge's CPU), and the
reading, the window and the keep-alive are ours, because smpplib has none of them.

* **A window of outstanding submits.** :meth:`Esme.submit` may be called from many greenlets at
  once: at most ``route.window`` submits wait for their ``submit_sm_resp`` at a time, each
  matched to its answer by sequence number (sms_bridge.window: a bind that follows one lost with
  submits unanswered starts with room for one and grows with each accepted answer). One reader
  greenlet reads every PDU.
* **Slow down, do not fail.** An answer of ESME_RTHROTTLED (0x58) or ESME_RMSGQFUL (0x14) is
  returned to the caller (who tries that part again later) and pauses this bind's submits for
  ``throttle_pause`` seconds, doubling while such answers last, up to ``throttle_pause_max``. A
  temporary refusal (:data:`TEMPORARY`: the SMSC's own trouble, such as Jasmin's broker being away)
  pauses the bind the same way; the caller tries it again for a while (sms_bridge.sender).
* **Nothing written, or no answer.** A submit that could not be written (the bind is gone) raises
  :class:`SubmitNotSent`: the SMSC never saw it, so it is safe to try again. A submit written
  whose answer never came (timeout, or the connection dropped first) raises
  :class:`SubmitUnanswered`: the SMSC may have taken it, so the caller must not resend it
  silently (sms_bridge.config, ``no_response``).
* **Keep-alive.** ``enquire_link`` every ``enquire_link_every`` seconds; no PDU at all within
  ``link_timeout`` after it closes the bind (the pool reconnects). The SMSC's own
  ``enquire_link`` and ``unbind`` are answered.
* **Deliveries are answered after they are stored.** A ``deliver_sm`` (a receipt or a message
  from a handset) is handed to ``on_deliver``; whoever stores it calls :meth:`Esme.respond`
  after its commit, so an SMSC resends what was never stored.
* **TLS** when the route says ``smpps://`` (certificate and host name checked unless
  ``verify=0``).

smpplib's and the socket's errors are translated here into voiceplatform.exceptions
(SmppConnectionError, SmppBindError), ``raise ... from``.
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gevent
import smpplib.client
import smpplib.consts
import smpplib.exceptions
from gevent.event import AsyncResult, Event
from gevent.lock import Semaphore

from voiceplatform.exceptions import SmppBindError, SmppConnectionError

from sms_bridge import wire
from sms_bridge.addressing import WireAddress
from sms_bridge.config import BridgeSettings, SmppRoute
from sms_bridge.udh import Concatenation
from sms_bridge.window import Window

log = logging.getLogger(__name__)

ESME_ROK = smpplib.consts.SMPP_ESME_ROK
ESME_RTHROTTLED = smpplib.consts.SMPP_ESME_RTHROTTLED
ESME_RMSGQFUL = smpplib.consts.SMPP_ESME_RMSGQFUL
#: deliver_sm_resp for a PDU we cannot read: a permanent application error (no resend)
ESME_RX_P_APPN = smpplib.consts.SMPP_ESME_RX_P_APPN
#: deliver_sm_resp when we could not store it now: a temporary error (the SMSC resends)
ESME_RX_T_APPN = smpplib.consts.SMPP_ESME_RX_T_APPN
SLOW_DOWN = frozenset({ESME_RTHROTTLED, ESME_RMSGQFUL})
#: refusals that say the SMSC cannot take a submit now rather than that the message is wrong:
#: Jasmin answers ESME_RSUBMITFAIL (0x45) while its RabbitMQ is away, and ESME_RSYSERR (0x08) or
#: ESME_RX_T_APPN (0x64, "temporary application error") as it loses and regains it. The SMSC did not
#: take the part, so trying it again sends nothing twice.
TEMPORARY = frozenset({smpplib.consts.SMPP_ESME_RSYSERR, smpplib.consts.SMPP_ESME_RSUBMITFAIL,
                       smpplib.consts.SMPP_ESME_RX_T_APPN})
STATUS_NAMES = {value: name[len("SMPP_"):] for name, value in vars(smpplib.consts).items()
                if name.startswith("SMPP_ESME_") and isinstance(value, int)}
_READ_ERRORS = (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError,
                smpplib.exceptions.UnknownCommandError, OSError, ValueError, IndexError)


def status_name(status: int) -> str:
    return STATUS_NAMES.get(status, f"0x{status:08X}")


class SubmitNotSent(SmppConnectionError):
    """The submit was not written: no bind, or it failed first. Safe to try again."""


class SubmitUnanswered(SmppConnectionError):
    """The submit was written but no ``submit_sm_resp`` came: the SMSC may have taken it."""


@dataclass(frozen=True, slots=True)
class SubmitRequest:
    source: WireAddress
    destination: WireAddress
    short_message: bytes
    data_coding: int
    esm_class: int = 0  # the UDHI bit; store and forward mode is the default (0)
    registered_delivery: int = 1  # a receipt whatever happens


@dataclass(frozen=True, slots=True)
class SubmitAnswer:
    status: int
    message_id: str | None

    @property
    def accepted(self) -> bool:
        return self.status == ESME_ROK and bool(self.message_id)

    @property
    def slow_down(self) -> bool:
        return self.status in SLOW_DOWN

    @property
    def temporary(self) -> bool:
        return self.status in TEMPORARY


@dataclass(frozen=True, slots=True)
class Deliver:
    """A ``deliver_sm`` as read from the wire; ``sequence`` is what :meth:`Esme.respond` answers."""

    sequence: int
    source_addr: str
    source_ton: int
    destination_addr: str
    destination_ton: int
    esm_class: int
    data_coding: int
    short_message: bytes
    receipted_message_id: str | None = None
    message_state: int | None = None
    sar: Concatenation | None = None

    @classmethod
    def read(cls, sequence: int, body: bytes) -> Deliver:
        """The ``deliver_sm`` numbered ``sequence`` from its body (wire.WireError if unreadable)."""
        fields = wire.deliver_sm(body)
        sar = Concatenation(fields.sar[0], fields.sar[1], fields.sar[2], 16) if fields.sar else None
        return cls(sequence=sequence, source_addr=fields.source_addr, source_ton=fields.source_ton,
                   destination_addr=fields.destination_addr, destination_ton=fields.destination_ton,
                   esm_class=fields.esm_class, data_coding=fields.data_coding, short_message=fields.short_message,
                   receipted_message_id=fields.receipted_message_id, message_state=fields.message_state, sar=sar)


class _Client(smpplib.client.Client):
    """smpplib's client with TLS that checks the host name, and TCP_NODELAY."""

    def _create_socket(self) -> socket.socket:
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        raw.settimeout(self.timeout)
        if self._ssl_context is None:
            return raw
        return self._ssl_context.wrap_socket(raw, server_hostname=self.host)


def tls_context(route: SmppRoute) -> ssl.SSLContext | None:
    if not route.tls:
        return None
    context = ssl.create_default_context(cafile=route.ca_file)
    if not route.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class Esme:
    def __init__(self, route: SmppRoute, settings: BridgeSettings, on_deliver: Callable[[Esme, Deliver], None],
                 name: str = "bind-1", on_answer: Callable[[str], None] | None = None,
                 start_window: int | None = None) -> None:
        self.route = route
        self.settings = settings
        self.name = name
        self.on_deliver = on_deliver
        self.on_answer = on_answer  # an accepted submit's id, as read: before any PDU after it
        self.closed = Event()
        self.close_reason: str | None = None
        self._client: Any = None
        self.window = Window(route.window, start_window)
        self.accepted = 0  # submits this bind had accepted
        self.unanswered_at_close = 0  # submits still waiting for their answer when it closed
        self._write = Semaphore()
        self._waiting: dict[int, AsyncResult] = {}
        self._bound = False
        self._pause_until = 0.0
        self._pause = 0.0
        self._last_heard = time.monotonic()
        self._greenlets: list[gevent.Greenlet] = []

    # ---- the bind ------------------------------------------------------------------------------

    @property
    def bound(self) -> bool:
        return self._bound

    @property
    def outstanding(self) -> int:
        """Submits waiting for their answer."""
        return len(self._waiting)

    @property
    def paused(self) -> bool:
        return self._pause_until > time.monotonic()

    def open(self) -> None:
        """Connect and bind as a transceiver; raises SmppConnectionError or SmppBindError."""
        route = self.route
        client = _Client(route.host, route.port, timeout=self.settings.bind_timeout, ssl_context=tls_context(route),
                         allow_unknown_opt_params=True, logger_name=f"sms_bridge.smpplib.{self.name}")
        try:
            client.connect()
            client.bind_transceiver(system_id=route.system_id, password=route.password,
                                    system_type=route.system_type)
        except smpplib.exceptions.PDUError as exc:
            client.disconnect()
            status = int(exc.args[1]) if len(exc.args) > 1 else 0
            raise SmppBindError(f"{route.host}:{route.port} refused the bind of {route.system_id!r}: "
                                f"{status_name(status)}", status) from exc
        except (smpplib.exceptions.ConnectionError, OSError, ssl.SSLError) as exc:
            client.disconnect()
            raise SmppConnectionError(f"cannot bind to {route.host}:{route.port}: {exc or type(exc).__name__}") from exc
        client._socket.settimeout(None)  # the reader blocks; the keep-alive notices a dead link
        self._client, self._bound, self._last_heard = client, True, time.monotonic()
        self._greenlets = [gevent.spawn(self._read), gevent.spawn(self._keep_alive)]
        log.info("%s: bound to %s:%s as %s", self.name, route.host, route.port, route.system_id)

    def unbind(self, timeout: float = 2.0) -> None:
        """Unbind politely (the SMSC answers), then close."""
        if self._bound:
            try:
                self._send("unbind", wire.pack(wire.UNBIND, self._client.next_sequence()))
                self.closed.wait(timeout)
            except SmppConnectionError:
                pass
        self.close("unbound")

    def close(self, reason: str) -> None:
        """Close the connection; every submit still waiting gets SubmitUnanswered."""
        if self.closed.is_set():
            return
        self._bound = False
        self.close_reason = reason
        waiting, self._waiting = self._waiting, {}
        self.unanswered_at_close = len(waiting)
        for waiter in waiting.values():
            waiter.set_exception(SubmitUnanswered(f"{self.name}: the connection closed ({reason}) before the answer"))
        if self._client is not None:
            try:
                self._client.disconnect()
            except OSError:
                pass
        self.closed.set()
        current = gevent.getcurrent()
        for greenlet in self._greenlets:
            if greenlet is not current:
                greenlet.kill(block=False)
        log.info("%s: closed (%s)", self.name, reason)

    # ---- submitting ----------------------------------------------------------------------------

    def submit(self, request: SubmitRequest) -> SubmitAnswer:
        """Submit one part and wait for its answer (see the module's docstring)."""
        with self.window:
            pause = self._pause_until - time.monotonic()
            if pause > 0:
                gevent.sleep(pause)
            if not self._bound:
                raise SubmitNotSent(f"{self.name} is not bound")
            sequence = self._client.next_sequence()
            pdu = wire.submit_sm(
                sequence, source_ton=request.source.ton, source_npi=request.source.npi, source=request.source.address,
                destination_ton=request.destination.ton, destination_npi=request.destination.npi,
                destination=request.destination.address, esm_class=request.esm_class,
                registered_delivery=request.registered_delivery, data_coding=request.data_coding,
                short_message=request.short_message)
            waiter: AsyncResult = AsyncResult()
            self._waiting[sequence] = waiter
            try:
                self._send("submit_sm", pdu)
            except SmppConnectionError as exc:
                self._waiting.pop(sequence, None)
                raise SubmitNotSent(f"{self.name}: {exc}") from exc
            try:
                # types-gevent: get() may return None; with block=True it returns the value or raises
                answer: SubmitAnswer = waiter.get(timeout=self.settings.response_timeout)  # type: ignore[assignment]
            except gevent.Timeout as exc:
                self._waiting.pop(sequence, None)
                raise SubmitUnanswered(f"{self.name}: no submit_sm_resp within {self.settings.response_timeout:g} s"
                                       ) from exc
        self._pace(answer)
        return answer

    def _pace(self, answer: SubmitAnswer) -> None:
        if answer.accepted:
            self.accepted += 1
            self.window.grow()
        if answer.slow_down or answer.temporary:
            self._pause = min(max(self._pause * 2, self.settings.throttle_pause), self.settings.throttle_pause_max)
            self._pause_until = time.monotonic() + self._pause
        elif answer.status == ESME_ROK:
            self._pause = 0.0

    def respond(self, sequence: int, status: int = ESME_ROK) -> None:
        """Answer the ``deliver_sm`` numbered ``sequence``; a closed bind answers nothing (the
        SMSC sends it again)."""
        try:
            self._send("deliver_sm_resp", wire.deliver_sm_resp(sequence, status))
        except SmppConnectionError as exc:
            log.info("%s: deliver_sm %s not answered (%s); the SMSC will send it again", self.name, sequence, exc)

    def _send(self, command: str, pdu: bytes) -> None:
        with self._write:
            if not self._bound and command != "unbind":
                raise SmppConnectionError(f"{self.name} is not bound")
            try:
                self._client._socket.sendall(pdu)
            except OSError as exc:
                failure = str(exc) or type(exc).__name__
                gevent.spawn(self.close, f"write failed: {failure}")
                raise SmppConnectionError(f"{self.name}: cannot write {command}: {failure}") from exc

    # ---- reading -------------------------------------------------------------------------------

    def _read(self) -> None:
        reason = "the SMSC closed the connection"
        try:
            sock = self._client._socket
            while True:
                first = _recv_exactly(sock, 4)
                pdu = wire.frame(first + _recv_exactly(sock, wire.length_of(first)))
                self._last_heard = time.monotonic()
                if not self._dispatch(pdu):
                    reason = "the SMSC unbound"
                    return
        except _READ_ERRORS as exc:
            reason = f"read failed: {exc or type(exc).__name__}"
        finally:
            gevent.spawn(self.close, reason)

    def _dispatch(self, pdu: wire.Frame) -> bool:
        """Act on one PDU; False when the bind is over."""
        command = pdu.command_id
        if command in (wire.SUBMIT_SM_RESP, wire.GENERIC_NACK):
            waiter = self._waiting.pop(pdu.sequence, None)
            if waiter is not None:
                message_id = wire.message_id(pdu.body) if command == wire.SUBMIT_SM_RESP else None
                if message_id and self.on_answer is not None and pdu.status == ESME_ROK:
                    self.on_answer(message_id)  # its receipt may be the very next PDU
                waiter.set(SubmitAnswer(pdu.status, message_id))
            elif command == wire.GENERIC_NACK:
                log.warning("%s: generic_nack %s for sequence %s", self.name, status_name(pdu.status), pdu.sequence)
        elif command == wire.DELIVER_SM:
            self._delivered(pdu)
        elif command == wire.ENQUIRE_LINK:
            self._send("enquire_link_resp", wire.pack(wire.ENQUIRE_LINK_RESP, pdu.sequence))
        elif command == wire.UNBIND:
            self._send("unbind_resp", wire.pack(wire.UNBIND_RESP, pdu.sequence))
            return False
        elif command == wire.UNBIND_RESP:
            return False
        elif command != wire.ENQUIRE_LINK_RESP:
            log.warning("%s: ignored command 0x%08X", self.name, command)
        return True

    def _delivered(self, pdu: wire.Frame) -> None:
        try:
            deliver = Deliver.read(pdu.sequence, pdu.body)
        except ValueError as exc:
            log.warning("%s: unreadable deliver_sm %s (%s)", self.name, pdu.sequence, exc)
            self.respond(pdu.sequence, ESME_RX_P_APPN)
            return
        self.on_deliver(self, deliver)

    def _keep_alive(self) -> None:
        while self._bound:
            gevent.sleep(self.settings.enquire_link_every)
            asked = time.monotonic()
            try:
                self._send("enquire_link", wire.pack(wire.ENQUIRE_LINK, self._client.next_sequence()))
            except SmppConnectionError:
                return
            gevent.sleep(self.settings.link_timeout)
            if self._last_heard < asked:
                self.close(f"no answer to enquire_link within {self.settings.link_timeout:g} s")
                return


def _recv_exactly(sock: socket.socket, count: int) -> bytes:
    chunks: list[bytes] = []
    while count:
        chunk = sock.recv(count)
        if not chunk:
            raise ConnectionResetError("the SMSC closed the connection")
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)
