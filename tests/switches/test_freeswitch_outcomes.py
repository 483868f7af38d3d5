"""FreeSWITCH gives the SIP table's outcomes (docs/sip-outcomes.md), from its Hangup-Cause names.

The emulator's ``sip-<code>`` callees fail the originate with the Hangup-Cause sofia reports for
that SIP final response (``sofia_glue_sip_cause_to_freeswitch``); ``never-respond`` is a trunk
that never answers the INVITE (no CHANNEL_PROGRESS). Each outcome is asserted against the table
the Asterisk SIP run asserts (``tests/switches/test_sip_calls.py::REJECTS``), so the two switches
cannot drift apart unnoticed. Also here: a key pressed during a greeting (a ``say``, before the
menu's gather) reaches the gather (type-ahead), as on Asterisk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.switches.lab_calls import CONTACT, FLOWS, services_with_shared_tts, unique_account
from voiceplatform.flow import load_flow
from voiceplatform.switches.call_record import CallRecord
from voiceplatform.switches.freeswitch import FreeSwitchConfig, FreeSwitchDriver
from voiceplatform.calls.outcomes import CallOutcome
from voiceplatform.switches.outcomes import TRUNK_DID_NOT_RESPOND
from voiceplatform.testing.freeswitch import FreeSwitchEmulator

TIME_SCALE = 0.05
# SIP final response -> (FreeSWITCH Hangup-Cause, outcome). The outcomes are Asterisk's too
# (test_sip_calls.REJECTS), except 408: sofia names a far end's 408 and its own timer B alike
# (RECOVERY_ON_TIMER_EXPIRE), so on FreeSWITCH it is "failed" where Asterisk says no-answer (18).
TABLE = {
    "486": ("USER_BUSY", CallOutcome.BUSY),
    "480": ("NO_USER_RESPONSE", CallOutcome.NO_ANSWER),
    "408": ("RECOVERY_ON_TIMER_EXPIRE", CallOutcome.FAILED),
    "603": ("CALL_REJECTED", CallOutcome.REJECTED),
    "503": ("NORMAL_TEMPORARY_FAILURE", CallOutcome.CONGESTION),
    "404": ("UNALLOCATED_NUMBER", CallOutcome.FAILED),
    "488": ("INCOMPATIBLE_DESTINATION", CallOutcome.FAILED),
}
ASTERISK_DIFFERS = {"408"}


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, CallRecord]]:
    media = tmp_path_factory.mktemp("fs-outcomes")
    flow = load_flow(FLOWS / "payment_reminder.yaml")
    with FreeSwitchEmulator(time_scale=TIME_SCALE) as fs:
        config = FreeSwitchConfig(esl_port=fs.port, media_dir=media, account=unique_account())
        with FreeSwitchDriver(config, services_with_shared_tts(media)) as driver:
            placed = {f"sip-{code}": driver.place_call(flow, f"sip-{code}", dict(CONTACT), timeout=20)
                      for code in TABLE}
            # timer B (32 s) before the originate timeout, and the originate timeout first
            placed["never-respond"] = driver.place_call(flow, "never-respond", dict(CONTACT), timeout=40)
            placed["never-respond-short"] = driver.place_call(flow, "never-respond", dict(CONTACT), timeout=6)
            placed["no-answer"] = driver.place_call(flow, "no-answer", dict(CONTACT), timeout=6)
            placed["dtmf-during-greeting"] = driver.place_call(flow, "dtmf-during-greeting", dict(CONTACT),
                                                               variables={"VP_AMD": "no"})
            yield {name: call.wait(120) for name, call in placed.items()}


@pytest.mark.parametrize("code", sorted(TABLE))
def test_each_sip_final_response_gives_the_tables_outcome(records: dict[str, CallRecord], code: str) -> None:
    cause, outcome = TABLE[code]
    record = records[f"sip-{code}"]
    assert (record.outcome, record.cause) == (outcome, cause)
    assert record.path == [] and "answered" not in record.timestamps and "ringing" not in record.timestamps


@pytest.mark.parametrize("code", sorted(set(TABLE) - ASTERISK_DIFFERS))
def test_the_outcome_is_the_one_asterisk_gives(code: str) -> None:
    from tests.switches.test_sip_calls import REJECTS

    assert TABLE[code][1] is REJECTS[code][1]


def test_a_trunk_that_never_responds_is_failed(records: dict[str, CallRecord]) -> None:
    timer_b, timed_out = records["never-respond"], records["never-respond-short"]
    assert (timer_b.outcome, timer_b.cause) == (CallOutcome.FAILED, "RECOVERY_ON_TIMER_EXPIRE")
    # the originate timeout came first: FreeSWITCH says NO_ANSWER, but nothing ever rang
    assert timed_out.outcome is CallOutcome.FAILED
    assert timed_out.cause == f"{TRUNK_DID_NOT_RESPOND}; NO_ANSWER"
    assert "ringing" not in timer_b.timestamps and "ringing" not in timed_out.timestamps


def test_ringing_until_the_timeout_is_still_no_answer(records: dict[str, CallRecord]) -> None:
    record = records["no-answer"]
    assert (record.outcome, record.cause) == (CallOutcome.NO_ANSWER, "NO_ANSWER") and "ringing" in record.timestamps


def test_a_key_pressed_during_the_greeting_reaches_the_menu(records: dict[str, CallRecord]) -> None:
    record = records["dtmf-during-greeting"]
    assert record.results == {"choice": "1"}, record.transcript
    assert record.path[:3] == ["greeting", "menu", "pay"]
    assert "contact: pressed 1" in record.transcript
    assert "bot (listening: dtmf/speech, 5s, attempt 2)" not in record.transcript
