"""A FreeSWITCH channel as the events describe it: states, caller profile, variables, times.

``event_data()`` reproduces ``switch_channel_event_set_basic_data`` /
``switch_caller_profile_event_set_data`` / ``switch_channel_event_set_extended_data``
(``src/switch_channel.c``, ``src/switch_caller.c``): ``Channel-State`` ... ``Answer-State``,
``Hangup-Cause`` once set, codecs, the ``Caller-*`` profile with its ``*-Time`` stamps, and
``variable_*`` for the event types FreeSWITCH extends (DTMF, for one, carries no variables).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from voiceplatform.testing.esl_event import EslEvent

# switch_types.h: switch_channel_state_t
CHANNEL_STATES = {
    "CS_NEW": 0, "CS_INIT": 1, "CS_ROUTING": 2, "CS_SOFT_EXECUTE": 3, "CS_EXECUTE": 4,
    "CS_EXCHANGE_MEDIA": 5, "CS_PARK": 6, "CS_CONSUME_MEDIA": 7, "CS_HIBERNATE": 8,
    "CS_RESET": 9, "CS_HANGUP": 10, "CS_REPORTING": 11, "CS_DESTROY": 12,
}

# switch_types.h: switch_call_cause_t (the Q.850 value FreeSWITCH puts in hangup_cause_q850)
HANGUP_CAUSES = {
    "UNALLOCATED_NUMBER": 1, "NO_ROUTE_DESTINATION": 3, "NORMAL_CLEARING": 16,
    "USER_BUSY": 17, "NO_USER_RESPONSE": 18, "NO_ANSWER": 19, "SUBSCRIBER_ABSENT": 20,
    "CALL_REJECTED": 21, "DESTINATION_OUT_OF_ORDER": 27, "INVALID_NUMBER_FORMAT": 28,
    "NORMAL_UNSPECIFIED": 31, "NORMAL_CIRCUIT_CONGESTION": 34, "NORMAL_TEMPORARY_FAILURE": 41,
    "RECOVERY_ON_TIMER_EXPIRE": 102, "ORIGINATOR_CANCEL": 487, "SYSTEM_SHUTDOWN": 503,
    "MANAGER_REQUEST": 703, "ALLOTTED_TIMEOUT": 802, "MEDIA_TIMEOUT": 604,
    "USER_NOT_REGISTERED": 606, "PROGRESS_TIMEOUT": 607, "GATEWAY_DOWN": 609,
}

# Events whose channel data includes variable_* (switch_channel_event_set_extended_data).
EXTENDED_EVENTS = frozenset({
    "CHANNEL_CREATE", "CHANNEL_ORIGINATE", "CHANNEL_UUID", "CHANNEL_ANSWER", "CHANNEL_PARK",
    "CHANNEL_UNPARK", "CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE", "CHANNEL_PROGRESS",
    "CHANNEL_PROGRESS_MEDIA", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE", "REQUEST_PARAMS",
    "CHANNEL_DATA", "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_DESTROY",
    "SESSION_HEARTBEAT", "API", "RECORD_START", "RECORD_STOP", "PLAYBACK_START",
    "PLAYBACK_STOP", "CALL_UPDATE", "MEDIA_BUG_START", "MEDIA_BUG_STOP", "CHANNEL_HOLD",
    "CHANNEL_UNHOLD", "TEXT", "CUSTOM",
})


def cause_code(cause: str) -> int:
    return HANGUP_CAUSES.get(cause, 0)


@dataclass
class Channel:
    """State of one call leg. Times are microseconds of the emulator's clock (0 = not yet)."""

    uuid: str
    name: str
    destination: str
    caller_id_name: str = "voiceplatform"
    caller_id_number: str = "0000000000"
    context: str = "default"
    dialplan: str = "XML"
    direction: str = "outbound"
    state: str = "CS_INIT"
    callstate: str = "DOWN"
    answered: bool = False
    early: bool = False
    hangup_cause: Optional[str] = None
    variables: dict[str, str] = field(default_factory=dict)
    created_us: int = 0
    progress_us: int = 0
    progress_media_us: int = 0
    answered_us: int = 0
    hungup_us: int = 0
    codec: str = "PCMU"
    rate: int = 8000

    @property
    def down(self) -> bool:
        return self.state in ("CS_HANGUP", "CS_REPORTING", "CS_DESTROY")

    def set_var(self, name: str, value: Optional[str]) -> None:
        """``switch_channel_set_variable``: an empty or None value removes the variable."""
        if value is None or value == "":
            self.variables.pop(name, None)
        else:
            self.variables[name] = str(value)

    def answer_state(self) -> str:
        if self.down:
            return "hangup"
        if self.answered:
            return "answered"
        if self.early:
            return "early"
        return "ringing"

    def event_data(self, event: EslEvent, prefix: str = "Caller") -> None:
        """Append the channel's basic (and, where FreeSWITCH does, extended) data."""
        h = event.headers
        h["Channel-State"] = self.state
        h["Channel-Call-State"] = self.callstate
        h["Channel-State-Number"] = str(CHANNEL_STATES[self.state])
        h["Channel-Name"] = self.name
        h["Unique-ID"] = self.uuid
        h["Call-Direction"] = self.direction
        h["Presence-Call-Direction"] = self.direction
        h["Channel-HIT-Dialplan"] = "false" if self.direction == "outbound" else "true"
        h["Channel-Call-UUID"] = self.variables.get("call_uuid", self.uuid)
        h["Answer-State"] = self.answer_state()
        if self.hangup_cause:
            h["Hangup-Cause"] = self.hangup_cause
        h["Channel-Read-Codec-Name"] = self.codec
        h["Channel-Read-Codec-Rate"] = str(self.rate)
        h["Channel-Read-Codec-Bit-Rate"] = "64000"
        h["Channel-Write-Codec-Name"] = self.codec
        h["Channel-Write-Codec-Rate"] = str(self.rate)
        h["Channel-Write-Codec-Bit-Rate"] = "64000"
        self.profile_data(event, prefix)
        if event.name in EXTENDED_EVENTS:
            for key, value in self.variables.items():
                h[f"variable_{key}"] = value

    def profile_data(self, event: EslEvent, prefix: str) -> None:
        """``switch_caller_profile_event_set_data``."""
        h = event.headers
        h[f"{prefix}-Direction"] = self.direction
        h[f"{prefix}-Logical-Direction"] = self.direction
        h[f"{prefix}-Dialplan"] = self.dialplan
        h[f"{prefix}-Caller-ID-Name"] = self.caller_id_name
        h[f"{prefix}-Caller-ID-Number"] = self.caller_id_number
        h[f"{prefix}-Orig-Caller-ID-Name"] = self.caller_id_name
        h[f"{prefix}-Orig-Caller-ID-Number"] = self.caller_id_number
        h[f"{prefix}-Callee-ID-Name"] = "Outbound Call"
        h[f"{prefix}-Callee-ID-Number"] = self.destination
        h[f"{prefix}-Network-Addr"] = "127.0.0.1"
        h[f"{prefix}-ANI"] = self.caller_id_number
        h[f"{prefix}-Destination-Number"] = self.destination
        h[f"{prefix}-Unique-ID"] = self.uuid
        h[f"{prefix}-Source"] = "src/switch_ivr_originate.c"
        h[f"{prefix}-Context"] = self.context
        h[f"{prefix}-Channel-Name"] = self.name
        h[f"{prefix}-Profile-Index"] = "1"
        h[f"{prefix}-Profile-Created-Time"] = str(self.created_us)
        h[f"{prefix}-Channel-Created-Time"] = str(self.created_us)
        h[f"{prefix}-Channel-Answered-Time"] = str(self.answered_us)
        h[f"{prefix}-Channel-Progress-Time"] = str(self.progress_us)
        h[f"{prefix}-Channel-Progress-Media-Time"] = str(self.progress_media_us)
        h[f"{prefix}-Channel-Hangup-Time"] = str(self.hungup_us)
        h[f"{prefix}-Channel-Transfer-Time"] = "0"
        h[f"{prefix}-Channel-Resurrect-Time"] = "0"
        h[f"{prefix}-Channel-Bridged-Time"] = "0"
        h[f"{prefix}-Channel-Last-Hold"] = "0"
        h[f"{prefix}-Channel-Hold-Accum"] = "0"
        h[f"{prefix}-Screen-Bit"] = "true"
        h[f"{prefix}-Privacy-Hide-Name"] = "false"
        h[f"{prefix}-Privacy-Hide-Number"] = "false"

    def set_hangup_timestamps(self) -> None:
        """The CDR variables FreeSWITCH sets before CHANNEL_HANGUP_COMPLETE
        (``switch_channel_set_timestamps``)."""
        created, answered, progress, ended = self.created_us, self.answered_us, self.progress_us, self.hungup_us
        self.set_var("start_epoch", str(created // 1_000_000))
        self.set_var("start_uepoch", str(created))
        self.set_var("answer_epoch", str(answered // 1_000_000))
        self.set_var("answer_uepoch", str(answered))
        self.set_var("progress_epoch", str(progress // 1_000_000))
        self.set_var("end_epoch", str(ended // 1_000_000))
        self.set_var("end_uepoch", str(ended))
        duration_us = max(0, ended - created)
        bill_us = max(0, ended - answered) if answered else 0
        self.variables["duration"] = str(duration_us // 1_000_000)
        self.variables["mduration"] = str(duration_us // 1000)
        self.variables["billsec"] = str(bill_us // 1_000_000)
        self.variables["billmsec"] = str(bill_us // 1000)
        self.variables["progresssec"] = str(max(0, progress - created) // 1_000_000 if progress else 0)
        self.variables["answersec"] = str(max(0, answered - created) // 1_000_000 if answered else 0)
        self.variables["waitsec"] = str(max(0, answered - created) // 1_000_000 if answered else 0)
