"""CallControl over one FastAGI session (panoramisk's Request), as blocking calls.

A hang-up is noticed at once wherever the flow is: Asterisk answers the running command with
``result=-1`` (or sends ``HANGUP``), the AMI Hangup event sets ``hung_up``, and a closed socket
(Asterisk gone) counts as a hang-up with cause ``switch_lost``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from voiceplatform.exceptions import SwitchCommandError
from voiceplatform.safety import switch_values
from voiceplatform.speech.audio import wav_duration
from voiceplatform.switches.asterisk.async_bridge import AsyncBridge, BridgeTimeout
from voiceplatform.switches.call_control import CallHungUp, Recorded
from voiceplatform.switches.outcomes import from_dial_status

COMMAND_SLACK = 30.0  # seconds beyond a command's own length before we give up on Asterisk


class AgiCallControl:
    def __init__(self, bridge: AsyncBridge, request: Any, call_id: str, transfer_template: str) -> None:
        self.bridge = bridge
        self.request = request
        self.call_id = call_id
        self.transfer_template = transfer_template
        self.hangup_cause: str | None = None
        self.hung_up_by_platform = False
        self.round_trips: list[float] = []  # seconds, for commands that return at once
        # Type-ahead: every key the callee pressed, as AMI's DTMFEnd events report them (the
        # driver appends), and how many of them a command has already returned. Asterisk drops a
        # key that arrives while no command reads keys (a prompt without barge-in, the gap
        # between commands); the difference is the keys still owed to the next gather.
        self.heard: list[str] = []
        self.taken = 0

    # ---- the wire ----------------------------------------------------------------------

    def notice_hangup(self, cause: str) -> None:
        """Called from the AMI side when the channel's Hangup event arrives."""
        if self.hangup_cause is None:
            self.hangup_cause = cause

    def command(self, line: str, *, timeout: float = COMMAND_SLACK, quick: bool = False) -> tuple[str, str, dict[str, Any]]:
        """Send one AGI command. Returns (result, data, parsed). Raises CallHungUp."""
        if self.hangup_cause is not None:
            raise CallHungUp(self.hangup_cause)
        switch_values.agi_command(line)  # one line, no CR/LF/control characters: one command
        began = time.perf_counter()
        try:
            parsed = self.bridge.call(self.request.send_command(line), timeout=timeout)
        except BridgeTimeout as exc:
            raise SwitchCommandError(f"AGI {line.split()[0]} got no answer in {timeout:.0f}s") from exc
        except (ConnectionError, OSError, EOFError) as exc:
            self.notice_hangup("switch_lost")  # the FastAGI socket died: Asterisk is gone
            raise CallHungUp(self.hangup_cause or "switch_lost") from exc
        except ValueError as exc:
            # panoramisk's parser fails on the empty line it reads at end of stream
            if self.request.reader.at_eof():
                self.notice_hangup("switch_lost")
                raise CallHungUp(self.hangup_cause or "switch_lost") from exc
            raise SwitchCommandError(f"AGI {line.split()[0]}: unreadable reply ({exc})") from exc
        if quick:
            self.round_trips.append(time.perf_counter() - began)
        if parsed.get("error") in ("AGIResultHangup", "AGIAppError"):
            # panoramisk reports "200 result=-1" (the channel is gone) as AGIAppError
            raise CallHungUp(self.hangup_cause or "caller")
        if "result" not in parsed:
            if self.request.reader.at_eof():
                self.notice_hangup("switch_lost")
                raise CallHungUp(self.hangup_cause or "switch_lost")
            raise SwitchCommandError(f"AGI {line!r} failed: {parsed}")
        result, data = parsed["result"]
        if result == "-1":
            raise CallHungUp(self.hangup_cause or "caller")
        if not result.isdigit():
            # A line cut short: Asterisk died while answering (seen as result ''), or garbage.
            if self.request.reader.at_eof() or not result:
                self.notice_hangup("switch_lost")
                raise CallHungUp(self.hangup_cause or "switch_lost")
            raise SwitchCommandError(f"AGI {line!r} gave a result that is not a number: {parsed}")
        return result, data, parsed

    # ---- CallControl ---------------------------------------------------------------------

    def pending_digits(self) -> list[str]:
        """Keys pressed that no command has returned yet (typed ahead)."""
        return self.heard[self.taken:]

    def _typed_ahead(self) -> str | None:
        pending = self.pending_digits()
        if not pending:
            return None
        self.taken += 1
        return pending[0]

    def play(self, audio_path: str, escape_digits: str = "") -> str | None:
        if escape_digits:  # a prompt the caller may interrupt: a key typed ahead interrupts it at once
            ahead = self._typed_ahead()
            if ahead is not None:
                return ahead
        stem = _stem(audio_path)
        length = wav_duration(audio_path) if Path(audio_path).exists() else 60.0
        result, _data, _ = self.command(f'STREAM FILE {stem} "{escape_digits}"', timeout=length + COMMAND_SLACK)
        if result in ("0", ""):
            return None
        self.taken += 1
        return chr(int(result))

    def collect_digits(self, max_digits: int, timeout: float, finish_on_key: str | None,
                       inter_digit_timeout: float = 3.0) -> str:
        digits = ""
        wait = timeout
        while len(digits) < max_digits:
            digit_ahead = self._typed_ahead()
            if digit_ahead is None:
                result, _data, _ = self.command(f"WAIT FOR DIGIT {int(wait * 1000)}", timeout=wait + COMMAND_SLACK)
                if result == "0":
                    break
                self.taken += 1
            digit = digit_ahead or chr(int(result))
            if finish_on_key and digit == finish_on_key:
                break
            digits += digit
            wait = inter_digit_timeout
        return digits

    def record(self, path: str, max_seconds: int, beep: bool, silence_timeout: float,
               finish_on_key: str | None, escape_digits: str = "") -> Recorded:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        escape = escape_digits or finish_on_key or ""
        parts = [f"RECORD FILE {_stem(path)} wav \"{escape}\" {int(max_seconds * 1000)} 0"]
        if beep:
            parts.append("BEEP")
        if silence_timeout > 0:
            parts.append(f"s={max(1, math.ceil(silence_timeout))}")
        result, data, _parsed = self.command(" ".join(parts), timeout=max_seconds + COMMAND_SLACK)
        duration = wav_duration(path) if Path(path).exists() else 0.0
        if result not in ("0", "") and result.isdigit():
            self.taken += 1
            key = chr(int(result))
            ended_by = f"key:{key}" if escape_digits and key in escape_digits else "key"
        elif "timeout" in (data or "") or duration >= max_seconds - 0.5:
            ended_by = "max_length"
        else:
            ended_by = "silence"
        return Recorded(path, duration, ended_by)

    def transfer(self, target: str, kind: str, timeout: float, caller_id: str | None) -> str:
        # Rendered from the flow at run time: checked before anything is sent (UnsafeValueError);
        # no "," "&" "|" can add Dial options or channels, no quote can end the SET VARIABLE.
        target = switch_values.transfer_target(target, kind)
        if caller_id:
            number = switch_values.caller_id(caller_id).number
            self.command(f'SET VARIABLE CALLERID(num) "{number}"', quick=True)
        # Option c (Queue) and g (Dial): when the agent hangs up, the caller's channel stays up and
        # the flow goes on; the statuses tell how the transfer ended.
        if kind == "queue":
            self.command(f"EXEC Queue {target},c,,,{int(timeout)}", timeout=timeout + 3600)
            _r, status, _ = self.command("GET VARIABLE QUEUESTATUS", quick=True)
            if status in ("", "CONTINUE"):
                return "completed"  # bridged to an agent, who hung up first
            return "no-answer" if status in ("TIMEOUT", "JOINEMPTY", "LEAVEEMPTY", "JOINUNAVAIL", "LEAVEUNAVAIL") else "failed"
        dial = target if kind == "sip" else self.transfer_template.format(number=target)
        self.command(f"EXEC Dial {dial},{int(timeout)},g", timeout=timeout + 3600)
        _r, status, _ = self.command("GET VARIABLE DIALSTATUS", quick=True)
        outcome = from_dial_status(status)
        return {"answered": "completed", "busy": "busy", "no-answer": "no-answer"}.get(outcome.value, "failed")

    def hangup(self, reason: str = "normal") -> None:
        if self.hangup_cause is not None:
            return
        self.hung_up_by_platform = True
        try:
            self.command("HANGUP", quick=True)
        except CallHungUp:
            pass

    def channel_variable(self, name: str) -> str | None:
        switch_values.variable_name(name, "GET VARIABLE")
        result, data, _ = self.command(f"GET VARIABLE {name}", quick=True)
        return data if result == "1" else None


def _stem(path: str) -> str:
    """Asterisk names sound files without their extension."""
    return str(Path(path).with_suffix(""))
