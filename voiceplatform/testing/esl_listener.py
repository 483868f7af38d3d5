"""One event-socket connection, inbound or outbound: FreeSWITCH's ``listener_t``.

``parse_command()`` follows mod_event_socket.c's function of the same name, branch by branch,
with the same reply texts. A listener owns two greenlets: a reader that parses packets and a
writer that drains one outgoing queue, so replies and events leave in the order they were made.
"""

from __future__ import annotations

import logging
import re
import uuid as uuidlib
from typing import TYPE_CHECKING, Optional

import gevent
from gevent import socket
from gevent.event import Event
from gevent.queue import Queue

from voiceplatform.testing import esl_wire as wire
from voiceplatform.testing.esl_event import EslEvent

if TYPE_CHECKING:
    from voiceplatform.testing.esl_call import Call
    from voiceplatform.testing.freeswitch import FreeSwitchEmulator

log = logging.getLogger(__name__)

# The event names switch_name_event() knows (a subset: the ones this emulator can fire plus
# the common ones clients subscribe to). CUSTOM switches to subclass parsing.
KNOWN_EVENTS = frozenset({
    "CUSTOM", "CLONE", "CHANNEL_CREATE", "CHANNEL_DESTROY", "CHANNEL_STATE", "CHANNEL_CALLSTATE",
    "CHANNEL_ANSWER", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_EXECUTE",
    "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HOLD", "CHANNEL_UNHOLD", "CHANNEL_BRIDGE",
    "CHANNEL_UNBRIDGE", "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA", "CHANNEL_OUTGOING",
    "CHANNEL_PARK", "CHANNEL_UNPARK", "CHANNEL_APPLICATION", "CHANNEL_ORIGINATE",
    "CHANNEL_UUID", "CHANNEL_DATA", "API", "LOG", "INBOUND_CHAN", "OUTBOUND_CHAN", "STARTUP",
    "SHUTDOWN", "PUBLISH", "UNPUBLISH", "TALK", "NOTALK", "SESSION_CRASH", "MODULE_LOAD",
    "MODULE_UNLOAD", "DTMF", "MESSAGE", "PRESENCE_IN", "NOTIFY_IN", "PRESENCE_OUT",
    "PRESENCE_PROBE", "MESSAGE_WAITING", "MESSAGE_QUERY", "ROSTER", "CODEC", "BACKGROUND_JOB",
    "DETECTED_SPEECH", "DETECTED_TONE", "PRIVATE_COMMAND", "HEARTBEAT", "TRAP",
    "ADD_SCHEDULE", "DEL_SCHEDULE", "EXE_SCHEDULE", "RE_SCHEDULE", "RELOADXML", "NOTIFY",
    "PHONE_FEATURE", "PHONE_FEATURE_SUBSCRIBE", "SEND_MESSAGE", "RECV_MESSAGE", "REQUEST_PARAMS",
    "CHANNEL_DATA", "GENERAL", "COMMAND", "SESSION_HEARTBEAT", "CLIENT_DISCONNECTED",
    "SERVER_DISCONNECTED", "SEND_INFO", "RECV_INFO", "RECV_RTCP_MESSAGE", "SEND_RTCP_MESSAGE",
    "CALL_SECURE", "NAT", "RECORD_START", "RECORD_STOP", "PLAYBACK_START", "PLAYBACK_STOP",
    "CALL_UPDATE", "FAILURE", "SOCKET_DATA", "MEDIA_BUG_START", "MEDIA_BUG_STOP",
    "CONFERENCE_DATA_QUERY", "CONFERENCE_DATA", "CALL_SETUP_REQ", "CALL_SETUP_RESULT",
    "CALL_DETAIL", "DEVICE_STATE", "TEXT", "SHUTDOWN_REQUESTED", "ALL",
})

# The events ``myevents`` subscribes to (parse_command(), "myevents" branch).
MYEVENTS = frozenset({
    "CHANNEL_ANSWER", "CHANNEL_APPLICATION", "CHANNEL_BRIDGE", "CHANNEL_CREATE", "CHANNEL_DATA",
    "CHANNEL_DESTROY", "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP",
    "CHANNEL_HANGUP_COMPLETE", "CHANNEL_ORIGINATE", "CHANNEL_UUID", "CHANNEL_OUTGOING",
    "CHANNEL_PARK", "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA", "CHANNEL_STATE",
    "CHANNEL_UNBRIDGE", "CHANNEL_UNPARK", "DETECTED_SPEECH", "DTMF", "NOTALK", "TALK",
})

# Commands an outbound socket without "full" may not use (they fall through to
# "-ERR command not found", see the LFLAG_OUTBOUND && !LFLAG_FULL guard).
_FULL_ONLY = ("sendevent", "api ", "bgapi ", "log", "linger", "nolinger", "nolog", "event",
              "nixevent", "noevents")


class Listener:
    """A connection speaking ESL. ``session`` is set for outbound sockets (and ``myevents
    <uuid>``); the emulator fans events out to every running listener."""

    def __init__(
        self,
        emulator: "FreeSwitchEmulator",
        sock: socket.socket,
        *,
        session: Optional["Call"] = None,
        outbound: bool = False,
        full: bool = True,
        async_mode: bool = True,
    ) -> None:
        self.emulator = emulator
        self.sock = sock
        self.session = session
        self.outbound = outbound
        self.full = full
        self.async_mode = async_mode
        self.id = uuidlib.uuid4().hex
        self.authed = outbound
        self.running = True
        self.format = "plain"
        self.events_on = False
        self.event_list: set[str] = set()
        self.all_events = False
        self.custom_subclasses: set[str] = set()
        self.myevents = False
        self.myevents_uuid: Optional[str] = session.uuid if session else None
        self.filters: list[tuple[str, str]] = []
        self.linger = False
        self.linger_timeout: int = -1
        self.connected = Event()  # set on "connect" (outbound)
        self.finished = Event()
        self.resume = False
        self._handled_disco = False
        self._deferred: Optional[list[bytes]] = None
        self._out: Queue = Queue()
        self._rfile = sock.makefile("rb")
        self._writer = gevent.spawn(self._write_loop)
        self._reader: Optional[gevent.Greenlet] = None

    # ---------------------------------------------------------------- life cycle
    def start(self, greeting: Optional[bytes] = None) -> None:
        if greeting:
            self.send(greeting)
        self._reader = gevent.spawn(self._read_loop)

    def send(self, data: bytes) -> None:
        if not self._writer.dead:
            self._out.put(data)

    def close(self, message: Optional[str] = wire.GOODBYE_MESSAGE) -> None:
        """Stop like ``listener_run``'s end: a disconnect notice, then the socket closes."""
        if not self.running and self.finished.is_set():
            return
        self.running = False
        if message is not None:
            self.send(wire.disconnect_notice(message, self.session.uuid if self.session else None))
        self._out.put(None)

    def abort(self) -> None:
        """Drop the TCP connection at once, with no notice (fault injection)."""
        self.running = False
        self._shutdown_socket()
        self._out.put(None)

    def _shutdown_socket(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError as exc:  # already closed by the peer: nothing left to shut down
            log.debug("listener %s: shutdown: %s", self.id, exc)
        self.sock.close()

    def _write_loop(self) -> None:
        try:
            while True:
                data = self._out.get()
                if data is None:
                    break
                self.sock.sendall(data)
        except OSError as exc:
            log.debug("listener %s: peer went away while writing: %s", self.id, exc)
        finally:
            self.running = False
            self._shutdown_socket()
            self.finished.set()
            self.emulator._listener_finished(self)

    def _read_loop(self) -> None:
        try:
            while self.running:
                command = self._read_packet()
                if command is None:
                    break
                self._dispatch(command)
        except wire.ProtocolError as exc:
            log.warning("listener %s: dropping connection: %s", self.id, exc)
        except OSError as exc:
            log.debug("listener %s: read failed: %s", self.id, exc)
        finally:
            if self.running:
                self.close()

    def _read_packet(self) -> Optional[wire.Command]:
        block = bytearray()
        while True:
            line = self._rfile.readline()
            if not line:
                return None  # EOF
            if line in (b"\n", b"\r\n"):
                if not block:
                    continue  # read_packet() skips leading blank lines
                break
            block += line
        command = wire.parse_command_block(bytes(block))
        length = command.get("Content-Length")
        if length is not None:
            try:
                clen = int(length)
            except ValueError as exc:
                raise wire.ProtocolError(f"bad Content-Length {length!r}") from exc
            if clen < 0 or clen > wire.MAX_CONTENT_LENGTH:
                raise wire.ProtocolError(f"Content-Length {clen} out of range")
            if clen:
                body = self._rfile.read(clen)
                if len(body) < clen:
                    raise wire.ProtocolError("connection closed inside a body")
                command.body = body.decode("utf-8", errors="replace")
        return command

    def _dispatch(self, command: wire.Command) -> None:
        # Like listener_run(): while a command runs, this socket's events wait in its queue,
        # so the reply leaves first and the events the command caused follow it.
        self._deferred = []
        try:
            reply = self.parse_command(command)
            if reply:
                self.send(wire.command_reply(reply))
        finally:
            deferred, self._deferred = self._deferred, None
            for frame in deferred:
                self.send(frame)
        if not self.running:
            self.close()

    # ---------------------------------------------------------------- commands
    def parse_command(self, command: wire.Command) -> str:
        """Returns the ``Reply-Text`` (or a ``~`` header block); "" when already answered."""
        cmd = command.line
        lower = cmd.lower()
        if lower.startswith("exit") or lower.startswith("..."):
            self.running = False
            return "+OK bye"
        if not self.authed:
            if lower.startswith("auth "):
                if cmd[5:].strip("\r") == self.emulator.password:
                    self.authed = True
                    return "+OK accepted"
                self.running = False
                return "-ERR invalid"
            return ""  # FreeSWITCH ignores anything else before auth
        if lower.startswith("filter "):
            return self._filter(cmd[7:].lstrip(" "))
        if self.session is not None and lower.startswith("resume"):
            self.resume = True
            self.session.channel.set_var("socket_resume", "true")
            return "+OK"
        if self.session is not None or lower.startswith("myevents "):
            answered = self._session_command(command, lower)
            if answered is not None:
                return answered
        if lower.startswith("divert_events"):
            if self.session is None:
                return "-ERR not controlling a session."
            value = cmd[13:].strip()
            if not value:
                return "-ERR missing value."
            return "+OK events diverted" if value.lower() == "on" else "+OK events not diverted"
        if lower.startswith("sendmsg"):
            return self._sendmsg(command, cmd[7:].strip())
        if self.outbound and not self.full:
            return wire.ERR_COMMAND_NOT_FOUND
        if lower.startswith("sendevent"):
            return self._sendevent(command, cmd[9:].strip())
        if lower.startswith("api "):
            api_cmd, _, arg = cmd[4:].strip().partition(" ")
            body = self.emulator.api.execute(api_cmd, arg, self)
            self.send(wire.api_response(body))
            return ""
        if lower.startswith("bgapi "):
            api_cmd, _, arg = cmd[6:].strip().partition(" ")
            job_uuid = command.get("Job-UUID") or str(uuidlib.uuid4())
            owner = self.session.uuid if self.session else None
            self.send(wire.bgapi_reply(job_uuid))
            self.emulator.api.execute_background(api_cmd, arg, job_uuid, owner, self)
            return ""
        if lower.startswith("log"):
            level = cmd[3:].strip() or "debug"
            return f"+OK log level {level} [7]"
        if lower.startswith("linger"):
            if self.session is None:
                return "-ERR not controlling a session"
            rest = cmd[6:]
            if rest.startswith(" ") and rest[1:].strip():
                seconds = _atoi(rest[1:].strip())
                self.linger, self.linger_timeout = True, seconds
                return f"+OK will linger {seconds} seconds"
            self.linger, self.linger_timeout = True, -1
            return "+OK will linger"
        if lower.startswith("nolinger"):
            if self.session is None:
                return "-ERR not controlling a session"
            self.linger = False
            return "+OK will not linger"
        if lower.startswith("nolog"):
            return "-ERR not loging"
        if lower.startswith("event"):
            return self._event(cmd)
        if lower.startswith("nixevent"):
            return self._nixevent(cmd)
        if lower.startswith("noevents"):
            if self.events_on:
                self.events_on = False
                self.event_list.clear()
                self.all_events = False
                self.custom_subclasses.clear()
                return "+OK no longer listening for events"
            return "-ERR not listening for events"
        return wire.ERR_COMMAND_NOT_FOUND

    def _session_command(self, command: wire.Command, lower: str) -> Optional[str]:
        if lower.startswith("connect"):
            if self.session is None:
                return None
            self.send(self.session.connect_reply(self))
            self.connected.set()
            return ""
        if lower.startswith("getvar"):
            if self.session is None:
                return None
            _, _, name = command.line.partition(" ")
            return self.session.channel.variables.get(name.strip(), "")
        if lower.startswith("myevents"):
            if self.myevents:
                return "-ERR aready enabled."  # sic: FreeSWITCH's spelling
            words = command.line.split()[1:]
            if self.session is None:
                target = words[0] if words else ""
                if not self.emulator.find_call(target) and len(words) > 1:
                    return "-ERR invalid uuid"
                self.myevents_uuid = target
                words = words[1:]
            self.myevents = True
            self.events_on = True
            self.event_list |= MYEVENTS
            if self.myevents_uuid and self.running:
                self.emulator.scope_listener(self, self.myevents_uuid)
            joined = " ".join(words).lower()
            if "xml" in joined:
                self.format = "xml"
            if "json" in joined:
                self.format = "json"
            return "+OK Events Enabled"
        return None

    def _filter(self, spec: str) -> str:
        name, _, value = spec.partition(" ")
        if name.lower() == "delete" and value:
            name, _, value = value.partition(" ")
            if name.lower() == "all":
                self.filters.clear()
            else:
                self.filters = [
                    (k, v) for (k, v) in self.filters
                    if not (k.lower() == name.lower() and (not value or v == value))
                ]
            return f"+OK filter deleted. [{name}][{value}]"
        if value:
            if name.lower() == "add":
                name, _, value = value.partition(" ")
            self.filters.append((name, value))
            return f"+OK filter added. [{name}]=[{value}]"
        return "-ERR invalid syntax"

    def _event(self, cmd: str) -> str:
        words = cmd.split(" ")[1:]
        key_count = 0
        custom = False
        for index, word in enumerate(w for w in words if w):
            upper = word.upper()
            if index == 0 and upper in ("PLAIN", "JSON", "XML"):
                self.format = upper.lower()
                continue
            if custom:
                self.custom_subclasses.add(word)
                continue
            if upper in KNOWN_EVENTS:
                key_count += 1
                if upper == "ALL":
                    self.all_events = True
                else:
                    self.event_list.add(upper)
                if upper == "CUSTOM":
                    custom = True
        if not key_count:
            return "-ERR no keywords supplied"
        self.events_on = True
        return f"+OK event listener enabled {self.format}"

    def _nixevent(self, cmd: str) -> str:
        key_count = 0
        custom = False
        for word in (w for w in cmd.split(" ")[1:] if w):
            upper = word.upper()
            if custom:
                self.custom_subclasses.discard(word)
            elif upper in KNOWN_EVENTS:
                key_count += 1
                if upper == "CUSTOM":
                    custom = True
                elif upper == "ALL":
                    self.all_events = False
                    self.event_list.clear()
                else:
                    if self.all_events:
                        self.all_events = False
                        self.event_list = set(KNOWN_EVENTS) - {"ALL"}
                    self.event_list.discard(upper)
        if not key_count:
            return "-ERR no keywords supplied"
        self.events_on = True
        return "+OK events nixed"

    def _sendmsg(self, command: wire.Command, uuid: str) -> str:
        if not uuid:
            uuid = command.get("session-id") or ""
        if uuid and self.session is not None and uuid == self.session.uuid:
            uuid = ""
        if not uuid and self.session is not None:
            if self.async_mode:
                self.session.queue_message(command)
            elif (command.get("call-command") or "").lower() == "execute":
                self.session.execute_message(command)  # static mode: the reply means "done"
            else:
                self.session.queue_message(command)
            return "+OK"
        call = self.emulator.find_call(uuid) if uuid else None
        if call is None:
            return f"-ERR invalid session id [{uuid}]"
        call.queue_message(command)
        return "+OK"

    def _sendevent(self, command: wire.Command, name: str) -> str:
        event_uuid = str(uuidlib.uuid4())
        event = self.emulator.events.create(name.upper() or "CUSTOM", command.get("Event-Subclass"))
        for key, value in command.headers:
            if key.lower() not in ("content-length",):
                event.headers[key] = value
        event.headers["Event-UUID"] = event_uuid
        event.body = command.body
        self.emulator.fire(event)
        return f"+OK {event_uuid}"

    # ---------------------------------------------------------------- events
    def wants(self, event: EslEvent) -> bool:
        """``event_handler()``: subscription, then filters, then the myevents session check."""
        if not self.running or not self.events_on:
            return False
        if not self.all_events:
            if event.name not in self.event_list:
                return False
            if event.name == "CUSTOM":
                subclass = event.headers.get("Event-Subclass")
                if subclass and subclass not in self.custom_subclasses:
                    return False
        if self.filters and not self._passes_filters(event):
            return False
        if self.myevents:
            uid = event.headers.get("Unique-ID")
            send = uid is not None and (self.myevents_uuid is None or uid == self.myevents_uuid)
            if self.session is not None and event.headers.get("Job-Owner-UUID") == self.session.uuid:
                send = True
            return send
        return True

    def _passes_filters(self, event: EslEvent) -> bool:
        send = False
        for name, spec in self.filters:
            value = event.get(name)
            if value is None:
                continue
            positive = True
            comp = spec
            while comp and comp[0] in "+- ":
                if comp[0] == "+":
                    positive = True
                elif comp[0] == "-":
                    positive = False
                comp = comp[1:]
            if send and positive:
                continue
            if spec.startswith("/"):
                pattern = comp[1:-1] if comp.endswith("/") else comp[1:]
                matched = re.search(pattern, value) is not None
            else:
                matched = value.lower() == comp.lower()
            if matched:
                if positive:
                    send = True
                else:
                    return False
        return send

    def deliver(self, event: EslEvent) -> None:
        fmt = "plain" if self.format == "xml" else self.format
        frame = wire.event_frame(fmt, event.serialize(fmt))
        if self._deferred is not None:
            self._deferred.append(frame)
        else:
            self.send(frame)

    def channel_down(self) -> None:
        """The controlled channel hung up: linger, or say goodbye (outbound sockets)."""
        if self._handled_disco or self.session is None:
            return
        if self._deferred is not None:
            # a command of this very socket hung the channel up: its reply goes first
            gevent.spawn(self.channel_down)
            return
        self._handled_disco = True
        if not self.running:
            return
        if self.linger:
            channel = self.session.channel
            self.send(wire.linger_notice(self.session.uuid, channel.name, self.linger_timeout))
            if self.linger_timeout >= 0:
                gevent.spawn_later(self.emulator.clock.to_real(self.linger_timeout), self.close)
        else:
            self.close()


def _atoi(text: str) -> int:
    match = re.match(r"-?\d+", text)
    return int(match.group(0)) if match else 0
