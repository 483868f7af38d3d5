"""The one fixed set of call outcomes, whatever the switch said. Neutral: it imports nothing, so
the switches (which map their causes onto it, ``voiceplatform.switches.outcomes``), the dialler,
campaigns' retry rules and the web UI share it without depending on each other."""

from __future__ import annotations

from enum import Enum


class CallOutcome(str, Enum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    REJECTED = "rejected"
    CONGESTION = "congestion"
    FAILED = "failed"
    MACHINE = "machine"
