"""A FreeSWITCH that speaks the Event Socket exactly as the real one, for tests and benchmarks.

No FreeSWITCH binary can be installed on our machines, so the ESL driver is tested against
this emulator. It is a gevent ``StreamServer`` (one greenlet pair per connection, one greenlet
per call) and holds thousands of sessions in one process.

    from voiceplatform.testing.freeswitch import FreeSwitchEmulator

    with FreeSwitchEmulator(password="s3cret", time_scale=0.01) as fs:
        esl = greenswitch.InboundESL("127.0.0.1", fs.port, "s3cret")
        esl.connect()
        esl.send("bgapi originate {originate_timeout=30}loopback/answer-press-1 "
                 "'&socket(127.0.0.1:%d async full)'" % outbound_port)

What is emulated and what is not: docs/freeswitch-emulator.md.
"""

from __future__ import annotations

import itertools
import logging
import uuid as uuidlib
from typing import Callable, Optional

import gevent
from gevent import socket
from gevent.server import StreamServer

from voiceplatform.switches.credentials import esl_password
from voiceplatform.testing import esl_wire as wire
from voiceplatform.testing.esl_api import ApiCommands
from voiceplatform.testing.esl_call import Call
from voiceplatform.testing.esl_callees import Callee, CalleeRegistry
from voiceplatform.testing.esl_channel import Channel
from voiceplatform.testing.esl_clock import EmulatedClock
from voiceplatform.testing.esl_event import CoreIdentity, EslEvent, EventFactory
from voiceplatform.testing.esl_faults import FaultInjector
from voiceplatform.testing.esl_listener import Listener

log = logging.getLogger(__name__)

__all__ = ["FreeSwitchEmulator", "Callee", "CalleeRegistry", "EslEvent"]


class FreeSwitchEmulator:
    """The emulated switch: an inbound ESL server, calls, and outbound socket connections.

    :param host: address to listen on for inbound ESL.
    :param port: port to listen on; 0 (the default) picks a free one, see :attr:`port`.
    :param password: the ``auth`` password; by default the one the driver uses when none is
        configured (``$VOICEPLATFORM_ESL_PASSWORD``, else the generated ``.state/esl-password``).
    :param time_scale: real seconds per emulated second (0.01 makes a 60 s ring last 0.6 s).
    :param callees: the scripted callee registry (a default one has the lab's callees).
    :param sound_prefix: default ``sound_prefix`` for relative playback paths.
    :param hostname: what ``FreeSWITCH-Hostname`` / ``-Switchname`` say.
    :param socket_connect_timeout: seconds (real) the ``socket`` application waits to connect.
    :param max_sessions: what ``status`` reports as the session limit.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        password: str | None = None,
        *,
        time_scale: float = 1.0,
        callees: Optional[CalleeRegistry] = None,
        sound_prefix: Optional[str] = None,
        hostname: str = "fs-emulator",
        socket_connect_timeout: float = 5.0,
        max_sessions: int = 10000,
    ) -> None:
        self.host = host
        self._requested_port = port
        # the same password the driver uses when none is configured (never a well-known one)
        self.password = password if password is not None else esl_password()
        self.clock = EmulatedClock(time_scale)
        self.identity = CoreIdentity(core_uuid=str(uuidlib.uuid4()), hostname=hostname, switchname=hostname, ipv4=host)
        self.events = EventFactory(self.identity, self.clock.now)
        self.api = ApiCommands(self)
        self.callees = callees or CalleeRegistry()
        self.faults = FaultInjector(self)
        self.sound_prefix = sound_prefix
        self.socket_connect_timeout = socket_connect_timeout
        self.max_sessions = max_sessions
        self.global_vars: dict[str, str] = {"hostname": hostname, "local_ip_v4": host}
        #: mod_callcenter queues (``callcenter`` application): queue name → agent callee
        self.queues: dict[str, str] = {"collections": "agent-desk"}
        self.started_at = self.clock.now()
        self.session_count = 0
        self.peak_sessions = 0
        self.events_fired = 0
        self._session_ids = itertools.count(1)
        self._listeners: set[Listener] = set()
        # listeners that only ever want one call's events (``myevents`` on a session), by that
        # call's uuid, so that fire() does not ask every outbound socket about every event
        self._scoped: dict[str, set[Listener]] = {}
        self._unscoped: set[Listener] = set()
        self._calls: dict[str, Call] = {}
        self._greenlets: set[gevent.Greenlet] = set()
        self._server: Optional[StreamServer] = None
        self._event_hooks: list[Callable[[EslEvent], None]] = []

    # ------------------------------------------------------------------ life cycle
    def start(self) -> "FreeSwitchEmulator":
        self._server = StreamServer((self.host, self._requested_port), self._handle_inbound, backlog=4096)
        self._server.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listening socket, hang up every call, say goodbye to every connection."""
        if self._server is not None:
            self._server.stop(timeout=0)
            self._server = None
        for call in list(self._calls.values()):
            call.hangup("SYSTEM_SHUTDOWN")
        for listener in list(self._listeners):
            listener.close("The system is being shut down.\n")
        gevent.joinall(list(self._greenlets), timeout=timeout)
        for greenlet in list(self._greenlets):
            greenlet.kill(block=False)

    def __enter__(self) -> "FreeSwitchEmulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        port = self._server.server_port
        if port is None:
            raise RuntimeError("the emulator is not listening")
        return port

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def spawn(self, func: Callable[..., object], *args: object) -> gevent.Greenlet:
        greenlet = gevent.spawn(func, *args)
        self._greenlets.add(greenlet)
        greenlet.link(self._greenlets.discard)
        return greenlet

    # ------------------------------------------------------------------ connections
    def _handle_inbound(self, sock: socket.socket, address: tuple[str, int]) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        listener = Listener(self, sock)
        self._listeners.add(listener)
        self._unscoped.add(listener)
        listener.start(greeting=wire.AUTH_REQUEST)
        listener.finished.wait()

    def attach_outbound(self, sock: socket.socket, call: Call, *, full: bool, async_mode: bool) -> Listener:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        listener = Listener(self, sock, session=call, outbound=True, full=full, async_mode=async_mode)
        call.listeners.append(listener)
        self._listeners.add(listener)
        self._unscoped.add(listener)
        listener.start()
        return listener

    def scope_listener(self, listener: Listener, uuid: str) -> None:
        """The listener now wants only events of call ``uuid`` (its ``myevents``)."""
        self._unscoped.discard(listener)
        self._scoped.setdefault(uuid, set()).add(listener)

    def _listener_finished(self, listener: Listener) -> None:
        self._listeners.discard(listener)
        self._unscoped.discard(listener)
        if listener.myevents_uuid is not None:
            scoped = self._scoped.get(listener.myevents_uuid)
            if scoped is not None:
                scoped.discard(listener)
                if not scoped:
                    del self._scoped[listener.myevents_uuid]
        if listener.session is not None:
            listener.session.listener_finished(listener)

    def inbound_listeners(self) -> list[Listener]:
        return [l for l in self._listeners if not l.outbound and l.running]

    def outbound_listeners(self) -> list[Listener]:
        return [l for l in self._listeners if l.outbound and l.running]

    # ------------------------------------------------------------------ events
    def fire(self, event: EslEvent) -> None:
        """``switch_event_fire``: hand the event to every listener that wants it."""
        self.events_fired += 1
        for hook in self._event_hooks:
            hook(event)
        candidates = list(self._unscoped)
        uid = event.headers.get("Unique-ID")
        owner = event.headers.get("Job-Owner-UUID")
        for key in (uid, owner if owner != uid else None):
            if key and key in self._scoped:
                candidates.extend(self._scoped[key])
        for listener in candidates:
            if listener.wants(event):
                listener.deliver(event)

    def add_event_hook(self, hook: Callable[[EslEvent], None]) -> None:
        """Observe every fired event in-process (tests use it to wait without sockets)."""
        self._event_hooks.append(hook)

    # ------------------------------------------------------------------ calls
    def next_session_id(self) -> int:
        return next(self._session_ids)

    def start_call(self, channel: Channel, callee: Callee, application: Optional[tuple[str, str]],
                   timeout_seconds: float) -> Call:
        call = Call(self, channel, callee, application, timeout_seconds)
        self._calls[call.uuid] = call
        self.session_count += 1
        self.peak_sessions = max(self.peak_sessions, len(self._calls))
        call.greenlet = self.spawn(call.run)
        return call

    def inbound_call(self, destination: str, caller: str, socket_address: str, *,
                     caller_behaviour: Optional[Callee] = None, caller_name: str = "",
                     socket_flags: str = "async full", timeout_seconds: float = 3600.0) -> Call:
        """A call coming in from a carrier to ``destination`` from ``caller``, sent by the
        dialplan to the platform's outbound-socket listener at ``socket_address`` (host:port)
        with the ``socket`` application, unanswered, as FreeSWITCH's public context does. The
        caller acts as ``caller_behaviour`` (a scripted callee: keys typed after prompts, speech
        into recordings; default: silent). Returns the call; ``call.done`` is set when it is
        destroyed, ``call.channel.hangup_cause`` says how it ended (a rejected call:
        UNALLOCATED_NUMBER, CALL_REJECTED...)."""
        call_uuid = str(uuidlib.uuid4())
        channel = Channel(uuid=call_uuid, name=f"sofia/external/{caller or 'anonymous'}@127.0.0.1",
                          destination=destination, caller_id_name=caller_name or caller or "anonymous",
                          caller_id_number=caller or "anonymous", context="public", direction="inbound")
        channel.variables.update({
            "direction": "inbound", "uuid": call_uuid, "call_uuid": call_uuid,
            "session_id": str(self.next_session_id()), "channel_name": channel.name,
            "destination_number": destination, "caller_id_number": channel.caller_id_number,
            "read_codec": "PCMU", "read_rate": "8000", "write_codec": "PCMU", "write_rate": "8000",
        })
        if self.sound_prefix:
            channel.variables["sound_prefix"] = self.sound_prefix
        behaviour = caller_behaviour or Callee(name=caller or "anonymous")
        return self.start_call(channel, behaviour, ("socket", f"{socket_address} {socket_flags}"), timeout_seconds)

    def _call_finished(self, call: Call) -> None:
        self._calls.pop(call.uuid, None)

    def find_call(self, uuid: str) -> Optional[Call]:
        return self._calls.get(uuid)

    def active_calls(self) -> list[Call]:
        return [c for c in self._calls.values() if not c.channel.down]

    def calls(self) -> list[Call]:
        return list(self._calls.values())

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every call has finished (been destroyed). True if so within timeout."""
        greenlets = [c.greenlet for c in self._calls.values() if c.greenlet is not None]
        done = gevent.joinall(greenlets, timeout=timeout)
        return len(done) == len(greenlets)


def main(argv: Optional[list[str]] = None) -> int:
    """Run the emulator on its own, for demos: ``python -m voiceplatform.testing.freeswitch``."""
    import argparse

    parser = argparse.ArgumentParser(description="A FreeSWITCH Event Socket emulator with scripted callees.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8021, help="inbound ESL port (0: any free port)")
    parser.add_argument("--password", default=None,
                        help="the ESL password (default: $VOICEPLATFORM_ESL_PASSWORD, else .state/esl-password)")
    parser.add_argument("--time-scale", type=float, default=1.0, help="real seconds per emulated second")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    emulator = FreeSwitchEmulator(args.host, args.port, args.password, time_scale=args.time_scale).start()
    print(f"FreeSWITCH emulator: ESL on {args.host}:{emulator.port}, password from "
          f"{'--password' if args.password else 'VOICEPLATFORM_ESL_PASSWORD or .state/esl-password'}; "
          f"callees: {', '.join(emulator.callees.names())}. Ctrl-C stops it.", flush=True)
    try:
        gevent.wait()  # serves until interrupted
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    from gevent import monkey

    monkey.patch_all()  # espeak-ng runs as a subprocess: keep it off the hub
    raise SystemExit(main())
