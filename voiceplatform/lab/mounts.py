"""The mounts a running lab needs inside its chroot, and their removal.

The mount table (/proc/self/mountinfo) is the truth: nothing is remembered elsewhere, so
mounts left behind by a crash are found and removed like any other.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from voiceplatform.exceptions import LabError
from voiceplatform.lab.polling import poll

MOUNTINFO = Path("/proc/self/mountinfo")
#: How long a busy mount may take to become free (its last user exiting).
BUSY_TIMEOUT = 10.0


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (\\040)."""
    return field.encode("ascii").decode("unicode_escape")


def mount_points() -> list[Path]:
    """Every mount point of this process's mount namespace, in mount order."""
    try:
        text = MOUNTINFO.read_text(encoding="utf-8")
    except OSError as exc:
        raise LabError(f"cannot read {MOUNTINFO}: {exc}") from exc
    return [Path(_unescape(line.split()[4])) for line in text.splitlines() if line.strip()]


def mounts_under(root: Path) -> list[Path]:
    """Mount points at or below ``root``, deepest (and latest) first: the order to unmount."""
    found = [p for p in mount_points() if p == root or root in p.parents]
    found.reverse()
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def is_mounted(path: Path) -> bool:
    return path in mount_points()


def _run(args: list[str]) -> None:
    try:
        subprocess.run(args, check=True, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise LabError(f"{args[0]} is not installed: {exc}") from exc
    except subprocess.CalledProcessError as exc:
        raise LabError(f"{' '.join(args)} failed: {exc.stderr.strip()}") from exc


def mount_proc(target: Path) -> None:
    if not is_mounted(target):
        target.mkdir(parents=True, exist_ok=True)
        _run(["mount", "-t", "proc", "proc", str(target)])


def bind(source: Path, target: Path) -> None:
    """Bind-mount ``source`` on ``target`` (made if missing), unless already mounted there."""
    if not is_mounted(target):
        target.mkdir(parents=True, exist_ok=True)
        _run(["mount", "--bind", str(source), str(target)])


def _try_unmount(point: Path) -> bool | None:
    """True once unmounted; None while the mount is busy (a process still exiting)."""
    done = subprocess.run(["umount", str(point)], capture_output=True, text=True)
    if done.returncode == 0:
        return True
    if "busy" in done.stderr:
        return None
    raise LabError(f"umount {point} failed: {done.stderr.strip()}")


def _unmount(point: Path) -> None:
    try:
        unmounted = poll(lambda: _try_unmount(point), BUSY_TIMEOUT)
    except FileNotFoundError as exc:
        raise LabError(f"umount is not installed: {exc}") from exc
    if not unmounted:
        raise LabError(f"{point} stays busy; find its users with: fuser -vm {point}")


def unmount_all(root: Path) -> list[Path]:
    """Unmount everything at or below ``root`` (not ``root`` itself); returns what was unmounted.

    Raises LabError if something stays mounted: deleting a tree with /dev bound into it would
    delete the host's /dev.
    """
    done = []
    for point in mounts_under(root):
        if point == root:
            continue
        _unmount(point)
        done.append(point)
    left = [p for p in mounts_under(root) if p != root]
    if left:
        raise LabError(f"still mounted under {root}: {', '.join(map(str, left))}")
    return done
