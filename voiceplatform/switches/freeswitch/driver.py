"""Places outbound calls on FreeSWITCH and runs a flow on each, one greenlet per call.

A call is correlated by its own id from end to end: ``origination_uuid`` makes it the
channel's Unique-ID (so every event names it), the ``bgapi`` Job-UUID is the same id (so the
BACKGROUND_JOB result names it), and the answered call's outbound socket carries it in its
channel data (``Unique-ID`` and ``variable_vp_call_id``, checked against each other and once
more with ``getvar``). Nothing is matched by timing or order.

Events reach a call two ways: the inbound connection (all of the platform's calls) and the
call's own outbound socket (``myevents`` + ``linger``). Both feed ``_on_event``, which is
idempotent, so a call still ends with its real cause when the inbound connection is down.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import gevent
from gevent.event import Event

from voiceplatform.channels.contract import InboundMessage
from voiceplatform.exceptions import SwitchCommandError, SwitchConnectionError, UnsafeValueError
from voiceplatform.flow import Flow
from voiceplatform.safety import switch_values
from voiceplatform.switches.call_control import CallHungUp
from voiceplatform.switches.call_registry import CallRegistry, TrackedCall
from voiceplatform.switches.call_record import CallRecord, CallSink, MemoryCallSink
from voiceplatform.switches.freeswitch.call_control import COMMAND_SLACK, SOCKET_CLOSED, FreeSwitchCallControl
from voiceplatform.switches.freeswitch.config import FreeSwitchConfig
from voiceplatform.switches.freeswitch.esl_frames import EslFrame, EslFramingError
from voiceplatform.switches.freeswitch.inbound import InboundLink
from voiceplatform.switches.freeswitch.originate import originate_command, originate_variables
from voiceplatform.switches.freeswitch.outbound import CallSession, OutboundServer
from voiceplatform.switches.inbound import InboundRejection, InboundRouter
from voiceplatform.calls.outcomes import CallOutcome
from voiceplatform.switches.outcomes import classify_freeswitch_unanswered
from voiceplatform.switches.placed_call import PlacedCall
from voiceplatform.switches.voice_channel import VoiceChannel, inbound_call, route_inbound
from voiceplatform.switches.voice_runner import VoiceRunner, VoiceServices

log = logging.getLogger(__name__)

HANGUP_GRACE = 5.0  # seconds to wait for CHANNEL_HANGUP_COMPLETE after the session ended
NO_SESSION_GRACE = 2.0  # an answered call that hung up: how long its socket may still take
LINK_WAIT = 30.0  # a call placed while the inbound connection is down waits this long for it
LOST_GRACE = 2.0  # after a reconnect, how long a call FreeSWITCH no longer knows may take to report
LINGER_SECONDS = 30  # the outbound socket stays open this long after the hang-up for the last events
SKIP_AMD = ("no", "false", "0")
OUTCOME_LOST = "outcome lost: the call ended while the ESL connection was down"
NOT_CONFIRMED = "originate not confirmed: the ESL connection dropped while sending it"


@dataclass
class _Call(TrackedCall):
    confirmed: bool = False  # FreeSWITCH accepted the bgapi
    settled: Event = field(default_factory=Event)  # answered, or finished
    control: Optional[FreeSwitchCallControl] = None


class FreeSwitchDriver(VoiceChannel):
    """FreeSWITCH as a live voice channel (switches/voice_channel.py): places calls over the
    inbound Event Socket, runs each answered call's flow on its outbound socket, answers calls
    coming in."""

    def __init__(self, config: FreeSwitchConfig, services: VoiceServices, sink: CallSink | None = None,
                 inbound: InboundRouter | None = None) -> None:
        self.config = config
        self.inbound = inbound  # who answers calls coming in (None: every one is refused)
        self.services = services
        self.sink = sink or MemoryCallSink()
        self.calls: CallRegistry[_Call] = CallRegistry(self.sink, on_finish=lambda call: call.settled.set())
        self.runner = VoiceRunner(services)
        self.link: Optional[InboundLink] = None
        self.server: Optional[OutboundServer] = None
        self.socket_port = 0
        self._helpers: set[gevent.Greenlet] = set()
        self.round_trips: deque[float] = deque(maxlen=200_000)  # seconds, sendmsg/getvar → reply
        self.unknown_sessions = 0

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FreeSwitchDriver:
        self.server = OutboundServer(self.config.socket_host, self.config.socket_port, self._session,
                                     self.config.max_sessions)
        self.socket_port = self.server.bind()
        self.link = InboundLink(self.config, self._on_event, self._on_link_up, self._on_link_down)
        try:
            self.link.connect()
        except SwitchConnectionError:
            self.server.stop(timeout=0)
            raise
        return self

    def stop(self) -> None:
        for call in self.calls:
            call.done.wait(timeout=1)
        if self.link is not None:
            self.link.close()
        if self.server is not None:
            self.server.stop()
        for helper in list(self._helpers):
            helper.kill(block=False)

    def __enter__(self) -> FreeSwitchDriver:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def active_calls(self) -> int:
        return len(self.calls)

    @property
    def live_greenlets(self) -> int:
        """Greenlets this driver started that still run (sessions and helpers)."""
        sessions = self.server.live_sessions if self.server is not None else 0
        return sessions + sum(1 for g in self._helpers if not g.dead)

    @property
    def socket_address(self) -> str:
        return f"{self.config.socket_advertise_host}:{self.socket_port}"

    def _spawn(self, func: Any, *args: Any) -> gevent.Greenlet:
        greenlet = gevent.spawn(func, *args)
        self._helpers.add(greenlet)
        greenlet.link(self._helpers.discard)
        return greenlet

    def _spawn_later(self, seconds: float, func: Any, *args: Any) -> gevent.Greenlet:
        greenlet = gevent.spawn_later(seconds, func, *args)
        self._helpers.add(greenlet)
        greenlet.link(self._helpers.discard)
        return greenlet

    # ---- placing calls -------------------------------------------------------------------------

    def place_call(self, flow: Flow, to: str, contact: dict[str, Any] | None = None, *,
                   caller_id: str | None = None, variables: dict[str, str] | None = None,
                   timeout: float | None = None, account: str | None = None,
                   call_id: str | None = None) -> PlacedCall:
        call_id = call_id or str(uuid.uuid4())
        record = CallRecord(call_id, to, flow.name, "freeswitch", account or self.config.account)
        record.mark("queued")
        call = self.calls.add(_Call(record, flow, dict(contact or {})))
        self._spawn(self._originate, call, caller_id, dict(variables or {}), timeout or self.config.originate_timeout)
        return PlacedCall(record, call.done, call.in_session)

    def _originate(self, call: _Call, caller_id: str | None, variables: dict[str, str], timeout: float) -> None:
        record = call.record
        assert self.link is not None
        try:
            channel_vars = originate_variables(caller_id, variables, timeout)
            number = switch_values.destination(record.to)
            command = originate_command(record.call_id, self.config.dial_template.format(number=number),
                                        channel_vars, self.socket_address, self.config.originate_extension)
        except UnsafeValueError as exc:
            self.calls.fail(call, CallOutcome.FAILED, f"refused before dialling: {exc}")
            return
        except SwitchCommandError as exc:
            self.calls.fail(call, CallOutcome.FAILED, str(exc))
            return
        if not self.link.wait_connected(LINK_WAIT):
            self.calls.fail(call, CallOutcome.FAILED, "no ESL connection to FreeSWITCH")
            return
        record.mark("dialling")
        try:
            self.link.bgapi(command, job_uuid=record.call_id)
            call.confirmed = True
        except (SwitchCommandError, UnsafeValueError) as exc:
            self.calls.fail(call, CallOutcome.FAILED, f"originate refused: {exc}")
            return
        except SwitchConnectionError as exc:
            # FreeSWITCH may or may not have the command: never dial twice; reconcile instead
            log.warning("call %s: the ESL connection dropped while originating (%s)", record.call_id, exc)
        # a watchdog for results that never come (events lost with a connection)
        if not call.settled.wait(timeout + COMMAND_SLACK):
            self._reconcile(call)

    # ---- events (inbound connection, and each call's own socket) -------------------------------

    def _on_event(self, frame: EslFrame) -> None:
        headers = frame.headers
        name = headers.get("Event-Name")
        if name == "BACKGROUND_JOB":
            call = self.calls.get(headers.get("Job-UUID", ""))
            if call is not None:
                self._job_result(call, (frame.body or "").strip())
            return
        call = self.calls.get(headers.get("Unique-ID", ""))
        if call is None:
            return
        record = call.record
        if name == "CHANNEL_PROGRESS":
            record.mark("ringing")
        elif name == "CHANNEL_ANSWER":
            self._answered(call)
        elif name == "CHANNEL_HANGUP":
            self._hangup(call, headers.get("Hangup-Cause", ""))
        elif name == "CHANNEL_HANGUP_COMPLETE":
            self._hangup(call, headers.get("Hangup-Cause", ""))
            call.hangup_seen.set()
            if "answered" not in record.timestamps:
                self.calls.fail(call, *classify_freeswitch_unanswered(record.cause, rang="ringing" in record.timestamps))
            elif not call.session_started:
                self._spawn_later(NO_SESSION_GRACE, self.calls.finish_unless_session, call)

    def _job_result(self, call: _Call, body: str) -> None:
        if body.startswith("+OK"):
            self._answered(call)
        elif "answered" not in call.record.timestamps:
            cause = body.removeprefix("-ERR").strip() or "originate failed"
            self.calls.fail(call, *classify_freeswitch_unanswered(cause, rang="ringing" in call.record.timestamps))

    def _answered(self, call: _Call) -> None:
        call.record.mark("answered")
        if call.record.outcome is None:
            call.record.outcome = CallOutcome.ANSWERED
        call.settled.set()

    def _hangup(self, call: _Call, cause: str) -> None:
        record = call.record
        control = call.control
        if control is None or not control.hung_up_by_platform:
            record.mark("hangup_reported")
        if cause and (record.cause is None or record.cause == SOCKET_CLOSED):
            record.cause = cause
        if control is not None:
            control.notice_hangup(cause or "caller")

    # ---- the inbound connection comes and goes ----------------------------------------------

    def _on_link_down(self) -> None:
        log.warning("ESL down with %d calls in flight; they keep running on FreeSWITCH", len(self.calls))

    def _on_link_up(self, logins: int) -> None:
        """Reconnected: ask FreeSWITCH about calls whose fate only the lost connection knew."""
        for call in self.calls:
            if not call.finished and not call.session_started:
                self._spawn(self._reconcile, call)

    def _reconcile(self, call: _Call) -> None:
        if call.finished or call.session_started:
            return
        assert self.link is not None
        try:
            exists = self.link.api(f"uuid_exists {call.record.call_id}").strip() == "true"
        except (SwitchConnectionError, SwitchCommandError) as exc:
            self.calls.fail(call, CallOutcome.FAILED, f"switch_lost ({exc})")
            return
        if exists:
            return  # still ringing or talking: its events come on the new connection
        # gone (or not created yet): give its last events a moment, then call it lost
        if not call.settled.wait(LOST_GRACE) and not call.finished and not call.session_started:
            try:
                exists = self.link.api(f"uuid_exists {call.record.call_id}").strip() == "true"
            except (SwitchConnectionError, SwitchCommandError) as exc:
                self.calls.fail(call, CallOutcome.FAILED, f"switch_lost ({exc})")
                return
            if not exists:
                self.calls.fail(call, CallOutcome.FAILED, OUTCOME_LOST if call.confirmed else NOT_CONFIRMED)

    # ---- in the call -------------------------------------------------------------------------

    def _session(self, session: CallSession) -> None:
        """One outbound socket (runs in its own greenlet; the server closes the socket after)."""
        try:
            session.connect()
        except (SwitchConnectionError, SwitchCommandError) as exc:
            log.warning("outbound socket: no channel data (%s)", exc)
            return
        data = session.session_data or {}
        call_id = data.get("Unique-ID", "")
        call = self.calls.get(call_id)
        if call is None and data.get("Call-Direction") == "inbound":
            self._inbound_session(session, data)
            return
        if call is None or data.get("variable_vp_call_id") != call_id or call.session_started:
            self.unknown_sessions += 1
            log.warning("outbound socket for unknown call %r; hanging up", call_id)
            try:
                session.send("sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING")
            except (SwitchConnectionError, SwitchCommandError) as exc:
                log.debug("hanging up an unknown call: %s", exc)
            return
        self._run_session(call, session, data)

    def parse_inbound(self, raw: Mapping[str, Any]) -> InboundMessage:
        """A call coming in, from its outbound socket's channel data: the caller
        (``Caller-Caller-ID-Number``), the number dialled (``Caller-Destination-Number``) and the
        channel's ``Unique-ID`` (which is also the call's id)."""
        return inbound_call(raw, dialled=("Caller-Destination-Number",), caller=("Caller-Caller-ID-Number",),
                            channel_id=("Unique-ID",))

    def _inbound_session(self, session: CallSession, data: dict[str, str]) -> None:
        """A call coming in (the dialplan's ``socket`` application, before any answer): route
        it, then answer and run its flow, or hang it up unanswered with the rejection's cause
        (switches/inbound.py). Its call id is the channel's own Unique-ID."""
        call_id = data.get("Unique-ID", "")
        asked, answer = route_inbound(self.inbound, self.parse_inbound, data, call_id, "freeswitch")
        dialled, caller = asked.dialled, asked.caller
        if isinstance(answer, InboundRejection):
            log.warning("inbound call to %r from %r (channel %s) rejected with %s (SIP %d): %s",
                        dialled, caller, call_id, answer.cause.freeswitch, answer.cause.sip_status, answer.reason)
            try:
                session.send(f"sendmsg\ncall-command: hangup\nhangup-cause: {answer.cause.freeswitch}")
            except (SwitchConnectionError, SwitchCommandError) as exc:
                log.debug("rejecting an inbound call: %s", exc)
            return
        record = CallRecord(call_id, answer.dialled, answer.flow.name, "freeswitch", answer.account,
                            direction="inbound", caller=answer.caller or None)
        record.mark("queued")
        call = self.calls.add(_Call(record, answer.flow, dict(answer.contact)))
        self._run_session(call, session, data)

    def _run_session(self, call: _Call, session: CallSession, data: dict[str, str]) -> None:
        record = call.record
        call.session_started = True
        control = FreeSwitchCallControl(session, record.call_id, self.config.transfer_template, self.config.queue_template)
        call.control = control
        session.register_handle("CHANNEL_HANGUP", self._on_event)
        session.register_handle("CHANNEL_HANGUP_COMPLETE", self._on_event)
        session.register_handle("DISCONNECT", lambda frame: self._socket_notice(control, frame))
        session.on_lost = lambda reason: self._socket_lost(call, control, reason)
        if call.hangup_seen.is_set() or "hangup_reported" in record.timestamps:
            control.notice_hangup(record.cause or "caller")
        self._answered(call)
        try:
            session.command("myevents")
            session.command(f"linger {LINGER_SECONDS}")
            if record.direction == "inbound":  # the dialplan handed it over unanswered
                control.execute("set", f"vp_call_id={record.call_id}")
                control.execute("answer")
            for _ in range(self.config.correlation_checks):
                seen = control.getvar("vp_call_id")
                if seen != record.call_id:
                    raise SwitchCommandError(f"outbound socket for {record.call_id} is on the channel of {seen!r}")
            facts = self._amd(call, control, data)
            call.in_session.set()
            self.runner.run(call.flow, call.contact, control, record, facts)
        except CallHungUp:
            pass  # hung up before the flow began: the hang-up events give the cause
        except SwitchConnectionError:
            control.notice_hangup(SOCKET_CLOSED)  # the socket closed while setting up
        except Exception as exc:  # noqa: BLE001 - a broken session must still end with a record
            log.exception("call %s: the session failed", record.call_id)
            record.errors.append(f"session error: {exc!r}")
        finally:
            record.mark("session_ended")
            self.round_trips.extend(control.round_trips)
            if control.hangup_cause is None:
                control.hangup("session ended")
            call.hangup_seen.wait(timeout=HANGUP_GRACE)
            self.calls.finish(call)

    def _amd(self, call: _Call, control: FreeSwitchCallControl, data: dict[str, str]) -> dict[str, Any]:
        facts: dict[str, Any] = {"answered": True}
        wanted = (data.get("variable_VP_AMD") or data.get("variable_vp_amd") or "yes").lower()
        if not self.config.run_amd or wanted in SKIP_AMD or call.record.direction == "inbound":
            return facts
        done = control.execute("amd", timeout=COMMAND_SLACK)
        assert done is not None
        amd = (done.headers.get("variable_amd_result") or "").upper()
        call.record.amd = amd or None
        if amd:
            facts["amd"] = amd.lower()
            facts["amd_cause"] = done.headers.get("variable_amd_cause", "")
        if amd == "MACHINE":
            call.record.outcome = CallOutcome.MACHINE
        return facts

    @staticmethod
    def _socket_lost(call: _Call, control: FreeSwitchCallControl, reason: Optional[Exception]) -> None:
        """The call's own socket ended: for the flow, the call is gone (FreeSWITCH hangs up a
        call whose controlling socket went away). A bad frame is kept as the call's error."""
        if reason is not None and not control.hung_up_by_platform:
            call.record.mark("hangup_reported")
        if isinstance(reason, EslFramingError):
            call.record.errors.append(f"the call's event socket sent a bad frame: {reason}")
        control.notice_hangup(control.hangup_cause or SOCKET_CLOSED)

    @staticmethod
    def _socket_notice(control: FreeSwitchCallControl, frame: EslFrame) -> None:
        if frame.headers.get("Content-Disposition") != "linger":
            control.notice_hangup(control.hangup_cause or SOCKET_CLOSED)  # FreeSWITCH says goodbye

