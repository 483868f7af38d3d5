"""greenswitch's ESL connection with its gaps closed (a mixin for ``InboundESL`` and
``OutboundSession``).

What greenswitch keeps: one connection object that matches replies to commands in order
(``_commands_sent``, a FIFO of ``AsyncResult``), handlers keyed by event name
(``register_handle``), ``InboundESL.connect()/authenticate()`` and ``OutboundSession.connect()``.

What this replaces, and why:

* the reader (``receive_events``) is :class:`~.esl_frames.FrameReader`: byte-exact framing,
  event bodies, per-value URL decoding, and a clear :class:`EslFramingError` for a bad frame;
* events are dispatched by the reader greenlet itself, at once: greenswitch queues them for a
  second greenlet that polls its queue once a second, so a hang-up waits for a queue hop and
  ``stop()`` waits up to a second per connection;
* every handler for an event runs (greenswitch runs ``"*"`` handlers only for events with no
  handler of their own), and a handler's error is logged with its traceback, not swallowed;
* when the connection ends, for whatever reason (EOF, a reset, a framing error, ``stop()``),
  every command still waiting for its reply fails with :class:`SwitchConnectionError` and the
  ``on_lost`` callback runs once: no greenlet stays blocked on a dead socket;
* ``send()`` takes a timeout and raises ``SwitchConnectionError`` / ``SwitchCommandError``
  instead of greenswitch's ``NotConnectedError`` or blocking forever.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Optional

import gevent
from gevent.event import AsyncResult
from gevent.lock import Semaphore
from gevent.timeout import Timeout

from voiceplatform.exceptions import SwitchCommandError, SwitchConnectionError
from voiceplatform.safety import switch_values
from voiceplatform.switches.freeswitch.esl_frames import EslFrame, EslFramingError, FrameReader

log = logging.getLogger(__name__)

Handler = Callable[[EslFrame], None]


def encode_command(data: str) -> bytes:
    """The bytes of one ESL command: ``data`` checked by the one validator
    (:func:`voiceplatform.safety.switch_values.esl_command`), then the blank line that ends it.
    Every command the driver writes goes through here."""
    return (switch_values.esl_command(data) + "\n\n").encode("utf-8")


class FramedConnection:
    """Mixin placed before a greenswitch protocol class in the MRO."""

    # set by the greenswitch classes
    sock: Any
    connected: bool
    event_handlers: dict[str, list[Handler]]
    _commands_sent: list[AsyncResult]
    _auth_request_event: Any
    _receive_events_greenlet: Optional[gevent.Greenlet]
    _process_events_greenlet: Optional[gevent.Greenlet]
    _run: bool

    def _framed_init(self, on_lost: Optional[Callable[[Optional[Exception]], None]] = None) -> None:
        self.on_lost = on_lost
        self.error: Optional[Exception] = None  # why the connection ended, when not asked to
        self.frames_in = 0
        self.commands_out = 0
        self.round_trips: list[float] = []
        self._closed = False
        self._reader: Optional[FrameReader] = None
        self._lingering = False
        # a command's place in the reply FIFO and its bytes on the wire must agree: one writer
        self._send_lock = Semaphore()

    # ---- greenswitch hooks replaced ------------------------------------------------------

    def start_event_handlers(self) -> None:
        self._reader = FrameReader(self.sock)
        self._receive_events_greenlet = gevent.spawn(self.receive_events)
        self._process_events_greenlet = None  # dispatch happens in the reader greenlet

    def receive_events(self) -> None:
        assert self._reader is not None
        reason: Optional[Exception] = None
        try:
            while self._run:
                frame = self._reader.next_frame()
                if frame is None:
                    if not self._closed:
                        reason = SwitchConnectionError("FreeSWITCH closed the event socket")
                    break
                self.frames_in += 1
                self.handle_frame(frame)
        except EslFramingError as exc:
            log.warning("ESL connection dropped: %s", exc)
            reason = exc
        except OSError as exc:
            if not self._closed:
                reason = SwitchConnectionError(f"event socket error: {exc}")
                reason.__cause__ = exc
        finally:
            self._connection_ended(reason)

    def handle_frame(self, frame: EslFrame) -> None:
        kind = frame.headers.get("Content-Type", "")
        if kind == "auth/request":
            self._auth_request_event.set()
        elif kind in ("command/reply", "api/response"):
            if not self._commands_sent:
                log.warning("ESL %s with no command waiting: %r", kind, frame.headers.get("Reply-Text"))
                return
            if kind == "command/reply":
                frame.data = frame.headers.get("Reply-Text", "")
            self._commands_sent.pop(0).set(frame)
        elif kind == "text/disconnect-notice":
            if frame.headers.get("Content-Disposition") == "linger":
                self._lingering = True
            self._dispatch("DISCONNECT", frame)
        elif kind == "text/rude-rejection":
            self.connected = False
            self._auth_request_event.set()
        else:
            name = frame.headers.get("Event-Name", "")
            if name == "CUSTOM":
                name = frame.headers.get("Event-Subclass", name)
            self._dispatch(name, frame)

    def _dispatch(self, name: str, frame: EslFrame) -> None:
        handlers = self.event_handlers.get(name, []) + self.event_handlers.get("*", [])
        for handler in handlers:
            try:
                handler(frame)
            except Exception:  # noqa: BLE001 - one bad handler must not stop the connection
                log.exception("ESL handler %r failed on %s", handler, name)

    def _connection_ended(self, reason: Optional[Exception]) -> None:
        self.connected = False
        self._run = False
        self.error = self.error or reason
        failure = reason or SwitchConnectionError("the event socket was closed")
        pending, self._commands_sent[:] = list(self._commands_sent), []
        for waiting in pending:
            waiting.set_exception(failure if isinstance(failure, SwitchConnectionError)
                                  else SwitchConnectionError(str(failure)))
        self._auth_request_event.set()
        self._close_socket()
        if self.on_lost is not None:
            callback, self.on_lost = self.on_lost, None
            try:
                callback(reason)
            except Exception:  # noqa: BLE001 - logged; the reader greenlet must end cleanly
                log.exception("ESL on_lost callback failed")

    def _close_socket(self) -> None:
        sock = getattr(self, "sock", None)
        if sock is not None:
            try:
                sock.close()
            except OSError as exc:
                log.debug("closing the event socket: %s", exc)

    # ---- commands ---------------------------------------------------------------------------

    def send(self, data: str, timeout: Optional[float] = 10.0) -> EslFrame:
        """Send one command and wait for its reply (command/reply or api/response).

        A command that would not be exactly one command on the wire (a CR, an empty line, a
        second line where none belongs, a control character) raises UnsafeValueError before
        anything is written: see :func:`encode_command`."""
        wire = encode_command(data)
        if not self.connected:
            raise SwitchConnectionError(f"ESL not connected (sending {data.split(' ', 1)[0]!r})") from self.error
        waiting: AsyncResult = AsyncResult()
        began = time.perf_counter()
        with self._send_lock:
            self._commands_sent.append(waiting)
            try:
                self.sock.sendall(wire)
            except OSError as exc:
                if waiting in self._commands_sent:
                    self._commands_sent.remove(waiting)
                raise SwitchConnectionError(f"ESL write failed: {exc}") from exc
        self.commands_out += 1
        try:
            reply: EslFrame = waiting.get(timeout=timeout)  # type: ignore[assignment]  # types-gevent: get() may return None; with block=True it returns the value or raises
        except Timeout as exc:
            raise SwitchCommandError(f"no ESL reply to {data.split(chr(10), 1)[0][:60]!r} in {timeout}s") from exc
        self.round_trips.append(time.perf_counter() - began)
        return reply

    def command(self, data: str, timeout: Optional[float] = 10.0) -> str:
        """Send a command; return its Reply-Text, raising SwitchCommandError on ``-ERR``."""
        reply = self.send(data, timeout)
        text = reply.headers.get("Reply-Text", reply.body or "")
        if text.startswith("-ERR"):
            raise SwitchCommandError(f"FreeSWITCH refused {data.split(chr(10), 1)[0][:60]!r}: {text.strip()}")
        return text

    def stop(self) -> None:
        """Say ``exit`` when still connected, close, and wait for the reader to end."""
        if self.connected:
            try:
                self.send("exit", timeout=2.0)
            except (SwitchConnectionError, SwitchCommandError) as exc:
                log.debug("ESL exit: %s", exc)
        self._closed = True
        self._run = False
        self._close_socket()
        reader = self._receive_events_greenlet
        if reader is not None and reader is not gevent.getcurrent():
            reader.join(timeout=2.0)
            if not reader.dead:
                reader.kill(block=False)
