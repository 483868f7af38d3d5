"""One fixed set of call outcomes, whatever the switch said.

Asterisk reports a failed Originate as an OriginateResponse ``Reason`` (a number), a channel's end
as a Q.850 ``Cause`` (a number) and a Dial as ``DIALSTATUS`` (a word); FreeSWITCH reports a
``Hangup-Cause`` name. All of them map here, onto ``voiceplatform.calls.outcomes.CallOutcome``.
"""

from __future__ import annotations

from dataclasses import dataclass

from voiceplatform.calls.outcomes import CallOutcome


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
    "22": CallOutcome.FAILED,  # number changed (410 Gone)
    "29": CallOutcome.FAILED,  # facility rejected (501)
    "58": CallOutcome.FAILED,  # bearer capability not available (488 Not Acceptable Here)
    "65": CallOutcome.FAILED,  # bearer capability not implemented
    "88": CallOutcome.FAILED,  # incompatible destination
    "102": CallOutcome.FAILED,  # recovery on timer expiry (504 Server Time-out)
    "127": CallOutcome.FAILED,  # interworking (a 4xx with no better mapping)
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
    # the trunk never answered the INVITE (timer B), or a 504: nothing rang
    "RECOVERY_ON_TIMER_EXPIRE": CallOutcome.FAILED,
    "INCOMPATIBLE_DESTINATION": CallOutcome.FAILED,  # 488, 606
    "BEARERCAPABILITY_NOTAVAIL": CallOutcome.FAILED,
    "NUMBER_CHANGED": CallOutcome.FAILED,
    "INTERWORKING": CallOutcome.FAILED,
}


ORIGINATE_REASON_TEXT = {
    "0": "failed before dialling",
    "1": "hung up before answer",
    "3": "rang until the timeout",
    "4": "answered",
    "5": "busy",
    "8": "congestion",
}


#: The words the platform records when the switch gave no cause of its own.
RANG_UNTIL_TIMEOUT = "no answer: rang until the timeout"
TRUNK_DID_NOT_RESPOND = "the trunk did not respond (nothing rang)"

#: Q.850 causes that say "the call was cleared" rather than why it failed: for a call that was
#: never answered they do not decide the outcome (0 is what PJSIP reports when the OriginateResponse
#: came first, or a BYE carried no Reason header; 16 is a normal clearing).
UNINFORMATIVE_CAUSES = frozenset({"", "0", "16"})


@dataclass(frozen=True)
class Unanswered:
    """What Asterisk said about a call that was never answered, from every source it has."""

    cause: str | None  # Q.850, the Hangup event's Cause
    cause_text: str  # the Hangup event's Cause-txt
    dial_status: str | None  # the DialEnd event's DialStatus
    originate_reason: str | None  # the OriginateResponse's Reason
    rang: bool  # the channel reached the Ringing state (a 180/183 over SIP)


def classify_unanswered(end: Unanswered) -> tuple[CallOutcome, str]:
    """The outcome and cause of an unanswered call, from the switch's own cause first.

    1. A Hangup cause that says why (17 busy, 21 rejected, 34 congestion, 1 unallocated...): the
       SIP final response decided it (see docs/sip-outcomes.md).
    2. Else a DialEnd status other than a timeout (BUSY, CONGESTION, CHANUNAVAIL...).
    3. Else it timed out: "no-answer" only if it rang; a trunk that never answered the INVITE
       (or a closed port) is "failed", since retrying a dead trunk in an hour helps nobody.
    4. Else the OriginateResponse reason, for a channel driver that reports nothing else.
    """
    cause = (end.cause or "").strip()
    if cause not in UNINFORMATIVE_CAUSES:
        outcome = Q850.get(cause, CallOutcome.FAILED)
        if outcome is CallOutcome.ANSWERED:  # pragma: no cover - 16 is filtered above
            outcome = CallOutcome.NO_ANSWER
        if outcome is CallOutcome.NO_ANSWER and not end.rang and str(end.originate_reason) in ("1", "3"):
            return CallOutcome.FAILED, f"{TRUNK_DID_NOT_RESPOND}; cause {cause} {end.cause_text}".strip()
        return outcome, f"{cause} {end.cause_text}".strip()
    status = (end.dial_status or "").upper()
    if status and status not in ("NOANSWER", "CANCEL", "ANSWER"):
        return from_dial_status(status), f"dial status {status}"
    reason = str(end.originate_reason) if end.originate_reason is not None else ""
    timed_out = reason in ("1", "3") or status in ("NOANSWER", "CANCEL")
    if timed_out or reason in ("", "0"):
        if end.rang:
            return CallOutcome.NO_ANSWER, RANG_UNTIL_TIMEOUT
        if timed_out:
            return CallOutcome.FAILED, TRUNK_DID_NOT_RESPOND
    return from_originate_reason(reason), describe_originate_reason(reason)


#: FreeSWITCH causes that only say "the originate timed out": no-answer only if the leg rang.
FREESWITCH_TIMEOUTS = frozenset({"NO_ANSWER", "ORIGINATOR_CANCEL", "PROGRESS_TIMEOUT", "ALLOTTED_TIMEOUT"})


def classify_freeswitch_unanswered(cause: str | None, *, rang: bool) -> tuple[CallOutcome, str]:
    """The outcome and cause of an unanswered FreeSWITCH call, by the rule Asterisk's follows:
    the Hangup-Cause decides (``FREESWITCH_CAUSE``), except that a timeout is ``no-answer`` only
    if the leg rang (a CHANNEL_PROGRESS, a 180/183 over SIP). An originate that timed out with
    nothing ringing (a trunk that never answered the INVITE) is ``failed``, cause
    "the trunk did not respond (nothing rang); NO_ANSWER". RECOVERY_ON_TIMER_EXPIRE (sofia's
    timer B, and also a 408 or 504 from the far end: sofia names them alike) is ``failed``."""
    name = (cause or "").strip().upper()
    if name in FREESWITCH_TIMEOUTS and not rang:
        return CallOutcome.FAILED, f"{TRUNK_DID_NOT_RESPOND}; {name}"
    return from_freeswitch(name, answered=False), cause or ""


def answered_cause(cause: str | None, text: str) -> str:
    """The cause of an answered call's end. A BYE without a Reason header reaches Asterisk as
    cause 0 (unknown); the callee simply hung up, which Q.850 calls 16, normal clearing."""
    if (cause or "0") == "0":
        return "16 Normal Clearing"
    return f"{cause} {text}".strip()


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
