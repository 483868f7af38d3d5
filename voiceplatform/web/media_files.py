"""Where recordings may be read from: only files under ``<media root>/recordings``.

The media root is the app's ``MEDIA_DIR`` config, else ``VOICEPLATFORM_MEDIA_DIR``, else the
instance's ``media/`` (voiceplatform.settings; where the switches write). A recording row's path is resolved (symbolic
links and ``..`` included) and refused unless it lands inside that folder, so a row or a link that
points elsewhere can never serve another file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Mapping

from voiceplatform.settings import paths

CHUNK = 64 * 1024


def media_root(config: Mapping[str, Any]) -> Path:
    configured = config.get("MEDIA_DIR") or paths().media_dir  # VOICEPLATFORM_MEDIA_DIR, else the instance's media/
    return Path(configured).resolve()


def recording_file(stored: str, root: Path) -> Path | None:
    """The real file for a stored recording path, or None if it lies outside the recordings folder."""
    allowed = (root / "recordings").resolve()
    candidate = Path(stored)
    if not candidate.is_absolute():
        candidate = allowed / candidate
    try:
        real = candidate.resolve(strict=False)
    except (OSError, RuntimeError):  # a link loop
        return None
    if real == allowed or not real.is_relative_to(allowed):
        return None
    return real


def read_chunks(path: Path, start: int, length: int, chunk: int = CHUNK) -> Iterator[bytes]:
    """``length`` bytes of ``path`` from ``start``, a chunk at a time (the file opens on first use,
    so a HEAD request that never reads the body never opens it)."""
    with path.open("rb") as handle:
        handle.seek(start)
        left = length
        while left > 0:
            data = handle.read(min(chunk, left))
            if not data:
                return
            left -= len(data)
            yield data
