"""The calls a driver has in flight, and how each one ends: exactly once, with an outcome, and
handed to the CallSink. Shared by the Asterisk and FreeSWITCH drivers; each adds its own fields
and a hook for what only it does when a call ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterator, TypeVar

from gevent.event import Event

from voiceplatform.flow import Flow
from voiceplatform.switches.call_record import CallRecord, CallSink
from voiceplatform.calls.outcomes import CallOutcome


@dataclass
class TrackedCall:
    record: CallRecord
    flow: Flow
    contact: dict[str, Any]
    done: Event = field(default_factory=Event)
    hangup_seen: Event = field(default_factory=Event)  # the switch reported the hang-up
    in_session: Event = field(default_factory=Event)  # the flow is running on the call
    control: Any = None  # the switch's CallControl, once the session began
    session_started: bool = False
    finished: bool = False


C = TypeVar("C", bound=TrackedCall)


class CallRegistry(Generic[C]):
    def __init__(self, sink: CallSink, on_finish: Callable[[C], None] | None = None) -> None:
        self.sink = sink
        self.active: dict[str, C] = {}
        self._on_finish = on_finish

    def add(self, call: C) -> C:
        self.active[call.record.call_id] = call
        return call

    def get(self, call_id: str) -> C | None:
        return self.active.get(call_id)

    def __iter__(self) -> Iterator[C]:
        return iter(list(self.active.values()))

    def __len__(self) -> int:
        return len(self.active)

    def fail(self, call: C, outcome: CallOutcome, cause: str) -> None:
        """The call was never answered: this outcome and cause are final."""
        call.record.outcome = outcome
        call.record.cause = cause
        self.finish(call)

    def finish_unless_session(self, call: C) -> None:
        """End a call that hung up before its flow session began (none will come now)."""
        if not call.session_started:
            self.finish(call)

    def finish(self, call: C) -> None:
        if call.finished:
            return
        call.finished = True
        record = call.record
        record.mark("ended")
        if self._on_finish is not None:
            self._on_finish(call)
        control = call.control
        if record.cause is None and control is not None and control.hangup_cause:
            record.cause = control.hangup_cause  # no hang-up event came (the switch went away)
        if record.outcome is None:
            record.outcome = CallOutcome.FAILED
        self.active.pop(record.call_id, None)
        try:
            self.sink.call_ended(record)
        finally:
            call.done.set()
