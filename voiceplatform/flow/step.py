"""What one start() or resume() returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voiceplatform.flow.events import Event, NodeEntered
from voiceplatform.flow.outputs import Output
from voiceplatform.flow.state import ENDED, SessionStatus


@dataclass(frozen=True, slots=True)
class Step:
    """The outputs to perform in order, what happened, what the session now waits for, and the
    new state (plain JSON: store it, and pass it to the next resume())."""

    outputs: tuple[Output, ...]
    events: tuple[Event, ...]
    state: dict[str, Any]

    @property
    def status(self) -> SessionStatus:
        return SessionStatus(self.state["status"])

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    @property
    def wait(self) -> dict[str, Any] | None:
        """``{"kind": gather|record|reply|http|transfer|call, "node", "timeout", "expires_at"}``."""
        return self.state["wait"]

    @property
    def channel(self) -> str:
        return self.state["channel"]

    @property
    def path(self) -> list[str]:
        """The node ids entered during this step, in order."""
        return [event.node for event in self.events if isinstance(event, NodeEntered)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "outputs": [output.to_dict() for output in self.outputs],
            "events": [event.to_dict() for event in self.events],
            "state": self.state,
        }
