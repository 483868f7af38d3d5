"""What happened during a resume, for logs, transcripts and the supervisor's path view.

Error events carry a stable ``code``. Tier 1 (the run goes on) uses ``ErrorEvent``; tier 2 (the run
ends) uses ``FailureEvent``. Tier 3, misuse by the caller, raises ``FlowEngineError`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class Event:
    kind: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        names: tuple[str, ...] = self.__slots__
        for name in names:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


@dataclass(frozen=True, slots=True)
class NodeEntered(Event):
    kind: ClassVar[str] = "node_entered"
    node: str
    node_type: str
    flow: str


@dataclass(frozen=True, slots=True)
class InputReceived(Event):
    kind: ClassVar[str] = "input"
    node: str | None
    input: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ResultSaved(Event):
    kind: ClassVar[str] = "result_saved"
    node: str
    name: str
    value: Any
    label: str | None = None


@dataclass(frozen=True, slots=True)
class VarSet(Event):
    kind: ClassVar[str] = "var_set"
    node: str
    name: str
    value: Any


@dataclass(frozen=True, slots=True)
class FlowEntered(Event):
    kind: ClassVar[str] = "flow_entered"
    flow: str
    depth: int


@dataclass(frozen=True, slots=True)
class FlowExited(Event):
    kind: ClassVar[str] = "flow_exited"
    flow: str
    depth: int


@dataclass(frozen=True, slots=True)
class ChannelChanged(Event):
    kind: ClassVar[str] = "channel_changed"
    channel: str
    previous: str


@dataclass(frozen=True, slots=True)
class LanguageChanged(Event):
    """The session's language changed (``set_language``): prompts, phrases, voice and STT follow."""

    kind: ClassVar[str] = "language_changed"
    language: str
    previous: str


@dataclass(frozen=True, slots=True)
class OptedOut(Event):
    """The contact opted out of ``channels`` (``opt_out``); the runtime records it on the contact."""

    kind: ClassVar[str] = "opted_out"
    node: str
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MessageSuppressed(Event):
    """A message was not sent because the contact opted out of its channel in this session."""

    kind: ClassVar[str] = "message_suppressed"
    node: str | None
    channel: str
    reason: str


@dataclass(frozen=True, slots=True)
class ErrorEvent(Event):
    kind: ClassVar[str] = "error"
    code: str
    message: str
    node: str | None = None


@dataclass(frozen=True, slots=True)
class FailureEvent(Event):
    kind: ClassVar[str] = "failure"
    code: str
    message: str
    node: str | None = None


@dataclass(frozen=True, slots=True)
class SessionEnded(Event):
    kind: ClassVar[str] = "session_ended"
    status: str
