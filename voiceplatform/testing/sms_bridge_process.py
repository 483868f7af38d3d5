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

import re
from pathlib import Path

from voiceplatform.exceptions import VoicePlatformError
from voiceplatform.testing.bridge_process import ROOT, STOP_SECONDS, ChildBridge, child_environment

__all__ = ["ROOT", "STOP_SECONDS", "BridgeProcess", "BridgeProcessError"]

#: The bridge's last log line: ``sms bridge <worker> stopped: {'parts_submitted': 1, ...}``.
_STOPPED = re.compile(r"sms bridge \S+ stopped: (\{[^}]*\})")


class BridgeProcessError(VoicePlatformError):
    """The bridge process did not stop as asked, or left no counters."""


def _environment(database_url: str, smpp_url: str, env: dict[str, str]) -> dict[str, str]:
    return child_environment(("VOICEPLATFORM_SMPP", "VOICEPLATFORM_SMS_"),
                             {"DATABASE_URL": database_url, "VOICEPLATFORM_SMPP_URL": smpp_url}, env)


class BridgeProcess(ChildBridge):
    stopped_line = _STOPPED
    error = BridgeProcessError

    def __init__(self, work: Path, database_url: str, smpp_url: str, *, name: str = "bridge",
                 env: dict[str, str] | None = None) -> None:
        super().__init__("sms_bridge", work, database_url, name, _environment(database_url, smpp_url, env or {}))
