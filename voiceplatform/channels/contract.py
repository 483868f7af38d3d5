"""The channel contract: what every channel (voice switches, the SMS and WhatsApp bridges, the
dev channel, the simulator) declares and does, so that the shared runner
(voiceplatform.sessions.runner) handles everything channels have in common once.

A channel driver:

* **declares** its :class:`Capabilities`: which engine channel it renders for, whether it is
  live (a call: the driver runs the session in its own greenlet) or store-and-resume (messaging:
  the session waits in the database between messages), and its limits
  (:class:`~voiceplatform.flow.render.ChannelLimits`: buttons, list rows, title lengths, segment
  sizes, media), the same object the engine's renderer for that channel reads;
* **delivers** a step's outputs for a session (:meth:`ChannelDriver.deliver`). For a
  store-and-resume channel this runs *inside* the session's transaction and must only write
  (enqueue) to the database: a bridge's own sender sends later, so a message is queued if and
  only if the step that made it is committed, and a crash never sends a message twice;
* **parses** a provider's inbound event into an :class:`InboundMessage`: the sender's address,
  our address (the number it was sent to) and the engine :class:`~voiceplatform.flow.Input`.

The runner does the rest: ``http_request`` outputs (through the outbound-HTTP policy),
``send`` to another channel (through that channel's driver), ``switch_channel`` (the same session
continues on the other channel's driver), opt-outs, and the history rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, runtime_checkable

from sqlalchemy.orm import Session

from voiceplatform.flow import Channel, Input
from voiceplatform.flow.outputs import Output
from voiceplatform.flow.render import ChannelLimits, standard_limits


@dataclass(frozen=True, slots=True, init=False)
class Capabilities:
    """What a channel can carry. ``name`` is the transport (``dev``, ``sms``, ``whatsapp``,
    ``voice``: the value of ``sessions.channel``); ``renders_as`` is the engine channel its
    sessions run on (the dev channel renders as SMS unless told otherwise); ``limits`` what its
    messages can hold, by default the standard limits of ``renders_as`` (what the engine renders
    with unless it is given the driver's own: ``start(..., channel_limits=...)``)."""

    name: str
    renders_as: Channel
    live: bool  # True: a call, run by the driver; False: store-and-resume between messages
    limits: ChannelLimits
    stands_in_for: frozenset[Channel]  # engine channels it serves when no bridge is there

    def __init__(self, *, name: str, renders_as: Channel, live: bool, limits: ChannelLimits | None = None,
                 stands_in_for: frozenset[Channel] = frozenset()) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "renders_as", renders_as)
        object.__setattr__(self, "live", live)
        object.__setattr__(self, "limits", limits if limits is not None else standard_limits(renders_as))
        object.__setattr__(self, "stands_in_for", stands_in_for)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message that came in: on ``channel``, from ``address`` (the contact), to
    ``our_address`` (one of our numbers), carrying ``input``. ``message_id`` is the provider's
    id: the same id twice is applied once."""

    channel: str
    address: str
    our_address: str
    input: Input
    message_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Delivery:
    """Outputs for one session, in order, to give to one driver. ``rendered_as`` is the engine
    channel they were made for (a ``send`` from a call to SMS is rendered for SMS)."""

    session_id: str | None  # None: a message of the runtime's own (an opt-out's confirmation)
    account_id: int
    address: str
    our_address: str | None
    rendered_as: str
    outputs: tuple[Output, ...]


@runtime_checkable
class ChannelDriver(Protocol):
    """Implemented by every channel. See the module's docstring and docs/architecture.md."""

    @property
    def capabilities(self) -> Capabilities: ...

    def deliver(self, db: Session, delivery: Delivery) -> int:
        """Queue ``delivery``'s messages inside ``db``'s transaction; gives how many were queued.
        Outputs a channel has nothing to do with (a ``say`` on a messaging channel) are ignored."""
        ...

    def parse_inbound(self, raw: Mapping[str, Any]) -> InboundMessage:
        """A provider's inbound event as an :class:`InboundMessage`; raises
        ``InputRejectedError`` for an event that is not one."""
        ...
