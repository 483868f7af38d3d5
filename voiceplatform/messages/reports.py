"""A delivery report applied to a message of the messages API, and its ``message.status``
webhook in the same transaction.

The channel reports a delivery the way it does for every session's message: the bridge (or the
dev channel's ``POST /dev/receipts``) calls
``voiceplatform.campaigns.message_outcomes.settle_message_outcome(db, session_id, outcome)``,
which hands a session of no campaign here. The message's row is locked first (a no-op UPDATE:
the row lock on PostgreSQL, the write lock on SQLite), so two reports of one message that
arrive together are applied one after the other; the status only moves forward
(voiceplatform.messages.statuses), and each move is one webhook.

The bridge's moves on the way (the SMSC took the submit: ``sent``; an intermediate receipt:
``enroute``) come a batch at a time (:func:`apply_progress`): one query finds which of the
batch's sessions are messages of the messages API (a campaign's are most of them), and only
those are locked and moved.

A WhatsApp message's hold is settled by its first definite final status, in the same
transaction and before its webhook (voiceplatform.messages.whatsapp_charges): the webhook's
``cost`` is then what the message costs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from voiceplatform.messages import whatsapp_charges
from voiceplatform.messages.statuses import FINAL, advance
from voiceplatform.models.messages import ApiMessage
from voiceplatform.sessions.store import one_of
from voiceplatform.webhooks.events import MESSAGE_STATUS, emit


@dataclass(frozen=True)
class ReportApplied:
    """What a report did to message ``message_id``: ``changed`` it to ``status`` or not
    (``reason`` in words)."""

    message_id: int
    changed: bool
    status: str
    reason: str

    @property
    def final(self) -> bool:
        return self.status in FINAL


def event_payload(message: ApiMessage, previous: str | None = None) -> dict[str, Any]:
    """What a ``message.status`` webhook carries (also the API's view of a message, less the text)."""
    template = message.template if isinstance(message.template, dict) else None
    return {"message_id": message.id, "status": message.status, "previous_status": previous,
            "channel": message.channel or "sms", "from": message.sender, "to": message.recipient,
            "country": message.country, "parts": message.parts, "encoding": message.encoding or None,
            "template": template.get("name") if template else None, "cost": str(message.cost),
            "cost_final": message.held is None, "interface": message.interface, "batch_id": message.batch,
            "row": message.row, "session_id": message.session_id, "status_at": message.status_at.isoformat()}


def apply_report(db: Session, session_id: str, outcome: str, now: datetime) -> ReportApplied | None:
    """Apply ``outcome`` to the message of session ``session_id``, in the caller's transaction;
    None when the session is no message of the messages API."""
    db.execute(update(ApiMessage).where(ApiMessage.session_id == session_id)
               .values(status=ApiMessage.status).execution_options(synchronize_session=False))
    message = db.scalars(select(ApiMessage).where(ApiMessage.session_id == session_id)
                         .with_for_update().execution_options(populate_existing=True)).first()
    if message is None:
        return None
    previous = message.status
    moved = advance(previous, outcome)
    if moved is None:
        return ReportApplied(message.id, False, previous, f"{outcome}: the message was already {previous}")
    message.status, message.status_at = moved, now
    whatsapp_charges.settle(db, message, moved)
    db.flush()
    emit(db, message.account_id, MESSAGE_STATUS, event_payload(message, previous))
    return ReportApplied(message.id, True, moved, moved)


def apply_progress(db: Session, reports: Mapping[str, str], now: datetime) -> list[ReportApplied]:
    """Apply each ``session id -> report`` of ``reports`` whose session is a message of the
    messages API (:func:`apply_report`), in the caller's transaction; the others are left alone."""
    if not reports:
        return []
    found = db.scalars(select(ApiMessage.session_id).where(one_of(db, ApiMessage.session_id, reports.keys()))
                       .order_by(ApiMessage.id))
    return [applied for session_id in list(found) if session_id is not None
            and (applied := apply_report(db, session_id, reports[session_id], now)) is not None]
