"""Real calls through the real Asterisk lab: every scripted callee against the example flows.

All scenarios are placed at once (as a campaign would), then each test asserts on its own call:
outcome, cause, path, digits and speech, recordings, AMD, and how fast a hang-up ends a session.
"""

from __future__ import annotations

import audioop
import wave
from pathlib import Path
from typing import Iterator

import pytest

from tests.switches.lab_calls import CONTACT, FLOWS, REPO, WebhookServer, flow_with_api, unique_account
from voiceplatform.flow import load_flow
from voiceplatform.speech.audio import sha256_of, wav_duration
from voiceplatform.switches.asterisk import AsteriskConfig, AsteriskDriver
from voiceplatform.switches.call_record import CallRecord
from voiceplatform.switches.outcomes import CallOutcome
from voiceplatform.switches.services import default_services

pytestmark = pytest.mark.integration

SCENARIOS = {
    # name: (flow, callee, extra channel variables, ring timeout)
    "press-1": ("payment_reminder", "answer-press-1", {}, 20),
    "wrong-then-right": ("payment_reminder", "wrong-then-right", {}, 20),
    "say-yes": ("appointment", "say-yes", {}, 20),
    "silent": ("payment_reminder", "silent", {"VP_AMD": "no"}, 20),
    "busy": ("payment_reminder", "busy", {}, 20),
    "no-answer": ("payment_reminder", "no-answer", {}, 6),
    "hangup-mid-prompt": ("satisfaction_survey", "hangup-mid-prompt", {}, 20),
    "machine": ("payment_reminder", "machine", {}, 20),
    "survey-comment": ("satisfaction_survey", "answer-press-1", {}, 20),
    "voicemail-recording": ("leave_message", "say-yes", {"VP_AMD": "no"}, 20),
    "queue-transfer": ("payment_reminder", "answer-press-2", {}, 20),
    "dial-transfer": ("transfer_number", "silent", {"VP_AMD": "no"}, 20),
    "dial-transfer-busy": ("transfer_number", "silent", {"VP_AMD": "no"}, 20),
}
AGENTS = {"dial-transfer": "agent-desk", "dial-transfer-busy": "busy"}


@pytest.fixture(scope="module")
def calls(asterisk_lab, tmp_path_factory) -> Iterator[dict[str, tuple[CallRecord, object]]]:  # type: ignore[no-untyped-def]
    config = AsteriskConfig.from_lab(account=unique_account())
    tmp = tmp_path_factory.mktemp("flows")
    with WebhookServer() as webhook, AsteriskDriver(config, default_services(config.media_dir)) as driver:
        flows = {
            "payment_reminder": load_flow(FLOWS / "payment_reminder.yaml"),
            "satisfaction_survey": load_flow(FLOWS / "satisfaction_survey.yaml"),
            "appointment": load_flow(flow_with_api(tmp, webhook.url)),
            "leave_message": load_flow(REPO / "tests" / "switches" / "flows" / "leave_message.yaml"),
            "transfer_number": load_flow(REPO / "tests" / "switches" / "flows" / "transfer_number.yaml"),
        }
        placed = {
            name: driver.place_call(flows[flow], callee, {**CONTACT, "agent": AGENTS.get(name, "")},
                                    variables=variables, timeout=ring)
            for name, (flow, callee, variables, ring) in SCENARIOS.items()
        }
        records = {name: (call.wait(240), webhook) for name, call in placed.items()}
        yield records


def record_of(calls, name: str) -> CallRecord:  # type: ignore[no-untyped-def]
    return calls[name][0]


def test_press_1_pays(calls) -> None:  # type: ignore[no-untyped-def]
    record = record_of(calls, "press-1")
    assert record.outcome is CallOutcome.ANSWERED and record.amd == "HUMAN"
    assert record.path == ["greeting", "menu", "pay", "pay_link_sms", "pay_link_sent", "goodbye", "hangup"]
    assert "contact: pressed 1" in record.transcript
    assert record.results == {"choice": "1"}
    assert [m["channel"] for m in record.messages] == ["sms"]  # the payment link, sent from the call
    assert record.cause.startswith("16 ") and record.errors == []
    stamps = record.timestamps
    assert stamps["queued"] <= stamps["dialling"] <= stamps["answered"] <= stamps["session_ended"] <= stamps["ended"]
    assert 5 < record.billable_seconds < 120


def test_wrong_key_is_re_asked_then_accepted(calls) -> None:  # type: ignore[no-untyped-def]
    record = record_of(calls, "wrong-then-right")
    pressed = [line for line in record.transcript if line.startswith("contact: pressed")]
    assert pressed == ["contact: pressed 9", "contact: pressed 1"]
    assert "bot (listening: dtmf/speech, 5s, attempt 2)" in record.transcript
    assert record.results == {"choice": "1"} and record.path[-1] == "hangup"


def test_spoken_yes_confirms_and_calls_the_webhook(calls) -> None:  # type: ignore[no-untyped-def]
    record, webhook = calls["say-yes"]
    said = [line for line in record.transcript if line.startswith("contact (said")]
    assert len(said) == 1  # one utterance, recognised as one of the Yes choice's phrases
    answer = record.final_state["results"]["attendance"]
    assert answer["value"] == "1" and answer["label"] == "Yes"
    assert answer["input"] in ("yes", "yeah", "yep", "confirm", "correct", "sure", "y")
    assert record.path == ["greeting", "confirm", "confirmed", "confirmed_message", "goodbye", "hangup"]
    confirm = [r for r in webhook.requests if r["path"] == "/api/appointments/77/confirm"]
    assert len(confirm) == 1 and '"answer":"Yes"' in confirm[0]["body"]
    assert record.final_state["vars"]["confirmation_code"] == "CONF-42"


def test_silence_exhausts_retries(calls) -> None:  # type: ignore[no-untyped-def]
    record = record_of(calls, "silent")
    assert record.outcome is CallOutcome.ANSWERED and record.amd is None
    assert record.transcript.count("contact: (no input)") == 3
    assert record.path == ["greeting", "menu", "goodbye", "hangup"]


def test_busy_and_no_answer_never_start_a_session(calls) -> None:  # type: ignore[no-untyped-def]
    busy, no_answer = record_of(calls, "busy"), record_of(calls, "no-answer")
    assert busy.outcome is CallOutcome.BUSY and busy.cause == "originate reason 5 (busy)"
    assert no_answer.outcome is CallOutcome.NO_ANSWER and no_answer.cause == "originate reason 3 (rang until the timeout)"
    for record in (busy, no_answer):
        assert record.path == [] and record.billable_seconds == 0 and "answered" not in record.timestamps
    rang = (no_answer.timestamps["ended"] - no_answer.timestamps["dialling"]).total_seconds()
    assert 5 < rang < 15  # the 6 s ring timeout


def test_hangup_mid_prompt_ends_the_session_within_a_second(calls) -> None:  # type: ignore[no-untyped-def]
    record = record_of(calls, "hangup-mid-prompt")
    assert record.final_state["status"] == "interrupted"
    assert record.path[0] == "intro" and record.results == {}
    assert record.cause.startswith("16 ")
    gap = (record.timestamps["session_ended"] - record.timestamps["hangup_reported"]).total_seconds()
    assert gap < 1.0, f"the session ended {gap:.2f}s after the hang-up"


def test_answering_machine_gets_the_voicemail(calls) -> None:  # type: ignore[no-untyped-def]
    record = record_of(calls, "machine")
    assert record.outcome is CallOutcome.MACHINE and record.amd == "MACHINE"
    assert record.path == ["voicemail", "hangup"]


def test_survey_comment_is_recorded(calls) -> None:  # type: ignore[no-untyped-def]
    record = record_of(calls, "survey-comment")
    assert record.results["rating"] == "1" and record.path[-3:] == ["comment_low", "thanks", "done"]
    assert len(record.recordings) == 1
    recording = Path(record.recordings[0].path)
    assert recording.exists() and record.results["comment"] == str(recording)


def test_voicemail_recording_has_the_callers_words(calls, asterisk_lab) -> None:  # type: ignore[no-untyped-def]
    record = record_of(calls, "voicemail-recording")
    assert record.path == ["prompt", "message", "thanks", "done"]
    (info,) = record.recordings
    path = Path(info.path)
    media = Path(asterisk_lab.media_dir).resolve()
    parts = path.relative_to(media).parts
    assert parts[0] == "recordings" and parts[1] == record.account and parts[-1] == f"{record.call_id}.wav"
    assert info.sha256 == sha256_of(path) and info.duration == pytest.approx(wav_duration(path), abs=0.01)
    spoken = wav_duration(Path(asterisk_lab.state.root) / "usr/share/asterisk/sounds/voiceplatform-lab/yes.wav")
    assert spoken - 0.3 <= info.duration <= spoken + 2.5  # the word, plus at most the silence limit
    with wave.open(str(path)) as audio:
        loudest = max(audioop.rms(audio.readframes(800), 2) for _ in range(max(1, audio.getnframes() // 800)))
    assert loudest > 300, "the recording holds no speech"


def test_press_2_is_transferred_to_the_agents_queue(calls) -> None:  # type: ignore[no-untyped-def]
    record = record_of(calls, "queue-transfer")
    assert record.path == ["greeting", "menu", "agent"]
    assert record.results == {"choice": "2", "agent": "completed"}
    assert "system: transfer to queue collections" in record.transcript
    assert record.final_state["status"] == "completed"


def test_transfer_to_a_number_and_to_a_busy_one(calls) -> None:  # type: ignore[no-untyped-def]
    answered, busy = record_of(calls, "dial-transfer"), record_of(calls, "dial-transfer-busy")
    assert answered.path == ["connect", "after", "done"] and answered.results == {"connect": "completed"}
    assert busy.path == ["connect", "unavailable", "done"] and busy.results == {"connect": "busy"}
