"""A switch driver is a channel: the Asterisk and FreeSWITCH drivers implement the one channel
contract (voiceplatform.channels.contract.ChannelDriver) through :class:`VoiceChannel`, and
:class:`SwitchDriver` is what a process gets from ``voiceplatform.dialer.switch.make_driver``.

The voice channel is **live**: the driver runs each session in the call's own greenlet
(switches/voice_runner.py), so

* its capabilities are ``Capabilities(name="voice", renders_as=voice, live=True)``;
* ``deliver`` hands outputs (say, play, hangup) to the call that runs the delivery's session,
  which performs them before its next step; a session with no live call on this driver raises
  ChannelUnavailableError. Nothing is written to the database (a call's history is written when
  the call is settled, voiceplatform.sessions.calls);
* ``parse_inbound`` reads the switch's event for a call coming in (Asterisk's FastAGI headers,
  FreeSWITCH's channel data) as an :class:`InboundMessage`: the caller's number as ``address``
  (empty when withheld), the number dialled as ``our_address``, ``Input.facts(answered=True)``
  and the switch's channel id as ``message_id``. The values are as the switch sent them: the
  inbound router (voiceplatform.switches.inbound) normalises them against the numbers table.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Protocol, Self, runtime_checkable

from sqlalchemy.orm import Session

from voiceplatform.channels.contract import Capabilities, ChannelDriver, Delivery, InboundMessage
from voiceplatform.exceptions import InputRejectedError
from voiceplatform.flow import Channel, Flow, Input
from voiceplatform.switches.inbound import (InboundCall, InboundRejection, InboundRoute, InboundRouter, RejectCause,
                                            route_safely)
from voiceplatform.switches.placed_call import PlacedCall
from voiceplatform.switches.voice_runner import VoiceRunner

VOICE = "voice"
VOICE_CAPABILITIES = Capabilities(name=VOICE, renders_as=Channel.VOICE, live=True)
NO_ROUTER = "this worker answers no inbound calls (no inbound router)"


class VoiceChannel:
    """The channel-contract half every switch driver shares; the driver sets ``runner`` and
    implements ``parse_inbound`` for its switch's events (with :func:`inbound_call`)."""

    runner: VoiceRunner

    @property
    def capabilities(self) -> Capabilities:
        return VOICE_CAPABILITIES

    def deliver(self, db: Session, delivery: Delivery) -> int:
        """Hand ``delivery``'s say, play and hangup outputs to the call running its session (see
        the module's docstring); ``db`` is not used. Raises ChannelUnavailableError when no call
        runs that session on this driver."""
        return self.runner.deliver(delivery)


@runtime_checkable
class SwitchDriver(ChannelDriver, Protocol):
    """What callers of a switch driver use: a channel driver that places calls, started and
    stopped (or used as a context manager)."""

    def start(self) -> Self: ...

    def stop(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *_exc: object) -> None: ...

    @property
    def active_calls(self) -> int: ...

    def place_call(self, flow: Flow, to: str, contact: dict[str, Any] | None = None, *,
                   caller_id: str | None = None, variables: dict[str, str] | None = None,
                   timeout: float | None = None, account: str | None = None,
                   call_id: str | None = None) -> PlacedCall: ...


def event_field(raw: Mapping[str, Any], *names: str) -> str:
    """The first of ``names`` that ``raw`` holds a non-empty value for ("" when none does); a
    value that is not a string is refused."""
    for name in names:
        value = raw.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise InputRejectedError(f"{name!r} must be a string", field=name)
        return value
    return ""


def inbound_call(raw: Mapping[str, Any], *, dialled: tuple[str, ...], caller: tuple[str, ...],
                 channel_id: tuple[str, ...], withheld: tuple[str, ...] = ()) -> InboundMessage:
    """A switch's event for a call coming in as an InboundMessage, reading each value from the
    first of its field names that is set; a caller id in ``withheld`` (the switch's word for
    none) is empty. Raises InputRejectedError for an event with no number dialled."""
    if not isinstance(raw, Mapping):
        raise InputRejectedError("an inbound call's event must be a mapping of its fields")
    ours = event_field(raw, *dialled)
    if not ours:
        raise InputRejectedError(f"no number dialled (none of {', '.join(dialled)})", field=dialled[0])
    address = event_field(raw, *caller)
    return InboundMessage(VOICE, "" if address in withheld else address, ours, Input.facts(answered=True),
                          event_field(raw, *channel_id) or None, dict(raw))


def route_inbound(router: InboundRouter | None, parse: Callable[[Mapping[str, Any]], InboundMessage],
                  raw: Mapping[str, Any], call_id: str, switch: str) -> tuple[InboundCall, InboundRoute | InboundRejection]:
    """The call coming in (``raw``, read by the driver's ``parse_inbound``) and the router's answer
    for it: an event that is not a call to a number is refused as an unknown number, and so is
    every call when the worker has no router."""
    try:
        message = parse(raw)
    except InputRejectedError as exc:
        return InboundCall(call_id, "", "", switch), InboundRejection(RejectCause.UNKNOWN_NUMBER,
                                                                      f"not an inbound call: {exc}")
    asked = InboundCall(call_id, message.our_address, message.address, switch, message.message_id or "")
    if router is None:
        return asked, InboundRejection(RejectCause.UNKNOWN_NUMBER, NO_ROUTER)
    return asked, route_safely(router, asked)
