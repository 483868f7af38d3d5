"""The smsc's processes (jasmind, redis-server, the handset network, a private RabbitMQ): started
in a session of their own with a clean environment, known by pid *and* start time (a pid alone
can be reused), stopped by that pid and nothing else.

The liveness and stop helpers are the lab's (``voiceplatform.lab.process``); this module adds the
start, the identity check and the reaping of children started here.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from voiceplatform.exceptions import LabError, SmscError
from voiceplatform.lab import process as lab_process

#: Children started by this Python process, reaped once they exit (no zombies).
_children: dict[int, subprocess.Popen[bytes]] = {}

#: What a child inherits of this process's environment; everything else is set explicitly
#: (Jasmin reads any ``SECTION_OPTION`` variable as configuration, so nothing stray may leak in).
INHERITED = ("PATH", "LANG", "LC_ALL", "SSL_CERT_FILE", "SSL_CERT_DIR",
             "VOICEPLATFORM_JASMIN_NODELAY")  # read by the launcher: 0 leaves Nagle on (to measure)


@dataclass(frozen=True)
class ProcessRecord:
    pid: int
    process_start: int  # clock ticks since boot, from /proc/PID/stat
    name: str


def clean_environment(**extra: str) -> dict[str, str]:
    env = {name: os.environ[name] for name in INHERITED if name in os.environ}
    env.update(extra)
    return env


def spawn(name: str, command: list[str], log_file: Path, env: dict[str, str],
          cwd: Path | None = None) -> ProcessRecord:
    """Start ``command`` in its own session (a Ctrl-C in the terminal does not reach it), its
    output appended to ``log_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(log_file, "ab") as log:
            child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                     start_new_session=True)
    except OSError as exc:
        raise SmscError(f"cannot start {name} ({command[0]}): {exc}") from exc
    _children[child.pid] = child
    return ProcessRecord(child.pid, lab_process.start_time(child.pid) or 0, name)


def _reap(pid: int) -> None:
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        del _children[pid]


def is_running(record: ProcessRecord | None) -> bool:
    """True while ``record``'s process, and not a later one with its pid, is alive."""
    if record is None:
        return False
    _reap(record.pid)
    return lab_process.is_alive(record.pid) and lab_process.start_time(record.pid) == record.process_start


def stop(record: ProcessRecord | None) -> str:
    """SIGTERM, then SIGKILL at the deadline; "not running", "terminated" or "killed"."""
    if record is None or not is_running(record):
        return "not running"
    try:
        outcome = lab_process.stop(record.pid)
    except LabError as exc:
        raise SmscError(f"{record.name} (pid {record.pid}) did not exit after SIGKILL") from exc
    _reap(record.pid)
    return outcome


def rss_kib(pid: int) -> int | None:
    """Resident memory of ``pid`` in KiB (VmRSS), or None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None
