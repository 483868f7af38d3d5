"""The messages API's store (voiceplatform.messages, migration 0015): one ``api_messages`` row per
SMS sent through ``POST /messages`` or the personalised SMS API, and each account's registered
sender IDs (``sender_ids``).

An API message is a session of the account's one-message flow (voiceplatform.messages.
one_message_flow): the session's driver queued its text in the transaction that wrote this row,
so the row exists if and only if the message was handed to the channel, and a delivery report
for the session's message moves ``status`` (forward only: voiceplatform.messages.statuses).
Reports count rows (messages); ``parts`` is each message's SMS parts (brief 4.9.6).

Migration 0018 adds WhatsApp: ``channel`` (``sms`` or ``whatsapp``: the transport alone does not
say, the dev channel stands in for both), ``template`` (a WhatsApp message's template: name,
language, params, category) and ``held`` (the part of ``cost`` held on submission until the
message's final status says what Meta charges: voiceplatform.messages.whatsapp_charges; NULL once
settled, and always for SMS, charged on submission for good).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voiceplatform.models.base import Base, Created, Json, UtcDateTime, utcnow

#: How a message came in: ``api`` (POST /messages), ``personalised`` (one row of a CSV request).
INTERFACES = ("api", "personalised")
#: The channels a message of the API goes on.
CHANNELS = ("sms", "whatsapp")


class ApiMessage(Base):
    __tablename__ = "api_messages"
    __table_args__ = (
        Index("ix_api_messages_account_created", "account_id", "created_at"),  # the reports' period
        Index("ix_api_messages_batch", "batch"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"), unique=True)
    interface: Mapped[str] = mapped_column(String(20))  # INTERFACES
    batch: Mapped[str | None] = mapped_column(String(32))  # the personalised request it came in
    row: Mapped[int | None] = mapped_column(Integer)  # its row in that request's CSV (the header is row 1)
    sender: Mapped[str] = mapped_column(String(64))  # one of the account's numbers or registered sender IDs
    recipient: Mapped[str] = mapped_column(String(64))  # E.164
    country: Mapped[str | None] = mapped_column(String(2))  # the recipient's ISO 3166 region
    transport: Mapped[str] = mapped_column(String(20))  # the driver that took it: sms, whatsapp, dev
    channel: Mapped[str] = mapped_column(String(20), default="sms", server_default="sms")  # CHANNELS
    text: Mapped[str] = mapped_column(Text)  # "" for a WhatsApp template alone
    encoding: Mapped[str] = mapped_column(String(10))  # gsm7, ucs2; "" on WhatsApp
    parts: Mapped[int] = mapped_column(Integer)  # SMS parts; 1 on WhatsApp
    template: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)  # WhatsApp
    cost: Mapped[Decimal] = mapped_column(Numeric(14, 4))  # what is charged now
    held: Mapped[Decimal | None] = mapped_column(Numeric(14, 4), nullable=True)  # of cost, until settled
    status: Mapped[str] = mapped_column(String(20))  # voiceplatform.messages.statuses
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    status_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class SenderId(Created, Base):
    """A sender ID an account registered: alphanumeric (at most 11 GSM-7 characters) or numeric
    (at most 15 digits), and the countries (ISO 3166) it is registered in, for the country check
    (brief 4.2.9). An account's own numbers are its senders without a row here."""

    __tablename__ = "sender_ids"
    __table_args__ = (UniqueConstraint("account_id", "sender"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    sender: Mapped[str] = mapped_column(String(15))
    kind: Mapped[str] = mapped_column(String(20))  # alphanumeric, numeric
    countries: Mapped[list[str]] = mapped_column(Json, default=list)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
