"""Calls from a lab probe (the caller side, context lab-probe) to a scripted callee.

Each call is correlated by ids it carries, never by timing: the Originate's ActionID, the
channel ids it assigns (ChannelId / OtherChannelId), and PROBE_ID in the probe's UserEvents.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from voiceplatform.lab.ami import AmiClient, Message


@dataclass
class ProbeCall:
    probe_id: str
    originate: Message | None = None  # the OriginateResponse
    report: Message | None = None  # UserEvent LabProbe
    end: Message | None = None  # UserEvent LabProbeEnd (the probe side hung up)
    hangups: dict[str, Message] = field(default_factory=dict)  # by Uniqueid
    digits_received: list[str] = field(default_factory=list)
    answered_at: float | None = None
    ended_at: float | None = None
    started_at: float = field(default_factory=time.monotonic)

    @property
    def callee_id(self) -> str:
        return f"{self.probe_id}-callee"

    @property
    def answered(self) -> bool:
        return bool(self.originate and self.originate.get("Response") == "Success")

    @property
    def callee_hangup(self) -> Message | None:
        return self.hangups.get(self.callee_id)


def originate(
    ami: AmiClient,
    callee: str,
    context: str,
    exten: str,
    *,
    ring_timeout: float = 10.0,
    variables: dict[str, str] | None = None,
    call_id: str | None = None,
) -> tuple[ProbeCall, str]:
    """Originate Local/<callee>@customers into context/exten; returns the call and ActionID."""
    call = ProbeCall(probe_id=call_id or uuid.uuid4().hex)
    assigns = {"PROBE_ID": call.probe_id, **(variables or {})}
    action_id = ami.send(
        "Originate",
        Channel=f"Local/{callee}@customers",
        Context=context,
        Exten=exten,
        Priority=1,
        Async="true",
        Timeout=int(ring_timeout * 1000),
        ChannelId=call.probe_id,
        OtherChannelId=call.callee_id,
        Variable=[f"{k}={v}" for k, v in assigns.items()],
    )
    return call, action_id


def follow(ami: AmiClient, call: ProbeCall, action_id: str, timeout: float) -> ProbeCall:
    """Collect the call's events until the probe side has hung up (or the originate failed)
    and the callee's half has hung up too: its Hangup event, with the cause, may come after
    the probe's last event."""
    deadline = time.monotonic() + timeout
    ids = {call.probe_id, call.callee_id}

    def mine(event: Message) -> bool:
        return (
            event.get("ActionID") == action_id
            or event.get("Uniqueid") in ids
            or event.get("ProbeId") == call.probe_id
        )

    while True:
        finished = call.end or (call.originate and not call.answered)
        if finished and call.callee_hangup:
            return call
        event = ami.wait_event(mine, deadline - time.monotonic())
        name = event.get("Event")
        if name == "OriginateResponse":
            call.originate = event
            if call.answered:
                call.answered_at = time.monotonic()
        elif name == "Hangup":
            call.hangups[event["Uniqueid"]] = event
            if event["Uniqueid"] == call.probe_id:
                call.ended_at = time.monotonic()
        elif name == "DTMFEnd" and event.get("Uniqueid") == call.probe_id:
            call.digits_received.append(event.get("Digit", ""))
        elif name == "UserEvent" and event.get("UserEvent") == "LabProbe":
            call.report = event
        elif name == "UserEvent" and event.get("UserEvent") == "LabProbeEnd":
            call.end = event
            call.ended_at = call.ended_at or time.monotonic()


def probe(
    ami: AmiClient,
    callee: str,
    probe_name: str,
    *,
    ring_timeout: float = 10.0,
    variables: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> ProbeCall:
    """Call ``callee`` from the probe ``probe_name`` and follow the call to its end."""
    call, action_id = originate(
        ami, callee, "lab-probe", probe_name, ring_timeout=ring_timeout, variables=variables
    )
    return follow(ami, call, action_id, timeout)
