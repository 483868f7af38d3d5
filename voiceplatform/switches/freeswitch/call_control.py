"""CallControl over one outbound socket: ``sendmsg`` executes, completion events, DTMF.

Every application is sent with its own ``Event-UUID``; FreeSWITCH names it as the
``Application-UUID`` of the CHANNEL_EXECUTE_COMPLETE that ends it, which is what a command
waits for (never "the next completion of an application of that name", as greenswitch does).

A hang-up is noticed at once wherever the flow is: the socket's CHANNEL_HANGUP (or the inbound
connection's, or the socket closing) fails every wait of the call with ``CallHungUp``.

Digits come from DTMF events. Those that arrive while nothing reads keys are kept, in order, as
type-ahead for the next gather (``collect_digits``, or a barge-in prompt, which then returns the
key at once without playing): while no application runs (FreeSWITCH's park loop eats them),
during an application that does not read keys (``set``), and during a prompt played without
terminators (a ``say``: ``playback`` with ``playback_terminators=none`` drops the key).
Timeouts that belong to the call (digit timeouts, silence, record limits) are FreeSWITCH's
(``play_and_get_digits``, ``record``), so they run on the switch's clock.
"""

from __future__ import annotations

import logging
import math
import time
import uuid as uuidlib
from collections import deque
from pathlib import Path
from typing import Optional

from gevent.event import AsyncResult
from gevent.timeout import Timeout

from voiceplatform.exceptions import SwitchCommandError, SwitchConnectionError
from voiceplatform.safety import switch_values
from voiceplatform.speech.audio import wav_duration
from voiceplatform.switches.call_control import CallHungUp, Recorded
from voiceplatform.switches.freeswitch.esl_frames import EslFrame
from voiceplatform.switches.freeswitch.outbound import CallSession

log = logging.getLogger(__name__)

COMMAND_SLACK = 30.0  # seconds beyond an application's own length before giving up on it
REPLY_TIMEOUT = 10.0
SILENCE_THRESHOLD = 200  # record's energy threshold (FreeSWITCH's examples use 200-500)
BEEP = "tone_stream://%(250,0,800)"
PROMPTLESS = "silence_stream://250"
# Applications that listen for digits; a digit during any other one (``set``) or while parked
# is one FreeSWITCH does not act on, so it is kept as type-ahead.
LISTENING_APPS = frozenset({"playback", "play_and_get_digits", "record", "read", "bridge", "callcenter"})
SOCKET_CLOSED = "socket_closed"

# How a bridge ended (originate_disposition / last_bridge_hangup_cause) → a transfer result.
_TRANSFER_RESULT = {
    "SUCCESS": "completed", "ANSWER": "completed", "NORMAL_CLEARING": "completed",
    "USER_BUSY": "busy", "NO_ANSWER": "no-answer", "NO_USER_RESPONSE": "no-answer",
    "ORIGINATOR_CANCEL": "no-answer", "ALLOTTED_TIMEOUT": "no-answer",
}


class FreeSwitchCallControl:
    def __init__(self, session: CallSession, call_id: str, transfer_template: str, queue_template: str) -> None:
        self.session = session
        self.call_id = call_id
        self.transfer_template = transfer_template
        self.queue_template = queue_template
        self.hangup_cause: Optional[str] = None
        self.hung_up_by_platform = False
        self.round_trips: list[float] = []  # seconds: sendmsg → its +OK reply
        self._pending: dict[str, AsyncResult] = {}
        self._listening = False  # a digit-listening application runs
        self._app_digits: list[str] = []  # DTMF during the current listening application
        self._typeahead: deque[str] = deque()  # DTMF while parked or in a non-listening app
        self._playback_keys = ""  # the terminators of the playback being sent (none: type-ahead)
        self._collects = 0
        session.register_handle("CHANNEL_EXECUTE", self._on_execute)
        session.register_handle("CHANNEL_EXECUTE_COMPLETE", self._on_execute_complete)
        session.register_handle("DTMF", self._on_dtmf)

    # ---- events ------------------------------------------------------------------------

    def notice_hangup(self, cause: str) -> None:
        """The call is gone: fail every wait now (CHANNEL_HANGUP, or the socket closed)."""
        if self.hangup_cause is None:
            self.hangup_cause = cause
        pending, self._pending = self._pending, {}
        for waiting in pending.values():
            if not waiting.ready():
                waiting.set_exception(CallHungUp(self.hangup_cause))

    def _on_execute(self, frame: EslFrame) -> None:
        app = (frame.headers.get("Application") or "").lower()
        if app == "playback" and not self._playback_keys:
            return  # a prompt nobody may interrupt: a key during it is typed ahead
        if app in LISTENING_APPS:
            self._listening = True
            self._app_digits = []

    def _on_execute_complete(self, frame: EslFrame) -> None:
        self._listening = False
        waiting = self._pending.pop(frame.headers.get("Application-UUID", ""), None)
        if waiting is not None:
            waiting.set(frame)

    def _on_dtmf(self, frame: EslFrame) -> None:
        digit = frame.headers.get("DTMF-Digit", "")
        if not digit:
            return
        if self._listening:
            self._app_digits.append(digit)
        else:
            self._typeahead.append(digit)

    # ---- the wire ------------------------------------------------------------------------

    def _raise_if_gone(self) -> None:
        if self.hangup_cause is not None:
            raise CallHungUp(self.hangup_cause)

    def execute(self, app: str, arg: str = "", *, wait: bool = True, timeout: float = COMMAND_SLACK) -> Optional[EslFrame]:
        """Run a dialplan application on the call; with ``wait``, block until it completes."""
        self._raise_if_gone()
        # Each value is one header line of the sendmsg: the one validator refuses a CR/LF that
        # would add headers (another application) before anything is written.
        switch_values.variable_name(app, "application")
        switch_values.header_value(arg, f"{app} argument")
        app_uuid = str(uuidlib.uuid4())
        lines = ["sendmsg", "call-command: execute", f"execute-app-name: {app}", f"Event-UUID: {app_uuid}"]
        if arg:
            lines.append(f"execute-app-arg: {arg}")
        waiting: AsyncResult = AsyncResult()
        if wait:
            self._pending[app_uuid] = waiting
        began = time.perf_counter()
        try:
            reply = self.session.send("\n".join(lines), timeout=REPLY_TIMEOUT)
        except SwitchConnectionError as exc:
            self._pending.pop(app_uuid, None)
            self.notice_hangup(SOCKET_CLOSED)
            raise CallHungUp(self.hangup_cause or SOCKET_CLOSED) from exc
        self.round_trips.append(time.perf_counter() - began)
        text = reply.headers.get("Reply-Text", "")
        if not text.startswith("+OK"):
            self._pending.pop(app_uuid, None)
            self._raise_if_gone()
            raise SwitchCommandError(f"FreeSWITCH refused {app}: {text.strip()}")
        if not wait:
            return None
        try:
            result: EslFrame = waiting.get(timeout=timeout)  # type: ignore[assignment]  # types-gevent: get() may return None; with block=True it returns the value or raises
        except Timeout as exc:
            self._pending.pop(app_uuid, None)
            raise SwitchCommandError(f"{app} did not complete within {timeout:.0f}s") from exc
        return result

    def getvar(self, name: str) -> Optional[str]:
        """``getvar`` on the socket: one round trip, no application."""
        self._raise_if_gone()
        switch_values.variable_name(name, "getvar")
        began = time.perf_counter()
        try:
            reply = self.session.send(f"getvar {name}", timeout=REPLY_TIMEOUT)
        except SwitchConnectionError as exc:
            self.notice_hangup(SOCKET_CLOSED)
            raise CallHungUp(self.hangup_cause or SOCKET_CLOSED) from exc
        self.round_trips.append(time.perf_counter() - began)
        value = reply.headers.get("Reply-Text", "")
        return None if value in ("", "_undef_") or value.startswith("-ERR") else value

    def _set(self, name: str, value: str) -> None:
        """Set a channel variable, queued before the next application (no wait)."""
        self.execute("set", f"{name}={value}", wait=False)

    # ---- CallControl ---------------------------------------------------------------------

    def play(self, audio_path: str, escape_digits: str = "") -> str | None:
        if escape_digits:
            while self._typeahead:  # typed ahead: barge in at once with the first key allowed
                digit = self._typeahead.popleft()
                if digit in escape_digits:
                    return digit
        length = wav_duration(audio_path) if Path(audio_path).exists() else 60.0
        self._playback_keys = escape_digits
        self._set("playback_terminators", escape_digits or "none")
        done = self.execute("playback", audio_path, timeout=length + COMMAND_SLACK)
        assert done is not None
        if done.headers.get("Application-Response") == "FILE NOT FOUND":
            log.warning("call %s: FreeSWITCH cannot read %s", self.call_id, audio_path)
        if not escape_digits:
            return None
        pressed = next((d for d in self._app_digits if d in escape_digits), None)
        if pressed is None:  # pressed as the prompt was starting (FreeSWITCH let it pass)
            pressed = next((d for d in self._typeahead if d in escape_digits), None)
            if pressed is not None:
                self._typeahead.clear()
        return pressed

    def collect_digits(self, max_digits: int, timeout: float, finish_on_key: str | None,
                       inter_digit_timeout: float = 3.0) -> str:
        digits = ""
        while self._typeahead and len(digits) < max_digits:
            digit = self._typeahead.popleft()
            if finish_on_key and digit == finish_on_key:
                return digits
            digits += digit
        if len(digits) >= max_digits:
            return digits
        self._collects += 1
        variable = f"vp_digits_{self._collects}"
        first = inter_digit_timeout if digits else timeout
        wanted = max_digits - len(digits)
        arg = (f"1 {wanted} 1 {int(first * 1000)} {finish_on_key or 'none'} {PROMPTLESS} {PROMPTLESS} "
               f"{variable} [0-9*#]+ {int(inter_digit_timeout * 1000)}")
        done = self.execute("play_and_get_digits", arg,
                            timeout=first + inter_digit_timeout * wanted + COMMAND_SLACK)
        assert done is not None
        return digits + (done.headers.get(f"variable_{variable}") or "")

    def record(self, path: str, max_seconds: int, beep: bool, silence_timeout: float,
               finish_on_key: str | None, escape_digits: str = "") -> Recorded:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._typeahead.clear()
        if beep:
            self._playback_keys = ""
            self._set("playback_terminators", "none")
            self.execute("playback", BEEP, timeout=COMMAND_SLACK)
        terminators = escape_digits or finish_on_key or ""
        self._set("playback_terminators", terminators or "none")
        args = f"{path} {int(max_seconds)}"
        if silence_timeout > 0:
            args += f" {SILENCE_THRESHOLD} {max(1, math.ceil(silence_timeout))}"
        done = self.execute("record", args, timeout=max_seconds + COMMAND_SLACK)
        assert done is not None
        cause = done.headers.get("variable_record_completion_cause", "")
        duration = wav_duration(path) if Path(path).exists() else 0.0
        key = next((d for d in self._app_digits if d in terminators), None) if terminators else None
        if key is not None or cause == "success-terminator":
            ended_by = f"key:{key}" if key and escape_digits and key in escape_digits else "key"
        elif cause == "success-maxtime" or duration >= max_seconds - 0.5:
            ended_by = "max_length"
        else:
            ended_by = "silence"
        return Recorded(path, duration, ended_by)

    def transfer(self, target: str, kind: str, timeout: float, caller_id: str | None) -> str:
        # Rendered from the flow at run time: checked before anything is sent (UnsafeValueError).
        target = switch_values.transfer_target(target, kind)
        caller_number = switch_values.caller_id(caller_id).number if caller_id else None
        self._set("call_timeout", str(int(timeout)))
        self._set("hangup_after_bridge", "false")  # the flow goes on when the agent hangs up
        if kind == "queue":
            done = self.execute("callcenter", self.queue_template.format(queue=target), timeout=timeout + 3600)
            assert done is not None
            cause = (done.headers.get("variable_cc_cause") or "").lower()
            if cause in ("answered", "terminated"):
                return "completed"
            reason = (done.headers.get("variable_cc_cancel_reason") or "").upper()
            return "no-answer" if reason in ("TIMEOUT", "NO_AGENT_TIMEOUT", "") else "failed"
        dial = target if kind == "sip" else self.transfer_template.format(number=target)
        if caller_number:
            dial = f"{{origination_caller_id_number={caller_number}}}{dial}"
        done = self.execute("bridge", dial, timeout=timeout + 3600)
        assert done is not None
        disposition = (done.headers.get("variable_originate_disposition")
                       or done.headers.get("variable_last_bridge_hangup_cause") or "").upper()
        return _TRANSFER_RESULT.get(disposition, "failed")

    def hangup(self, reason: str = "normal") -> None:
        if self.hangup_cause is not None or self.hung_up_by_platform:
            return
        self.hung_up_by_platform = True
        try:
            reply = self.session.send("sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING", timeout=REPLY_TIMEOUT)
        except SwitchConnectionError as exc:
            log.debug("call %s: hangup over a closed socket: %s", self.call_id, exc)
            self.notice_hangup(SOCKET_CLOSED)
            return
        if not reply.headers.get("Reply-Text", "").startswith("+OK"):
            log.warning("call %s: FreeSWITCH refused the hangup: %s", self.call_id, reply.headers.get("Reply-Text"))
