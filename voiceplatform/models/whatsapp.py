"""The WhatsApp bridge's store (whatsapp_bridge, migration 0017).

* ``whatsapp_messages``: the outbox, one row per engine ``Send`` queued for the Cloud API by the
  ``whatsapp`` channel driver inside the step's transaction (so it exists if and only if that
  step committed). The ``Send`` itself is kept (``send``, its ``to_dict``): whether it goes as
  free-form or as its template is decided **at send time**, from the contact's window. A Send
  may go as several Cloud API messages (a long text split, media then its text): ``parts`` of
  them, ``parts_sent`` accepted so far, each wamid in ``whatsapp_wamids``; ``wamid`` is the last
  one's, the message that carries the buttons or the template, whose statuses are the message's.
* ``whatsapp_wamids``: every wamid Meta gave a part (what statuses name).
* ``whatsapp_windows``: the 24-hour customer-service window per business number and contact
  (``last_inbound_at``: the contact's last message to that number).
* ``whatsapp_templates``: each account's template registry, as the Graph API lists it.
* ``whatsapp_webhook_events``: the inbox, every signed webhook POST's exact bytes, stored
  before it is answered and processed after.
* ``whatsapp_status_receipts``: the (wamid, status) pairs applied (Meta delivers at least once).
* ``whatsapp_held_statuses``: statuses whose wamid no message carries yet (an early status),
  applied when the send's answer is stored.

Two columns say where a message is, as for SMS (voiceplatform/models/sms.py):
``send_state`` is the sender's (``queued``, ``sending`` while claimed, ``sent``, ``failed``) and
``status`` Meta's, forward only (NULL, ``sent``, ``failed``, ``delivered``, ``read``, ``played``;
``unknown`` for a send whose answer never came: it is never sent again).
``send_started_at`` (migration 0019) tells a claim that only held the message from one that
began writing its request: a claim that ran out is queued again in the first case, ``unknown``
in the second.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (Boolean, ForeignKey, Index, Integer, LargeBinary, Numeric, String, UniqueConstraint,
                        text)
from sqlalchemy.orm import Mapped, mapped_column

from voiceplatform.models.base import Base, Json, UtcDateTime, utcnow

#: send_state values.
QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
SEND_STATES = (QUEUED, SENDING, SENT, FAILED)
#: The status of a send whose answer never came (it may have been sent: never resent).
UNKNOWN = "unknown"


class WhatsAppMessage(Base):
    __tablename__ = "whatsapp_messages"
    __table_args__ = (
        # the sender's question: queued messages, oldest first
        Index("ix_whatsapp_messages_queued", "id", sqlite_where=text("send_state = 'queued'"),
              postgresql_where=text("send_state = 'queued'")),
        # a contact's messages go in order: an earlier unsent one holds the later ones back
        Index("ix_whatsapp_messages_unsent", "phone_number_id", "recipient", "id",
              sqlite_where=text("send_state IN ('queued', 'sending')"),
              postgresql_where=text("send_state IN ('queued', 'sending')")),
        # the recovery's question: claims that ran out
        Index("ix_whatsapp_messages_claims", "claimed_until", sqlite_where=text("send_state = 'sending'"),
              postgresql_where=text("send_state = 'sending'")),
        Index("ix_whatsapp_messages_account_id_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"), index=True)
    phone_number_id: Mapped[str] = mapped_column(String(64))  # the Graph API's id of our number
    our_number: Mapped[str] = mapped_column(String(64))  # our number, E.164
    recipient: Mapped[str] = mapped_column(String(128))  # the contact: +E.164 or a BSUID
    send: Mapped[dict[str, Any]] = mapped_column(Json)  # the engine's Send (to_dict)
    message_type: Mapped[str | None] = mapped_column(String(20))  # what went: text, interactive, template...
    template_only: Mapped[bool] = mapped_column(Boolean, default=False)  # Meta said the window is closed
    parts: Mapped[int] = mapped_column(Integer, default=0)  # Cloud API messages it renders as (0: not yet)
    parts_sent: Mapped[int] = mapped_column(Integer, default=0)
    payloads: Mapped[list[Any] | None] = mapped_column(Json)  # the rendered requests, once a part went
    wamid: Mapped[str | None] = mapped_column(String(128), unique=True)
    send_state: Mapped[str] = mapped_column(String(20), default=QUEUED)
    status: Mapped[str | None] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(String(200))
    error_code: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    unconfirmed: Mapped[int] = mapped_column(Integer, default=0)  # sends whose answer never came
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    #: when this claim began writing the message's request (NULL: claimed, nothing written yet)
    send_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    pricing_category: Mapped[str | None] = mapped_column(String(40))
    pricing_type: Mapped[str | None] = mapped_column(String(40))
    billable: Mapped[bool | None] = mapped_column(Boolean)
    cost: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))  # NULL until a delivery priced it
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    status_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class WhatsAppWamid(Base):
    """One Cloud API message a ``whatsapp_messages`` row went as (``seq`` 1..parts)."""

    __tablename__ = "whatsapp_wamids"

    wamid: Mapped[str] = mapped_column(String(128), primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("whatsapp_messages.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)


class WhatsAppWindow(Base):
    """The contact's last message to our number ``phone_number_id``: the 24-hour window. A
    contact known by both a BSUID and a phone number has a row under each."""

    __tablename__ = "whatsapp_windows"

    phone_number_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    contact: Mapped[str] = mapped_column(String(128), primary_key=True)  # +E.164 or a BSUID
    user_id: Mapped[str | None] = mapped_column(String(128))
    phone: Mapped[str | None] = mapped_column(String(20))
    last_inbound_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class WhatsAppTemplate(Base):
    """One translation of an account's template, as the Graph API lists it."""

    __tablename__ = "whatsapp_templates"
    __table_args__ = (UniqueConstraint("account_id", "name", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(512))
    language: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(40))
    body_params: Mapped[int] = mapped_column(Integer, default=0)
    quick_replies: Mapped[list[str]] = mapped_column(Json, default=list)
    synced_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class WhatsAppWebhookEvent(Base):
    """One webhook POST as it came (the exact bytes its signature covered)."""

    __tablename__ = "whatsapp_webhook_events"
    __table_args__ = (
        Index("ix_whatsapp_webhook_events_pending", "id", sqlite_where=text("processed_at IS NULL"),
              postgresql_where=text("processed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error: Mapped[str | None] = mapped_column(String(500))


class WhatsAppStatusReceipt(Base):
    """A (wamid, status) applied once: the same status again is a duplicate."""

    __tablename__ = "whatsapp_status_receipts"

    wamid: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class WhatsAppHeldStatus(Base):
    """A status whose wamid no message carries yet: applied when the send's answer is stored,
    dropped after a day."""

    __tablename__ = "whatsapp_held_statuses"

    id: Mapped[int] = mapped_column(primary_key=True)
    wamid: Mapped[str] = mapped_column(String(128), index=True)
    status: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
