"""Where recordings live: ``media/recordings/<account>/<yyyy>/<mm>/<dd>/<call-id>.wav`` (a second
recording in the same call gets ``<call-id>-2.wav``), with duration and sha256."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from voiceplatform.speech.audio import sha256_of, wav_duration
from voiceplatform.switches.call_record import RecordingInfo

_SAFE = re.compile(r"[^A-Za-z0-9_.\-]")


def safe_component(value: str) -> str:
    cleaned = _SAFE.sub("_", value).strip(".") or "_"
    return cleaned[:100]


class RecordingLayout:
    def __init__(self, media_dir: str | Path) -> None:
        self.media_dir = Path(media_dir).resolve()

    def path_for(self, account: str, call_id: str, when: datetime, index: int = 1) -> Path:
        folder = self.media_dir / "recordings" / safe_component(account) / f"{when:%Y}" / f"{when:%m}" / f"{when:%d}"
        folder.mkdir(parents=True, exist_ok=True)
        suffix = "" if index == 1 else f"-{index}"
        return folder / f"{safe_component(call_id)}{suffix}.wav"

    def scratch_path(self, call_id: str, index: int) -> Path:
        """A temporary file for a spoken answer (deleted after recognition)."""
        folder = self.media_dir / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{safe_component(call_id)}-utterance-{index}.wav"

    @staticmethod
    def describe(path: Path, node: str | None, transcript: str | None = None) -> RecordingInfo:
        if not path.exists():
            return RecordingInfo(str(path), 0.0, "", node, transcript)
        return RecordingInfo(str(path), round(wav_duration(path), 3), sha256_of(path), node, transcript)
