"""The sender's side of the messages table: claiming queued messages, recording what the SMSC
answered, keeping claims alive, and recovering the claims of a sender that stopped. Each function
works in the caller's transaction.

**Claiming.** One statement takes up to ``limit`` queued messages that are due, oldest first,
and marks them ``submitting`` by this worker until ``now + lease``: on PostgreSQL the rows are
chosen ``FOR UPDATE SKIP LOCKED``, so several senders never take the same message and never wait
for each other; SQLite's write transaction does the same for one database file.

**Recording** (:func:`record`), per message, from each part's answer:

- accepted: the part is stored with the SMSC's id and status ``accepted``;
- refused (any error status other than the two below): the part is ``rejected`` with the status
  name; the parts after it are not sent (the message cannot arrive whole);
- ESME_RTHROTTLED / ESME_RMSGQFUL, or not written (no bind): nothing is stored for that part; the
  message goes back to the queue, due after ``retry_delay`` doubling per pass (never failed), and
  the next pass sends only the parts that have no row;
- no answer: by the ``no_response`` policy, ``unknown`` (the part is stored ``unknown``, never
  sent again) or ``resend`` (sent again on the next pass); counted in ``unconfirmed`` either way.

The message is ``submitted`` once every part has its row (or one was refused). Its status is the
roll-up of its parts' (message_status.roll). Receipts that came before these answers were stored
are applied in the same transaction (delivery_reports.apply_held).

**Recovery.** A claim that ran out (its sender died, or hung past the lease) is settled by any
sender: under the ``unknown`` policy every part without an answer becomes ``unknown`` (its submit
may have been written: it is not sent again); under ``resend`` the message is queued again.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from voiceplatform.db import rows_changed
from voiceplatform.db.partial_indexes import inline
from voiceplatform.models.sms import FAILED, QUEUED, SUBMITTED, SUBMITTING, SmsMessage, SmsPart
from voiceplatform.sessions.store import one_of, take_write_lock

from sms_bridge.config import RESEND, BridgeSettings
from sms_bridge import message_rows as rows
from sms_bridge.delivery_reports import apply_held
from sms_bridge.delivery_status import DeliveryStatus
from sms_bridge.message_rows import MessageRow, PartRow
from sms_bridge.message_status import report_moves, roll, settle_failed

log = logging.getLogger(__name__)

MAX_ERROR = 200
NO_ANSWER = "no submit_sm_resp"
STOPPED = "the sender stopped before every part was answered"


class Outcome(str, Enum):
    ACCEPTED = "accepted"
    SLOW_DOWN = "slow_down"  # ESME_RTHROTTLED, ESME_RMSGQFUL
    REFUSED = "refused"
    UNANSWERED = "unanswered"
    NOT_SENT = "not_sent"


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message the sender took, with the parts already answered on earlier passes.
    ``refused``: why the driver found it could not go out (nothing is submitted)."""

    id: int
    session_id: str | None
    sender: str
    source_ton: int
    source_npi: int
    destination: str
    text: str
    parts: int
    attempts: int
    refused: str | None
    answered: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class PartResult:
    seq: int
    outcome: Outcome
    submit_id: str | None = None
    detail: str | None = None  # the error status's name, or why no answer came


@dataclass(frozen=True, slots=True)
class SendResult:
    message_id: int
    parts: tuple[PartResult, ...] = ()
    failure: str | None = None  # nothing could be sent (an encoding or address problem)


@dataclass
class Recorded:
    submitted: int = 0
    requeued: int = 0
    failed: int = 0
    unconfirmed: int = 0
    accepted_ids: list[str] = field(default_factory=list)


def claim(db: Session, worker: str, now: datetime, limit: int, lease: float) -> list[Claimed]:
    due = (select(SmsMessage.id).where(SmsMessage.send_state == inline(QUEUED),
                                       or_(SmsMessage.next_attempt_at.is_(None), SmsMessage.next_attempt_at <= now))
           .order_by(SmsMessage.id).limit(limit).with_for_update(skip_locked=True))
    rows = db.execute(
        update(SmsMessage).where(SmsMessage.id.in_(due.scalar_subquery()))
        .values(send_state=SUBMITTING, claimed_by=worker, claimed_until=now + timedelta(seconds=lease))
        .returning(SmsMessage.id, SmsMessage.session_id, SmsMessage.sender, SmsMessage.source_ton,
                   SmsMessage.source_npi, SmsMessage.destination, SmsMessage.text, SmsMessage.parts,
                   SmsMessage.attempts, SmsMessage.error)
        .execution_options(synchronize_session=False)).all()
    retried = [row.id for row in rows if row.attempts]
    answered: dict[int, set[int]] = {}
    if retried:
        for message_id, seq in db.execute(select(SmsPart.message_id, SmsPart.seq)
                                          .where(one_of(db, SmsPart.message_id, retried))):
            answered.setdefault(message_id, set()).add(seq)
    # an error before the first pass is the driver's (no sender...); later ones are the SMSC's
    claimed = [Claimed(row.id, row.session_id, row.sender, row.source_ton, row.source_npi, row.destination, row.text,
                       row.parts, row.attempts, row.error if not row.attempts else None,
                       frozenset(answered.get(row.id, ())))
               for row in rows]
    return sorted(claimed, key=lambda message: message.id)


def renew(db: Session, worker: str, ids: Collection[int], until: datetime) -> int:
    """Extend this worker's claims on ``ids`` (messages still being submitted)."""
    if not ids:
        return 0
    return rows_changed(db, update(SmsMessage).where(
        one_of(db, SmsMessage.id, ids), SmsMessage.claimed_by == worker, SmsMessage.send_state == SUBMITTING)
        .values(claimed_until=until).execution_options(synchronize_session=False))


def record(db: Session, results: Sequence[SendResult], worker: str, now: datetime,
           settings: BridgeSettings) -> Recorded:
    """Store what the SMSC answered for each message (see the module's docstring)."""
    take_write_lock(db)
    messages = rows.lock(db, {result.message_id for result in results})
    parts = rows.parts_of(db, messages.keys())
    summary = Recorded()
    new_parts: list[PartRow] = []
    progress: dict[str, str] = {}  # the messages' moves on the way, reported once for the batch
    for result in results:
        message = messages.get(result.message_id)
        if message is None:
            continue  # deleted meanwhile (its account went)
        if message.send_state != SUBMITTING or message.claimed_by != worker:
            log.warning("sms message %s: answered after its claim was recovered (%s); recording the answers",
                        message.id, message.send_state)
        message.claimed_by = message.claimed_until = None
        message.changed = True
        if result.failure is not None:
            message.send_state, message.error, message.status_at = FAILED, result.failure[:MAX_ERROR], now
            settle_failed(db, message, now)
            summary.failed += 1
            continue
        statuses = {seq: part.status for seq, part in parts[message.id].items()}
        refused = _apply_answers(message, result, statuses, new_parts, now, settings, summary)
        message.attempts += 1
        if refused or len(statuses) >= message.parts:
            message.send_state, message.next_attempt_at = SUBMITTED, None
            message.submitted_at = message.submitted_at or now
            summary.submitted += 1
        else:
            message.send_state, message.next_attempt_at = QUEUED, now + _retry_delay(message.attempts, settings)
            summary.requeued += 1
        roll(db, message, statuses, now, progress)
    report_moves(db, progress, now)
    rows.insert_parts(db, new_parts)
    rows.write_messages(db, messages.values())
    apply_held(db, now, summary.accepted_ids)
    return summary


def _apply_answers(message: MessageRow, result: SendResult, statuses: dict[int, str | None], new_parts: list[PartRow],
                   now: datetime, settings: BridgeSettings, summary: Recorded) -> bool:
    """Add the parts' rows for ``result``; True when a part was refused."""
    refused = False
    for part in result.parts:
        if part.outcome is Outcome.ACCEPTED:
            row = PartRow(message.id, part.seq, part.submit_id, DeliveryStatus.ACCEPTED.value, None, now, now)
            summary.accepted_ids.append(part.submit_id or "")
        elif part.outcome is Outcome.REFUSED:
            refused = True
            message.error = f"part {part.seq}: {part.detail}"[:MAX_ERROR]
            row = PartRow(message.id, part.seq, None, DeliveryStatus.REJECTED.value, (part.detail or "")[:MAX_ERROR],
                          now, now)
        elif part.outcome is Outcome.UNANSWERED:
            message.unconfirmed += 1
            summary.unconfirmed += 1
            message.error = f"part {part.seq}: {NO_ANSWER} ({part.detail})"[:MAX_ERROR]
            if settings.no_response == RESEND:
                continue  # sent again on the next pass
            row = PartRow(message.id, part.seq, None, DeliveryStatus.UNKNOWN.value, NO_ANSWER, now, now)
        else:  # slowed down, or never written: the next pass sends it
            continue
        statuses[part.seq] = row.status
        new_parts.append(row)
    return refused


def _retry_delay(attempts: int, settings: BridgeSettings) -> timedelta:
    seconds = min(settings.retry_delay * 2 ** max(0, attempts - 1), settings.retry_delay_max)
    return timedelta(seconds=seconds)


def recover(db: Session, now: datetime, settings: BridgeSettings, limit: int = 500) -> int:
    """Settle claims that ran out (see the module's docstring); gives how many."""
    take_write_lock(db)
    stale_ids = list(db.scalars(select(SmsMessage.id).where(
        and_(SmsMessage.send_state == inline(SUBMITTING), SmsMessage.claimed_until < now)).order_by(SmsMessage.id).limit(limit)))
    stale = rows.lock(db, stale_ids, skip_locked=True)
    stale = {key: message for key, message in stale.items()  # still run out, now that it is locked
             if message.send_state == SUBMITTING and message.claimed_until is not None and message.claimed_until < now}
    if not stale:
        return 0
    parts = rows.parts_of(db, stale.keys())
    new_parts: list[PartRow] = []
    for message in stale.values():
        log.warning("sms message %s: the claim of %s ran out; %s", message.id, message.claimed_by,
                    "queued again" if settings.no_response == RESEND else "unanswered parts are unknown")
        message.claimed_by = message.claimed_until = None
        message.changed = True
        if settings.no_response == RESEND:
            message.send_state = QUEUED
            continue
        statuses = {seq: part.status for seq, part in parts[message.id].items()}
        missing = [seq for seq in range(1, message.parts + 1) if seq not in statuses]
        for seq in missing:
            new_parts.append(PartRow(message.id, seq, None, DeliveryStatus.UNKNOWN.value, STOPPED, None, now))
            statuses[seq] = DeliveryStatus.UNKNOWN.value
        message.unconfirmed += len(missing)
        message.send_state, message.error = SUBMITTED, STOPPED
        message.submitted_at = message.submitted_at or now
        roll(db, message, statuses, now)
    rows.insert_parts(db, new_parts)
    rows.write_messages(db, stale.values())
    return len(stale)
