"""What a voice note says, heard with the platform's speech-to-text, in a child process.

``python -m whatsapp_bridge.hearing AUDIO.wav [PHRASE ...]`` prints ``{"text", "engine",
"confidence"}`` as JSON:

* with phrases (the choices the waiting question offered: its buttons' and rows' titles and ids),
  the recogniser a voice call's ``gather`` uses (voiceplatform.speech.stt.recognizer_for, vosk or
  the bundled pocketsphinx model, constrained to the phrases): a yes/no question hears "yes" or
  "no", or nothing;
* without, the free-text transcription the review pipeline uses for call recordings
  (voiceplatform.review.transcription.transcribe).

:func:`hear` runs it as a child with a time limit: pocketsphinx holds the GIL for the whole
decode, which would stall every greenlet of the bridge (the sender, the webhook server), and a
crash in native decoder code kills the child, not the bridge (as voiceplatform.review.analysis
does for recordings).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

from voiceplatform.exceptions import VoicePlatformError

MAX_PHRASES = 50
MAX_PHRASE_CHARS = 100
MAX_ERROR = 500


class HearingError(VoicePlatformError):
    """The speech could not be transcribed (an engine failure, a child that crashed or timed out)."""


@dataclass(frozen=True, slots=True)
class Heard:
    text: str  # "" when nothing was recognised
    engine: str
    confidence: float | None = None


def hear_here(wav: str | Path, phrases: Sequence[str] = (), language: str = "en") -> Heard:
    """Transcribe ``wav`` (16 kHz mono PCM) in this process."""
    if phrases:
        from voiceplatform.speech.stt import recognizer_for

        recognizer = recognizer_for(language)
        if recognizer is None:
            raise HearingError(f"no speech-to-text model for the language {language!r}")
        found = recognizer.recognise(wav, phrases)
        return Heard(found.text, found.engine, found.confidence)
    from voiceplatform.review.transcription import transcribe

    transcription = transcribe(wav)
    return Heard(transcription.text, transcription.engine, None)


def hear(wav: str | Path, phrases: Sequence[str] = (), *, language: str = "en", timeout: float = 30.0) -> Heard:
    """:func:`hear_here` in a child process that may take ``timeout`` seconds."""
    chosen = [phrase[:MAX_PHRASE_CHARS] for phrase in phrases[:MAX_PHRASES] if phrase.strip()]
    command = [sys.executable, "-m", "whatsapp_bridge.hearing", "--language", language, str(wav), *chosen]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise HearingError(f"the transcription took more than {timeout:g} s") from exc
    except OSError as exc:
        raise HearingError(f"cannot start the transcription process: {exc}") from exc
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise HearingError(last[0][:MAX_ERROR])
    try:
        raw = json.loads(done.stdout)
        return Heard(str(raw["text"]), str(raw["engine"]), raw.get("confidence"))
    except (ValueError, KeyError, TypeError) as exc:
        raise HearingError(f"the transcription process wrote something unexpected: {done.stdout[:200]!r}") from exc


def main(argv: list[str]) -> int:
    language = "en"
    if argv[:1] == ["--language"] and len(argv) >= 2:
        language, argv = argv[1], argv[2:]
    if not argv:
        print("usage: python -m whatsapp_bridge.hearing [--language xx] AUDIO.wav [PHRASE ...]", file=sys.stderr)
        return 2
    try:
        heard = hear_here(argv[0], argv[1:], language)
    except Exception as exc:  # an engine's or the audio's failure, reported to the parent
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    json.dump(asdict(heard), sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
