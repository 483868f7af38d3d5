"""Small WAV helpers: duration, conversion to telephony format (8 kHz, mono, 16-bit)."""

from __future__ import annotations

import hashlib
import warnings
import wave
from pathlib import Path

with warnings.catch_warnings():  # pydub warns when ffmpeg is absent; WAV work does not need it
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment

TELEPHONY_RATE = 8000


def wav_duration(path: str | Path) -> float:
    with wave.open(str(path), "rb") as reader:
        frames, rate = reader.getnframes(), reader.getframerate()
    return frames / rate if rate else 0.0


def to_telephony(source: str | Path, target: str | Path) -> None:
    """Convert a WAV file to 8 kHz mono 16-bit PCM."""
    segment = AudioSegment.from_wav(str(source))
    segment = segment.set_channels(1).set_sample_width(2).set_frame_rate(TELEPHONY_RATE)
    segment.export(str(target), format="wav")


def pcm16k(path: str | Path) -> bytes:
    """Raw 16 kHz mono 16-bit PCM of a WAV file (what the recognisers want)."""
    segment = AudioSegment.from_wav(str(path)).set_channels(1).set_sample_width(2).set_frame_rate(16000)
    return segment.raw_data


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(65536), b""):
            digest.update(block)
    return digest.hexdigest()


def peaks(path: str | Path, buckets: int = 400) -> list[float]:
    """Waveform peaks (0..1) in ``buckets`` slices, computed once for display."""
    segment = AudioSegment.from_wav(str(path)).set_channels(1)
    if len(segment) == 0:
        return []
    step = max(1, len(segment) // buckets)
    full_scale = float(1 << (8 * segment.sample_width - 1))
    return [round(segment[i:i + step].max / full_scale, 4) for i in range(0, len(segment), step)][:buckets]
