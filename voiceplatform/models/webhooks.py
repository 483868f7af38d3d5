"""Webhook subscriptions (the customer's endpoints for call and campaign events) and each
delivery attempt, signed with HMAC-SHA256 and retried with backoff.

The signing secret is stored encrypted (column ``secret_encrypted``, AES-GCM under the data key,
:mod:`voiceplatform.safety.secrets_at_rest`); ``WebhookSubscription.secret`` reads and writes
the plain text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from voiceplatform.models.base import Base, Created, Json, UtcDateTime
from voiceplatform.safety.secrets_at_rest import EncryptedString

SECRET_CHARS = 200  # the longest signing secret (the API accepts 16 to 200 characters)


class WebhookSubscription(Created, Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column("secret_encrypted", EncryptedString(SECRET_CHARS, "webhook_subscriptions.secret"))
    events: Mapped[list[str]] = mapped_column(Json, default=list)  # e.g. ["call.ended", "campaign.completed"]
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class WebhookDelivery(Created, Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
