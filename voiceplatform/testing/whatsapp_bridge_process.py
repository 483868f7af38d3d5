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

import re
import time
from pathlib import Path

from voiceplatform.exceptions import VoicePlatformError
from voiceplatform.testing.bridge_process import ROOT, STOP_SECONDS, ChildBridge, child_environment

__all__ = ["ROOT", "STOP_SECONDS", "START_SECONDS", "WhatsAppBridgeProcess", "WhatsAppBridgeProcessError"]

#: The bridge's last log line: ``whatsapp bridge <worker> stopped: {'sent': 1, ...}``.
_STOPPED = re.compile(r"whatsapp bridge \S+ stopped: (\{[^}]*\})")
_LISTENING = re.compile(r"whatsapp bridge webhooks at (\S+)")
START_SECONDS = 60.0


class WhatsAppBridgeProcessError(VoicePlatformError):
    """The bridge process did not start or stop as asked, or left no counters."""


def _environment(database_url: str, env: dict[str, str]) -> dict[str, str]:
    return child_environment(("VOICEPLATFORM_WHATSAPP_",),
                             {"DATABASE_URL": database_url, "VOICEPLATFORM_WHATSAPP_LISTEN": "127.0.0.1:0"}, env)


class WhatsAppBridgeProcess(ChildBridge):
    stopped_line = _STOPPED
    error = WhatsAppBridgeProcessError

    def __init__(self, work: Path, database_url: str, *, name: str = "whatsapp-bridge",
                 env: dict[str, str] | None = None) -> None:
        super().__init__("whatsapp_bridge", work, database_url, name, _environment(database_url, env or {}))
        self._url: str | None = None

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
