"""The platform's own numbers, each owned by one account: where a call (and, later, an SMS or a
WhatsApp message) comes in, and which flow answers it.

A number row is the address (unique across the installation: the carrier delivers a number to
one place) and its owner. Its channels are child rows (``number_channels``), one per channel the
number takes (``voice`` now; ``sms`` and ``whatsapp`` when their bridges land), rather than an
array column, because:

* a channel carries settings of its own: its own inbound flow (an SMS keyword flow on the same
  long code as the voice IVR) now, and a bridge's provider settings later: a new nullable column
  on the child row, never a redesign of the number;
* "the account's WhatsApp numbers" or "who owns +1... on sms" is a plain indexed query on both
  SQLite and PostgreSQL (a JSON array needs a dialect-specific operator and cannot be indexed
  the same way on both);
* the primary key (number, channel) makes a channel appear once per number by construction.

The number's own ``flow_name``/``flow_version`` is the inbound flow of every channel that names
none; ``flow_version`` NULL means the newest published version at the time of the call.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voiceplatform.models.base import Base, Created, UtcDateTime, utcnow

#: The channels a number can take. ``voice`` calls are routed by voiceplatform.inbound.router;
#: messages on ``sms`` (a long code or a short code), ``whatsapp`` (a WhatsApp business number)
#: and ``dev`` (the designers' test channel, voiceplatform.channels.dev) by
#: voiceplatform.sessions.inbound (issue 13).
CHANNELS = ("voice", "sms", "whatsapp", "dev")
#: What the number is: an E.164 ``phone`` number (a voice number, an SMS long code, a WhatsApp
#: business number), an SMS ``short_code`` (3 to 8 digits, national), or a lab callee-style
#: ``name`` (the lab and tests dial names; the dev channel accepts them too).
KINDS = ("phone", "short_code", "name")


class Number(Created, Base):
    __tablename__ = "numbers"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)  # normalised: voiceplatform.inbound.addresses
    kind: Mapped[str] = mapped_column(String(20), default="phone")
    flow_name: Mapped[str | None] = mapped_column(String(100))
    flow_version: Mapped[int | None]  # None: the newest published version when the call comes in
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    channels: Mapped[list[NumberChannel]] = relationship(
        back_populates="owner", cascade="all, delete-orphan", order_by="NumberChannel.channel", lazy="selectin")

    def channel(self, name: str) -> NumberChannel | None:
        return next((row for row in self.channels if row.channel == name), None)


class NumberChannel(Base):
    """One channel a number takes, with that channel's own inbound flow if it has one."""

    __tablename__ = "number_channels"

    number_id: Mapped[int] = mapped_column(ForeignKey("numbers.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True, index=True)
    flow_name: Mapped[str | None] = mapped_column(String(100))  # None: the number's flow
    flow_version: Mapped[int | None]

    owner: Mapped[Number] = relationship(back_populates="channels")

    def flow(self) -> tuple[str | None, int | None]:
        """(flow name, pinned version or None) that answers on this channel."""
        if self.flow_name:
            return self.flow_name, self.flow_version
        return self.owner.flow_name, self.owner.flow_version
