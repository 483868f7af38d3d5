"""Places outbound calls on Asterisk and runs a flow on each, one greenlet per call.

A call is correlated by its own id from end to end: the Originate sets ``ChannelId`` (which
becomes the channel's Uniqueid, so AMI events name it) and ``VP_CALL_ID`` (which the dialplan
passes to FastAGI as the first argument). Nothing is matched by timing.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Mapping

import gevent
from panoramisk.fast_agi import Application

from voiceplatform.channels.contract import InboundMessage
from voiceplatform.exceptions import SwitchCommandError, UnsafeValueError
from voiceplatform.flow import Flow
from voiceplatform.safety import switch_values
from voiceplatform.switches.asterisk.agi_control import AgiCallControl
from voiceplatform.switches.asterisk.ami_link import AmiLink
from voiceplatform.switches.asterisk.async_bridge import AsyncBridge, BridgeTimeout
from voiceplatform.switches.asterisk.config import AsteriskConfig
from voiceplatform.switches.call_control import CallHungUp
from voiceplatform.switches.call_registry import CallRegistry, TrackedCall
from voiceplatform.switches.call_record import CallRecord, CallSink, MemoryCallSink
from voiceplatform.switches.inbound import InboundRejection, InboundRouter
from voiceplatform.calls.outcomes import CallOutcome
from voiceplatform.switches.outcomes import Unanswered, answered_cause, classify_unanswered
from voiceplatform.switches.placed_call import PlacedCall
from voiceplatform.switches.voice_channel import VoiceChannel, inbound_call, route_inbound
from voiceplatform.switches.voice_runner import VoiceRunner, VoiceServices

log = logging.getLogger(__name__)

HANGUP_GRACE = 5.0  # seconds to wait for the AMI Hangup event after the session ended
FAILURE_GRACE = 2.0  # seconds a failed OriginateResponse waits for the channel's Hangup event


@dataclass
class _Call(TrackedCall):
    control: AgiCallControl | None = None
    hangup_cause: str | None = None  # the Hangup event's Cause (Q.850), as Asterisk sent it
    hangup_text: str = ""
    dial_status: str | None = None  # the DialEnd event's DialStatus
    dtmf_heard: list[str] = field(default_factory=list)  # DTMFEnd (received) on the channel, in order
    channel: str = ""  # an inbound call's Uniqueid (Asterisk's; its call id is the platform's)


def originate_action(config: AsteriskConfig, call_id: str, to: str, agi_address: str, caller_id: str | None,
                     variables: dict[str, str], timeout: float) -> dict[str, Any]:
    """The AMI Originate for one call. The number, the caller id and every channel variable pass
    the one validator (:mod:`voiceplatform.safety.switch_values`), else UnsafeValueError; a
    variable's value holds no ``,`` either, since Asterisk splits a ``Variable`` header on
    commas (``a=1,b=2`` sets two)."""
    channel_vars = switch_values.variables({
        "VP_CALL_ID": call_id,
        "VP_AGI_ADDRESS": agi_address,
        "VP_AMD": "yes" if config.run_amd else "no",
        **variables,
    })
    for name, value in channel_vars.items():
        if "," in value:
            raise UnsafeValueError(f"channel variable {name}", "holds ',', which would start another AMI variable")
    action: dict[str, Any] = {
        "Action": "Originate",
        "Channel": switch_values.dial_target(config.dial_template.format(number=switch_values.destination(to)), "dial string"),
        "Context": config.outbound_context,
        "Exten": "s",
        "Priority": 1,
        "ChannelId": call_id,
        "OtherChannelId": f"{call_id}-peer",
        "Timeout": int(timeout * 1000),
        "Async": "true",
        "Variable": [f"{key}={value}" for key, value in channel_vars.items()],
    }
    if caller_id:
        action["CallerID"] = str(switch_values.caller_id(caller_id))
    return action


class AsteriskDriver(VoiceChannel):
    """Asterisk as a live voice channel (switches/voice_channel.py): places calls over AMI, runs
    each answered call's flow over FastAGI, answers calls coming in."""

    def __init__(self, config: AsteriskConfig, services: VoiceServices, sink: CallSink | None = None,
                 inbound: InboundRouter | None = None) -> None:
        self.config = config
        self.inbound = inbound  # who answers calls coming in (None: every one is refused, 404)
        self.inbound_channels: dict[str, str] = {}  # an inbound call's Uniqueid → its call id
        self.services = services
        self.sink = sink or MemoryCallSink()
        self.calls: CallRegistry[_Call] = CallRegistry(self.sink, on_finish=self._collect_round_trips)
        self.runner = VoiceRunner(services)
        self.bridge: AsyncBridge | None = None
        self.ami: AmiLink | None = None
        self.agi_port = 0
        self._server: Any = None
        self.agi_round_trips: deque[float] = deque(maxlen=100_000)  # seconds, immediate commands

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> AsteriskDriver:
        self.bridge = AsyncBridge()
        self.ami = AmiLink(self.bridge, self.config, self._on_event, self._on_ami_lost, lambda: None)
        self.ami.connect()
        application = Application(loop=self.bridge.loop)
        application.add_route("flow", self._agi_session)
        application.add_route("inbound", self._inbound_session)  # the voiceplatform-inbound context
        import asyncio

        self._server = self.bridge.call(asyncio.start_server(application.handler, self.config.agi_host, self.config.agi_port), timeout=10)
        self.agi_port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        for call in self.calls:
            call.done.wait(timeout=1)
        if self._server is not None and self.bridge is not None:
            self._server.close()
        if self.ami is not None:
            self.ami.close()
        if self.bridge is not None:
            self.bridge.close()

    def __enter__(self) -> AsteriskDriver:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def active_calls(self) -> int:
        return len(self.calls)

    # ---- placing calls -------------------------------------------------------------------------

    def place_call(self, flow: Flow, to: str, contact: dict[str, Any] | None = None, *,
                   caller_id: str | None = None, variables: dict[str, str] | None = None,
                   timeout: float | None = None, account: str | None = None,
                   call_id: str | None = None) -> PlacedCall:
        call_id = call_id or uuid.uuid4().hex
        record = CallRecord(call_id, to, flow.name, "asterisk", account or self.config.account)
        record.mark("queued")
        call = self.calls.add(_Call(record, flow, dict(contact or {})))
        gevent.spawn(self._originate, call, caller_id, variables or {}, timeout or self.config.originate_timeout)
        return PlacedCall(record, call.done, call.in_session)

    def _originate(self, call: _Call, caller_id: str | None, variables: dict[str, str], timeout: float) -> None:
        record = call.record
        assert self.ami is not None
        try:
            action = originate_action(self.config, record.call_id, record.to,
                                      f"{self.config.agi_advertise_host}:{self.agi_port}", caller_id, variables, timeout)
        except UnsafeValueError as exc:
            self.calls.fail(call, CallOutcome.FAILED, f"refused before dialling: {exc}")
            return
        record.mark("dialling")
        try:
            replies = self.ami.send(action, timeout=timeout + 30)
        except UnsafeValueError as exc:
            self.calls.fail(call, CallOutcome.FAILED, f"refused before dialling: {exc}")
            return
        except BridgeTimeout:
            self.calls.fail(call, CallOutcome.FAILED, "no OriginateResponse from Asterisk")
            return
        except (ConnectionError, OSError) as exc:
            self.calls.fail(call, CallOutcome.FAILED, f"AMI: {exc}")
            return
        replies = replies if isinstance(replies, list) else [replies]
        response = next((r for r in replies if r.get("Event") == "OriginateResponse"), None)
        if response is None:
            first = replies[0] if replies else {}
            self.calls.fail(call, CallOutcome.FAILED, f"originate refused: {first.get('Message', first)}")
            return
        if response.get("Response") != "Success":
            # PJSIP's OriginateResponse carries Reason 0 whatever the far end said; the real cause
            # is in the channel's Hangup (and DialEnd), which may come just after: wait for it.
            call.hangup_seen.wait(timeout=FAILURE_GRACE)
            outcome, cause = classify_unanswered(Unanswered(
                call.hangup_cause, call.hangup_text, call.dial_status, response.get("Reason"),
                "ringing" in record.timestamps))
            self.calls.fail(call, outcome, cause)
            return
        record.mark("answered")
        if record.outcome is None:
            record.outcome = CallOutcome.ANSWERED
        if call.hangup_seen.is_set() and not call.session_started:
            self.calls.finish(call)

    # ---- in the call -------------------------------------------------------------------------

    async def _agi_session(self, request: Any) -> None:
        headers = request.headers
        call_id = headers.get("agi_arg_1", "")
        call = self.calls.get(call_id)
        if call is None:
            log.warning("FastAGI session for unknown call %r; hanging up", call_id)
            await request.send_command("HANGUP")
            return
        assert self.bridge is not None
        await self.bridge.wait_greenlet(self._run_session, call, request, headers)

    async def _inbound_session(self, request: Any) -> None:
        """A call coming in (context voiceplatform-inbound): route it, then answer and run its
        flow, or leave VP_REJECT_CAUSE for the dialplan's Hangup (switches/inbound.py)."""
        assert self.bridge is not None
        await self.bridge.wait_greenlet(self._answer_inbound, request, request.headers)

    def parse_inbound(self, raw: Mapping[str, Any]) -> InboundMessage:
        """A call coming in, from its FastAGI headers: the caller (``agi_callerid``; Asterisk's
        ``unknown`` is none), the number dialled (``agi_arg_1``, else ``agi_extension``) and the
        channel's ``agi_uniqueid``."""
        return inbound_call(raw, dialled=("agi_arg_1", "agi_extension"), caller=("agi_callerid",),
                            channel_id=("agi_uniqueid",), withheld=("unknown",))

    def _answer_inbound(self, request: Any, headers: dict[str, str]) -> None:
        assert self.bridge is not None
        call_id = uuid.uuid4().hex
        control = AgiCallControl(self.bridge, request, call_id, self.config.transfer_template)
        asked, answer = route_inbound(self.inbound, self.parse_inbound, headers, call_id, "asterisk")
        dialled, caller, channel = asked.dialled, asked.caller, asked.channel
        try:
            if isinstance(answer, InboundRejection):
                log.warning("inbound call to %r from %r (channel %s) rejected with cause %d (SIP %d): %s",
                            dialled, caller, channel, answer.cause.q850, answer.cause.sip_status, answer.reason)
                control.command(f"SET VARIABLE VP_REJECT_CAUSE {answer.cause.q850}", quick=True)
                return
            record = CallRecord(call_id, answer.dialled, answer.flow.name, "asterisk", answer.account,
                                direction="inbound", caller=answer.caller or None)
            record.mark("queued")
            call = self.calls.add(_Call(record, answer.flow, dict(answer.contact), channel=channel))
            self.inbound_channels[channel] = call_id
            control.command(f"SET VARIABLE VP_CALL_ID {call_id}", quick=True)
            control.command("ANSWER", quick=True)
        except CallHungUp:
            if isinstance(answer, InboundRejection):
                return
            call.record.outcome, call.record.cause = CallOutcome.FAILED, "the caller hung up before the answer"
            self.calls.finish(call)
            return
        record.outcome = CallOutcome.ANSWERED
        self._run_session(call, request, headers)

    def _run_session(self, call: _Call, request: Any, headers: dict[str, str]) -> None:
        assert self.bridge is not None
        record = call.record
        call.session_started = True
        control = AgiCallControl(self.bridge, request, record.call_id, self.config.transfer_template)
        control.heard = call.dtmf_heard  # the same list: AMI's DTMFEnd events keep filling it
        call.control = control
        if call.hangup_seen.is_set():
            control.notice_hangup(record.cause or "caller")
        amd = (headers.get("agi_arg_2") or "").strip().upper()
        record.amd = amd or None
        facts: dict[str, Any] = {"answered": True}
        if amd:
            facts["amd"] = amd.lower()
            facts["amd_cause"] = headers.get("agi_arg_3", "")
        if amd == "MACHINE":
            record.outcome = CallOutcome.MACHINE
        record.mark("answered")
        try:
            for _ in range(self.config.correlation_checks):
                seen = control.channel_variable("VP_CALL_ID")
                if seen != record.call_id:
                    raise SwitchCommandError(f"FastAGI session for {record.call_id} is on channel of {seen!r}")
            call.in_session.set()
            self.runner.run(call.flow, call.contact, control, record, facts)
        except CallHungUp:
            pass  # hung up before the flow began: the Hangup event gives the cause
        except Exception as exc:  # noqa: BLE001 - a broken session must still end with a record
            log.exception("call %s: the session failed", record.call_id)
            record.errors.append(f"session error: {exc!r}")
        finally:
            record.mark("session_ended")
            gevent.spawn(self._settle, call)

    def _settle(self, call: _Call) -> None:
        call.hangup_seen.wait(timeout=HANGUP_GRACE)
        self.calls.finish(call)

    # ---- AMI events ----------------------------------------------------------------------------

    def _on_event(self, event: dict[str, Any]) -> None:
        name = event.get("Event")
        unique = event.get("DestUniqueid", "") if name == "DialEnd" else event.get("Uniqueid", "")
        call = self.calls.get(unique) or self.calls.get(self.inbound_channels.get(unique, ""))
        if call is None:
            return
        record = call.record
        if name == "DialEnd":
            call.dial_status = event.get("DialStatus") or None
            return
        if name == "DTMFEnd":
            if event.get("Direction", "Received") == "Received" and event.get("Digit"):
                call.dtmf_heard.append(event["Digit"])
            return
        if name == "Newstate":
            state = event.get("ChannelState")
            if state == "5":
                record.mark("ringing")
            elif state == "6":
                record.mark("answered")
        elif name == "Hangup":
            if call.control is None or not call.control.hung_up_by_platform:
                record.mark("hangup_reported")
            cause = event.get("Cause", "")
            text = event.get("Cause-txt", "")
            call.hangup_cause, call.hangup_text = cause, text
            if call.control is not None and call.control.hung_up_by_platform:
                cause, text = "16", "Normal Clearing (the platform hung up)"
            if "answered" in record.timestamps:
                record.cause = record.cause or answered_cause(cause, text)
            if call.control is not None:
                call.control.notice_hangup(cause or "caller")
            call.hangup_seen.set()
            if not call.session_started and "answered" in record.timestamps:
                gevent.spawn_later(1.0, self.calls.finish_unless_session, call)

    def _on_ami_lost(self) -> None:
        """Asterisk went away: calls still dialling will never be reported; fail them now."""
        for call in self.calls:
            if "answered" not in call.record.timestamps:
                self.calls.fail(call, CallOutcome.FAILED, "switch_lost")
            elif not call.session_started:
                call.record.cause = call.record.cause or "switch_lost"
                gevent.spawn_later(HANGUP_GRACE, self.calls.finish_unless_session, call)
            # a call in a FastAGI session learns from its own socket whether Asterisk is gone

    def _collect_round_trips(self, call: _Call) -> None:
        self.inbound_channels.pop(call.channel, None)
        if call.control is not None:
            self.agi_round_trips.extend(call.control.round_trips)
