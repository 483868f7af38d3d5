"""Forced errors: "the next N sends fail with code X", synchronously (Meta's error body) or as a
``failed`` status webhook after a 200, optionally only for one recipient."""

from __future__ import annotations

from dataclasses import dataclass

from voiceplatform.testing.whatsapp_cloud.errors import describe

ERROR_MODES = ("sync", "webhook")


@dataclass
class ForcedError:
    code: int
    count: int = 1
    mode: str = "sync"
    details: str = ""
    #: only sends to this phone number or BSUID; None: any
    recipient: str | None = None
    http_status: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in ERROR_MODES:
            raise ValueError(f"mode must be one of {', '.join(ERROR_MODES)}")
        if self.count < 1:
            raise ValueError("count must be at least 1")
        if self.http_status is not None and not 400 <= self.http_status <= 599:
            raise ValueError("http_status must be 400..599")
        if not self.details:
            self.details = f"forced by the test: {describe(self.code).title}"

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "count": self.count, "mode": self.mode, "details": self.details,
                "recipient": self.recipient, "http_status": self.http_status}


class FaultInjector:
    def __init__(self) -> None:
        self._queue: list[ForcedError] = []

    def force(self, error: ForcedError) -> None:
        self._queue.append(error)

    def clear(self) -> None:
        self._queue.clear()

    def pending(self) -> list[ForcedError]:
        return list(self._queue)

    def take(self, recipient_keys: tuple[str, ...]) -> ForcedError | None:
        """The first forced error that applies to a send to ``recipient_keys``, used once."""
        for error in self._queue:
            if error.recipient is None or error.recipient in recipient_keys:
                error.count -= 1
                if error.count == 0:
                    self._queue.remove(error)
                return error
        return None
