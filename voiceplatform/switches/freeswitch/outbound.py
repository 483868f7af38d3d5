"""The worker's outbound socket server: FreeSWITCH connects here for every answered call
(``&socket(host:port async full)``) and the call is controlled over that connection.

Both classes are greenswitch's, subclassed where it falls short:

* ``OutboundESLServer.listen()`` calls ``sys.exit()`` when it cannot bind and polls a
  non-blocking ``accept()`` every 100 ms (each new call waited up to 100 ms). ``bind()`` here
  binds (port 0 allowed) and raises ``SwitchConnectionError``; ``serve()`` blocks in a gevent
  ``accept()``.
* greenswitch's session handlers (``on_hangup`` reads ``session_data`` before ``connect``; its
  ``"*"`` handler resolves blocking commands) are replaced by the call control's own.
* every session greenlet is tracked (``live_sessions``), so a test can tell none is left.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

import gevent
from gevent import socket
from greenswitch.esl import OutboundESLServer, OutboundSession

from voiceplatform.exceptions import SwitchConnectionError
from voiceplatform.switches.freeswitch.esl_connection import FramedConnection

log = logging.getLogger(__name__)


class CallSession(FramedConnection, OutboundSession):
    """One outbound socket: greenswitch's OutboundSession on the framed reader."""

    def __init__(self, client_address: tuple[str, int], sock: socket.socket) -> None:
        self._framed_init()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().__init__(client_address, sock)
        self.sock_file.close()  # greenswitch opens a file reader we never use
        self.event_handlers.clear()  # greenswitch's own handlers: see the module docstring

    @property
    def channel_uuid(self) -> str:
        return (self.session_data or {}).get("Unique-ID", "")

    def connect(self) -> None:
        """``connect``: the reply is the channel's data (greenswitch keeps it as session_data)."""
        reply = self.send("connect")
        self.session_data = reply.headers
        self._outbound_connected = True


class OutboundServer(OutboundESLServer):
    def __init__(self, host: str, port: int, handle: Callable[[CallSession], None], max_connections: int) -> None:
        super().__init__(bind_address=host, bind_port=port, application=_NoApplication,
                         max_connections=max_connections)
        self.handle = handle
        self._listener: Optional[socket.socket] = None
        self._acceptor: Optional[gevent.Greenlet] = None
        self.accepted = 0
        self.refused = 0
        self.frames_in = 0  # frames parsed on sessions that have ended

    def bind(self) -> int:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.bind_address, self.bind_port[0]))
        except OSError as exc:
            listener.close()
            raise SwitchConnectionError(f"cannot listen for FreeSWITCH on {self.bind_address}:{self.bind_port[0]}: {exc}") from exc
        listener.listen(4096)
        self._listener = listener
        self.bound_port = listener.getsockname()[1]
        self._running = True
        self._acceptor = gevent.spawn(self.serve)
        return int(self.bound_port)

    def listen(self) -> None:
        """greenswitch's entry point, kept working: bind, then serve in this greenlet."""
        if self._listener is None:
            self.bind()
        assert self._acceptor is not None
        self._acceptor.join()

    def serve(self) -> None:
        assert self._listener is not None
        while self._running:
            try:
                sock, address = self._listener.accept()
            except OSError as exc:
                if self._running:
                    log.error("outbound socket server: accept failed: %s", exc)
                    gevent.sleep(0.05)  # e.g. EMFILE: let sessions end before accepting again
                    continue
                return
            self.accepted += 1
            if self.connection_count >= self.max_connections:
                self.refused += 1
                log.warning("outbound socket refused: %d sessions already", self.connection_count)
                sock.close()
                continue
            self.connection_count += 1
            greenlet = gevent.spawn(self._run_session, sock, address)
            self._greenlets.add(greenlet)
            greenlet.link(self._session_finished)

    def _run_session(self, sock: socket.socket, address: tuple[str, int]) -> None:
        session = CallSession(address, sock)
        try:
            self.handle(session)
        finally:
            session.stop()
            self.frames_in += session.frames_in
            # the handlers (the call control's bound methods) point back at objects that point
            # at the session: drop them so the session is freed at once, not by a full GC pass
            session.event_handlers.clear()
            session.on_lost = None

    def _session_finished(self, greenlet: gevent.Greenlet) -> None:
        self._greenlets.discard(greenlet)
        self.connection_count -= 1

    @property
    def live_sessions(self) -> int:
        return len(self._greenlets)

    def stop(self, timeout: float = 5.0) -> None:
        self._running = False
        if self._listener is not None:
            self._listener.close()
        if self._acceptor is not None:
            self._acceptor.join(timeout=1)
        gevent.joinall(list(self._greenlets), timeout=timeout)
        for greenlet in list(self._greenlets):
            greenlet.kill(block=False)


class _NoApplication:
    """greenswitch requires an application class; sessions go to ``handle`` instead."""

    def __init__(self, session: OutboundSession) -> None:
        self.session = session

    def run(self) -> None:
        raise NotImplementedError
