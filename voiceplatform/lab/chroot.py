"""The cached Debian sid chroot that holds Asterisk.

It is built once with debootstrap into a temporary directory beside its final place and then
renamed, so a build that crashes never leaves a half chroot where a whole one is expected.
A marker file inside it records what it holds; a chroot built for other packages is rebuilt.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from voiceplatform.exceptions import LabError
from voiceplatform.lab import defaults, mounts
from voiceplatform.lab.locking import exclusive_lock
from voiceplatform.lab.mirror import machine_mirror


@dataclass(frozen=True)
class BuildReport:
    root: Path
    built: bool  # False when the cached chroot was used
    seconds: float
    mirror: str | None


def read_marker(root: Path) -> dict[str, object] | None:
    """What the chroot at ``root`` was built with, or None if it is not a complete build."""
    try:
        data = json.loads((root / defaults.MARKER).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise LabError(f"cannot read {root / defaults.MARKER}: {exc}") from exc
    return data if isinstance(data, dict) else None


def is_ready(root: Path) -> bool:
    marker = read_marker(root)
    return (
        marker is not None
        and marker.get("packages") == list(defaults.PACKAGES)
        and marker.get("suite") == defaults.SUITE
        and (root / "usr/sbin/asterisk").exists()
    )


def remove_tree(path: Path) -> None:
    """Delete a (possibly half-built) chroot, after unmounting whatever is mounted in it."""
    if not path.exists():
        return
    mounts.unmount_all(path)
    try:
        shutil.rmtree(path)
    except OSError as exc:
        raise LabError(f"cannot remove {path}: {exc}") from exc


def _leftovers(root: Path) -> list[Path]:
    """Temporary trees of earlier builds that did not finish."""
    return sorted(root.parent.glob(f".{root.name}.build-*")) + sorted(
        root.parent.glob(f".{root.name}.old-*")
    )


def _debootstrap(target: Path, mirror: str) -> None:
    args = [
        "debootstrap",
        "--variant=minbase",
        f"--include={','.join(defaults.PACKAGES)}",
        defaults.SUITE,
        str(target),
        mirror,
    ]
    try:
        subprocess.run(
            args, check=True, capture_output=True, text=True, timeout=defaults.BUILD_TIMEOUT
        )
    except FileNotFoundError as exc:
        raise LabError(
            "debootstrap is not installed (bash scripts/setup.sh installs it)"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"debootstrap took longer than {defaults.BUILD_TIMEOUT:.0f} s") from exc
    except subprocess.CalledProcessError as exc:
        log = target / "debootstrap/debootstrap.log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else exc.stderr[-2000:]
        raise LabError(f"debootstrap failed ({exc.returncode}):\n{detail}") from exc


def ensure_chroot(root: Path, mirror: str | None = None) -> BuildReport:
    """Make sure a complete chroot is at ``root``: use the cached one, or build it.

    ``mirror`` defaults to the Debian mirror of the machine's own apt sources.
    """
    started = time.monotonic()
    if is_ready(root):
        return BuildReport(root, built=False, seconds=time.monotonic() - started, mirror=None)
    root.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(root.parent / f".{root.name}.lock"):
        if is_ready(root):  # another process built it while this one waited for the lock
            return BuildReport(root, False, time.monotonic() - started, None)
        for leftover in _leftovers(root):
            remove_tree(leftover)
        mirror = mirror or machine_mirror()
        temp = root.parent / f".{root.name}.build-{os.getpid()}"
        try:
            _debootstrap(temp, mirror)
        except LabError:
            remove_tree(temp)
            raise
        marker = {"suite": defaults.SUITE, "packages": list(defaults.PACKAGES),
                  "mirror": mirror, "built_at": time.time()}
        (temp / defaults.MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
        old = root.parent / f".{root.name}.old-{os.getpid()}"
        if root.exists():  # an outdated or incomplete chroot: move it aside, then delete it
            mounts.unmount_all(root)
            os.rename(root, old)
        os.rename(temp, root)
        remove_tree(old)
    return BuildReport(root, built=True, seconds=time.monotonic() - started, mirror=mirror)
