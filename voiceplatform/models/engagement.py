"""Engagement: what a contact did with what the platform sent them, one row per event, on any
channel. The first kind is ``click`` (a click-tracked link followed: voiceplatform.engagement);
channel selection reads these rows later (which channel a contact answers on), so every row
names the contact, the channel, the campaign (when the session was a campaign's) and the time.

Privacy (docs/engagement.md): the user agent is kept, cut to :data:`MAX_USER_AGENT`
characters; the address only as its network (``203.0.113.0/24``, ``2001:db8:1::/48``), never
the whole address."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from voiceplatform.models.base import Base, UtcDateTime

MAX_USER_AGENT = 300


class EngagementKind(str, Enum):
    CLICK = "click"


class EngagementEvent(Base):
    __tablename__ = "engagement_events"
    __table_args__ = (
        # a campaign's clicks per recipient (the summary, the export), in time order
        Index("ix_engagement_events_campaign", "campaign_id", "kind", "campaign_contact_id", "at"),
        # a contact's engagement by kind and time (channel selection)
        Index("ix_engagement_events_contact", "contact_id", "kind", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    campaign_contact_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_contacts.id", ondelete="CASCADE"))
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(20))  # the engine channel the link was sent on: sms, whatsapp, voice
    kind: Mapped[str] = mapped_column(String(20), default=EngagementKind.CLICK.value)  # EngagementKind
    link: Mapped[str] = mapped_column(String(24), default="")  # the link's name ('' : the campaign's redirect_url)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    user_agent: Mapped[str | None] = mapped_column(String(MAX_USER_AGENT))
    network: Mapped[str | None] = mapped_column(String(50))  # the client's address truncated to its /24 or /48
