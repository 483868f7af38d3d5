"""Requests counted against a rate limit (voiceplatform.api.rate_limits, migration 0015): one
``rate_limit_hits`` row per request an account made in a limited scope within the last window,
so a limit holds across processes and workers. Rows older than the window are deleted as new
ones come."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from voiceplatform.models.base import Base, UtcDateTime


class RateLimitHit(Base):
    __tablename__ = "rate_limit_hits"
    __table_args__ = (Index("ix_rate_limit_hits_window", "account_id", "scope", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(40))  # personalised_sms
    at: Mapped[datetime] = mapped_column(UtcDateTime())
