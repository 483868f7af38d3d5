"""Stored conversations: one ``sessions`` row per journey (on any channel, across channels), its
history as ordered ``session_events`` rows, and what the messaging runtime keeps beside them
(the dev channel's outbox, unsolicited messages, provider message ids already applied, and each
account's opt-out words).

Why a row per session and not per call or per message: a journey that starts as a call and goes
on by SMS is *one* session whose ``channel`` changes; its events keep both parts in one order.
A waiting session lives only here (a worker holds nothing in memory for it), so any worker can
resume it when the reply comes, and the sweeper can expire it when nobody replies.

Locking: every UPDATE of a session says ``WHERE id = :id AND row_version = :seen`` and fails
when another writer got there first (the batched writes of voiceplatform.sessions.writes raise
``SessionConflictError``; ``row_version`` is also SQLAlchemy's ``version_id_col`` for the rows
the ORM flushes itself), so a resume can never be applied on top of a state it did not read.
The runner also takes the rows with ``SELECT ... FOR UPDATE`` on PostgreSQL (a second resume
waits instead of failing); on SQLite the write transaction serialises writers.
See docs/sessions.md.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from voiceplatform.models.base import Base, Json, UtcDateTime, utcnow


class SessionStatus(str, Enum):
    """Where a stored session stands. ``active``: being run right now (a live call, or between
    the outputs of one step); ``waiting``: stopped for input (a reply, a webhook's answer...);
    the other three are final."""

    ACTIVE = "active"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"


ENDED_STATUSES = frozenset({SessionStatus.COMPLETED, SessionStatus.FAILED, SessionStatus.EXPIRED})


class EventKind(str, Enum):
    """What a ``session_events`` row records."""

    INPUT = "input"  # what the contact (or a webhook, or the sweeper) gave the session
    OUTPUT = "output"  # what the engine asked the channel to do
    EVENT = "event"  # what happened inside the engine (node entered, result saved...)
    RUNTIME = "runtime"  # what the runtime did around the engine (delivered, opted out, expired)


class FlowSession(Base):
    __tablename__ = "sessions"
    __table_args__ = (
        # the router's question: this account's waiting session for this address on this channel
        # (also every query by account: it begins with account_id)
        Index("ix_sessions_route", "account_id", "channel", "address", "status"),
        # the sweeper's question, in its order: the waits that expire soonest (ended rows have none)
        Index("ix_sessions_due", "wait_expires_at", "id", sqlite_where=text("wait_expires_at IS NOT NULL"),
              postgresql_where=text("wait_expires_at IS NOT NULL")),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # also the engine's state["session"]
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    campaign_contact_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_contacts.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(20))  # the transport now: voice, sms, whatsapp, dev
    address: Mapped[str] = mapped_column(String(64))  # the contact's address on that channel
    our_address: Mapped[str | None] = mapped_column(String(64))  # our number the session speaks from
    number_id: Mapped[int | None] = mapped_column(ForeignKey("numbers.id", ondelete="SET NULL"))
    flow_version_id: Mapped[int] = mapped_column(ForeignKey("flow_versions.id"))  # pinned at the start
    status: Mapped[str] = mapped_column(String(20), default=SessionStatus.ACTIVE.value)
    wait_kind: Mapped[str | None] = mapped_column(String(20))
    wait_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # ix_sessions_due
    state: Mapped[dict[str, Any]] = mapped_column(Json)
    end_reason: Mapped[str | None] = mapped_column(String(50))
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)  # the seq of the newest event row
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __mapper_args__ = {"version_id_col": row_version}

    @property
    def ended(self) -> bool:
        return SessionStatus(self.status) in ENDED_STATUSES


class SessionEvent(Base):
    """One thing in a session's history, in order (``seq`` from 1 per session)."""

    __tablename__ = "session_events"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    seq: Mapped[int]
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))  # EventKind
    type: Mapped[str] = mapped_column(String(40))  # say, send, node_entered, text, delivered...
    channel: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class DevMessage(Base):
    """The ``dev`` channel's outbox: every message the platform sent on it, readable through
    ``GET /dev/outbox`` (voiceplatform.channels.dev)."""

    __tablename__ = "dev_messages"
    __table_args__ = (Index("ix_dev_messages_account_id_id", "account_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"), index=True)
    to_address: Mapped[str] = mapped_column(String(64))
    from_address: Mapped[str | None] = mapped_column(String(64))
    rendered_as: Mapped[str] = mapped_column(String(20))  # the engine channel the message was made for
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)  # the whole Send output
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class UnsolicitedMessage(Base):
    """A message no session waited for and no flow answered: kept, never dropped, and emitted
    as a ``message.received`` webhook in the same transaction."""

    __tablename__ = "unsolicited_messages"
    __table_args__ = (Index("ix_unsolicited_messages_account_id_id", "account_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    number_id: Mapped[int | None] = mapped_column(ForeignKey("numbers.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(64))
    our_address: Mapped[str] = mapped_column(String(64))
    input: Mapped[dict[str, Any]] = mapped_column(Json)  # the Input, as Input.to_dict()
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class InboundReceipt(Base):
    """A provider message id already applied on a channel: providers retry, the platform
    applies once (the insert fails for a second delivery, in the same transaction as the
    resume)."""

    __tablename__ = "inbound_receipts"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    outcome: Mapped[str] = mapped_column(String(20))  # resumed, started, unsolicited, opted_out
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class OptOutSettings(Base):
    """An account's own opt-out words and confirmation texts; an account without a row uses the
    defaults in voiceplatform.sessions.opt_out_words."""

    __tablename__ = "opt_out_settings"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    words: Mapped[list[str]] = mapped_column(Json, default=list)
    confirmation: Mapped[dict[str, str]] = mapped_column(Json, default=dict)  # language -> text
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
