"""A switch stand-in for dialler tests: each call ends after a set time with the outcome its
number is scripted to have. It goes through the same CallRecord and CallSink as the real drivers,
and counts how many calls it carries at once. Tests of the dialler's bookkeeping use it; pacing
and faults are also tested against the real Asterisk lab."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, Callable

import gevent
from gevent.event import Event

from voiceplatform.flow import Flow
from voiceplatform.switches.call_record import CallRecord, CallSink, utcnow
from voiceplatform.calls.outcomes import CallOutcome
from voiceplatform.switches.placed_call import PlacedCall


class ScriptedSwitch:
    def __init__(self, sink: CallSink, outcome_for: Callable[[str], str] = lambda _to: "answered",
                 seconds: float = 0.05) -> None:
        self.sink = sink
        self.outcome_for = outcome_for
        self.seconds = seconds
        self.live: set[str] = set()
        self.peak = 0
        self.placed: list[CallRecord] = []

    def place_call(self, flow: Flow, to: str, contact: dict[str, Any] | None = None, *,
                   caller_id: str | None = None, variables: dict[str, str] | None = None,
                   timeout: float | None = None, account: str | None = None, call_id: str | None = None) -> PlacedCall:
        record = CallRecord(call_id or uuid.uuid4().hex, to, flow.name, "scripted", account or "default")
        record.mark("queued")
        record.mark("dialling")
        self.placed.append(record)
        self.live.add(record.call_id)
        self.peak = max(self.peak, len(self.live))
        placed = PlacedCall(record, Event(), Event())
        gevent.spawn(self._run, placed)
        return placed

    def _run(self, placed: PlacedCall) -> None:
        gevent.sleep(self.seconds)
        record = placed.record
        outcome = CallOutcome(self.outcome_for(record.to))
        if outcome == CallOutcome.ANSWERED:
            record.mark("answered", utcnow() - timedelta(seconds=self.seconds))
            record.path.append("scripted")
        record.outcome = outcome
        record.mark("ended")
        self.live.discard(record.call_id)
        try:
            self.sink.call_ended(record)
        finally:
            placed.done.set()
