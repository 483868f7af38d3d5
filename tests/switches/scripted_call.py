"""A CallControl that follows a script, for testing the voice runner without a switch.

The script is a list of actions consumed as the runner asks: ("press", "1") answers the next
prompt or digit wait; ("say", wav_path) is what the caller says into the next recording;
("silence",) gives nothing; ("hangup", cause) hangs up at the next action.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from voiceplatform.switches.call_control import CallHungUp, Recorded


class ScriptedCall:
    def __init__(self, script: list[tuple[str, ...]], call_id: str = "call-1") -> None:
        self.call_id = call_id
        self.script = list(script)
        self.played: list[str] = []
        self.hung_up_by_us: str | None = None
        self.transfers: list[tuple[str, str]] = []

    def _next(self, *kinds: str) -> tuple[str, ...] | None:
        if self.script and self.script[0][0] == "hangup":
            raise CallHungUp(self.script.pop(0)[1])
        if self.script and self.script[0][0] in kinds:
            return self.script.pop(0)
        return None

    def play(self, audio_path: str, escape_digits: str = "") -> str | None:
        assert Path(audio_path).exists(), audio_path
        self.played.append(audio_path)
        if escape_digits:
            action = self._next("press")
            return action[1] if action else None
        self._next()
        return None

    def collect_digits(self, max_digits: int, timeout: float, finish_on_key: str | None, inter_digit_timeout: float = 3.0) -> str:
        action = self._next("press", "silence")
        return action[1] if action and action[0] == "press" else ""

    def record(self, path: str, max_seconds: int, beep: bool, silence_timeout: float, finish_on_key: str | None,
               escape_digits: str = "") -> Recorded:
        action = self._next("say", "press", "silence")
        if action and action[0] == "say":
            shutil.copyfile(action[1], path)
            from voiceplatform.speech.audio import wav_duration

            return Recorded(path, wav_duration(path), "silence")
        if action and action[0] == "press" and escape_digits:
            return Recorded(path, 0.0, f"key:{action[1]}")
        return Recorded(path, 0.0, "silence")

    def transfer(self, target: str, kind: str, timeout: float, caller_id: str | None) -> str:
        self.transfers.append((kind, target))
        action = self._next("transfer")
        return action[1] if action else "completed"

    def hangup(self, reason: str = "normal") -> None:
        self.hung_up_by_us = reason
