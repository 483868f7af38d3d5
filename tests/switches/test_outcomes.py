"""Outcomes from the switch's own cause: every SIP final response the lab's carrier gives."""

from __future__ import annotations

import pytest

from voiceplatform.calls.outcomes import CallOutcome
from voiceplatform.switches.outcomes import (RANG_UNTIL_TIMEOUT, TRUNK_DID_NOT_RESPOND, Unanswered, answered_cause,
                                             classify_unanswered, from_freeswitch)

# SIP final response -> (Q.850 cause as Asterisk's PJSIP reports it, FreeSWITCH's name, outcome)
SIP_TABLE = {
    486: ("17", "USER_BUSY", CallOutcome.BUSY),
    600: ("17", "USER_BUSY", CallOutcome.BUSY),
    480: ("19", "NO_ANSWER", CallOutcome.NO_ANSWER),
    408: ("18", "NO_USER_RESPONSE", CallOutcome.NO_ANSWER),
    603: ("21", "CALL_REJECTED", CallOutcome.REJECTED),
    403: ("21", "CALL_REJECTED", CallOutcome.REJECTED),
    503: ("34", "NORMAL_CIRCUIT_CONGESTION", CallOutcome.CONGESTION),
    404: ("1", "UNALLOCATED_NUMBER", CallOutcome.FAILED),
    484: ("28", "INVALID_NUMBER_FORMAT", CallOutcome.FAILED),
    488: ("58", "INCOMPATIBLE_DESTINATION", CallOutcome.FAILED),
    502: ("27", "DESTINATION_OUT_OF_ORDER", CallOutcome.FAILED),
    504: ("102", "RECOVERY_ON_TIMER_EXPIRE", CallOutcome.FAILED),
}


@pytest.mark.parametrize("code", sorted(SIP_TABLE))
def test_the_hangup_cause_decides_not_originate_reason_0(code: int) -> None:
    cause, fs_name, outcome = SIP_TABLE[code]
    got, text = classify_unanswered(Unanswered(cause, "words", None, "0", rang=False))
    assert got is outcome and text == f"{cause} words"
    assert from_freeswitch(fs_name, answered=False) is outcome  # the same table for FreeSWITCH


def test_a_timeout_is_no_answer_only_if_it_rang() -> None:
    rang = classify_unanswered(Unanswered(None, "", None, "3", rang=True))
    silent = classify_unanswered(Unanswered(None, "", None, "3", rang=False))
    assert rang == (CallOutcome.NO_ANSWER, RANG_UNTIL_TIMEOUT)
    assert silent == (CallOutcome.FAILED, TRUNK_DID_NOT_RESPOND)
    # a "no answer" cause from our own timeout, with nothing ringing, is still a dead trunk
    assert classify_unanswered(Unanswered("19", "No answer", None, "1", rang=False))[0] is CallOutcome.FAILED
    assert classify_unanswered(Unanswered("0", "Unknown", "NOANSWER", "0", rang=True))[0] is CallOutcome.NO_ANSWER


def test_dial_status_speaks_when_the_cause_does_not() -> None:
    assert classify_unanswered(Unanswered("0", "", "BUSY", "0", rang=False)) == (CallOutcome.BUSY, "dial status BUSY")
    assert classify_unanswered(Unanswered(None, "", "CONGESTION", "0", rang=False))[0] is CallOutcome.CONGESTION


def test_nothing_at_all_is_a_failure_before_dialling() -> None:
    outcome, text = classify_unanswered(Unanswered(None, "", None, "0", rang=False))
    assert outcome is CallOutcome.FAILED and "failed before dialling" in text


def test_a_bye_without_reason_is_normal_clearing() -> None:
    assert answered_cause("0", "Unknown") == "16 Normal Clearing"
    assert answered_cause("", "") == "16 Normal Clearing"
    assert answered_cause("16", "Normal Clearing") == "16 Normal Clearing"
    assert answered_cause("34", "Circuit/channel congestion") == "34 Circuit/channel congestion"
