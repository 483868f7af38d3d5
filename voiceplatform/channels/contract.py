"""The channel contract: what every channel (voice switches, the SMS and WhatsApp bridges, the
dev channel, the simulator) declares and does, so that the shared runner
(voiceplatform.sessions.runner) handles everything channels have in common once.

A channel driver:

* **declares** its :class:`Capabilities`: which engine channel it renders for, whether it is
  live (a call: the driver runs the session in its own greenlet) or store-and-resume (messaging:
  the session waits in the database between messages), and its limits (buttons, list rows, title
  lengths, segment sizes, media) that its renderer reads;
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


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel can carry. ``name`` is the transport (``dev``, ``sms``, ``whatsapp``,
    ``voice``: the value of ``sessions.channel``); ``renders_as`` is the engine channel its
    sessions run on (the dev channel renders as SMS unless told otherwise)."""

    name: str
    renders_as: Channel
    live: bool  # True: a call, run by the driver; False: store-and-resume between messages
    buttons: int = 0  # quick-reply buttons per message (WhatsApp: 3)
    list_rows: int = 0  # rows in one list message (WhatsApp: 10)
    button_title_chars: int = 0  # WhatsApp: 20
    row_title_chars: int = 0  # WhatsApp: 24
    segment_chars_gsm7: int = 0  # one SMS segment: 160 GSM-7 characters (153 in a multi-part message)
    segment_chars_ucs2: int = 0  # 70 UCS-2 characters (67 in a multi-part message)
    max_segments: int = 0  # parts a long message may use; 0 means no limit on this channel
    media: bool = False  # images, audio, documents
    stands_in_for: frozenset[Channel] = frozenset()  # engine channels it serves when no bridge is there


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
