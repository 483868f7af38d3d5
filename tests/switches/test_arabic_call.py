"""An Arabic call on the real Asterisk lab: the bilingual collections flow is dialled, the lab
callee presses 2 for Arabic, and from then on every prompt is rendered by espeak-ng's Arabic voice
(``sem/ar``), played to the callee, and is real audio; the key is matched (the session switched to
Arabic and the menu was asked in Arabic). The SMS that would follow carries ``language: ar`` and
is UCS-2."""

from __future__ import annotations

import audioop
import shutil
import uuid
import wave
from pathlib import Path
from typing import Iterator

import pytest

from tests.switches.lab_calls import CONTACT, FLOWS, REPO, unique_account
from voiceplatform.flow import load_flow
from voiceplatform.flow.matching import normalise
from voiceplatform.switches.call_record import CallRecord
from voiceplatform.text.sms_segments import Encoding, measure

pytestmark = pytest.mark.integration

ARABIC_CONTACT = {**CONTACT, "first_name": "Noura", "amount": "1,250 SAR", "due_date": "1 December"}


def _short_flow(tmp: Path) -> Path:
    """The example, with a quick menu (one ask, 3 s) so the call ends soon after the Arabic part."""
    text = (FLOWS / "collections_bilingual.yaml").read_text(encoding="utf-8")
    text = text.replace("    retries: 2\n    store: choice\n", "    retries: 0\n    timeout: 3\n    store: choice\n")
    assert "timeout: 3" in text
    shutil.copytree(REPO / "prompts", tmp / "prompts", dirs_exist_ok=True)
    path = tmp / "collections_bilingual.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def arabic_call(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CallRecord, object]]:
    from voiceplatform.lab import up
    from voiceplatform.speech.tts import TextToSpeech, gevent_offload
    from voiceplatform.lab.switch_config import lab_asterisk_config
    from voiceplatform.switches.asterisk import AsteriskDriver
    from voiceplatform.switches.services import default_services

    lab = request.getfixturevalue("asterisk_lab")
    up(lab.settings)  # idempotent
    config = lab_asterisk_config(account=unique_account())
    services = default_services(config.media_dir)
    # A cache of its own (inside the media folder Asterisk reads), so every prompt is rendered
    # here and the voice each language used is known.
    cache = Path(config.media_dir) / f"tts-arabic-{uuid.uuid4().hex[:8]}"
    services.tts = TextToSpeech(cache, offload=gevent_offload())
    flow = load_flow(_short_flow(tmp_path_factory.mktemp("arabic")))
    try:
        with AsteriskDriver(config, services) as driver:
            record = driver.place_call(flow, "answer-press-2", ARABIC_CONTACT, timeout=20).wait(240)
            yield record, services.tts
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def _arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


def test_the_callee_pressing_2_switches_the_call_to_arabic(arabic_call: tuple[CallRecord, object]) -> None:
    record, _tts = arabic_call
    assert record.outcome is not None and record.outcome.value == "answered", (record.outcome, record.errors)
    assert record.results["language_choice"] == "2"  # the key was matched
    assert record.path[:6] == ["route_language", "offer_english", "offer_arabic", "pick_language", "to_arabic", "greeting"]
    assert "menu" in record.path
    assert record.final_state["language"] == "ar"
    spoken = [line for line in record.transcript if line.startswith("bot (say): ")]
    assert spoken[0] == "bot (say): Hello, this is Acme Bank. For English, press 1."
    greeting = next(line for line in spoken if "Noura" in line)
    assert greeting.startswith("bot (say): مرحبًا Noura، معك بنك أكمي.")
    assert any(normalise("ادفع الآن، اضغط 1") in normalise(line) for line in spoken)  # the menu, in Arabic


def test_arabic_prompts_are_rendered_by_the_arabic_voice_and_are_not_silent(arabic_call: tuple[CallRecord, object]) -> None:
    record, tts = arabic_call
    assert tts.voices.get("ar") == "sem/ar"  # espeak-ng's Arabic voice, chosen by the session's language
    assert tts.voices.get("en") not in (None, "sem/ar")
    arabic_says = [line.removeprefix("bot (say): ") for line in record.transcript
                   if line.startswith("bot (say): ") and _arabic(line)]
    assert len(arabic_says) >= 3  # the offer, the greeting, the menu (and more)
    for text in arabic_says:
        path = tts.path_for(text, "ar")
        assert path.exists(), text  # rendered for language ar, and played from there
        with wave.open(str(path)) as wav:
            frames = wav.readframes(wav.getnframes())
            assert wav.getframerate() == 8000 and wav.getnchannels() == 1
        assert len(frames) / 16000 > 1.0 and audioop.rms(frames, 2) > 300, text  # speech, not silence


def test_nothing_english_was_spoken_after_the_switch(arabic_call: tuple[CallRecord, object]) -> None:
    record, _tts = arabic_call
    after = record.transcript[next(i for i, line in enumerate(record.transcript) if "pressed 2" in line):]
    spoken = [line for line in after if line.startswith("bot (say): ")]
    assert spoken and all(_arabic(line) for line in spoken), spoken


def test_the_pay_link_sms_of_an_arabic_session_is_ucs2() -> None:
    from tests.flow.helpers import NOW
    from voiceplatform.flow import Input, resume, start

    flow = load_flow(FLOWS / "collections_bilingual.yaml")
    step = resume(flow, start(flow, ARABIC_CONTACT, "voice", now=NOW).state, Input.digits("2"), now=NOW)
    step = resume(flow, step.state, Input.digits("1"), now=NOW)
    sms = step.outputs[0]
    assert (sms.channel, sms.language) == ("sms", "ar")
    assert measure(sms.text).encoding is Encoding.UCS2
