"""Run the whole test suite as several pytest processes side by side (``scripts/test.sh`` with
no arguments): ``--shard K/N`` each (tests/shards.py says which test goes where), every output
in a file of its own, shown whole when its shard ends, a line of progress a minute meanwhile.

Most of the suite's time is waiting on real components, so processes side by side take well
under half the time of one, even on two cores (the machine's load stayed near 1 with two): the
lab's tests in one, the SMS gateways' own tests and part of the rest in the second, the rest in
the third. On a 2-core machine, 2026-12-02: 20.1 min with two shards (the lab's 17.4, the rest
20.1), 16.5 with three (the lab's 16.5, the others 7.7 and 13.4).
``VOICEPLATFORM_TEST_SHARDS`` sets how many (default 3; 1: one process, as ``pytest`` alone). An interrupt (Ctrl-C, SIGTERM) is passed on to every shard as SIGINT, so each
runs its teardown (the lab, the gateway and the servers it started are stopped), then anything
still running after 60 s is killed. The exit code is 0 only if every shard passed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
PROGRESS_EVERY = 60.0
LAB_SHARD = 0  # tests/shards.py COMPONENT_SHARD["lab"]
OTHERS_NICENESS = 10
GRACE = 60.0


@dataclass
class Running:
    index: int
    process: subprocess.Popen[bytes]
    log: Path
    handle: IO[bytes]
    started: float
    code: int | None = None


def last_progress(log: Path) -> str:
    """The shard's last line that shows a percentage (pytest's progress), shortened."""
    try:
        with log.open("rb") as handle:
            handle.seek(max(0, log.stat().st_size - 4096))
            lines = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if line.rstrip().endswith("%]"):
            return line.strip()[-100:]
    return lines[-1].strip()[-100:] if lines else ""


def start(index: int, count: int, folder: Path, extra: list[str]) -> Running:
    log = folder / f"shard-{index}.log"
    handle = log.open("wb")
    command = [sys.executable, "-m", "pytest", "--shard", f"{index}/{count}", *extra]
    # shard 0 holds the lab's real calls (tests/shards.py): RTP played on a schedule, speech
    # heard in a window, AMD's timing. They lose to a busy CPU (a spoken "yes" missed its
    # listening window in two runs side by side, never alone), so the other shards run niced and
    # give the CPU to the calls whenever both want it
    niceness = 0 if index == LAB_SHARD else OTHERS_NICENESS
    process = subprocess.Popen(command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, preexec_fn=lambda: os.nice(niceness) and None)
    return Running(index, process, log, handle, time.monotonic())


def show(shard: Running, count: int) -> None:
    minutes = (time.monotonic() - shard.started) / 60
    print(f"\n===== shard {shard.index}/{count}: exit code {shard.code} after {minutes:.1f} min =====", flush=True)
    sys.stdout.write(shard.log.read_text("utf-8", "replace"))
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    count = int(os.environ.get("VOICEPLATFORM_TEST_SHARDS", "3"))
    if count < 1:
        raise SystemExit("VOICEPLATFORM_TEST_SHARDS must be at least 1")
    if count == 1:
        return subprocess.call([sys.executable, "-m", "pytest", *argv], cwd=ROOT)
    interrupted: list[int] = []

    def interrupt(signum: int, _frame: FrameType | None) -> None:
        interrupted.append(signum)

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    with tempfile.TemporaryDirectory(prefix="voiceplatform-shards-") as folder:
        shards = [start(index, count, Path(folder), argv) for index in range(count)]
        print(f"[test] {count} shards side by side (tests/shards.py); each one's output when it ends", flush=True)
        next_progress = time.monotonic() + PROGRESS_EVERY
        deadline: float | None = None
        while any(shard.code is None for shard in shards):
            time.sleep(0.5)
            for shard in shards:
                if shard.code is None and shard.process.poll() is not None:
                    shard.code = shard.process.returncode
                    shard.handle.close()
                    show(shard, count)
            if interrupted and deadline is None:
                deadline = time.monotonic() + GRACE
                for shard in shards:
                    if shard.code is None:
                        shard.process.send_signal(signal.SIGINT)
            if deadline is not None and time.monotonic() > deadline:
                for shard in shards:
                    if shard.code is None:
                        shard.process.kill()
            if time.monotonic() >= next_progress:
                next_progress += PROGRESS_EVERY
                waiting = [f"shard {s.index}: {last_progress(s.log)}" for s in shards if s.code is None]
                print("[test] " + " | ".join(waiting), flush=True)
    codes = [shard.code for shard in shards]
    print(f"\n[test] shards' exit codes: {codes}", flush=True)
    if interrupted:
        return 130
    return next((code for code in codes if code), 0) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
