"""The blocking, per-call interface every switch adapter implements.

The voice runner calls these from the call's greenlet as plain blocking code. Any of them raises
``CallHungUp`` as soon as the switch reports the hang-up (an AGI result of -1 or HANGUP, an AMI
Hangup event, an ESL CHANNEL_HANGUP), so the session ends wherever the flow is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from voiceplatform.exceptions import SwitchError

ALL_DTMF = "0123456789*#"


class CallHungUp(SwitchError):
    """The far end hung up. ``cause`` is the switch's hang-up cause, when known."""

    def __init__(self, cause: str = "") -> None:
        self.cause = cause
        super().__init__(f"the call hung up ({cause or 'unknown cause'})")


@dataclass(frozen=True)
class Recorded:
    path: str
    duration: float  # seconds of audio written; 0 when the caller said nothing
    ended_by: str  # "silence", "key", "max_length", "hangup"


class CallControl(Protocol):
    call_id: str

    def play(self, audio_path: str, escape_digits: str = "") -> str | None:
        """Play an 8 kHz WAV (path with extension). Returns the digit that interrupted it, if any."""

    def collect_digits(self, max_digits: int, timeout: float, finish_on_key: str | None,
                       inter_digit_timeout: float = 3.0) -> str:
        """Wait for up to ``max_digits`` digits. Returns "" on timeout."""

    def record(self, path: str, max_seconds: int, beep: bool, silence_timeout: float,
               finish_on_key: str | None, escape_digits: str = "") -> Recorded:
        """Record the caller into ``path`` (a .wav path). With ``escape_digits`` a key ends it
        and is reported in ``ended_by`` as ``key:<digit>``."""

    def transfer(self, target: str, kind: str, timeout: float, caller_id: str | None) -> str:
        """Bridge the call on. Returns completed, busy, no-answer or failed."""

    def hangup(self, reason: str = "normal") -> None: ...
