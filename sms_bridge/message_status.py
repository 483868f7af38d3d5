"""A message's one delivery status from its parts', moved forward only, and what a change means
to a campaign: the rules are sms_bridge.delivery_status (roll_up, advance); this applies them to
the rows, in the caller's transaction.

When a message that belongs to a session reaches a definite final status (delivered,
undelivered, expired, rejected), the campaign attempt that started the session (if any) hears it
through voiceplatform.campaigns.message_outcomes.settle_message_outcome, once: a status changes
at most once to a definite final one. ``unknown`` settles nothing (the attempt was neither
delivered nor failed); a message that could not be sent at all settles ``failed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from voiceplatform.campaigns.message_outcomes import settle_message_outcome

from sms_bridge.delivery_status import DEFINITE, DeliveryStatus, advance, roll_up
from sms_bridge.message_rows import MessageRow


def status_of(value: str | None) -> DeliveryStatus | None:
    return DeliveryStatus(value) if value else None


def roll(db: Session, message: MessageRow, part_statuses: Mapping[int, str | None], now: datetime) -> bool:
    """Set the message's status from its parts' (``seq`` -> status; a part not in the map has
    none yet); True when it changed."""
    rolled = roll_up(status_of(part_statuses.get(seq)) for seq in range(1, message.parts + 1))
    if rolled is None:
        return False
    current = status_of(message.status)
    moved = advance(current, rolled)
    if moved == current:
        return False
    message.status, message.status_at, message.changed = moved.value, now, True
    if moved in DEFINITE and message.session_id is not None:
        settle_message_outcome(db, message.session_id, moved.value, now)
    return True


def settle_failed(db: Session, message: MessageRow, now: datetime) -> None:
    """A message that could not be sent at all: its campaign attempt (if any) failed."""
    if message.session_id is not None:
        settle_message_outcome(db, message.session_id, "failed", now)
