"""One emulated call: originate, ring, answer, run applications, hang up, report.

The call runs in its own greenlet. Applications block that greenlet the way they block a
FreeSWITCH session thread; every wait is interruptible by a hangup (``ChannelHangup``), by
``uuid_break`` (``AppBreak``) and, where the application listens, by DTMF.
"""

from __future__ import annotations

import logging
import uuid as uuidlib
from typing import TYPE_CHECKING, Optional

import gevent
from gevent.event import AsyncResult, Event
from gevent.queue import Empty, Queue

from voiceplatform.testing import esl_wire as wire
from voiceplatform.testing.esl_callees import Callee
from voiceplatform.testing.esl_channel import Channel, cause_code
from voiceplatform.testing.esl_event import EslEvent

if TYPE_CHECKING:
    from voiceplatform.testing.esl_listener import Listener
    from voiceplatform.testing.freeswitch import FreeSwitchEmulator

log = logging.getLogger(__name__)

_HANGUP = object()
_BREAK = object()
_LISTENER_GONE = object()


class ChannelHangup(Exception):
    """The channel went down while an application was waiting."""


class AppBreak(Exception):
    """``uuid_break`` stopped the running application."""


class Call:
    def __init__(
        self,
        emulator: "FreeSwitchEmulator",
        channel: Channel,
        callee: Callee,
        application: Optional[tuple[str, str]],
        timeout_seconds: float,
    ) -> None:
        self.emulator = emulator
        self.clock = emulator.clock
        self.channel = channel
        self.callee = callee
        self.application = application
        self.timeout_seconds = timeout_seconds
        self.result: AsyncResult = AsyncResult()  # the originate reply: "+OK <uuid>\n" / "-ERR CAUSE\n"
        self.hungup = Event()
        self.done = Event()
        self.listeners: list["Listener"] = []
        self.entries_typed = 0
        self.prompt_count = 0
        self._pending_entry: Optional[gevent.Greenlet] = None
        self.in_app = False
        self.record_count = 0
        self.answered_at: Optional[float] = None
        self.recordings: dict[str, float] = {}  # uuid_record path -> emulated start time
        self._dtmf: Queue = Queue()
        self._messages: Queue = Queue()
        self._helpers: list[gevent.Greenlet] = []
        self.greenlet: Optional[gevent.Greenlet] = None

    @property
    def uuid(self) -> str:
        return self.channel.uuid

    # ------------------------------------------------------------ events
    def fire(self, name: str, extra: Optional[dict[str, str]] = None, body: Optional[str] = None) -> EslEvent:
        event = self.emulator.events.create(name)
        self.channel.event_data(event)
        if extra:
            event.headers.update(extra)
        event.body = body
        self.emulator.fire(event)
        return event

    def connect_reply(self, listener: "Listener") -> bytes:
        """The outbound ``connect`` reply: a CHANNEL_DATA event serialised as a command/reply."""
        event = self.emulator.events.create("CHANNEL_DATA")
        self.channel.profile_data(event, "Channel")
        self.channel.event_data(event)
        event.headers["Content-Type"] = "command/reply"
        event.headers["Reply-Text"] = "+OK\n"
        event.headers["Socket-Mode"] = "async" if listener.async_mode else "static"
        event.headers["Control"] = "full" if listener.full else "single-channel"
        return event.serialize("plain")

    # ------------------------------------------------------------ waiting
    def sleep(self, seconds: float) -> None:
        """Emulated sleep; raises ChannelHangup if the channel goes down meanwhile."""
        if self.channel.down or self.hungup.wait(self.clock.to_real(seconds)):
            raise ChannelHangup()

    def wait_dtmf(self, seconds: Optional[float]) -> Optional[str]:
        """The next digit within ``seconds`` (None = forever), or None on timeout."""
        if self.channel.down:
            raise ChannelHangup()
        try:
            item = self._dtmf.get(timeout=None if seconds is None else self.clock.to_real(seconds))
        except Empty:
            return None
        if item is _HANGUP:
            self._dtmf.put(_HANGUP)
            raise ChannelHangup()
        if item is _BREAK:
            raise AppBreak()
        return item

    def flush_dtmf(self) -> None:
        while True:
            try:
                item = self._dtmf.get_nowait()
            except Empty:
                return
            if item is _HANGUP:
                self._dtmf.put(_HANGUP)
                return

    def spawn_helper(self, delay: float, func, *args) -> gevent.Greenlet:  # type: ignore[no-untyped-def]
        g = gevent.spawn_later(self.clock.to_real(delay), func, *args)
        self._helpers.append(g)
        return g

    # ------------------------------------------------------------ the callee's side
    def receive_dtmf(self, digit: str, duration: int = 2000) -> None:
        """A digit from the far end. Outside an application the park loop eats it (the DTMF
        event still fires), as ``switch_ivr_park`` does."""
        if self.channel.down:
            return
        self.fire("DTMF", {"DTMF-Digit": digit, "DTMF-Duration": str(duration), "DTMF-Source": "RTP"})
        if self.in_app:
            self._dtmf.put(digit)

    def _press(self, digits: str) -> None:
        for index, digit in enumerate(digits):
            if index:
                gevent.sleep(self.clock.to_real(self.callee.inter_digit))
            self.receive_dtmf(digit)

    def _type_entry(self) -> None:
        digits = self.callee.digits_for_prompt(self.entries_typed)
        self.entries_typed += 1
        for index, digit in enumerate(digits or ""):
            if index:
                gevent.sleep(self.clock.to_real(self.callee.inter_digit))
            self.receive_dtmf(digit)

    def start_prompt(self, seconds: float, target: str = "") -> None:
        """The caller started playing a prompt of ``seconds``: the callee will answer it a
        quiet second after it ends (a new prompt before then pushes the answer back)."""
        if target.startswith("silence_stream://"):
            return
        index = self.prompt_count
        self.prompt_count += 1
        if index == 0 and self.callee.hangup_into_first_prompt is not None:
            self.spawn_helper(self.callee.hangup_into_first_prompt, self.hangup, "NORMAL_CLEARING")
        if index == 0 and self.callee.digits_into_first_prompt is not None:
            at, digits = self.callee.digits_into_first_prompt
            self.spawn_helper(at, self._press, digits)
        if self._pending_entry is not None:
            self._pending_entry.kill(block=False)
            self._pending_entry = None
        if self.callee.digits_for_prompt(self.entries_typed):
            self._pending_entry = self.spawn_helper(seconds + self.callee.digit_delay, self._type_entry)
        self.emulator.faults.on_prompt(self, seconds)

    # ------------------------------------------------------------ life cycle
    def run(self) -> None:
        try:
            if self.channel.direction == "inbound":
                self._incoming()
            else:
                self._originate()
        except ChannelHangup:
            pass
        finally:
            self._finish()

    def _originate(self) -> None:
        ch = self.channel
        ch.created_us = self.clock.now_us()
        ch.state = "CS_INIT"
        self.fire("CHANNEL_CREATE")
        callee = self.callee
        if callee.never_responds:  # no 1xx but 100 Trying: no CHANNEL_PROGRESS, nothing rings
            expired = callee.ring_seconds <= self.timeout_seconds
            self._wait_ringing(min(callee.ring_seconds, self.timeout_seconds), None)
            self.hangup("RECOVERY_ON_TIMER_EXPIRE" if expired else "NO_ANSWER")
            return
        if callee.failure_cause:
            self._wait_ringing(min(callee.ring_seconds, self.timeout_seconds), "NO_ANSWER")
            self.hangup(callee.failure_cause if callee.ring_seconds <= self.timeout_seconds else "NO_ANSWER")
            return
        self.sleep(0.1)
        ch.state = "CS_ROUTING"
        ch.callstate = "RINGING"
        ch.progress_us = self.clock.now_us()
        self.fire("CHANNEL_PROGRESS")
        ring = self.timeout_seconds if callee.never_answers else callee.ring_seconds
        if ring >= self.timeout_seconds:
            self._wait_ringing(self.timeout_seconds, "NO_ANSWER")
            self.hangup("NO_ANSWER")
            return
        self._wait_ringing(ring, None)
        self.answer()
        self.result.set(f"+OK {self.uuid}\n")
        ch.state = "CS_EXECUTE"
        if self.application is None:
            self.park()
        else:
            self.execute_app(self.application[0], self.application[1], str(uuidlib.uuid4()))
        if not ch.down:
            self.hangup("NORMAL_CLEARING")

    def _incoming(self) -> None:
        """A call from the far end (``self.callee`` is the caller): created, routed by the
        dialplan to its one application (``socket``, as ``<action application="socket"
        data="host:port async full"/>``), unanswered until an application answers it. When
        the application returns, the call is hung up (the end of the dialplan)."""
        ch = self.channel
        ch.created_us = self.clock.now_us()
        ch.state = "CS_INIT"
        self.fire("CHANNEL_CREATE")
        ch.state = "CS_ROUTING"
        ch.callstate = "RINGING"
        ch.state = "CS_EXECUTE"
        if self.application is not None:
            self.execute_app(self.application[0], self.application[1], str(uuidlib.uuid4()))
        if not ch.down:
            self.hangup("NORMAL_CLEARING")

    def _wait_ringing(self, seconds: float, cause: Optional[str]) -> None:
        self.sleep(seconds)

    def answer(self) -> None:
        ch = self.channel
        if ch.answered or ch.down:
            return
        ch.answered = True
        ch.callstate = "ACTIVE"
        ch.answered_us = self.clock.now_us()
        self.answered_at = self.clock.now()
        ch.set_var("endpoint_disposition", "ANSWER")
        self.fire("CHANNEL_ANSWER")

    def park(self) -> None:
        """``switch_ivr_park``: run queued ``sendmsg`` executes until hangup or the socket goes."""
        self.fire("CHANNEL_PARK")
        while not self.channel.down:
            self.in_app = False  # parked: digits are eaten, not queued
            self.flush_dtmf()
            item = self._messages.get()
            if item is _HANGUP:
                return
            if item is _LISTENER_GONE:
                if all(l.finished.is_set() for l in self.listeners):
                    return
                continue
            if isinstance(item, wire.Command):
                self.execute_message(item)

    def queue_message(self, command: wire.Command) -> None:
        call_command = (command.get("call-command") or "").lower()
        if call_command == "hangup":
            # queued like any private event: the +OK reply leaves before the hangup events
            gevent.spawn(self.hangup, (command.get("hangup-cause") or "NORMAL_CLEARING").upper())
        elif call_command == "execute":
            self._messages.put(command)
        else:
            log.info("call %s: call-command %r is not emulated; ignored", self.uuid, call_command)

    def execute_message(self, command: wire.Command) -> None:
        app = command.get("execute-app-name") or ""
        arg = command.get("execute-app-arg") or ""
        if command.body and (command.get("content-type") or "").lower() == "text/plain":
            arg = command.body
        try:
            loops = max(1, int(command.get("loops") or "1"))
        except ValueError:
            loops = 1
        app_uuid = command.get("Event-UUID") or str(uuidlib.uuid4())
        for _ in range(loops):
            if self.channel.down:
                return
            self.execute_app(app, arg, app_uuid)

    def execute_app(self, name: str, arg: str, app_uuid: str) -> None:
        from voiceplatform.testing.esl_apps import APPLICATIONS

        impl = APPLICATIONS.get(name.lower())
        if impl is None:
            log.error("call %s: Invalid Application %s", self.uuid, name)
            self.hangup("DESTINATION_OUT_OF_ORDER")
            return
        ch = self.channel
        ch.set_var("current_application", name)
        ch.set_var("current_application_data", arg)
        ch.set_var("current_application_response", None)
        head = {"Application": name, "Application-Data": arg, "Application-UUID": app_uuid}
        self.fire("CHANNEL_EXECUTE", head)
        nested = self.in_app
        self.in_app = True
        try:
            impl(self, arg)
        except (ChannelHangup, AppBreak):
            pass
        finally:
            self.in_app = nested
            if not nested:
                self.flush_dtmf()
        response = ch.variables.get("current_application_response") or "_none_"
        self.fire("CHANNEL_EXECUTE_COMPLETE", {
            "Application": name, "Application-Data": arg, "Application-Response": response,
            "Application-UUID": app_uuid,
        })

    def break_app(self) -> None:
        self._dtmf.put(_BREAK)

    def listener_finished(self, listener: "Listener") -> None:
        self._messages.put(_LISTENER_GONE)

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        ch = self.channel
        if ch.down:
            return
        ch.hangup_cause = cause
        ch.state = "CS_HANGUP"
        ch.callstate = "HANGUP"
        ch.hungup_us = self.clock.now_us()
        ch.set_var("hangup_cause", cause)
        ch.set_var("hangup_cause_q850", str(cause_code(cause)))
        self.fire("CHANNEL_HANGUP")
        self.hungup.set()
        self._dtmf.put(_HANGUP)
        self._messages.put(_HANGUP)
        for listener in list(self.listeners):
            listener.channel_down()
        if not self.result.ready():
            self.result.set(f"-ERR {cause}\n")
        current = gevent.getcurrent()
        for helper in self._helpers:
            if helper is not current:
                helper.kill(block=False)

    def _finish(self) -> None:
        ch = self.channel
        if not ch.down:
            self.hangup("NORMAL_CLEARING")
        from voiceplatform.testing.esl_apps import stop_session_recording

        for path in list(self.recordings):
            stop_session_recording(self, path)
        ch.state = "CS_REPORTING"
        ch.set_hangup_timestamps()
        self.fire("CHANNEL_HANGUP_COMPLETE")
        for listener in self.listeners:
            listener.finished.wait()  # FreeSWITCH holds the session until the socket is done
        ch.state = "CS_DESTROY"
        self.fire("CHANNEL_DESTROY")
        self.done.set()
        self.emulator._call_finished(self)
