"""The voice runner turns engine outputs into call control and caller actions into inputs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.switches.scripted_call import ScriptedCall
from voiceplatform.flow import Input, load_flow
from voiceplatform.speech.audio import wav_duration
from voiceplatform.speech.stt import PocketsphinxRecognizer
from voiceplatform.speech.tts import TextToSpeech
from voiceplatform.switches.call_record import CallRecord
from voiceplatform.switches.recordings import RecordingLayout
from voiceplatform.switches.voice_runner import VoiceRunner, VoiceServices

REPO = Path(__file__).resolve().parents[2]
CONTACT = {"first_name": "Ann", "amount": "$5", "due_date": "Monday", "account_id": "A1",
           "appointment_date": "3 May", "appointment_time": "10:00", "appointment_id": "77"}


@pytest.fixture
def runner(tmp_path: Path) -> VoiceRunner:
    def fake_http(request):  # type: ignore[no-untyped-def]
        return Input.http_response(200, '{"code": "C1"}'), None

    services = VoiceServices(
        tts=TextToSpeech(tmp_path / "tts"),
        stt=PocketsphinxRecognizer(),
        recordings=RecordingLayout(tmp_path / "media"),
        audio_root=tmp_path,
        perform_http=fake_http,
    )
    return VoiceRunner(services)


def spoken(tmp_path: Path, words: str) -> str:
    raw, out = tmp_path / "raw.wav", tmp_path / f"{words.replace(' ', '_')}.wav"
    subprocess.run(["espeak-ng", "-s", "140", "-w", str(raw), words], check=True)
    subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(out)], check=True)
    return str(out)


def record_for(flow_name: str) -> CallRecord:
    return CallRecord(call_id="call-1", to="answer-press-1", flow=flow_name, switch="test", account="acme")


def test_press_1_pays_and_hangs_up(runner: VoiceRunner) -> None:
    flow = load_flow(REPO / "ivr_flows" / "payment_reminder.yaml")
    call = ScriptedCall([("press", "1")])
    record = runner.run(flow, CONTACT, call, record_for(flow.name))
    assert record.path[:3] == ["greeting", "menu", "pay"]
    assert record.results == {"choice": "1"}
    assert [m["channel"] for m in record.messages] == ["sms"]
    assert call.hung_up_by_us == "completed"
    assert record.final_state["status"] == "completed"
    assert len(call.played) == 4  # greeting, menu, link sent, goodbye: each rendered by TTS


def test_tts_cache_renders_each_prompt_once(runner: VoiceRunner) -> None:
    flow = load_flow(REPO / "ivr_flows" / "payment_reminder.yaml")
    runner.run(flow, CONTACT, ScriptedCall([("press", "1")]), record_for(flow.name))
    first = runner.services.tts.rendered
    runner.run(flow, CONTACT, ScriptedCall([("press", "1")]), record_for(flow.name))
    assert first == 4 and runner.services.tts.rendered == first


def test_hangup_mid_prompt_ends_the_session_with_results_kept(runner: VoiceRunner) -> None:
    flow = load_flow(REPO / "ivr_flows" / "satisfaction_survey.yaml")
    call = ScriptedCall([("press", "2"), ("hangup", "16")])
    record = runner.run(flow, CONTACT, call, record_for(flow.name))
    assert record.final_state["status"] == "interrupted"
    assert record.results == {"rating": "2"}
    assert record.final_state["call"]["hangup_cause"] == "16" and call.hung_up_by_us is None
    assert record.cause is None  # the switch driver records the cause from its own events


def test_recording_lands_in_the_account_layout(runner: VoiceRunner, tmp_path: Path) -> None:
    flow = load_flow(REPO / "ivr_flows" / "satisfaction_survey.yaml")
    comment = spoken(tmp_path, "the agent was very helpful thank you")
    record = runner.run(flow, CONTACT, ScriptedCall([("press", "5"), ("say", comment)]), record_for(flow.name))
    assert len(record.recordings) == 1
    info = record.recordings[0]
    parts = Path(info.path).relative_to(tmp_path / "media").parts
    assert parts[:2] == ("recordings", "acme") and parts[-1] == "call-1.wav" and len(parts) == 6
    assert abs(info.duration - wav_duration(comment)) < 0.01 and len(info.sha256) == 64
    assert info.node == "comment_high" and record.results["comment"] == info.path


def test_spoken_yes_is_recognised(runner: VoiceRunner, tmp_path: Path) -> None:
    flow = load_flow(REPO / "ivr_flows" / "appointment_confirmation.yaml")
    record = runner.run(flow, CONTACT, ScriptedCall([("say", spoken(tmp_path, "yes"))]), record_for(flow.name))
    assert record.results == {"attendance": "1"}
    assert "contact (said" in "\n".join(record.transcript)
    assert record.final_state["vars"]["confirmation_code"] == "C1"


def test_silence_three_times_moves_the_journey_to_sms(runner: VoiceRunner) -> None:
    flow = load_flow(REPO / "ivr_flows" / "appointment_confirmation.yaml")
    record = runner.run(flow, CONTACT, ScriptedCall([("silence",)] * 3), record_for(flow.name))
    assert record.handoff_state is not None and record.handoff_state["channel"] == "sms"
    assert record.final_state["status"] == "waiting"
    assert record.errors == []
    assert [m["channel"] for m in record.messages] == ["sms", "sms"]  # the SMS intro and question
