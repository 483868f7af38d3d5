"""The SMS bridge's store (sms_bridge, migration 0014): one ``sms_messages`` row per message the
platform sends over SMPP, its parts (``sms_parts``: the SMSC's message id of each
``submit_sm``), and the delivery receipts that came before their ``submit_sm_resp`` was stored
(``sms_held_receipts``).

Two columns say where a message is, because they move for different reasons:

* ``send_state`` is the sender's: ``queued`` (waiting, from ``next_attempt_at`` if set),
  ``submitting`` (claimed by ``claimed_by`` until ``claimed_until``), ``submitted`` (every part
  has had its answer: accepted, refused, or none came) or ``failed`` (nothing could be sent: no
  sender address, a text that cannot be encoded). Only the sender moves it.
* ``status`` is the delivery status (``sms_bridge.delivery_status``): NULL until a part is
  accepted, then ``accepted``, ``enroute``, and a final one (``delivered``, ``undelivered``,
  ``expired``, ``rejected``, ``unknown``). It only moves forward, and is the roll-up of the
  parts' statuses. ``unknown`` with ``unconfirmed`` > 0 is the message whose submit got no
  answer: it was neither resent nor counted as sent.

A message is queued by the ``sms`` channel driver inside the transaction of the step that made
it (docs/sms-bridge.md), so it exists if and only if that step committed.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from voiceplatform.models.base import Base, Json, UtcDateTime, utcnow

#: send_state values.
QUEUED, SUBMITTING, SUBMITTED, FAILED = "queued", "submitting", "submitted", "failed"
SEND_STATES = (QUEUED, SUBMITTING, SUBMITTED, FAILED)


class SmsMessage(Base):
    __tablename__ = "sms_messages"
    __table_args__ = (
        # the sender's question: queued messages, oldest first (only those rows are indexed)
        Index("ix_sms_messages_queued", "id", sqlite_where=text("send_state = 'queued'"),
              postgresql_where=text("send_state = 'queued'")),
        # the recovery's question: claims that ran out
        Index("ix_sms_messages_claims", "claimed_until", sqlite_where=text("send_state = 'submitting'"),
              postgresql_where=text("send_state = 'submitting'")),
        Index("ix_sms_messages_account_id_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"), index=True)
    sender: Mapped[str] = mapped_column(String(64))  # our address as given: +E.164, a short code, a name
    source_ton: Mapped[int] = mapped_column(Integer)
    source_npi: Mapped[int] = mapped_column(Integer)
    destination: Mapped[str] = mapped_column(String(64))  # E.164
    text: Mapped[str] = mapped_column(Text)
    encoding: Mapped[str] = mapped_column(String(10))  # gsm7, ucs2
    parts: Mapped[int] = mapped_column(Integer)
    cost: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    send_state: Mapped[str] = mapped_column(String(20), default=QUEUED)
    status: Mapped[str | None] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # submit passes (a throttled one is retried)
    unconfirmed: Mapped[int] = mapped_column(Integer, default=0)  # parts whose submit got no answer
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    status_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SmsPart(Base):
    """One ``submit_sm`` of a message (``seq`` 1..parts), written when its answer came:
    ``submit_id`` is the SMSC's message id (NULL: refused, or no answer), which receipts name."""

    __tablename__ = "sms_parts"

    message_id: Mapped[int] = mapped_column(ForeignKey("sms_messages.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    submit_id: Mapped[str | None] = mapped_column(String(65), index=True)
    status: Mapped[str | None] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(String(200))
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    status_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SmsHeldReceipt(Base):
    """A delivery receipt whose message id no part carries yet (it overtook its
    ``submit_sm_resp``, or the answer is stored by another process): applied when the part is
    stored, dropped after a day."""

    __tablename__ = "sms_held_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    submit_id: Mapped[str] = mapped_column(String(65), index=True)
    text_id: Mapped[str | None] = mapped_column(String(65), index=True)  # the text's id, when not the TLV's
    status: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(40))  # the receipt's stat word
    error: Mapped[str | None] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
