"""Free-text transcription of a whole recording, with timestamps.

Unlike ``voiceplatform.speech.stt`` (one short answer, constrained to a gather's phrases), this
transcribes everything said in a recording, for supervisors to read, search and click to seek.

- **vosk** when ``VOSK_MODEL_PATH`` names a model: the audio is fed in chunks and every result
  vosk's endpointer closes becomes a segment, with its words (``SetWords(True)``).
- **pocketsphinx** otherwise: the English acoustic model and general language model bundled in
  its wheel (no grammar). Its voice activity detector cuts the audio into speech regions, each is
  decoded as one utterance, and the decoder's word segmentation (``seg()``, in frames) gives the
  word times; words are grouped into segments at pauses of ``PAUSE`` seconds or more, and no
  segment runs longer than ``MAX_SEGMENT`` seconds.

A segment is ``{"start": s, "end": s, "text": "...", "words": [{"w", "start", "end"}]}``, times in
seconds from the start of the recording, in order. ``Transcription.real_time_factor`` is the
processing time per second of audio.

pocketsphinx holds the GIL while it decodes; vosk releases it. Run either outside a gevent hub
(``voiceplatform.review.analysis`` does it in a child process).
"""

from __future__ import annotations

import io
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypedDict

from voiceplatform.speech.audio import pcm16k
from voiceplatform.speech.tts import SpeechError

RATE = 16000  # samples per second fed to both engines
PAUSE = 0.5  # seconds of silence between two words that start a new segment (pocketsphinx)
MAX_SEGMENT = 12.0  # seconds: a longer stretch of speech is cut at the next word (pocketsphinx)
MAX_UTTERANCE = 30.0  # seconds: a longer speech region is decoded in pieces (pocketsphinx)
VOSK_CHUNK = RATE  # bytes fed to vosk at a time: 0.5 s of 16-bit audio


class Word(TypedDict):
    w: str
    start: float
    end: float


class Segment(TypedDict):
    start: float
    end: float
    text: str
    words: list[Word]


@dataclass(frozen=True)
class Transcription:
    engine: str  # "vosk" or "pocketsphinx"
    segments: list[Segment]
    text: str  # every segment's text, joined by spaces ("" when nothing was recognised)
    audio_seconds: float
    processing_seconds: float  # decoding only (the model is loaded once per process)

    @property
    def real_time_factor(self) -> float:
        """Seconds of processing per second of audio (below 1 is faster than real time)."""
        return self.processing_seconds / self.audio_seconds if self.audio_seconds else 0.0


class Transcriber(Protocol):
    name: str

    def transcribe_pcm(self, audio: bytes) -> list[Segment]:
        """Segments of 16 kHz mono 16-bit PCM."""
        ...


def _round(seconds: float) -> float:
    return round(seconds, 2)


def segment_of(words: list[Word]) -> Segment:
    return {"start": words[0]["start"], "end": words[-1]["end"], "text": " ".join(w["w"] for w in words), "words": words}


class VoskTranscriber:
    name = "vosk"

    def __init__(self, model_path: str | Path) -> None:
        from voiceplatform.speech.stt import load_vosk_model

        self._model = load_vosk_model(model_path)

    def transcribe_pcm(self, audio: bytes) -> list[Segment]:
        from vosk import KaldiRecognizer

        recognizer = KaldiRecognizer(self._model, RATE)
        recognizer.SetWords(True)
        results: list[dict[str, Any]] = []
        for offset in range(0, len(audio), VOSK_CHUNK):
            if recognizer.AcceptWaveform(audio[offset:offset + VOSK_CHUNK]):
                results.append(json.loads(recognizer.Result()))
        results.append(json.loads(recognizer.FinalResult()))
        segments = []
        for result in results:
            words: list[Word] = [
                {"w": item["word"], "start": _round(float(item["start"])), "end": _round(float(item["end"]))}
                for item in result.get("result") or [] if item.get("word") and item["word"] != "[unk]"
            ]
            if words:
                segments.append(segment_of(words))
        return segments


_FILLER = re.compile(r"^(<.*>|\[.*\]|\+\+.*\+\+|\+.*\+)$")  # <s>, </s>, <sil>, [NOISE], ++UH++
_ALTERNATE = re.compile(r"\(\d+\)$")  # "read(2)": the second pronunciation of "read"


class PocketsphinxTranscriber:
    """The bundled en-us model with its general language model. One decoder per instance, used
    under a lock (a pocketsphinx decoder is not thread-safe)."""

    name = "pocketsphinx"

    def __init__(self) -> None:
        from pocketsphinx import Decoder

        try:
            self._decoder = Decoder(samprate=RATE)
        except RuntimeError as exc:
            raise SpeechError(f"cannot start pocketsphinx: {exc}") from exc
        self._frame_rate = float(self._decoder.config["frate"])
        self._lock = threading.Lock()

    def transcribe_pcm(self, audio: bytes) -> list[Segment]:
        from pocketsphinx import Segmenter

        words: list[Word] = []
        regions = Segmenter(sample_rate=RATE).segment(io.BytesIO(audio))
        with self._lock:
            for region in regions:
                piece = int(MAX_UTTERANCE * RATE) * 2
                for offset in range(0, len(region.pcm), piece):
                    words.extend(self._decode(region.pcm[offset:offset + piece], region.start_time + offset / 2 / RATE))
        return group(words)

    def _decode(self, pcm: bytes, start: float) -> list[Word]:
        try:
            self._decoder.start_utt()
            self._decoder.process_raw(pcm, full_utt=True)
            self._decoder.end_utt()
        except RuntimeError as exc:
            raise SpeechError(f"pocketsphinx failed: {exc}") from exc
        words: list[Word] = []
        for item in self._decoder.seg():
            if _FILLER.match(item.word):
                continue
            words.append({"w": _ALTERNATE.sub("", item.word),
                          "start": _round(start + item.start_frame / self._frame_rate),
                          "end": _round(start + (item.end_frame + 1) / self._frame_rate)})
        return words


def group(words: list[Word], pause: float = PAUSE, longest: float = MAX_SEGMENT) -> list[Segment]:
    """Words (in order) into segments: a new one after a pause, or when one grows too long."""
    segments: list[Segment] = []
    current: list[Word] = []
    for word in words:
        if current and (word["start"] - current[-1]["end"] >= pause or word["end"] - current[0]["start"] > longest):
            segments.append(segment_of(current))
            current = []
        current.append(word)
    if current:
        segments.append(segment_of(current))
    return segments


_transcribers: dict[str, Transcriber] = {}
_transcribers_lock = threading.Lock()


def default_transcriber() -> Transcriber:
    """vosk when ``VOSK_MODEL_PATH`` is set, else pocketsphinx; loaded once per process and model."""
    model = os.environ.get("VOSK_MODEL_PATH")
    key = f"vosk:{model}" if model else "pocketsphinx"
    with _transcribers_lock:
        if key not in _transcribers:
            _transcribers[key] = VoskTranscriber(model) if model else PocketsphinxTranscriber()
        return _transcribers[key]


def transcribe(path: str | Path, transcriber: Transcriber | None = None) -> Transcription:
    """Transcribe the WAV file at ``path``. Raises ``SpeechError`` (unreadable audio, engine
    failure)."""
    engine = transcriber or default_transcriber()
    try:
        audio = pcm16k(path)
    except Exception as exc:  # pydub/wave raise several types for a missing or corrupt file
        raise SpeechError(f"cannot read the audio of {path}: {type(exc).__name__}: {exc}") from exc
    began = time.perf_counter()
    segments = engine.transcribe_pcm(audio)
    elapsed = time.perf_counter() - began
    text = " ".join(segment["text"] for segment in segments)
    return Transcription(engine.name, segments, text, len(audio) / 2 / RATE, elapsed)
