"""What the pipeline computes from a recording's audio: the transcription and the waveform peaks.

``analyse`` does it in this process. ``analyse_isolated`` does it in a child process
(``python -m voiceplatform.review.analysis <wav>``, JSON on stdout), which the pipeline uses in
gevent processes (the dialling workers, the embedded server): pocketsphinx holds the GIL for the
whole decode, which would stall every call the process drives, and a crash in native decoder
code kills the child, not the worker. The price is loading the model once per recording
(pocketsphinx: ~0.3 s; vosk: the model's load time).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from voiceplatform.exceptions import VoicePlatformError
from voiceplatform.review.peaks import compute_peaks
from voiceplatform.review.transcription import Segment, transcribe

CHILD_TIMEOUT_MIN = 120.0  # seconds a child may take for any recording
CHILD_TIMEOUT_PER_AUDIO_SECOND = 3.0  # and more for a long one (real-time factors are well below 1)
MAX_ERROR = 2000  # characters of a child's error output kept


class AnalysisError(VoicePlatformError):
    """The audio could not be analysed (unreadable file, engine failure, a child that crashed or
    timed out)."""


@dataclass(frozen=True)
class Analysis:
    engine: str
    segments: list[Segment]
    text: str
    peaks: list[float]
    audio_seconds: float
    processing_seconds: float  # transcription only


Analyser = Callable[[str, float], Analysis]
"""``analyser(wav_path, duration_seconds) -> Analysis``; raises on failure."""


def analyse(path: str | Path, duration: float = 0.0) -> Analysis:
    """Transcribe and compute the peaks of ``path`` in this process (``duration`` is not needed
    here; it is the ``Analyser`` signature)."""
    try:
        transcription = transcribe(path)
        peaks = compute_peaks(path)
    except VoicePlatformError as exc:
        raise AnalysisError(str(exc)) from exc
    except Exception as exc:  # pydub, wave and the engines raise many types for bad audio
        raise AnalysisError(f"{type(exc).__name__}: {exc}") from exc
    return Analysis(transcription.engine, transcription.segments, transcription.text, peaks,
                    transcription.audio_seconds, transcription.processing_seconds)


def analyse_isolated(path: str | Path, duration: float = 0.0) -> Analysis:
    """``analyse`` in a child process (the environment, VOSK_MODEL_PATH included, is inherited)."""
    timeout = max(CHILD_TIMEOUT_MIN, duration * CHILD_TIMEOUT_PER_AUDIO_SECOND)
    try:
        done = subprocess.run([sys.executable, "-m", "voiceplatform.review.analysis", str(path)],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise AnalysisError(f"the analysis of {path} took more than {timeout:.0f} s") from exc
    except OSError as exc:
        raise AnalysisError(f"cannot start the analysis process: {exc}") from exc
    if done.returncode != 0:
        message = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise AnalysisError(message[0][:MAX_ERROR])
    try:
        document: dict[str, Any] = json.loads(done.stdout)
        return Analysis(**document)
    except (ValueError, TypeError) as exc:
        raise AnalysisError(f"the analysis process wrote something unexpected: {done.stdout[:200]!r}") from exc


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m voiceplatform.review.analysis RECORDING.wav", file=sys.stderr)
        return 2
    try:
        result = analyse(argv[0])
    except AnalysisError as exc:
        print(f"AnalysisError: {exc}", file=sys.stderr)
        return 1
    json.dump(asdict(result), sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
