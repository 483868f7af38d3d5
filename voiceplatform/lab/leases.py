"""Who is using the lab: one lease file per process (a test session) that relies on it.

Several test sessions may share one lab. A session that started the lab stops it at its end
only when no other live session holds a lease, and ``down`` refuses to pull the lab from under
a live lease unless forced. A lease whose process has gone is stale and is ignored (and
removed), so a crashed session never blocks anybody.
"""

from __future__ import annotations

import os
from pathlib import Path

from voiceplatform.exceptions import LabError
from voiceplatform.lab import process

SUBDIR = "leases"


def _name(pid: int) -> str:
    return f"{pid}-{process.start_time(pid) or 0}"


def acquire(state_dir: Path) -> Path:
    """Record that this process uses the lab; returns the lease to release."""
    path = state_dir / SUBDIR / _name(os.getpid())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError as exc:
        raise LabError(f"cannot write lab lease {path}: {exc}") from exc
    return path


def release(lease: Path) -> None:
    lease.unlink(missing_ok=True)


def holders(state_dir: Path, exclude_self: bool = True) -> list[int]:
    """Pids of live processes holding a lease (stale leases are removed)."""
    directory = state_dir / SUBDIR
    if not directory.is_dir():
        return []
    mine = _name(os.getpid())
    live = []
    for lease in directory.iterdir():
        pid_text, _, start = lease.name.partition("-")
        if not pid_text.isdigit():
            continue
        pid = int(pid_text)
        if process.is_alive(pid) and str(process.start_time(pid)) == start:
            if not (exclude_self and lease.name == mine):
                live.append(pid)
        else:
            lease.unlink(missing_ok=True)
    return sorted(live)
