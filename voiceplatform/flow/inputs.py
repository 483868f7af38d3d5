"""What a driver feeds the engine when a session resumes.

Build inputs with the constructors: ``Input.digits("1")``, ``Input.text("yes")``,
``Input.speech("yes", 0.92)``, ``Input.recording("/media/x.wav", 12.5)``, ``Input.no_input()``,
``Input.hangup()``, ``Input.http_response(200, '{"ok": true}')``, ``Input.timeout()``,
``Input.facts(answered=True, amd="human")``, ``Input.transfer_result("completed")``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class InputKind(str, Enum):
    DIGITS = "digits"
    TEXT = "text"
    SPEECH = "speech"
    RECORDING = "recording"
    NO_INPUT = "no_input"
    HANGUP = "hangup"
    HTTP_RESPONSE = "http_response"
    TIMEOUT = "timeout"
    FACTS = "facts"
    TRANSFER_RESULT = "transfer_result"


@dataclass(frozen=True, slots=True)
class Input:
    kind: InputKind
    value: str = ""
    confidence: float | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def digits(cls, value: str) -> Input:
        return cls(InputKind.DIGITS, value)

    @classmethod
    def text(cls, value: str) -> Input:
        return cls(InputKind.TEXT, value)

    @classmethod
    def speech(cls, value: str, confidence: float = 1.0) -> Input:
        return cls(InputKind.SPEECH, value, confidence)

    @classmethod
    def recording(cls, path: str, duration: float, transcript: str | None = None) -> Input:
        data: dict[str, Any] = {"duration": duration}
        if transcript is not None:
            data["transcript"] = transcript
        return cls(InputKind.RECORDING, path, data=data)

    @classmethod
    def no_input(cls) -> Input:
        return cls(InputKind.NO_INPUT)

    @classmethod
    def hangup(cls, cause: str = "") -> Input:
        return cls(InputKind.HANGUP, cause)

    @classmethod
    def http_response(cls, status: int, body: str = "", headers: dict[str, str] | None = None) -> Input:
        return cls(InputKind.HTTP_RESPONSE, body, data={"status": status, "headers": headers or {}})

    @classmethod
    def timeout(cls) -> Input:
        return cls(InputKind.TIMEOUT)

    @classmethod
    def facts(cls, **facts: Any) -> Input:
        return cls(InputKind.FACTS, data=facts)

    @classmethod
    def transfer_result(cls, status: str) -> Input:
        return cls(InputKind.TRANSFER_RESULT, status)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value}
        if self.value:
            out["value"] = self.value
        if self.confidence is not None:
            out["confidence"] = self.confidence
        if self.data:
            out["data"] = self.data
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Input:
        return cls(
            InputKind(raw["kind"]),
            raw.get("value", ""),
            raw.get("confidence"),
            dict(raw.get("data") or {}),
        )
