"""Calls (one row per call placed, whatever became of it) and their recordings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voiceplatform.models.base import Base, Created, Json, UtcDateTime


class Call(Created, Base):
    __tablename__ = "calls"
    # a campaign's calls by outcome and the recent ones, from the index alone (campaign stats)
    __table_args__ = (Index("ix_calls_campaign_outcome", "campaign_id", "outcome", "dialling_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the call id the switch saw
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    campaign_contact_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_contacts.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    flow_version_id: Mapped[int | None] = mapped_column(ForeignKey("flow_versions.id"))
    flow_name: Mapped[str] = mapped_column(String(100))
    to: Mapped[str] = mapped_column(String(64), index=True)  # the recordings list filters by number
    # "outbound" (placed by the dialler) or "inbound" (answered on one of the account's numbers:
    # ``to`` is then the number dialled, ``caller`` the caller's number, ``number_id`` the number)
    direction: Mapped[str] = mapped_column(String(10), default="outbound", server_default="outbound")
    caller: Mapped[str | None] = mapped_column(String(64))
    number_id: Mapped[int | None] = mapped_column(ForeignKey("numbers.id", ondelete="SET NULL"), index=True)
    # The session this call is the voice part of (migration 0011; voiceplatform/models/sessions.py).
    # Nullable: calls made before sessions were stored, and voice calls not yet moved onto them.
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"), index=True)
    switch: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str | None] = mapped_column(String(20), index=True)
    cause: Mapped[str | None] = mapped_column(String(200))
    amd: Mapped[str | None] = mapped_column(String(20))
    queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    dialling_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ringing_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    billable_seconds: Mapped[float] = mapped_column(Numeric(10, 3), default=0)
    results: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    path: Mapped[list[str]] = mapped_column(Json, default=list)
    transcript: Mapped[list[str]] = mapped_column(Json, default=list)
    messages: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    errors: Mapped[list[str]] = mapped_column(Json, default=list)
    final_state: Mapped[dict[str, Any] | None] = mapped_column(Json)

    recordings: Mapped[list[Recording]] = relationship(back_populates="call", cascade="all, delete-orphan")


# The transcript search of the recordings list (voiceplatform/review/search.py): full-text on
# PostgreSQL through this GIN expression index; SQLite has no to_tsvector and searches with LIKE.
TRANSCRIPT_TSVECTOR = "to_tsvector('simple', transcript)"


class Recording(Created, Base):
    __tablename__ = "recordings"
    __table_args__ = (
        Index("ix_recordings_account_created", "account_id", "created_at"),  # a tenant's date range, retention
        Index("ix_recordings_created_at", "created_at"),  # the list, newest first, over several (sub-)accounts
        Index("ix_recordings_transcript_fts", text(TRANSCRIPT_TSVECTOR), postgresql_using="gin").ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    path: Mapped[str] = mapped_column(String(500))
    duration: Mapped[float] = mapped_column(Numeric(10, 3), index=True)  # the list sorted by duration
    sha256: Mapped[str] = mapped_column(String(64))
    node: Mapped[str | None] = mapped_column(String(100))
    transcript: Mapped[str | None] = mapped_column(Text)  # the words, for search; the segments hold the times
    audio_deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # retention
    # the review pipeline (transcription and waveform), run after the call by a job
    transcript_segments: Mapped[list[dict[str, Any]] | None] = mapped_column(Json)  # [{start, end, text, words?}]
    peaks: Mapped[list[float] | None] = mapped_column(Json)  # waveform peaks, 0..1, for display
    transcription_status: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending", index=True)
    transcription_engine: Mapped[str | None] = mapped_column(String(40))
    transcription_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    transcription_error: Mapped[str | None] = mapped_column(Text)
    transcribed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    qa_status: Mapped[str] = mapped_column(String(20), default="unreviewed", server_default="unreviewed", index=True)

    call: Mapped[Call] = relationship(back_populates="recordings")
