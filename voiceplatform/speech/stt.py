"""Speech to text, constrained to the phrases a gather expects.

``VOSK_MODEL_PATH`` selects a vosk model (with the phrases as its grammar). Without it, the
English model bundled in the pocketsphinx wheel is used with a JSGF grammar of the phrases, so
speech input works out of the box.

One model per language: ``VOSK_MODEL_PATH_AR`` (``VOSK_MODEL_PATH_`` and the language's primary
subtag, upper case) names the vosk model of Arabic calls, and so on. English falls back to
``VOSK_MODEL_PATH`` and then pocketsphinx. A language with no model has no recogniser
(:func:`recognizer_for` gives None): the voice runner then hears only keys on that call's gathers
(DTMF only) and says so in the call's errors, rather than feed Arabic speech to an English model.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

from voiceplatform.speech.audio import pcm16k
from voiceplatform.speech.tts import SpeechError

_WORD = re.compile(r"[^a-z' ]+")


@dataclass(frozen=True)
class Recognition:
    text: str  # "" when nothing was recognised
    confidence: float
    engine: str


class Recognizer(Protocol):
    name: str

    def recognise(self, wav_path: str | Path, phrases: Sequence[str] = ()) -> Recognition: ...


def _clean(phrase: str) -> str:
    return " ".join(_WORD.sub(" ", phrase.lower()).split())


class PocketsphinxRecognizer:
    name = "pocketsphinx"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def recognise(self, wav_path: str | Path, phrases: Sequence[str] = ()) -> Recognition:
        from pocketsphinx import Decoder

        audio = pcm16k(wav_path)
        with self._lock:
            try:
                if phrases:
                    decoder = Decoder(samprate=16000, lm=None)
                    alternatives = sorted({_clean(p) for p in phrases if _clean(p)})
                    known = [p for p in alternatives if all(decoder.lookup_word(w) for w in p.split())]
                    if not known:
                        return Recognition("", 0.0, self.name)
                    grammar = "#JSGF V1.0;\ngrammar choices;\npublic <choice> = " + " | ".join(f"( {p} )" for p in known) + " ;\n"
                    decoder.add_jsgf_string("choices", grammar)
                    decoder.activate_search("choices")
                else:
                    decoder = Decoder(samprate=16000)
                decoder.start_utt()
                decoder.process_raw(audio, full_utt=True)
                decoder.end_utt()
            except RuntimeError as exc:
                raise SpeechError(f"pocketsphinx failed on {wav_path}: {exc}") from exc
            hypothesis = decoder.hyp()
        if hypothesis is None or not hypothesis.hypstr:
            return Recognition("", 0.0, self.name)
        return Recognition(hypothesis.hypstr, round(float(hypothesis.prob), 3), self.name)


def load_vosk_model(model_path: str | Path) -> Any:
    """A vosk model, quietly; a bad model folder is a SpeechError."""
    try:
        from vosk import Model, SetLogLevel

        SetLogLevel(-1)
        return Model(str(model_path))
    except Exception as exc:  # vosk raises a bare Exception for a bad model folder
        raise SpeechError(f"cannot load the vosk model at {model_path}: {exc}") from exc


class VoskRecognizer:
    name = "vosk"

    def __init__(self, model_path: str | Path) -> None:
        self._model = load_vosk_model(model_path)

    def recognise(self, wav_path: str | Path, phrases: Sequence[str] = ()) -> Recognition:
        from vosk import KaldiRecognizer

        if phrases:
            grammar = json.dumps(sorted({p.lower() for p in phrases}) + ["[unk]"], ensure_ascii=False)
            recognizer = KaldiRecognizer(self._model, 16000, grammar)
        else:
            recognizer = KaldiRecognizer(self._model, 16000)
        recognizer.SetWords(True)
        recognizer.AcceptWaveform(pcm16k(wav_path))
        result = json.loads(recognizer.FinalResult())
        text = result.get("text", "").replace("[unk]", "").strip()
        words = result.get("result") or []
        confidence = min((w.get("conf", 0.0) for w in words), default=0.0) if text else 0.0
        return Recognition(text, round(float(confidence), 3), self.name)


_default: Recognizer | None = None


def default_recognizer() -> Recognizer:
    """vosk when VOSK_MODEL_PATH is set, else the bundled pocketsphinx English model."""
    global _default
    if _default is None:
        model = os.environ.get("VOSK_MODEL_PATH")
        _default = VoskRecognizer(model) if model else PocketsphinxRecognizer()
    return _default


_by_language: dict[str, Recognizer | None] = {}


def recognizer_for(language: str) -> Recognizer | None:
    """The recogniser for calls in ``language``, or None when there is no model for it."""
    primary = language.replace("_", "-").split("-")[0].lower()
    if primary not in _by_language:
        model = os.environ.get(f"VOSK_MODEL_PATH_{primary.upper()}")
        if model:
            _by_language[primary] = VoskRecognizer(model)
        elif primary == "en":
            _by_language[primary] = default_recognizer()
        else:
            _by_language[primary] = None
    return _by_language[primary]
