"""The inbound ESL connection (greenswitch ``InboundESL``): ``bgapi originate``, call events,
and a reconnect with backoff, which greenswitch does not have.

Subscriptions: CHANNEL_PROGRESS, CHANNEL_ANSWER, CHANNEL_HANGUP, CHANNEL_HANGUP_COMPLETE and
BACKGROUND_JOB, filtered to this platform's calls (``variable_vp_call_id``) and job results, so
a FreeSWITCH shared with other applications does not flood the worker.

When the connection drops, ``on_down`` runs, then a supervisor reconnects (first after
``reconnect_first`` seconds, doubling up to ``reconnect_max``, reset by a successful login) and
runs ``on_up`` with the number of logins so far, so the driver can reconcile calls in flight.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

import gevent
from gevent import socket
from gevent.event import Event
from greenswitch.esl import InboundESL

from voiceplatform.exceptions import SwitchCommandError, SwitchConnectionError
from voiceplatform.switches.freeswitch.config import FreeSwitchConfig
from voiceplatform.switches.freeswitch.esl_connection import FramedConnection, Handler
from voiceplatform.switches.freeswitch.esl_frames import EslFrame

log = logging.getLogger(__name__)

EVENTS = ("CHANNEL_PROGRESS", "CHANNEL_ANSWER", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE", "BACKGROUND_JOB")
FILTERS = ("Event-Name BACKGROUND_JOB", "variable_vp_call_id /./")


class EslConnection(FramedConnection, InboundESL):
    """greenswitch's InboundESL on the framed reader."""

    def __init__(self, host: str, port: int, password: str, timeout: float) -> None:
        self._framed_init()
        super().__init__(host, port, password, timeout=timeout)

    def connect(self) -> None:
        try:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise SwitchConnectionError(f"cannot reach FreeSWITCH ESL at {self.host}:{self.port}: {exc}") from exc
        self.sock.settimeout(None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connected = True
        self.start_event_handlers()
        if not self._auth_request_event.wait(self.timeout) or not self.connected:
            self.stop()
            raise SwitchConnectionError(f"FreeSWITCH at {self.host}:{self.port} sent no auth/request")
        reply = self.send(f"auth {self.password}", timeout=self.timeout)
        if reply.headers.get("Reply-Text") != "+OK accepted":
            self.stop()
            raise SwitchConnectionError(f"FreeSWITCH refused the ESL password ({reply.headers.get('Reply-Text')})")


class InboundLink:
    def __init__(self, config: FreeSwitchConfig, on_event: Handler,
                 on_up: Callable[[int], None], on_down: Callable[[], None]) -> None:
        self.config = config
        self.on_event = on_event
        self.on_up = on_up
        self.on_down = on_down
        self.esl: Optional[EslConnection] = None
        self.logins = 0
        self.disconnects = 0
        self.last_error: Optional[Exception] = None
        self._up = Event()
        self._down = Event()
        self._login_seen = Event()
        self._closing = False
        self._supervisor: Optional[gevent.Greenlet] = None

    @property
    def connected(self) -> bool:
        return self.esl is not None and self.esl.connected and self._up.is_set()

    def connect(self) -> None:
        """The first connection: raises SwitchConnectionError when FreeSWITCH is unreachable."""
        self._open()

    def _open(self) -> None:
        esl = EslConnection(self.config.esl_host, self.config.esl_port, self.config.esl_password,
                            self.config.connect_timeout)
        esl.connect()
        for name in EVENTS:
            esl.register_handle(name, self.on_event)
        try:
            for spec in FILTERS:
                esl.command(f"filter {spec}")
            esl.command("event plain " + " ".join(EVENTS))
        except (SwitchCommandError, SwitchConnectionError):
            esl.stop()
            raise
        if not esl.connected:  # dropped while subscribing
            esl.stop()
            raise SwitchConnectionError("the ESL connection dropped while subscribing")
        esl.on_lost = self._lost  # from now on a drop means: reconnect
        self.esl = esl
        self.logins += 1
        self._down.clear()
        self._up.set()
        self._login_seen.set()
        log.info("ESL connected to %s:%s (login %d)", self.config.esl_host, self.config.esl_port, self.logins)
        if self.logins > 1:
            self.on_up(self.logins)

    def _lost(self, reason: Optional[Exception]) -> None:
        self._up.clear()
        self._down.set()
        if self._closing:
            return
        self.disconnects += 1
        self.last_error = reason
        log.warning("ESL connection lost (%s); reconnecting with backoff", reason)
        self.on_down()
        if self._supervisor is None or self._supervisor.dead:
            self._supervisor = gevent.spawn(self._reconnect)

    def _reconnect(self) -> None:
        delay = self.config.reconnect_first
        while not self._closing:
            gevent.sleep(delay)
            if self._closing:
                return
            try:
                self._open()
                return
            except (SwitchConnectionError, SwitchCommandError) as exc:
                self.last_error = exc
                log.warning("ESL reconnect failed (%s); next try in %.1fs", exc, min(delay * 2, self.config.reconnect_max))
                delay = min(delay * 2, self.config.reconnect_max)

    def wait_connected(self, timeout: float) -> bool:
        return self._up.wait(timeout)

    def wait_down(self, timeout: float) -> bool:
        """Block until the connection is noticed lost (tests use it to act in the gap)."""
        return self._down.wait(timeout)

    def wait_for_logins(self, count: int, timeout: float) -> bool:
        with gevent.Timeout(timeout, False):  # type: ignore[arg-type]  # False makes the timeout silent (gevent's docs); types-gevent omits it
            while self.logins < count:
                self._login_seen.clear()
                self._login_seen.wait()
        return self.logins >= count

    def send(self, command: str, timeout: float = 10.0) -> EslFrame:
        esl = self.esl
        if esl is None or not esl.connected:
            raise SwitchConnectionError("no ESL connection to FreeSWITCH")
        return esl.send(command, timeout)

    def bgapi(self, command: str, job_uuid: str) -> None:
        """Start a background job named ``job_uuid``; its BACKGROUND_JOB event carries it."""
        reply = self.send(f"bgapi {command}\nJob-UUID: {job_uuid}")
        text = reply.headers.get("Reply-Text", "")
        if not text.startswith("+OK"):
            raise SwitchCommandError(f"bgapi refused: {text}")

    def api(self, command: str, timeout: float = 10.0) -> str:
        return self.send(f"api {command}", timeout).body or ""

    def close(self) -> None:
        self._closing = True
        if self._supervisor is not None:
            self._supervisor.kill(block=True, timeout=2)
        if self.esl is not None:
            self.esl.stop()
