"""The sender's side of the WhatsApp outbox: claiming queued messages, recording what the Graph
API answered, recovering the claims of a sender that stopped. Each function works in the
caller's transaction.

**Claiming.** One statement takes up to ``limit`` queued messages that are due, oldest first,
and marks them ``sending`` by this worker until ``now + lease``: on PostgreSQL the rows are
chosen ``FOR UPDATE SKIP LOCKED`` (senders never take the same message nor wait for each other);
SQLite's write transaction does the same. **A contact's messages go in order:** a message is
not claimed while an earlier one to the same contact from the same number is still queued or
being sent (a throttled question holds back the one after it). Each claimed message comes with
the contact's last inbound time (``whatsapp_windows``), for the sender's window decision.

**Recording** (:func:`record`), per message, by :class:`Outcome`:

- ``sent``: every part accepted; ``wamid`` is the last part's, each part's in
  ``whatsapp_wamids``; statuses that came before (held) are applied now;
- ``later`` (throttled: 130429, 131056, HTTP 429) and ``soon`` (a 5xx, no connection): queued
  again after ``delay``; the parts already accepted are not sent again. ``soon`` fails the
  message after ``transient_attempts`` passes;
- ``template``: Meta said the window had closed (131047) before anything went: queued again at
  once, to go as the Send's template;
- ``never`` (a refusal, a Send that cannot go: outside the window with no template, a payload
  over a limit): ``failed`` with the error, settling the session's campaign attempt ``failed``;
- ``unconfirmed``: the request was written and no answer came. It may have been sent, so it is
  **never resent**: ``sent`` with status ``unknown`` (settled ``unknown``), ``unconfirmed`` + 1;
  a status from Meta may still tell (any status moves ``unknown`` on);
- ``deferred``: not tried (an earlier message to the same contact did not go): queued again;
- ``lost``: the claim was taken back before the request was written (see below): nothing is
  recorded (the message is another claim's now).

**Started.** Before a message's first request of a claim is written, the sender marks it
started (:func:`mark_started`: ``send_started_at``, one statement for every send about to go),
only while the claim is still its own; a send whose mark did not take is not made (``lost``).

**Recovery.** A claim that ran out (its sender died or hung): a message never started was not
sent, and is queued again (sent later, once); a started one may have had its request written,
and is settled ``unknown`` like an unconfirmed one, never sent again (its statuses can still
tell: they carry its id, whatsapp_bridge.status_updates matches them).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import and_, exists, insert, or_, select, tuple_, update
from sqlalchemy.orm import Session, aliased

from voiceplatform.campaigns.message_outcomes import settle_message_outcome
from voiceplatform.db import rows_changed
from voiceplatform.db.partial_indexes import inline
from voiceplatform.models.whatsapp import (FAILED, QUEUED, SENDING, SENT, UNKNOWN, WhatsAppMessage, WhatsAppWamid,
                                          WhatsAppWindow)
from voiceplatform.sessions.store import one_of, take_write_lock

from whatsapp_bridge.config import WhatsAppSettings
from whatsapp_bridge.pricing import RateCard
from whatsapp_bridge.status_updates import apply_held, lock_messages

log = logging.getLogger(__name__)

MAX_ERROR = 200
STOPPED = "the sender stopped before the Graph API answered: it may have been sent"


class Outcome(str, Enum):
    SENT = "sent"
    LATER = "later"
    SOON = "soon"
    TEMPLATE = "template"
    NEVER = "never"
    UNCONFIRMED = "unconfirmed"
    DEFERRED = "deferred"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    session_id: str | None
    phone_number_id: str
    recipient: str
    send: dict[str, Any]
    template_only: bool
    parts_sent: int
    payloads: list[Any] | None
    attempts: int
    refused: str | None  # the driver's reason it cannot go (nothing is sent)
    last_inbound_at: datetime | None = None

    @property
    def pair(self) -> tuple[str, str]:
        return self.phone_number_id, self.recipient


@dataclass(frozen=True, slots=True)
class SendResult:
    message_id: int
    outcome: Outcome
    wamids: tuple[str, ...] = ()  # accepted on this pass, in order, after the parts sent before
    parts: int = 0  # how many parts the message renders as (0: not rendered)
    payloads: list[Any] | None = None
    message_type: str | None = None
    error: str | None = None
    error_code: int | None = None
    delay: float = 0.0  # later / soon: seconds before the next pass


@dataclass
class Recorded:
    sent: int = 0
    requeued: int = 0
    failed: int = 0
    unconfirmed: int = 0
    wamids: list[str] = field(default_factory=list)


@dataclass
class Recovered:
    requeued: int = 0  # never started: queued again
    unknown: int = 0  # started: may have gone

    def __len__(self) -> int:
        return self.requeued + self.unknown


#: ``send_state IN ('queued', 'sending')`` written as literals (voiceplatform.db.partial_indexes),
#: not bound parameters: SQLite uses
#: a partial index (ix_whatsapp_messages_unsent) only when the query's own text implies the
#: index's WHERE. With parameters the claim's "an earlier unsent message of the same contact"
#: test scanned every row below each candidate's id (the primary key), so a claim cost grew with
#: the table: most of the sender's CPU at tier 1,000 in a benchmark run.
UNSENT_STATES = inline((QUEUED, SENDING))


def claim(db: Session, worker: str, now: datetime, limit: int, lease: float) -> list[Claimed]:
    earlier = aliased(WhatsAppMessage)
    blocked = exists().where(earlier.phone_number_id == WhatsAppMessage.phone_number_id,
                             earlier.recipient == WhatsAppMessage.recipient, earlier.id < WhatsAppMessage.id,
                             earlier.send_state.in_(UNSENT_STATES))
    due = (select(WhatsAppMessage.id).where(
        WhatsAppMessage.send_state == inline(QUEUED),
        or_(WhatsAppMessage.next_attempt_at.is_(None), WhatsAppMessage.next_attempt_at <= now), ~blocked)
        .order_by(WhatsAppMessage.id).limit(limit).with_for_update(skip_locked=True, of=WhatsAppMessage))
    m = WhatsAppMessage
    rows = db.execute(
        update(m).where(m.id.in_(due.scalar_subquery()))
        .values(send_state=SENDING, claimed_by=worker, claimed_until=now + timedelta(seconds=lease),
                send_started_at=None)
        .returning(m.id, m.session_id, m.phone_number_id, m.recipient, m.send, m.template_only, m.parts_sent,
                   m.payloads, m.attempts, m.error)
        .execution_options(synchronize_session=False)).all()
    windows: dict[tuple[str, str], datetime] = {}
    pairs = {(row.phone_number_id, row.recipient) for row in rows}
    if pairs:
        for window in db.scalars(select(WhatsAppWindow).where(
                tuple_(WhatsAppWindow.phone_number_id, WhatsAppWindow.contact).in_(sorted(pairs)))):
            windows[(window.phone_number_id, window.contact)] = window.last_inbound_at
    claimed = [Claimed(row.id, row.session_id, row.phone_number_id, row.recipient, row.send, row.template_only,
                       row.parts_sent, row.payloads, row.attempts,
                       row.error if not row.attempts and not row.parts_sent else None,
                       windows.get((row.phone_number_id, row.recipient)))
               for row in rows]
    return sorted(claimed, key=lambda message: message.id)


def renew(db: Session, worker: str, ids: Collection[int], until: datetime) -> int:
    """Extend this worker's claims on ``ids`` (messages still being sent)."""
    if not ids:
        return 0
    m = WhatsAppMessage
    return rows_changed(db, update(m).where(one_of(db, m.id, ids), m.claimed_by == worker, m.send_state == SENDING)
                        .values(claimed_until=until).execution_options(synchronize_session=False))


def mark_started(db: Session, worker: str, ids: Collection[int], now: datetime) -> set[int]:
    """Mark ``ids`` started (their requests are about to be written) where the claim is still
    ``worker``'s; gives the ids marked (a send not among them must not go)."""
    if not ids:
        return set()
    m = WhatsAppMessage
    rows = db.execute(update(m).where(one_of(db, m.id, ids), m.claimed_by == worker, m.send_state == SENDING)
                      .values(send_started_at=now).returning(m.id).execution_options(synchronize_session=False))
    return {row.id for row in rows}


def record(db: Session, results: Sequence[SendResult], worker: str, now: datetime, settings: WhatsAppSettings,
           rates: RateCard | None = None) -> Recorded:
    """Store what the Graph API answered for each message (see the module's docstring)."""
    take_write_lock(db)
    results = [result for result in results if result.outcome is not Outcome.LOST]
    messages = lock_messages(db, {result.message_id for result in results})
    known = set(db.scalars(select(WhatsAppWamid.wamid).where(one_of(
        db, WhatsAppWamid.wamid, {wamid for result in results for wamid in result.wamids}))))
    summary = Recorded()
    new_wamids: list[dict[str, Any]] = []
    for result in results:
        message = messages.get(result.message_id)
        if message is None:
            continue  # deleted meanwhile (its account went)
        if result.outcome is Outcome.DEFERRED and message.claimed_by != worker:
            continue  # not tried, and no longer this worker's claim: another's now
        if message.send_state != SENDING or message.claimed_by != worker:
            log.warning("whatsapp message %s: answered after its claim was recovered (%s); recording the answer",
                        message.id, message.send_state)
        message.claimed_by = message.claimed_until = None
        if result.parts:
            message.parts = result.parts
        if result.payloads is not None and message.payloads is None and result.wamids:
            message.payloads = result.payloads  # parts went: a retry sends the rest as rendered now
        if result.message_type:
            message.message_type = result.message_type
        for wamid in result.wamids:
            message.parts_sent += 1
            if wamid not in known:  # else a status's callback data stored it first
                new_wamids.append({"wamid": wamid, "message_id": message.id, "seq": message.parts_sent})
            summary.wamids.append(wamid)
        if result.error:
            message.error, message.error_code = result.error[:MAX_ERROR], result.error_code
        _settle(db, message, result, now, settings, summary)
    db.flush()
    if new_wamids:
        db.execute(insert(WhatsAppWamid), new_wamids)
    apply_held(db, now, settings.rates if rates is None else rates, summary.wamids)
    return summary


def _settle(db: Session, message: WhatsAppMessage, result: SendResult, now: datetime, settings: WhatsAppSettings,
            summary: Recorded) -> None:
    outcome = result.outcome
    if outcome is Outcome.DEFERRED:
        message.send_state = QUEUED
        summary.requeued += 1
        return
    message.attempts += 1
    if outcome is Outcome.SOON and message.attempts >= settings.transient_attempts:
        outcome = Outcome.NEVER
        message.error = f"gave up after {message.attempts} passes: {message.error or 'a transient fault'}"[:MAX_ERROR]
    if outcome is Outcome.SENT:
        message.send_state, message.next_attempt_at, message.sent_at = SENT, None, now
        message.wamid = result.wamids[-1] if result.wamids else message.wamid
        message.error = message.error_code = None
        summary.sent += 1
    elif outcome in (Outcome.LATER, Outcome.SOON, Outcome.TEMPLATE):
        message.send_state, message.next_attempt_at = QUEUED, now + timedelta(seconds=max(0.0, result.delay))
        if outcome is Outcome.TEMPLATE:
            message.template_only = True
        summary.requeued += 1
    elif outcome is Outcome.UNCONFIRMED:
        _unknown(db, message, now)
        summary.unconfirmed += 1
    else:
        message.send_state, message.status_at, message.next_attempt_at = FAILED, now, None
        message.status = message.status or FAILED
        if message.session_id is not None:
            settle_message_outcome(db, message.session_id, "failed", now)
        summary.failed += 1


def _unknown(db: Session, message: WhatsAppMessage, now: datetime) -> None:
    message.send_state, message.next_attempt_at, message.sent_at = SENT, None, message.sent_at or now
    message.unconfirmed += 1
    if message.status is None:
        message.status, message.status_at = UNKNOWN, now
        if message.session_id is not None:
            settle_message_outcome(db, message.session_id, UNKNOWN, now)


def retry_delay(attempts: int, settings: WhatsAppSettings) -> float:
    """Seconds before pass ``attempts + 1`` of a throttled or transient send: doubling."""
    return float(min(settings.retry_delay * 2 ** max(0, attempts), settings.retry_delay_max))


def recover(db: Session, now: datetime, limit: int = 500) -> Recovered:
    """Claims that ran out: queued again if never started, else ``unknown`` (see the module's
    docstring)."""
    take_write_lock(db)
    m = WhatsAppMessage
    stale_ids = list(db.scalars(select(m.id).where(and_(m.send_state == inline(SENDING), m.claimed_until < now))
                                .order_by(m.id).limit(limit)))
    stale = [message for message in lock_messages(db, stale_ids).values()
             if message.send_state == SENDING and message.claimed_until is not None and message.claimed_until < now]
    summary = Recovered()
    for message in stale:
        owner = message.claimed_by
        message.claimed_by = message.claimed_until = None
        if message.send_started_at is None:
            log.warning("whatsapp message %s: the claim of %s ran out before its request: queued again",
                        message.id, owner)
            message.send_state = QUEUED
            summary.requeued += 1
            continue
        log.warning("whatsapp message %s: the claim of %s ran out after its request was started; it may have "
                    "been sent: %s, never resent", message.id, owner, message.status or UNKNOWN)
        if message.status is None:
            message.error = STOPPED[:MAX_ERROR]
        _unknown(db, message, now)
        summary.unknown += 1
    db.flush()
    return summary
