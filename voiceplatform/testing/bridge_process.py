"""A messaging bridge (``python -m sms_bridge``, ``python -m whatsapp_bridge``) as a child
process: started with its own environment and a log file, SIGKILLed as a crash would, stopped
with SIGTERM, and the counters it logged as it stopped read back. The launchers
(voiceplatform/testing/sms_bridge_process.py, whatsapp_bridge_process.py) say which module to
run, which settings the child gets only from ``env``, and their error type."""

from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from voiceplatform.settings import paths

ROOT = paths().home
STOP_SECONDS = 60.0


def child_environment(own_prefixes: tuple[str, ...], fixed: dict[str, str], env: dict[str, str]) -> dict[str, str]:
    """This process's environment without the bridge's own settings (those starting with
    ``own_prefixes``), then ``fixed``, then ``env``."""
    inherited = {key: value for key, value in os.environ.items() if not key.startswith(own_prefixes)}
    return {**inherited, **fixed, "PYTHONUNBUFFERED": "1", **env}


class ChildBridge:
    """The child's lifecycle; subclasses set :attr:`stopped_line` (the regular expression of the
    bridge's last log line, its counters in group 1) and :attr:`error` (raised when it does not
    stop)."""

    stopped_line: re.Pattern[str]
    error: type[Exception] = RuntimeError

    def __init__(self, module: str, work: Path, database_url: str, name: str, environment: dict[str, str]) -> None:
        self.name = name
        self.log = work / f"{name}.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", module, "--database-url", database_url], cwd=ROOT,
                env=environment, stdout=log, stderr=subprocess.STDOUT)
        self.pid = self.process.pid

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, and wait for the exit: nothing more written."""
        if self.running:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(STOP_SECONDS)

    def stop(self) -> dict[str, int]:
        """SIGTERM; the counters the bridge logged as it stopped (empty if it was killed)."""
        if self.running:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired as exc:
                self.kill()
                raise self.error(f"{self.name} did not stop within {STOP_SECONDS:g} s:\n{self.output()}") from exc
        return self.counters()

    def counters(self) -> dict[str, int]:
        found = self.stopped_line.findall(self.log.read_text(errors="replace"))
        if not found:
            return {}
        counters: dict[str, int] = ast.literal_eval(found[-1])
        return counters

    def output(self, characters: int = 6000) -> str:
        return f"--- {self.name} (pid {self.pid}) ---\n" + self.log.read_text(errors="replace")[-characters:]
