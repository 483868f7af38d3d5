"""Text to speech with a shared on-disk cache.

A prompt is rendered once per (text, language, voice, rate) for every worker on the machine: the
file name is a hash of those, rendering happens under a file lock, and the result is moved into
place atomically. Rendering runs in one dedicated thread (pyttsx3 is not thread-safe), so under
gevent the other greenlets keep running while espeak-ng works.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import os
import tempfile
import threading
from pathlib import Path
from typing import Callable

from voiceplatform.exceptions import VoicePlatformError
from voiceplatform.speech.audio import to_telephony

ENGINE_VERSION = "espeak-ng/pyttsx3/1"


class SpeechError(VoicePlatformError):
    """Text could not be turned into speech, or speech into text."""


class TextToSpeech:
    def __init__(self, cache_dir: str | Path, *, rate: int = 160, voice: str | None = None,
                 offload: Callable[[Callable[[], None]], None] | None = None) -> None:
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.rate = rate
        self.voice = voice
        self._offload = offload or _run_here
        self.rendered = 0  # how many prompts this instance synthesised (cache misses)
        self.voices: dict[str, str | None] = {}  # language -> the voice its last render used

    def path_for(self, text: str, language: str) -> Path:
        key = "\n".join((ENGINE_VERSION, language, self.voice or "", str(self.rate), text))
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
        return self.cache_dir / digest[:2] / f"{digest}.wav"

    def render(self, text: str, language: str = "en") -> Path:
        """The 8 kHz mono WAV of ``text``, synthesised only when not cached."""
        target = self.path_for(text, language)
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        self._offload(lambda: self._render_locked(text, language, target))
        return target

    def _render_locked(self, text: str, language: str, target: Path) -> None:
        with open(target.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if target.exists():  # another worker rendered it while we waited
                return
            with tempfile.TemporaryDirectory(dir=target.parent) as work:
                raw = Path(work) / "raw.wav"
                self.voices[language] = _synthesise_with_retries(text, language, self.voice, self.rate, raw)
                converted = Path(work) / "out.wav"
                to_telephony(raw, converted)
                os.replace(converted, target)
            self.rendered += 1


_engine_lock = threading.Lock()
_engines: dict[int, object] = {}
# pyttsx3's engines fail noisily when collected during interpreter shutdown; drop them first.
atexit.register(_engines.clear)


def _synthesise(text: str, language: str, voice: str | None, rate: int, target: Path) -> str | None:
    """Write ``text`` spoken in ``language`` to ``target``; gives the voice id used."""
    import pyttsx3

    _quiet_espeak_driver()
    with _engine_lock:
        engine = _engines.get(threading.get_ident())
        if engine is None:
            try:
                engine = pyttsx3.init()
            except (RuntimeError, OSError, ImportError) as exc:
                raise SpeechError(f"cannot start the speech engine: {exc}") from exc
            _engines[threading.get_ident()] = engine
        engine.setProperty("rate", rate)  # type: ignore[attr-defined]
        chosen = voice or _voice_for(engine, language)
        if chosen:
            engine.setProperty("voice", chosen)  # type: ignore[attr-defined]
        engine.save_to_file(text, str(target))  # type: ignore[attr-defined]
        engine.runAndWait()  # type: ignore[attr-defined]
    if not target.exists() or target.stat().st_size <= 44:
        raise SpeechError(f"the speech engine wrote nothing for {text!r}")
    return chosen


SYNTHESIS_ATTEMPTS = 3


def _synthesise_with_retries(text: str, language: str, voice: str | None, rate: int, target: Path) -> str | None:
    """pyttsx3's espeak run loop now and then ends before the file is written (about 2 in 100
    renders, measured); a second attempt writes it."""
    for attempt in range(1, SYNTHESIS_ATTEMPTS + 1):
        try:
            return _synthesise(text, language, voice, rate, target)
        except SpeechError:
            if attempt == SYNTHESIS_ATTEMPTS:
                raise
    return None


def _quiet_espeak_driver() -> None:
    """pyttsx3's espeak driver prints "Audio saved to ..." for every file; keep stdout clean."""
    try:
        from pyttsx3.drivers import espeak
    except ImportError:  # another driver: nothing to silence
        return
    espeak.print = lambda *_args, **_kwargs: None


def _voice_for(engine: object, language: str) -> str | None:
    """The espeak-ng voice for ``language``: one whose language is exactly it, else one of the
    same primary language (``ar`` → espeak-ng's ``sem/ar``; ``en`` → an English variant). A
    substring match is not enough: "es" is inside "chr-us-qaaa-x-west" (Cherokee)."""
    wanted = language.lower().replace("_", "-")
    primary = wanted.split("-")[0]
    fallback: str | None = None
    for candidate in engine.getProperty("voices"):  # type: ignore[attr-defined]
        languages = [str(code).lower().replace("_", "-") for code in getattr(candidate, "languages", [])]
        if candidate.id == language or wanted in languages:
            return str(candidate.id)
        if fallback is None and any(code.split("-")[0] == primary for code in languages):
            fallback = str(candidate.id)
    return fallback



def _run_here(job: Callable[[], None]) -> None:
    job()


def gevent_offload() -> Callable[[Callable[[], None]], None]:
    """Run rendering in one dedicated OS thread, so the gevent hub stays free."""
    from gevent.threadpool import ThreadPool

    pool = ThreadPool(1)

    def offload(job: Callable[[], None]) -> None:
        pool.apply(job)

    return offload
