"""Supervisors' quality reviews of recordings, and the audit log of who listened, downloaded or
changed a review. A review keeps its scores and notes after the audio is deleted (retention)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from voiceplatform.models.base import Base, Created, Json, UtcDateTime, utcnow


class QaReview(Created, Base):
    __tablename__ = "qa_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    scores: Mapped[dict[str, int]] = mapped_column(Json, default=dict)  # rubric item key -> score
    tags: Mapped[list[str]] = mapped_column(Json, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="reviewed")  # reviewed | flagged
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class QaRubricItem(Base):
    """An account's scoring rubric; accounts without one use the default rubric."""

    __tablename__ = "qa_rubric_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    key: Mapped[str] = mapped_column(String(50))
    label: Mapped[str] = mapped_column(String(200))
    max_score: Mapped[int] = mapped_column(default=5)
    position: Mapped[int] = mapped_column(default=0)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_account_time", "account_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))  # login, listen, download, qa.update, retention.delete, ...
    recording_id: Mapped[int | None] = mapped_column(index=True)  # kept after the recording's audio is gone
    details: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
