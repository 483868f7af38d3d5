"""``python -m sms_bridge`` in a child process, for the fault tests (a bridge SIGKILLed, a
gateway restarted under it) and anything else that needs the real bridge process beside real
workers.

    bridge = BridgeProcess(work, database_url, smpp_url, name="b1")
    ...
    bridge.kill()                 # SIGKILL, as a crash would
    counters = bridge.stop()      # SIGTERM: the counters it logged as it stopped

The child inherits this process's environment except any ``VOICEPLATFORM_SMPP*`` or
``VOICEPLATFORM_SMS_*`` setting, which it gets only from ``env``; its output goes to a log file
the test can show (:meth:`output`). Nothing here imports ``sms_bridge`` (nothing in
``voiceplatform`` may): the child does.
"""

from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from voiceplatform.exceptions import VoicePlatformError
from voiceplatform.settings import paths

ROOT = paths().home
#: The bridge's last log line: ``sms bridge <worker> stopped: {'parts_submitted': 1, ...}``.
_STOPPED = re.compile(r"sms bridge \S+ stopped: (\{[^}]*\})")
STOP_SECONDS = 60.0


class BridgeProcessError(VoicePlatformError):
    """The bridge process did not stop as asked, or left no counters."""


def _environment(database_url: str, smpp_url: str, env: dict[str, str]) -> dict[str, str]:
    own = ("VOICEPLATFORM_SMPP", "VOICEPLATFORM_SMS_")
    inherited = {key: value for key, value in os.environ.items() if not key.startswith(own)}
    return {**inherited, "DATABASE_URL": database_url, "VOICEPLATFORM_SMPP_URL": smpp_url,
            "PYTHONUNBUFFERED": "1", **env}


class BridgeProcess:
    def __init__(self, work: Path, database_url: str, smpp_url: str, *, name: str = "bridge",
                 env: dict[str, str] | None = None) -> None:
        self.name = name
        self.log = work / f"{name}.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sms_bridge", "--database-url", database_url], cwd=ROOT,
                env=_environment(database_url, smpp_url, env or {}), stdout=log, stderr=subprocess.STDOUT)
        self.pid = self.process.pid

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, and wait for the exit: no answer written, no unbind."""
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
                raise BridgeProcessError(f"{self.name} did not stop within {STOP_SECONDS:g} s:\n"
                                         f"{self.output()}") from exc
        return self.counters()

    def counters(self) -> dict[str, int]:
        found = _STOPPED.findall(self.log.read_text(errors="replace"))
        if not found:
            return {}
        counters: dict[str, int] = ast.literal_eval(found[-1])
        return counters

    def output(self, characters: int = 6000) -> str:
        return f"--- {self.name} (pid {self.pid}) ---\n" + self.log.read_text(errors="replace")[-characters:]
