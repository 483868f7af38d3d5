"""The state file of a running lab: what ``status``, ``down`` and the tests read."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from voiceplatform.exceptions import LabError


@dataclass(frozen=True)
class LabState:
    """A lab that was started: its process, where it listens, and where it lives."""

    pid: int
    process_start: int  # the process's start time (clock ticks since boot): tells pids apart
    root: str
    ami_host: str
    ami_port: int
    ami_username: str
    ami_secret: str
    agi_address: str
    media_dir: str
    version: str
    log_file: str
    started_at: float
    sip_port: int = 0
    config_digest: str = ""  # of dialplans/asterisk when it was installed


def save(path: Path, state: LabState) -> None:
    """Write ``state`` atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    try:
        temp.write_text(json.dumps(asdict(state), indent=2) + "\n", encoding="utf-8")
        os.chmod(temp, 0o600)  # it holds the AMI secret
        os.replace(temp, path)
    except OSError as exc:
        raise LabError(f"cannot write lab state {path}: {exc}") from exc


def load(path: Path) -> LabState | None:
    """The saved state, or None when there is none."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return LabState(**data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        raise LabError(f"unreadable lab state {path} ({exc}); delete it and retry") from exc


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)
