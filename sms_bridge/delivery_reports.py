"""Delivery receipts applied to the messages table, in the caller's transaction.

A receipt names the SMSC's message id of one part: ``receipted_message_id``, else the ``id:`` of
its text (sms_bridge.receipts); both are tried. The part's status moves forward only
(``advance``), the message's is the roll-up of its parts' (sms_bridge.message_status, which also
settles a campaign attempt).

**A receipt before its submit_sm_resp was stored.** The SMSC may send the receipt as soon as it
has answered the submit, before the sender has written that answer (or the answer may be stored
by another process): no part carries the id yet. The receipt is then **held**
(``sms_held_receipts``) and applied when the part is written (:func:`apply_held` with the new
ids, in the sender's transaction), and again by a sweep (:func:`apply_held` with no ids), which
catches a receipt held while the answer was being committed elsewhere. Held receipts older than
a day are dropped (:func:`drop_expired`).

Locks: the messages concerned are locked in id order (PostgreSQL ``FOR UPDATE``; the write lock
on SQLite) before their parts are read, as the sender's transaction does, so two receipts of one
message, or a receipt and the sender's answer, are applied one after the other.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, insert, or_, select, union
from sqlalchemy.orm import Session

from voiceplatform.campaigns.message_outcomes import settling
from voiceplatform.models.sms import SmsHeldReceipt, SmsPart
from voiceplatform.sessions.store import one_of, take_write_lock

from sms_bridge import message_rows as rows
from sms_bridge.delivery_status import FAILURES, DeliveryStatus, advance
from sms_bridge.message_status import report_moves, roll, status_of
from sms_bridge.receipts import DeliveryReceipt

MAX_HELD_SWEEP = 500
MAX_ERROR = 200


@dataclass(frozen=True, slots=True)
class Report:
    """What a receipt says, as applied: about ``submit_id`` (or ``text_id``), the status."""

    submit_id: str
    status: DeliveryStatus
    state: str
    text_id: str | None = None
    error: str | None = None
    held_id: int | None = None  # a held receipt being applied

    @classmethod
    def of(cls, receipt: DeliveryReceipt) -> Report:
        text_id = receipt.text_id if receipt.text_id != receipt.message_id else None
        return cls(receipt.message_id, receipt.status, receipt.state[:40], text_id, (receipt.error or None))

    def held(self, now: datetime) -> dict[str, object]:
        return {"submit_id": self.submit_id, "text_id": self.text_id, "status": self.status.value, "state": self.state,
                "error": (self.error or "")[:20] or None, "payload": {}, "received_at": now}


@dataclass(frozen=True, slots=True)
class Applied:
    applied: int = 0  # receipts matched to a part
    held: int = 0  # kept for later
    messages_changed: int = 0


def apply_receipts(db: Session, receipts: Sequence[DeliveryReceipt], now: datetime) -> Applied:
    """Apply ``receipts`` (in the order received); those no part carries are held."""
    return _apply(db, [Report.of(receipt) for receipt in receipts], now, hold=True)


def apply_held(db: Session, now: datetime, submit_ids: Collection[str] | None = None) -> Applied:
    """Apply the held receipts that now match a part: those for ``submit_ids`` (parts just
    written), or up to :data:`MAX_HELD_SWEEP` of any that match (the sweep). Applied ones are
    deleted."""
    if submit_ids is not None and not submit_ids:
        return Applied()
    take_write_lock(db)
    held = SmsHeldReceipt
    if submit_ids is not None:  # two indexed lookups rather than one OR
        ids = union(select(held.id).where(one_of(db, held.submit_id, submit_ids)),
                    select(held.id).where(one_of(db, held.text_id, submit_ids))).subquery()
        query = select(held).where(held.id.in_(select(ids.c.id))).order_by(held.id)
    else:
        matched = exists().where(or_(SmsPart.submit_id == held.submit_id, SmsPart.submit_id == held.text_id))
        query = select(held).where(matched).order_by(held.id).limit(MAX_HELD_SWEEP)
    rows = list(db.scalars(query))
    if not rows:
        return Applied()
    reports = [Report(row.submit_id, DeliveryStatus(row.status), row.state, row.text_id, row.error, row.id)
               for row in rows]
    return _apply(db, reports, now, hold=False)


def drop_expired(db: Session, before: datetime) -> int:
    """Held receipts received before ``before``: no part will ever carry their id."""
    result = db.execute(delete(SmsHeldReceipt).where(SmsHeldReceipt.received_at < before)
                        .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def expiry_cutoff(now: datetime, ttl_seconds: float) -> datetime:
    return now - timedelta(seconds=ttl_seconds)


def _apply(db: Session, reports: Sequence[Report], now: datetime, *, hold: bool) -> Applied:
    take_write_lock(db)
    ids = {report.submit_id for report in reports} | {report.text_id for report in reports if report.text_id}
    messages = rows.lock(db, set(rows.owners(db, ids).values()))
    parts = rows.parts_of(db, messages.keys())
    by_submit = {part.submit_id: part for found in parts.values() for part in found.values() if part.submit_id}
    applied = 0
    held: list[dict[str, object]] = []
    done_held: list[int] = []
    touched: set[int] = set()
    for report in reports:
        part = by_submit.get(report.submit_id) or (by_submit.get(report.text_id) if report.text_id else None)
        if part is None:
            if hold:
                held.append(report.held(now))
            continue
        applied += 1
        if report.held_id is not None:
            done_held.append(report.held_id)
        moved = advance(status_of(part.status), report.status)
        if moved.value != part.status:
            part.status, part.status_at, part.changed = moved.value, now, True
            if moved in FAILURES:
                part.error = f"{report.state} err:{report.error}"[:MAX_ERROR] if report.error else report.state
            touched.add(part.message_id)
    changed = 0
    progress: dict[str, str] = {}
    with settling(db, {sid for m in touched if (sid := messages[m].session_id) is not None}):
        for message_id in sorted(touched):
            statuses = {seq: part.status for seq, part in parts[message_id].items()}
            changed += roll(db, messages[message_id], statuses, now, progress)
    report_moves(db, progress, now)
    rows.write_parts(db, (part for found in parts.values() for part in found.values()))
    rows.write_messages(db, messages.values())
    if held:
        db.execute(insert(SmsHeldReceipt), held)
    if done_held:
        db.execute(delete(SmsHeldReceipt).where(one_of(db, SmsHeldReceipt.id, done_held))
                   .execution_options(synchronize_session=False))
    db.flush()
    return Applied(applied, len(held), changed)
