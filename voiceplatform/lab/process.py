"""The Asterisk process of the lab: start it in the chroot, know it by pid, stop it by pid.

Asterisk runs with ``-f`` (foreground): the process started here *is* Asterisk (chroot execs
it), so its pid is known at once, with no pid file to race on, and its output goes to the lab's
log. It runs in its own session, so a Ctrl-C in the terminal that started it does not reach it.
A pid alone can be reused, so a process counts as the lab's only if its start time, its
executable and its root directory all match.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from voiceplatform.exceptions import LabError
from voiceplatform.lab import defaults
from voiceplatform.lab.polling import poll

#: Children started by this Python process, kept so they can be reaped (no zombies, no
#: "still running" warnings).
_children: dict[int, subprocess.Popen[bytes]] = {}

ASTERISK_BIN = "usr/sbin/asterisk"


def start(root: Path, log_file: Path) -> int:
    """Start ``chroot ROOT asterisk -f -n``; returns its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(log_file, "ab") as log:
            child = subprocess.Popen(
                ["chroot", str(root), "/" + ASTERISK_BIN, "-f", "-n"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    except OSError as exc:
        raise LabError(f"cannot start Asterisk in {root}: {exc}") from exc
    _children[child.pid] = child
    return child.pid


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name, or None if there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text.rsplit(")", 1)[1].split()


def start_time(pid: int) -> int | None:
    """When the process started (clock ticks since boot), or None if it is gone."""
    fields = _stat(pid)
    return int(fields[19]) if fields else None


def _reap(pid: int) -> None:
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        del _children[pid]


def is_alive(pid: int) -> bool:
    """True while the process, or any of its threads, has not exited.

    A multi-threaded process whose main thread has exited shows as a zombie while its other
    threads still run (and still hold its mounts and files): that counts as alive.
    """
    _reap(pid)
    fields = _stat(pid)
    if fields is None:
        return False
    if fields[0] != "Z":
        return True
    try:
        return len(os.listdir(f"/proc/{pid}/task")) > 1
    except FileNotFoundError:
        return False


def is_lab_asterisk(pid: int, process_start: int, root: Path) -> bool:
    """True if ``pid`` is still the Asterisk that was started in ``root`` at ``process_start``."""
    if not is_alive(pid) or start_time(pid) != process_start:
        return False
    try:
        return (
            os.readlink(f"/proc/{pid}/root") == str(root)
            and os.readlink(f"/proc/{pid}/exe") == str(root / ASTERISK_BIN)
        )
    except (FileNotFoundError, ProcessLookupError):
        return False
    except PermissionError as exc:
        raise LabError(f"cannot inspect process {pid}: {exc}") from exc


def asterisks_in(root: Path) -> list[int]:
    """Pids of Asterisk processes running from ``root``'s binary, found by their executable."""
    binary = str(root / ASTERISK_BIN)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "exe") == binary and is_alive(int(entry.name)):
                found.append(int(entry.name))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # gone meanwhile, or a kernel thread
    return found


def _gone(pid: int) -> bool | None:
    return True if not is_alive(pid) else None


def stop(pid: int) -> str:
    """Stop ``pid``: SIGTERM, and SIGKILL if it has not exited by the deadline.

    Returns how it ended: "not running", "terminated" or "killed".
    """
    if not is_alive(pid):
        _reap(pid)
        return "not running"
    for sig, timeout, outcome in (
        (signal.SIGTERM, defaults.STOP_TIMEOUT, "terminated"),
        (signal.SIGKILL, defaults.KILL_TIMEOUT, "killed"),
    ):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return "terminated"
        if poll(lambda: _gone(pid), timeout):
            _reap(pid)
            return outcome
    raise LabError(f"Asterisk (pid {pid}) did not exit after SIGKILL")


def version(root: Path) -> str:
    """The output of ``asterisk -V`` in the chroot, e.g. "Asterisk 22.10.1+dfsg-1"."""
    try:
        done = subprocess.run(
            ["chroot", str(root), "/" + ASTERISK_BIN, "-V"],
            check=True, capture_output=True, text=True, timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise LabError(f"cannot run asterisk -V in {root}: {exc}") from exc
    return done.stdout.strip()


def reload(root: Path, timeout: float = 30.0) -> None:
    """``asterisk -rx "core reload"`` in the chroot: re-read every configuration file, through
    the CLI's control socket (root only), so the lab's AMI user needs no reload rights."""
    try:
        done = subprocess.run(
            ["chroot", str(root), "/" + ASTERISK_BIN, "-rx", "core reload"],
            capture_output=True, text=True, timeout=timeout, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(f"cannot reload the lab's configuration: {exc}") from exc
    if done.returncode != 0:
        raise LabError(f"`asterisk -rx 'core reload'` failed ({done.returncode}): {(done.stderr or done.stdout).strip()}")
