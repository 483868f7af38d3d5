"""The most intervals open at one moment: how many calls ran at once, from their own start and
end times (used by the cap test and the pacing benchmark)."""

from __future__ import annotations

from typing import Any


def max_overlap(intervals: list[tuple[Any, Any]]) -> int:
    """An interval that ends when another starts does not overlap it."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    open_now = peak = 0
    for _, step in edges:
        open_now += step
        peak = max(peak, open_now)
    return peak
