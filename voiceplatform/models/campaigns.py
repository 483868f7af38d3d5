"""Campaigns and the contacts in them. Each campaign contact moves through statuses with its
attempts and the time of its next attempt; a campaign is complete when every contact is final.

A campaign runs on one channel (``voice``, ``sms`` or ``whatsapp``). A voice attempt is a
``calls`` row; a messaging attempt is a ``campaign_messages`` row naming the session it started,
what it sent (messages, SMS parts, cost) and what became of it (delivery reports)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy import Enum as SqlEnum
from sqlalchemy.orm import Mapped, mapped_column

from voiceplatform.models.base import Base, Created, Json, UtcDateTime


def _enum(kind: type[Enum]) -> SqlEnum:
    return SqlEnum(kind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class CampaignStatus(str, Enum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"  # e.g. stopped for lack of credit


class CampaignContactStatus(str, Enum):
    PENDING = "pending"  # waiting for its (next) attempt
    DIALLING = "dialling"  # a call is in progress
    DONE = "done"  # final: reached, or no retry left
    SKIPPED = "skipped"  # final: do-not-call, opted out, invalid number
    CANCELLED = "cancelled"  # final: the campaign was cancelled


FINAL_CONTACT_STATUSES = frozenset({CampaignContactStatus.DONE, CampaignContactStatus.SKIPPED, CampaignContactStatus.CANCELLED})

#: The channels a campaign runs on (the engine's channels; the transport is the registry's choice).
CAMPAIGN_CHANNELS = ("voice", "sms", "whatsapp")


class Campaign(Created, Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    flow_version_id: Mapped[int] = mapped_column(ForeignKey("flow_versions.id"))
    contact_list_id: Mapped[int | None] = mapped_column(ForeignKey("contact_lists.id"))
    kind: Mapped[str] = mapped_column(String(20), default="campaign", server_default="campaign")  # or "single"
    channel: Mapped[str] = mapped_column(String(20), default="voice", server_default="voice")  # CAMPAIGN_CHANNELS
    status: Mapped[CampaignStatus] = mapped_column(_enum(CampaignStatus), default=CampaignStatus.DRAFT, index=True)
    status_reason: Mapped[str | None] = mapped_column(String(200))  # e.g. insufficient_credit
    settings: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)  # pacing, windows, retry rules
    scheduled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    fanned_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CampaignContact(Base):
    __tablename__ = "campaign_contacts"
    __table_args__ = (
        UniqueConstraint("campaign_id", "contact_id"),
        Index("ix_campaign_contacts_due", "campaign_id", "status", "next_attempt_at", "id"),  # in ORDER BY order
        Index("ix_campaign_contacts_outcomes", "campaign_id", "status", "last_outcome"),  # campaign stats
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    status: Mapped[CampaignContactStatus] = mapped_column(_enum(CampaignContactStatus), default=CampaignContactStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_outcome: Mapped[str | None] = mapped_column(String(20))
    last_call_id: Mapped[str | None] = mapped_column(String(64))
    final_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))  # the worker dialling it
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())  # renewed while the call runs


class CampaignMessage(Base):
    """One messaging attempt of a campaign contact: the session it started (exactly one per
    attempt: written in the transaction that starts the session), the messages and SMS parts its
    first step sent, what they cost, and the attempt's outcome (``sent``, then what a delivery
    report says: voiceplatform.campaigns.message_outcomes)."""

    __tablename__ = "campaign_messages"
    __table_args__ = (
        Index("ix_campaign_messages_outcomes", "campaign_id", "outcome"),  # stats by outcome
        Index("ix_campaign_messages_sent", "campaign_id", "sent_at"),  # the per-second cap, the rate
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    campaign_contact_id: Mapped[int] = mapped_column(ForeignKey("campaign_contacts.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"), unique=True)
    channel: Mapped[str] = mapped_column(String(20))  # the campaign's channel: sms, whatsapp
    transport: Mapped[str] = mapped_column(String(20))  # the driver that carried it: sms, whatsapp, dev
    attempt: Mapped[int]
    messages: Mapped[int] = mapped_column(default=0)
    parts: Mapped[int] = mapped_column(default=0)  # SMS segments (voiceplatform.text.sms_segments); = messages elsewhere
    cost: Mapped[Decimal] = mapped_column(Numeric(14, 4), default=Decimal("0"))
    outcome: Mapped[str] = mapped_column(String(20), default="sent")
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime())
    outcome_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # the delivery report that moved it
    error: Mapped[str | None] = mapped_column(String(200))  # why an attempt sent nothing
