"""A message's one delivery status from its parts', moved forward only, and what a change means
to a campaign: the rules are sms_bridge.delivery_status (roll_up, advance); this applies them to
the rows, in the caller's transaction.

Every move of a message that belongs to a session is reported to the platform:

- a final status (delivered, undelivered, expired, rejected, and ``unknown``: a submit with no
  answer) through voiceplatform.campaigns.message_outcomes.settle_message_outcome, at once: the
  campaign attempt that started the session (if any) or the messages API's message hears it. A
  status changes at most once to a definite final one; ``unknown`` may still become one, which is
  reported again (the attempt, or the message, learns what happened);
- a move on the way (``accepted`` by the SMSC, reported as the platform's ``sent``; ``enroute``)
  through ``report_progress``: one call per batch when the caller gathers them (``progress``),
  since only the messages API's messages hear those;
- a message that could not be sent at all settles ``failed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from voiceplatform.campaigns.message_outcomes import report_progress, settle_message_outcome

from sms_bridge.delivery_status import DeliveryStatus, advance, roll_up
from sms_bridge.message_rows import MessageRow

#: The platform's word for a status on the way (voiceplatform.campaigns.message_outcomes.REPORTS):
#: the SMSC's ``accepted`` is the platform's ``sent``, its ``accepted`` being "handed to the channel".
PROGRESS_REPORTS = {DeliveryStatus.ACCEPTED: "sent", DeliveryStatus.ENROUTE: "enroute"}


def status_of(value: str | None) -> DeliveryStatus | None:
    return DeliveryStatus(value) if value else None


def roll(db: Session, message: MessageRow, part_statuses: Mapping[int, str | None], now: datetime,
         progress: dict[str, str] | None = None) -> bool:
    """Set the message's status from its parts' (``seq`` -> status; a part not in the map has
    none yet); True when it changed. A move on the way is added to ``progress`` (session id ->
    report) for the caller to pass to :func:`report_moves` once for its batch; without it, reported now."""
    rolled = roll_up(status_of(part_statuses.get(seq)) for seq in range(1, message.parts + 1))
    if rolled is None:
        return False
    current = status_of(message.status)
    moved = advance(current, rolled)
    if moved == current:
        return False
    message.status, message.status_at, message.changed = moved.value, now, True
    if message.session_id is None:
        return True
    if moved.final:
        settle_message_outcome(db, message.session_id, moved.value, now)
    elif progress is not None:
        progress[message.session_id] = PROGRESS_REPORTS[moved]
    else:
        report_progress(db, {message.session_id: PROGRESS_REPORTS[moved]}, now)
    return True


def report_moves(db: Session, progress: Mapping[str, str], now: datetime) -> None:
    """Report a batch's moves on the way, gathered by :func:`roll` (after its final ones)."""
    if progress:
        report_progress(db, progress, now)


def settle_failed(db: Session, message: MessageRow, now: datetime) -> None:
    """A message that could not be sent at all: its campaign attempt (if any) failed."""
    if message.session_id is not None:
        settle_message_outcome(db, message.session_id, "failed", now)
