"""Waveform peaks of a recording, computed once by the pipeline and stored for display.

The audio (any WAV pydub reads, mixed down to mono) is cut into ``BUCKETS`` equal slices of
samples; each peak is the slice's largest absolute amplitude divided by full scale, so 0 is
silence and 1 a clipped signal, comparable between recordings (a player may rescale to the
loudest peak). A recording shorter than ``BUCKETS`` samples gets one peak per sample.
"""

from __future__ import annotations

import array
import warnings
from pathlib import Path

with warnings.catch_warnings():  # pydub warns when ffmpeg is absent; WAV work does not need it
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment

BUCKETS = 800


def peaks_of_samples(samples: array.array[int] | list[int], full_scale: float, buckets: int = BUCKETS) -> list[float]:
    count = len(samples)
    if count == 0 or buckets <= 0:
        return []
    slices = min(buckets, count)
    result = []
    for index in range(slices):
        piece = samples[index * count // slices:(index + 1) * count // slices]
        loudest = max(max(piece), -min(piece))
        result.append(round(min(loudest / full_scale, 1.0), 4))
    return result


def compute_peaks(path: str | Path, buckets: int = BUCKETS) -> list[float]:
    """``buckets`` peaks (0..1) of the WAV file at ``path``."""
    segment = AudioSegment.from_wav(str(path)).set_channels(1)
    full_scale = float(1 << (8 * segment.sample_width - 1))
    return peaks_of_samples(segment.get_array_of_samples(), full_scale, buckets)  # signed, 8-bit too
