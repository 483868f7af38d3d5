"""What ``place_call`` returns, whatever the switch: the live record and two events."""

from __future__ import annotations

from dataclasses import dataclass

from gevent.event import Event

from voiceplatform.switches.call_record import CallRecord


@dataclass
class PlacedCall:
    record: CallRecord
    done: Event
    in_session: Event  # set when the flow session starts on the answered call

    @property
    def call_id(self) -> str:
        return self.record.call_id

    def wait(self, timeout: float | None = None) -> CallRecord:
        if not self.done.wait(timeout):
            raise TimeoutError(f"call {self.call_id} still running after {timeout}s")
        return self.record
