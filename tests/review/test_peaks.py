"""Waveform peaks: one value per bucket, 0..1 of full scale, where the sound is."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.review.conftest import silence_wav
from voiceplatform.review.peaks import BUCKETS, compute_peaks, peaks_of_samples


def tone_then_silence(path: Path, *, bits: int = 16, channels: int = 1) -> Path:
    """1 s of a 440 Hz tone at half scale, then 1 s of silence."""
    subprocess.run(["sox", "-n", "-r", "8000", "-c", str(channels), "-b", str(bits), str(path),
                    "synth", "1", "sine", "440", "vol", "0.5", "pad", "0", "1"], check=True)
    return path


def test_peaks_have_one_value_per_bucket_in_range(speech_wav: Path) -> None:
    peaks = compute_peaks(speech_wav)
    assert len(peaks) == BUCKETS == 800
    assert all(isinstance(p, float) and 0.0 <= p <= 1.0 for p in peaks)
    assert max(peaks) > 0.1


@pytest.mark.parametrize("bits, channels", [(16, 1), (8, 1), (16, 2)])
def test_peaks_follow_the_sound(tmp_path: Path, bits: int, channels: int) -> None:
    peaks = compute_peaks(tone_then_silence(tmp_path / "tone.wav", bits=bits, channels=channels), buckets=100)
    assert len(peaks) == 100
    assert all(p == pytest.approx(0.5, abs=0.03) for p in peaks[2:48]), peaks[:50]
    assert all(p <= 0.01 for p in peaks[52:]), peaks[50:]


def test_silence_and_short_audio(tmp_path: Path) -> None:
    assert set(compute_peaks(silence_wav(tmp_path / "silence.wav"))) == {0.0}
    assert peaks_of_samples([0, 16384, -32768], 32768.0, buckets=800) == [0.0, 0.5, 1.0]  # fewer samples than buckets
    assert peaks_of_samples([], 32768.0) == []
