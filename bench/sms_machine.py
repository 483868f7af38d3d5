"""What the machine did during a measure of bench/sms.py: each process's share of a core (this
process, the handset network, Jasmin, the database's backends), the whole machine's busy share
and its load average. The machine is shared (2 cores, other work running), so every figure the
benchmark reports carries these beside it."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Iterable

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` so far (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _machine() -> tuple[float, float]:
    """(busy, total) jiffies of every CPU."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


class CpuWatch:
    """CPU shares between :meth:`start` and :meth:`stop`. ``groups`` maps a name to a function
    giving the pids to count (read at both ends: a process that started meanwhile counts from
    zero)."""

    def __init__(self, groups: dict[str, Callable[[], Iterable[int]]]) -> None:
        self.groups = groups
        self._before: dict[str, dict[int, float]] = {}
        self._wall = 0.0
        self._machine = (0.0, 0.0)
        self._load = 0.0

    def start(self) -> CpuWatch:
        self._before = {name: self._read(pids()) for name, pids in self.groups.items()}
        self._wall, self._machine, self._load = time.perf_counter(), _machine(), os.getloadavg()[0]
        return self

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self._wall
        busy, total = _machine()
        shares: dict[str, float] = {}
        for name, pids in self.groups.items():
            after = self._read(pids())
            used = sum(seconds - self._before[name].get(pid, 0.0) for pid, seconds in after.items())
            shares[f"{name}_cpu"] = round(used / wall, 2) if wall else 0.0
        shares["machine_busy"] = round((busy - self._machine[0]) / max(1.0, total - self._machine[1]), 2)
        shares["load_before"], shares["load_after"] = round(self._load, 2), round(os.getloadavg()[0], 2)
        return shares

    @staticmethod
    def _read(pids: Iterable[int]) -> dict[int, float]:
        found = {pid: cpu_seconds(pid) for pid in pids}
        return {pid: seconds for pid, seconds in found.items() if seconds is not None}
