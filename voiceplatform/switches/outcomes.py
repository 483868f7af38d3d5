"""One fixed set of call outcomes, whatever the switch said.

Asterisk reports a failed Originate as an OriginateResponse ``Reason`` (a number), a channel's end
as a Q.850 ``Cause`` (a number) and a Dial as ``DIALSTATUS`` (a word); FreeSWITCH reports a
``Hangup-Cause`` name. All of them map here.
"""

from __future__ import annotations

from enum import Enum


class CallOutcome(str, Enum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    REJECTED = "rejected"
    CONGESTION = "congestion"
    FAILED = "failed"
    MACHINE = "machine"


# Asterisk OriginateResponse Reason codes (include/asterisk/frame.h AST_CONTROL_*)
ORIGINATE_REASON = {
    "0": CallOutcome.FAILED,  # no such channel / failed before dialling
    "1": CallOutcome.NO_ANSWER,  # AST_CONTROL_HANGUP: hung up before answer
    "3": CallOutcome.NO_ANSWER,  # AST_CONTROL_RINGING: rang until the timeout
    "4": CallOutcome.ANSWERED,
    "5": CallOutcome.BUSY,
    "8": CallOutcome.CONGESTION,
}

# Q.850 cause codes as Asterisk reports them (Cause header of Hangup events)
Q850 = {
    "16": CallOutcome.ANSWERED,  # normal clearing (when the call had been answered)
    "17": CallOutcome.BUSY,
    "18": CallOutcome.NO_ANSWER,  # no user responding
    "19": CallOutcome.NO_ANSWER,  # no answer
    "21": CallOutcome.REJECTED,
    "1": CallOutcome.FAILED,  # unallocated number
    "3": CallOutcome.FAILED,  # no route
    "20": CallOutcome.FAILED,  # subscriber absent
    "27": CallOutcome.FAILED,  # destination out of order
    "28": CallOutcome.FAILED,  # invalid number format
    "34": CallOutcome.CONGESTION,
    "38": CallOutcome.CONGESTION,
    "41": CallOutcome.CONGESTION,
    "42": CallOutcome.CONGESTION,
    "44": CallOutcome.CONGESTION,
}

DIAL_STATUS = {
    "ANSWER": CallOutcome.ANSWERED,
    "BUSY": CallOutcome.BUSY,
    "NOANSWER": CallOutcome.NO_ANSWER,
    "CANCEL": CallOutcome.NO_ANSWER,
    "CONGESTION": CallOutcome.CONGESTION,
    "CHANUNAVAIL": CallOutcome.FAILED,
    "DONTCALL": CallOutcome.REJECTED,
    "TORTURE": CallOutcome.REJECTED,
    "INVALIDARGS": CallOutcome.FAILED,
}

# FreeSWITCH Hangup-Cause names (switch_channel_cause_t)
FREESWITCH_CAUSE = {
    "NORMAL_CLEARING": CallOutcome.ANSWERED,
    "USER_BUSY": CallOutcome.BUSY,
    "NO_ANSWER": CallOutcome.NO_ANSWER,
    "NO_USER_RESPONSE": CallOutcome.NO_ANSWER,
    "ORIGINATOR_CANCEL": CallOutcome.NO_ANSWER,
    "ALLOTTED_TIMEOUT": CallOutcome.NO_ANSWER,
    "CALL_REJECTED": CallOutcome.REJECTED,
    "USER_NOT_REGISTERED": CallOutcome.FAILED,
    "UNALLOCATED_NUMBER": CallOutcome.FAILED,
    "NO_ROUTE_DESTINATION": CallOutcome.FAILED,
    "INVALID_NUMBER_FORMAT": CallOutcome.FAILED,
    "DESTINATION_OUT_OF_ORDER": CallOutcome.FAILED,
    "SUBSCRIBER_ABSENT": CallOutcome.FAILED,
    "NORMAL_CIRCUIT_CONGESTION": CallOutcome.CONGESTION,
    "SWITCH_CONGESTION": CallOutcome.CONGESTION,
    "NORMAL_TEMPORARY_FAILURE": CallOutcome.CONGESTION,
    "RECOVERY_ON_TIMER_EXPIRE": CallOutcome.NO_ANSWER,
}


ORIGINATE_REASON_TEXT = {
    "0": "failed before dialling",
    "1": "hung up before answer",
    "3": "rang until the timeout",
    "4": "answered",
    "5": "busy",
    "8": "congestion",
}


def describe_originate_reason(reason: str | int | None) -> str:
    return f"originate reason {reason} ({ORIGINATE_REASON_TEXT.get(str(reason), 'unknown')})"


def from_originate_reason(reason: str | int | None) -> CallOutcome:
    return ORIGINATE_REASON.get(str(reason), CallOutcome.FAILED)


def from_q850(cause: str | int | None, *, answered: bool) -> CallOutcome:
    if answered:
        return CallOutcome.ANSWERED
    outcome = Q850.get(str(cause), CallOutcome.FAILED)
    return CallOutcome.NO_ANSWER if outcome is CallOutcome.ANSWERED else outcome


def from_dial_status(status: str | None) -> CallOutcome:
    return DIAL_STATUS.get((status or "").upper(), CallOutcome.FAILED)


def from_freeswitch(cause: str | None, *, answered: bool) -> CallOutcome:
    if answered:
        return CallOutcome.ANSWERED
    outcome = FREESWITCH_CAUSE.get((cause or "").upper(), CallOutcome.FAILED)
    return CallOutcome.NO_ANSWER if outcome is CallOutcome.ANSWERED else outcome
