"""Meta's statuses applied to the outbox, in the caller's transaction: forward only, once each,
priced, reported to the platform, and held when they come before their wamid is stored.

* **Once.** A (wamid, status) pair is applied once (``whatsapp_status_receipts``): Meta delivers
  webhooks at least once, whole or re-batched.
* **Forward only** (whatsapp_bridge.statuses.advance): a late ``sent`` after ``delivered``
  changes nothing; a ``delivered`` after ``failed`` wins (another of the user's devices).
* **Priced.** A status carrying ``pricing`` records its category, type and billable flag; the
  first delivered (or read, played) one prices the message (whatsapp_bridge.pricing.charge with
  the platform's rate card: one rule). A category the rates do not name pays the card's
  ``whatsapp_per_message``.
  A message of a campaign's session is charged to its attempt and the account then, in this
  transaction, once (voiceplatform.campaigns.message_outcomes.charge_delivered): a campaign's
  WhatsApp messages cost nothing when sent, a free-form one in the window nothing at all, a
  failed one nothing.
* **Reported** like the SMS bridge's receipts (sms_bridge/message_status.py): ``sent`` is a move
  on the way (``report_progress``: the messages API's message hears it); ``delivered``, ``read``
  and ``played`` settle the session's campaign attempt (or API message) ``delivered``, and
  ``failed`` settles it ``undelivered`` (Meta took the message and could not deliver it),
  through voiceplatform.campaigns.message_outcomes.settle_message_outcome.
* **Held.** A status whose wamid no message carries yet (Meta can post ``sent`` before the send
  call is answered, or another bridge process is writing that answer) is kept in
  ``whatsapp_held_statuses`` and applied when the wamid is stored (:func:`apply_held` in the
  sender's transaction), or by the upkeep's sweep; dropped after a day.
* **Matched by our id.** A status naming a wamid no message carries, whose
  ``biz_opaque_callback_data`` is ours (whatsapp_bridge.callback_data: the message's id and the
  part), is the answer the store never got: the sender died after writing the request. If that
  message may have gone (its request was started: ``send_started_at``, or it is ``unknown``),
  from the status's number to its contact, and that part has no wamid yet, the wamid is stored
  as that part's (the last part's is the message's ``wamid``) and the status applied as any
  other: ``delivered`` settles an ``unknown`` attempt ``delivered``.
* A status of a lead part of a message that went as several (a long text split) is recognised
  and ignored: the message's statuses are its last part's.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, insert, select
from sqlalchemy.orm import Session

from voiceplatform.campaigns.message_outcomes import charge_delivered, report_progress, settle_message_outcome, settling
from voiceplatform.models.whatsapp import (SENDING, UNKNOWN, WhatsAppHeldStatus, WhatsAppMessage,
                                          WhatsAppStatusReceipt, WhatsAppWamid)
from voiceplatform.sessions.store import one_of, take_write_lock

from whatsapp_bridge.callback_data import CallbackRef, decode
from whatsapp_bridge.errors import WhatsAppPayloadError
from whatsapp_bridge.pricing import RateCard, charge
from whatsapp_bridge.statuses import advance
from whatsapp_bridge.webhook_payloads import ErrorDetail, Pricing, StatusEvent, timestamp

log = logging.getLogger(__name__)

#: Meta's status → the platform's report (voiceplatform.campaigns.message_outcomes.REPORTS).
REPORTS = {"sent": "sent", "delivered": "delivered", "read": "read", "played": "read",
           "failed": "undelivered"}
DELIVERED = frozenset({"delivered", "read", "played"})
MAX_HELD_SWEEP = 500
MAX_ERROR = 200


@dataclass
class Applied:
    applied: int = 0
    duplicates: int = 0
    held: int = 0
    moved: int = 0
    matched: int = 0  # wamids stored from a status's callback data


def lock_messages(db: Session, ids: Collection[int]) -> dict[int, WhatsAppMessage]:
    """The messages ``ids``, locked in id order (PostgreSQL ``FOR UPDATE``; the caller took the
    write lock on SQLite), read afresh."""
    if not ids:
        return {}
    found = db.scalars(select(WhatsAppMessage).where(one_of(db, WhatsAppMessage.id, ids))
                       .order_by(WhatsAppMessage.id).with_for_update().execution_options(populate_existing=True))
    return {message.id: message for message in found}


def apply_statuses(db: Session, statuses: Sequence[StatusEvent], now: datetime, rates: RateCard, *,
                   hold: bool = True) -> Applied:
    """Apply ``statuses`` in the order given (see the module's docstring)."""
    summary = Applied()
    if not statuses:
        return summary
    take_write_lock(db)
    wamids = {status.message_id for status in statuses}
    seen = {(wamid, status) for wamid, status in db.execute(
        select(WhatsAppStatusReceipt.wamid, WhatsAppStatusReceipt.status)
        .where(one_of(db, WhatsAppStatusReceipt.wamid, wamids)))}
    parts = {row.wamid: (row.message_id, row.seq) for row in db.scalars(
        select(WhatsAppWamid).where(one_of(db, WhatsAppWamid.wamid, wamids)))}
    refs: dict[str, CallbackRef] = {}
    for status in statuses:
        ref = decode(status.callback_data) if status.message_id not in parts else None
        if ref is not None:
            refs.setdefault(status.message_id, ref)
    messages = lock_messages(db, {message_id for message_id, _ in parts.values()}
                             | {ref.message_id for ref in refs.values()})
    if refs:
        found = _match(db, statuses, refs, messages)
        parts.update(found)
        summary.matched += len(found)
    receipts: list[dict[str, Any]] = []
    held: list[dict[str, Any]] = []
    progress: dict[str, str] = {}
    with settling(db, {sid for m in messages.values() if (sid := m.session_id) is not None}):
        for status in statuses:
            key = (status.message_id, status.raw_status[:20])
            if key in seen:
                summary.duplicates += 1
                continue
            part = parts.get(status.message_id)
            message = messages.get(part[0]) if part is not None else None
            if part is None or message is None:
                if hold:
                    held.append({"wamid": status.message_id, "status": status.raw_status[:20],
                                 "payload": status_payload(status), "received_at": now})
                    summary.held += 1
                continue
            seen.add(key)
            receipts.append({"wamid": key[0], "status": key[1], "received_at": now})
            summary.applied += 1
            if part[1] < message.parts:
                continue  # a lead part of a split message
            unpriced = message.cost is None
            _price(message, status, rates)
            if unpriced and message.cost is not None and message.session_id is not None:
                charge_delivered(db, message.session_id, message.cost)  # once: the status that priced it
            moved = advance(message.status, status.status)
            if moved is None:
                continue
            summary.moved += 1
            message.status, message.status_at = moved, now
            if moved == "failed" and status.errors:
                first = status.errors[0]
                message.error_code = first.code
                message.error = f"({first.code}) {first.title or first.message or 'failed'}"[:MAX_ERROR]
            _report(db, message, moved, now, progress)
    if progress:
        report_progress(db, progress, now)
    if receipts:
        db.execute(insert(WhatsAppStatusReceipt), receipts)
    if held:
        db.execute(insert(WhatsAppHeldStatus), held)
    db.flush()
    return summary


def _match(db: Session, statuses: Sequence[StatusEvent], refs: Mapping[str, CallbackRef],
           messages: Mapping[int, WhatsAppMessage]) -> dict[str, tuple[int, int]]:
    """Store the wamids of ``refs`` (statuses' wamids no message carries, with our callback data)
    as their message's part, where that message may have gone and the part has none yet (see the
    module's docstring); gives wamid → (message id, part) of those stored."""
    taken = {(row.message_id, row.seq) for row in db.scalars(select(WhatsAppWamid).where(
        one_of(db, WhatsAppWamid.message_id, {ref.message_id for ref in refs.values()})))}
    first = {status.message_id: status for status in reversed(statuses)}
    stored: dict[str, tuple[int, int]] = {}
    for wamid, ref in refs.items():
        message, status = messages.get(ref.message_id), first[wamid]
        if message is None or (ref.message_id, ref.part) in taken or not _may_have_gone(message) \
                or status.phone_number_id != message.phone_number_id or not _same_contact(message.recipient, status):
            log.warning("whatsapp status %s of %s: callback data %r matches no message that may have gone; held",
                        status.raw_status[:20], wamid, status.callback_data)
            continue
        taken.add((ref.message_id, ref.part))
        stored[wamid] = (ref.message_id, ref.part)
        message.parts = max(message.parts, ref.parts)
        if message.send_state != SENDING:  # a live sender's answer counts its own parts
            message.parts_sent = max(message.parts_sent, ref.part)
        if ref.part == ref.parts and message.wamid is None:
            message.wamid = wamid
        log.info("whatsapp message %s: part %d's wamid %s learned from a status (its answer was never stored)",
                 message.id, ref.part, wamid)
    if stored:
        db.execute(insert(WhatsAppWamid), [{"wamid": wamid, "message_id": message_id, "seq": seq}
                                           for wamid, (message_id, seq) in stored.items()])
    return stored


def _may_have_gone(message: WhatsAppMessage) -> bool:
    return message.send_started_at is not None or message.status == UNKNOWN


def _same_contact(recipient: str, status: StatusEvent) -> bool:
    """Whether ``status`` is of ``recipient`` (+E.164 or a BSUID); a status naming nobody is."""
    if status.recipient_id is None and status.recipient_user_id is None:
        return True
    return (recipient.startswith("+") and status.recipient_id == recipient[1:]) or status.recipient_user_id == recipient


def _price(message: WhatsAppMessage, status: StatusEvent, rates: RateCard) -> None:
    pricing = status.pricing
    if pricing is None:
        return
    message.pricing_category = (pricing.category or message.pricing_category or "")[:40] or None
    message.pricing_type = (pricing.type or message.pricing_type or "")[:40] or None
    if pricing.billable is not None:
        message.billable = pricing.billable
    if status.status in DELIVERED and message.cost is None:
        try:
            message.cost = charge(message.pricing_category, message.pricing_type, rates, billable=message.billable)
        except WhatsAppPayloadError as exc:  # a bad rate in a caller's mapping
            log.warning("whatsapp message %s: not priced (%s)", message.id, exc)


def _report(db: Session, message: WhatsAppMessage, moved: str, now: datetime, progress: dict[str, str]) -> None:
    if message.session_id is None:
        return
    report = REPORTS.get(moved)
    if report == "sent":
        progress[message.session_id] = report
    elif report is not None:
        settle_message_outcome(db, message.session_id, report, now)


# ---- held statuses ---------------------------------------------------------------------------------


def status_payload(status: StatusEvent) -> dict[str, Any]:
    pricing = status.pricing
    return {"phone_number_id": status.phone_number_id, "status": status.status, "raw_status": status.raw_status,
            "timestamp": int(status.timestamp.timestamp()) if status.timestamp else None,
            "recipient_id": status.recipient_id, "recipient_user_id": status.recipient_user_id,
            "pricing": None if pricing is None else {"billable": pricing.billable, "pricing_model": pricing.pricing_model,
                                                     "type": pricing.type, "category": pricing.category},
            "errors": [{"code": e.code, "title": e.title, "message": e.message, "details": e.details, "href": e.href}
                       for e in status.errors],
            "callback_data": status.callback_data}


def status_from_payload(wamid: str, payload: Mapping[str, Any]) -> StatusEvent:
    pricing = payload.get("pricing")
    return StatusEvent(
        message_id=wamid, phone_number_id=str(payload.get("phone_number_id") or ""),
        status=str(payload.get("status") or "unknown"), raw_status=str(payload.get("raw_status") or "unknown"),
        timestamp=timestamp(payload.get("timestamp")), recipient_id=payload.get("recipient_id"),
        recipient_user_id=payload.get("recipient_user_id"),
        pricing=Pricing(pricing.get("billable"), pricing.get("pricing_model"), pricing.get("type"),
                        pricing.get("category")) if isinstance(pricing, Mapping) else None,
        errors=tuple(ErrorDetail(e.get("code"), e.get("title"), e.get("message"), e.get("details"), e.get("href"))
                     for e in payload.get("errors") or () if isinstance(e, Mapping)),
        callback_data=callback if isinstance(callback := payload.get("callback_data"), str) else None)


def apply_held(db: Session, now: datetime, rates: RateCard, wamids: Collection[str] | None = None) -> Applied:
    """Apply the held statuses that now match a stored wamid: those of ``wamids`` (just
    stored), or up to :data:`MAX_HELD_SWEEP` of any (the sweep); applied ones are deleted."""
    if wamids is not None and not wamids:
        return Applied()
    take_write_lock(db)
    held = WhatsAppHeldStatus
    if wamids is not None:
        query = select(held).where(one_of(db, held.wamid, wamids))
    else:
        query = select(held).where(exists().where(WhatsAppWamid.wamid == held.wamid)).limit(MAX_HELD_SWEEP)
    rows = list(db.scalars(query.order_by(held.id)))
    if not rows:
        return Applied()
    applied = apply_statuses(db, [status_from_payload(row.wamid, row.payload) for row in rows], now, rates,
                             hold=False)
    db.execute(delete(held).where(one_of(db, held.id, [row.id for row in rows]))
               .execution_options(synchronize_session=False))
    return applied


def drop_expired(db: Session, now: datetime, ttl_seconds: float) -> int:
    """Held statuses older than ``ttl_seconds``: no send will ever carry their wamid."""
    result = db.execute(delete(WhatsAppHeldStatus).where(WhatsAppHeldStatus.received_at < now - timedelta(
        seconds=ttl_seconds)).execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


