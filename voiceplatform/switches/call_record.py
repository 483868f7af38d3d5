"""What a call leaves behind: outcome, cause, timestamps, billable seconds, AMD, the path through
the flow, the transcript, results and recordings. Handed to a ``CallSink`` when the call ends
(the campaign layer persists it; tests and the CLI keep it in memory)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from voiceplatform.calls.outcomes import CallOutcome

# queued → dialling → ringing → answered → ended, plus when the switch reported the far end's
# hang-up and when the flow session stopped (their gap shows how fast a hang-up is noticed).
PHASES = ("queued", "dialling", "ringing", "answered", "hangup_reported", "session_ended", "ended")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class RecordingInfo:
    path: str
    duration: float
    sha256: str
    node: str | None = None
    transcript: str | None = None


@dataclass
class CallRecord:
    call_id: str
    to: str
    flow: str
    switch: str
    account: str = "default"
    outcome: CallOutcome | None = None
    cause: str | None = None
    amd: str | None = None
    timestamps: dict[str, datetime] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    recordings: list[RecordingInfo] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    opt_outs: list[str] = field(default_factory=list)  # channels the contact opted out of (flow opt_out)
    errors: list[str] = field(default_factory=list)
    final_state: dict[str, Any] | None = None
    handoff_state: dict[str, Any] | None = None  # the journey moved to another channel
    # The call's part of its session's history, structured, in order: {"kind": input|output|event|
    # runtime, "type", "payload"} (the session store writes them as session_events rows).
    history: list[dict[str, Any]] = field(default_factory=list)
    direction: str = "outbound"  # "inbound" for a call the platform answered (switches/inbound.py)
    caller: str | None = None  # an inbound call's caller number (``to`` is then the number dialled)

    def mark(self, phase: str, at: datetime | None = None) -> None:
        """Record when a phase began; the first time wins."""
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}")
        self.timestamps.setdefault(phase, at or utcnow())

    @property
    def ended(self) -> bool:
        return "ended" in self.timestamps

    @property
    def billable_seconds(self) -> float:
        answered, ended = self.timestamps.get("answered"), self.timestamps.get("ended")
        if answered is None or ended is None:
            return 0.0
        return max(0.0, round((ended - answered).total_seconds(), 3))

    def to_dict(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["outcome"] = self.outcome.value if self.outcome else None
        raw["timestamps"] = {phase: at.isoformat() for phase, at in self.timestamps.items()}
        raw["billable_seconds"] = self.billable_seconds
        return raw


class CallSink(Protocol):
    """Where finished calls go (the campaign issue persists them in the database)."""

    def call_ended(self, record: CallRecord) -> None: ...


class MemoryCallSink:
    def __init__(self) -> None:
        self.calls: dict[str, CallRecord] = {}

    def call_ended(self, record: CallRecord) -> None:
        self.calls[record.call_id] = record
