"""Media "in meaning": how long a prompt lasts, and real 8 kHz WAV files of what a callee says.

Nothing here streams audio. ``playback`` waits as long as the file would play (read from the
WAV header), ``record`` writes a real 8 kHz mono 16-bit WAV containing the callee's scripted
speech (espeak-ng when installed, a tone burst otherwise) padded with digital silence.
"""

from __future__ import annotations

import array
import math
import os
import re
import shutil
import tempfile
import wave
from functools import lru_cache
from typing import Optional

from gevent import subprocess  # cooperative: a synthesis must not stall other calls

RATE = 8000
SAMPLE_WIDTH = 2
_SECONDS_PER_CHAR = 0.075  # espeak-ng at its default 175 words per minute is close to this


def estimate_speech_seconds(text: str) -> float:
    return max(0.5, 0.3 + _SECONDS_PER_CHAR * len(text.strip()))


def _tone_stream_seconds(spec: str) -> float:
    """``tone_stream://%(on,off,freq...);loops=N``: on+off per repetition (ms)."""
    total_ms = 0.0
    for on, off in re.findall(r"%\((\d+),(\d+)", spec):
        total_ms += int(on) + int(off)
    loops = re.search(r"loops=(-?\d+)", spec)
    if loops:
        count = int(loops.group(1))
        total_ms *= 3600 if count < 0 else max(count, 1)
    return total_ms / 1000.0 if total_ms else 1.0


def media_duration(target: str, sound_prefix: Optional[str] = None) -> Optional[float]:
    """Seconds a ``playback`` of ``target`` lasts, or None when FreeSWITCH would say
    ``FILE NOT FOUND``."""
    target = target.strip()
    if target.startswith("file_string://"):
        total = 0.0
        for part in target[len("file_string://"):].split("!"):
            seconds = media_duration(part, sound_prefix)
            if seconds is None:
                return None
            total += seconds
        return total
    if target.startswith("silence_stream://"):
        ms = int(re.match(r"-?\d+", target[len("silence_stream://"):]).group(0))  # type: ignore[union-attr]
        return 3600.0 if ms < 0 else ms / 1000.0
    if target.startswith("tone_stream://"):
        return _tone_stream_seconds(target)
    if target.startswith("say:"):
        return estimate_speech_seconds(target[4:])
    if "://" in target:  # http_cache://, shout:// and friends: not fetched, estimated
        return 3.0
    path = target
    if not os.path.isabs(path) and sound_prefix:
        path = os.path.join(sound_prefix, path)
    return file_duration(path)


def file_duration(path: str) -> Optional[float]:
    if not os.path.isfile(path):
        return None
    if path.lower().endswith(".wav"):
        try:
            with wave.open(path, "rb") as wav:
                return wav.getnframes() / float(wav.getframerate() or RATE)
        except (wave.Error, EOFError) as exc:
            raise ValueError(f"{path}: not a WAV file FreeSWITCH could play ({exc})") from exc
    size = os.path.getsize(path)
    if path.lower().endswith(".gsm"):
        return size / 1650.0
    return size / float(RATE * SAMPLE_WIDTH)


def silence(seconds: float) -> bytes:
    return bytes(int(max(0.0, seconds) * RATE) * SAMPLE_WIDTH)


def tone_burst(seconds: float, freq: float = 440.0, amplitude: int = 8000) -> bytes:
    samples = array.array("h", (int(amplitude * math.sin(2 * math.pi * freq * n / RATE)) for n in range(int(seconds * RATE))))
    return samples.tobytes()


@lru_cache(maxsize=64)
def synthesize(text: str) -> bytes:
    """8 kHz mono 16-bit PCM of ``text``: espeak-ng if present, a tone burst otherwise."""
    espeak = shutil.which("espeak-ng") or shutil.which("espeak")
    if espeak is None:
        return tone_burst(estimate_speech_seconds(text))
    with tempfile.TemporaryDirectory(prefix="fs-emu-tts-") as tmp:
        out = os.path.join(tmp, "speech.wav")
        subprocess.run([espeak, "-w", out, text], check=True, capture_output=True, timeout=30)
        with wave.open(out, "rb") as wav:
            rate = wav.getframerate()
            frames = wav.readframes(wav.getnframes())
            if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
                raise ValueError("espeak-ng produced an unexpected WAV format")
    return resample(frames, rate, RATE)


def resample(pcm: bytes, src_rate: int, dst_rate: int) -> bytes:
    """Linear-interpolation resampling of 16-bit mono PCM (short utterances only)."""
    if src_rate == dst_rate:
        return pcm
    src = array.array("h")
    src.frombytes(pcm)
    if not src:
        return b""
    count = int(len(src) * dst_rate / src_rate)
    step = src_rate / dst_rate
    out = array.array("h", bytes(count * 2))
    last = len(src) - 1
    for i in range(count):
        pos = i * step
        j = int(pos)
        frac = pos - j
        a = src[j]
        b = src[j + 1] if j < last else a
        out[i] = int(a + (b - a) * frac)
    return out.tobytes()


def write_wav(path: str, pcm: bytes, rate: int = RATE) -> None:
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    with wave.open(path, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(SAMPLE_WIDTH)
        wav.setframerate(rate)
        wav.writeframes(pcm)


def compose(total_seconds: float, speech: Optional[bytes], offset_seconds: float) -> bytes:
    """``total_seconds`` of silence with ``speech`` laid in at ``offset_seconds`` (clipped)."""
    total = int(max(0.0, total_seconds) * RATE) * SAMPLE_WIDTH
    buf = bytearray(total)
    if speech:
        start = int(max(0.0, offset_seconds) * RATE) * SAMPLE_WIDTH
        if start < total:
            chunk = speech[: total - start]
            buf[start : start + len(chunk)] = chunk
    return bytes(buf)
