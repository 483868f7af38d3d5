"""``python -m whatsapp_bridge`` in a child process, for tests that need the real bridge process
beside real workers (a bridge SIGKILLed, a bridge stopped with sends in flight).

    bridge = WhatsAppBridgeProcess(work, database_url, env={"VOICEPLATFORM_WHATSAPP_GRAPH_URL": ...})
    bridge.webhook_url            # where its webhook server listens (127.0.0.1, a free port)
    bridge.kill()                 # SIGKILL, as a crash would
    counters = bridge.stop()      # SIGTERM: the counters it logged as it stopped

The child inherits this process's environment except any ``VOICEPLATFORM_WHATSAPP_*`` setting,
which it gets only from ``env`` (its webhook server listens on 127.0.0.1 port 0 unless ``env``
says otherwise); its output goes to a log file the test can show (:meth:`output`). Nothing here
imports ``whatsapp_bridge`` (nothing in ``voiceplatform`` may): the child does.
"""

from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from voiceplatform.exceptions import VoicePlatformError
from voiceplatform.settings import paths

ROOT = paths().home
#: The bridge's last log line: ``whatsapp bridge <worker> stopped: {'sent': 1, ...}``.
_STOPPED = re.compile(r"whatsapp bridge \S+ stopped: (\{[^}]*\})")
_LISTENING = re.compile(r"whatsapp bridge webhooks at (\S+)")
STOP_SECONDS = 60.0
START_SECONDS = 60.0


class WhatsAppBridgeProcessError(VoicePlatformError):
    """The bridge process did not start or stop as asked, or left no counters."""


def _environment(database_url: str, env: dict[str, str]) -> dict[str, str]:
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("VOICEPLATFORM_WHATSAPP_")}
    return {**inherited, "DATABASE_URL": database_url, "VOICEPLATFORM_WHATSAPP_LISTEN": "127.0.0.1:0",
            "PYTHONUNBUFFERED": "1", **env}


class WhatsAppBridgeProcess:
    def __init__(self, work: Path, database_url: str, *, name: str = "whatsapp-bridge",
                 env: dict[str, str] | None = None) -> None:
        self.name = name
        self.log = work / f"{name}.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "whatsapp_bridge", "--database-url", database_url], cwd=ROOT,
                env=_environment(database_url, env or {}), stdout=log, stderr=subprocess.STDOUT)
        self.pid = self.process.pid
        self._url: str | None = None

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    @property
    def webhook_url(self) -> str:
        """The webhook URL the child printed once it listened (waits for it)."""
        deadline = time.monotonic() + START_SECONDS
        while self._url is None:
            found = _LISTENING.findall(self.log.read_text(errors="replace"))
            if found:
                self._url = found[0]
                break
            if not self.running or time.monotonic() > deadline:
                raise WhatsAppBridgeProcessError(f"{self.name} did not start listening:\n{self.output()}")
            time.sleep(0.05)
        return self._url

    def kill(self) -> None:
        """SIGKILL, and wait for the exit: no answer written."""
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
                raise WhatsAppBridgeProcessError(f"{self.name} did not stop within {STOP_SECONDS:g} s:\n"
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
