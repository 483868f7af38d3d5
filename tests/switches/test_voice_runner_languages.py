"""The voice runner and languages: an Arabic session is spoken by the Arabic espeak-ng voice, a
language with no speech model hears keys only, and a flow's opt_out is kept on the call."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.switches.scripted_call import ScriptedCall
from voiceplatform.flow import Input, load_flow
from voiceplatform.speech.stt import PocketsphinxRecognizer, recognizer_for
from voiceplatform.speech.tts import TextToSpeech
from voiceplatform.switches.call_record import CallRecord
from voiceplatform.switches.recordings import RecordingLayout
from voiceplatform.switches.voice_runner import VoiceRunner, VoiceServices

REPO = Path(__file__).resolve().parents[2]
FLOW = REPO / "ivr_flows" / "collections_bilingual.yaml"
CONTACT = {"first_name": "Noura", "amount": "1,250 SAR", "due_date": "1 December", "account_id": "AC-1"}


@pytest.fixture
def runner(tmp_path: Path) -> VoiceRunner:
    english = PocketsphinxRecognizer()
    services = VoiceServices(
        tts=TextToSpeech(tmp_path / "tts"),
        stt=english,
        recordings=RecordingLayout(tmp_path / "media"),
        audio_root=tmp_path,
        perform_http=lambda request: (Input.http_response(200, "{}"), None),
        stt_for=lambda language: english if language == "en" else None,  # no Arabic model here
    )
    return VoiceRunner(services)


def record() -> CallRecord:
    return CallRecord(call_id="call-ar", to="answer-press-2", flow="collections_bilingual", switch="test", account="acme")


def test_an_arabic_call_is_spoken_by_the_arabic_voice_and_hears_keys_only(runner: VoiceRunner) -> None:
    call = ScriptedCall([("press", "2"), ("press", "1")])
    done = runner.run(load_flow(FLOW), CONTACT, call, record())
    assert done.results == {"language_choice": "2", "choice": "1"}
    assert done.final_state["language"] == "ar"
    assert runner.services.tts.voices == {"en": "gmw/en-029", "ar": "sem/ar"}  # espeak-ng's Arabic voice
    assert "no speech model for ar: gathers hear keys only (DTMF)" in done.errors
    assert [m["language"] for m in done.messages] == ["ar"]  # the pay link SMS, in Arabic (UCS-2)


def test_opt_out_is_kept_on_the_call_record(runner: VoiceRunner) -> None:
    done = runner.run(load_flow(FLOW), CONTACT, ScriptedCall([("press", "1"), ("press", "9")]), record())
    assert done.opt_outs == ["all"]
    assert done.final_state["opted_out"] == ["all"]


def test_the_contact_language_starts_an_arabic_session(runner: VoiceRunner) -> None:
    call = ScriptedCall([("press", "1"), ("press", "1")])
    done = runner.run(load_flow(FLOW), {**CONTACT, "language": "ar-SA"}, call, record())
    assert done.path[:3] == ["route_language", "offer_english", "offer_arabic"]
    assert done.transcript[0].startswith("bot (say): Hello, this is Acme Bank")
    assert done.final_state["language"] == "en"  # started in Arabic, the caller chose English
    arabic = runner.run(load_flow(FLOW), {**CONTACT, "language": "ar-SA"}, ScriptedCall([("hangup", "16")]), record())
    assert arabic.final_state["language"] == "ar"


def test_recognizer_for_a_language_without_a_model_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("voiceplatform.speech.stt._by_language", {})
    monkeypatch.delenv("VOSK_MODEL_PATH_AR", raising=False)
    assert recognizer_for("ar") is None and recognizer_for("ar-SA") is None
    assert recognizer_for("en") is not None
