"""What becomes of a messaging attempt: recorded when its session starts, moved by the delivery
reports that follow. The one place the campaign's retry rules meet a message.

- :func:`record_sent`: a batch of attempts whose sessions started and queued their first step's
  messages (in the dispatcher's transaction, with the sessions themselves). The attempt is ``sent`` and the
  contact final (``done``); the account is charged per part (SMS). A WhatsApp attempt carried by
  the WhatsApp bridge costs nothing when sent: Meta prices a message when it is *delivered*, by
  its category (:func:`charge_delivered`); carried by the dev channel standing in (which reports
  no pricing) it is charged per message when sent, as before.
- :func:`charge_delivered`: one of a campaign session's WhatsApp messages was delivered and the
  bridge priced it from the status's ``pricing`` (voiceplatform.campaigns.pricing.whatsapp_charge):
  the charge is added to the attempt's ``cost`` and taken from the account's balance, in the
  status's transaction, once per message (the bridge calls it on the status that priced it).
- :func:`record_failed`: the session could not start (no driver, a flow that fails at once):
  the ``failed`` outcome and its retry rule.
- :func:`report_progress`: a batch of moves on the way (``sent``, ``enroute``...) of many
  sessions' messages at once: they decide no attempt, so only the messages API's messages hear
  them (voiceplatform.messages.reports.apply_progress), in one query for the batch.
- :func:`settle_message_outcome`: **what a bridge calls when a delivery report arrives** (the
  dev channel's ``POST /dev/receipts`` too), in its own transaction. ``delivered`` (and
  ``read``, WhatsApp's: the attempt takes it as ``delivered``) keeps the contact final;
  ``undelivered``, ``expired``, ``rejected`` and ``failed`` apply the campaign's retry rule for
  that outcome (for example ``undelivered``: once more after an hour): the contact is
  ``pending`` again, due at the rule's delay within its sending window, and a completed
  campaign runs again for it. ``unknown`` (a submit the SMSC never answered: the message may or
  may not have arrived, so it is neither counted as sent nor resent silently) is final too and
  follows its retry rule (none by default). ``sent``, ``queued``, ``accepted`` and ``enroute``
  change nothing.

Reports only move an attempt forward, once: the first final report of an attempt decides (a
second report, or a late one for an attempt already retried, changes nothing). The one exception
is ``unknown``: a definite report that follows it (the SMSC learned after all) replaces it and
decides again, while the attempt is still the contact's last (a retry the ``unknown`` rule
scheduled is cancelled by a ``delivered``). A report for a
session of no campaign goes to the messages API's message of that session, if it is one
(voiceplatform.messages.reports: its status and ``message.status`` webhook); else it is
recorded nowhere. The attempt's row is locked first (a no-op UPDATE: the
row lock on PostgreSQL, the write lock on SQLite), so two reports of one attempt that arrive
together are applied one after the other; when the report makes the contact due again, the
campaign's row is locked next, so that report and the dialler completing the campaign never
cross (one sees the other: the campaign is not completed, or it is reopened). A report that
leaves the contact final (``delivered``, or no retry left) does not lock the campaign: a bridge's
batch of receipts never holds up the dialler's next batch of attempts.

**A batch of reports** (a bridge's receipts or statuses, in one transaction) settles inside
:func:`settling`: the batch's attempts are locked and loaded together, in order of id (two
batches never wait on each other in a circle), with their contacts, campaigns and campaign
settings, and what the reports change in them is written when it ends, one UPDATE per table. Without it, a
report costs a lock, a few reads and a flush of its own: a 20,000-contact SMS campaign's
receipts were applied at about 380/s, the bridge's profile 41 % in this function.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from voiceplatform.campaigns import lifecycle
from voiceplatform.campaigns.decisions import Decision, after_attempt
from voiceplatform.campaigns.pricing import Rates, parts_of
from voiceplatform.campaigns.settings import CampaignSettings
from voiceplatform.db.bulk_updates import flush_changed
from voiceplatform.messages.reports import apply_progress, apply_report
from voiceplatform.models import (Account, Campaign, CampaignContact, CampaignContactStatus, CampaignMessage,
                                  CampaignStatus, Contact)
from voiceplatform.models.base import utcnow
from voiceplatform.sessions.store import is_postgresql, one_of
from voiceplatform.sessions.writes import insert_later, table_of

SENT = "sent"
DELIVERED = "delivered"
READ = "read"
UNKNOWN = "unknown"
#: Reports that say the message is on its way: they change nothing.
IN_PROGRESS_REPORTS = ("sent", "queued", "accepted", "enroute")
#: Reports that say what became of the message, for certain: each may replace ``unknown``.
#: ``read`` (WhatsApp: the contact opened it) is ``delivered`` to a campaign's attempt; a message
#: of the messages API keeps it as its own status (voiceplatform.messages.statuses).
DEFINITE_REPORTS = ("delivered", READ, "undelivered", "expired", "rejected")
#: Reports that decide an attempt.
FINAL_REPORTS = DEFINITE_REPORTS + ("failed", UNKNOWN)
REPORTS = IN_PROGRESS_REPORTS + FINAL_REPORTS
RETRY_REASON = "retry_after_delivery_report"
#: Transports that report each message's price with its delivery status (the WhatsApp bridge's
#: ``pricing``): an attempt they carry is charged on delivery (:func:`charge_delivered`), not when sent.
PRICED_ON_DELIVERY = frozenset({"whatsapp"})
_ATTEMPTS = table_of(CampaignMessage)
_SETTLING = "voiceplatform.campaigns.message_outcomes.settling"  # db.info: the batch's loaded attempts


@dataclass(frozen=True)
class MessageSettled:
    """What a report did. ``applied``: it moved the attempt; ``final``: the contact is final
    after it (``next_attempt_at`` says when it is tried again otherwise); ``reason`` in words."""

    applied: bool
    reason: str
    outcome: str | None = None
    campaign_contact_id: int | None = None
    final: bool | None = None
    next_attempt_at: datetime | None = None


@dataclass(frozen=True)
class SentAttempt:
    """A campaign contact whose session ``session_id`` just started and queued ``texts`` (its
    first step's messages on the campaign's channel)."""

    entry: CampaignContact
    session_id: str
    texts: list[str]


def record_sent(db: Session, campaign: Campaign, attempts: Sequence[SentAttempt], *, transport: str, rates: Rates,
                now: datetime) -> None:
    """The attempts of a batch of started sessions, in the caller's transaction (the
    dispatcher's, with the sessions themselves): their ``campaign_messages`` rows go with the
    batch's other new rows (voiceplatform.sessions.writes: one COPY on PostgreSQL), their
    contacts are made final in one UPDATE, and the account is charged once for them all. The
    contacts' ORM objects are left as they were read (nothing of them is flushed)."""
    if not attempts:
        return
    rows: list[dict[str, object]] = []
    total = Decimal(0)
    for sent in attempts:
        entry = sent.entry
        parts = parts_of(campaign.channel, sent.texts)
        contact = db.get(Contact, entry.contact_id)  # already loaded by the claim: SMS is priced by its country
        cost = Decimal(0) if transport in PRICED_ON_DELIVERY else rates.message_cost(
            campaign.channel, len(sent.texts), parts, to=contact.phone if contact else None)
        total += cost
        rows.append({"campaign_id": campaign.id, "campaign_contact_id": entry.id, "session_id": sent.session_id,
                     "channel": campaign.channel, "transport": transport, "attempt": entry.attempts + 1,
                     "messages": len(sent.texts), "parts": parts, "cost": cost, "outcome": SENT, "sent_at": now,
                     "outcome_at": None, "error": None})
    insert_later(db, _ATTEMPTS, rows)
    db.execute(update(CampaignContact).where(one_of(db, CampaignContact.id, [sent.entry.id for sent in attempts]))
               .values(attempts=CampaignContact.attempts + 1, last_outcome=SENT, status=CampaignContactStatus.DONE,
                       final_at=now, next_attempt_at=None, claimed_by=None, claimed_until=None)
               .execution_options(synchronize_session=False))
    if total:
        db.execute(update(Account).where(Account.id == campaign.account_id)
                   .values(balance=func.coalesce(Account.balance, 0) - total).execution_options(synchronize_session=False))


def charge_delivered(db: Session, session_id: str, cost: Decimal) -> Decimal | None:
    """Charge ``cost`` for a delivered message of session ``session_id`` (what the WhatsApp
    bridge priced it at from the status's ``pricing``) to the session's campaign attempt, in the
    caller's transaction: the attempt's ``cost`` grows by it and the account's balance shrinks by
    it (two increments: concurrent statuses of one campaign never lose each other's charge). The
    caller charges each message once, on the status that priced it. Gives the charge, or None
    when the session is no campaign's (a message of the messages API settles its own hold:
    voiceplatform.messages.reports)."""
    found = db.execute(select(CampaignMessage.id, Campaign.account_id)
                       .join(Campaign, Campaign.id == CampaignMessage.campaign_id)
                       .where(CampaignMessage.session_id == session_id)).first()
    if found is None:
        return None
    attempt_id, account_id = found
    if cost:
        db.execute(update(CampaignMessage).where(CampaignMessage.id == attempt_id)
                   .values(cost=CampaignMessage.cost + cost).execution_options(synchronize_session=False))
        db.execute(update(Account).where(Account.id == account_id)
                   .values(balance=Account.balance - cost).execution_options(synchronize_session=False))
    return cost


def record_failed(db: Session, campaign: Campaign, entry: CampaignContact, *, transport: str, reason: str,
                  session_id: str | None, now: datetime) -> CampaignMessage:
    """An attempt that sent nothing: its session could not start, or failed at once."""
    entry.attempts += 1
    attempt = CampaignMessage(campaign_id=campaign.id, campaign_contact_id=entry.id, session_id=session_id,
                              channel=campaign.channel, transport=transport, attempt=entry.attempts,
                              outcome="failed", sent_at=now, outcome_at=now, error=reason[:200])
    db.add(attempt)
    _decide(db, campaign, entry, "failed", now)
    db.flush()
    return attempt


def report_progress(db: Session, reports: Mapping[str, str], now: datetime | None = None) -> int:
    """Apply ``session id -> report`` moves on the way (each one of :data:`IN_PROGRESS_REPORTS`),
    in the caller's transaction: a campaign's attempt is final at ``sent`` already, so only the
    messages API's messages move (each with its ``message.status`` webhook). Gives how many moved."""
    wrong = {outcome for outcome in reports.values() if outcome not in IN_PROGRESS_REPORTS}
    if wrong:
        raise ValueError(f"progress reports are {list(IN_PROGRESS_REPORTS)}, not {sorted(wrong)}")
    return sum(applied.changed for applied in apply_progress(db, reports, now or utcnow()))


@dataclass
class _Loaded:
    """A batch's attempts (session id -> its attempt), locked, with what settling them reads.
    The contacts and entries are kept here so that the session's identity map (weak) keeps them."""

    session_ids: frozenset[str]
    attempts: dict[str, CampaignMessage] = field(default_factory=dict)
    campaigns: dict[int, Campaign] = field(default_factory=dict)
    kept: list[object] = field(default_factory=list)
    settings: dict[int, CampaignSettings] = field(default_factory=dict)

    def settings_of(self, campaign: Campaign) -> CampaignSettings:
        found = self.settings.get(campaign.id)
        if found is None:
            found = self.settings[campaign.id] = CampaignSettings.model_validate(campaign.settings or {})
        return found


@contextmanager
def settling(db: Session, session_ids: Collection[str]) -> Iterator[None]:
    """Within it, :func:`settle_message_outcome` for one of ``session_ids`` reads the attempts
    locked and loaded here together (see the module's docstring); what they changed in the
    attempts and their contacts is written when the block ends, each table in one statement
    (voiceplatform.db.bulk_updates)."""
    previous = db.info.get(_SETTLING)
    loaded = db.info[_SETTLING] = _load(db, sorted(set(session_ids))) if session_ids else None
    try:
        yield
        if loaded is not None:  # what the reports changed: one UPDATE per table, not one per row
            flush_changed(db, loaded.attempts.values())
            flush_changed(db, (kept for kept in loaded.kept if isinstance(kept, CampaignContact)))
    finally:
        db.info[_SETTLING] = previous


def _load(db: Session, session_ids: list[str]) -> _Loaded:
    loaded = _Loaded(frozenset(session_ids))
    if not is_postgresql(db):  # the write lock (PostgreSQL: the row locks below, in order)
        db.execute(update(CampaignMessage).where(one_of(db, CampaignMessage.session_id, session_ids))
                   .values(outcome=CampaignMessage.outcome).execution_options(synchronize_session=False))
    for attempt in db.scalars(select(CampaignMessage).where(one_of(db, CampaignMessage.session_id, session_ids))
                              .order_by(CampaignMessage.id).with_for_update()
                              .execution_options(populate_existing=True)):
        if attempt.session_id is not None:
            loaded.attempts.setdefault(attempt.session_id, attempt)
    if not loaded.attempts:
        return loaded
    attempts = loaded.attempts.values()
    entries = list(db.scalars(select(CampaignContact).where(
        one_of(db, CampaignContact.id, {a.campaign_contact_id for a in attempts}))
        .execution_options(populate_existing=True)))
    loaded.campaigns = {campaign.id: campaign for campaign in db.scalars(select(Campaign).where(
        one_of(db, Campaign.id, {a.campaign_id for a in attempts})).execution_options(populate_existing=True))}
    contacts = list(db.scalars(select(Contact).where(one_of(db, Contact.id, {e.contact_id for e in entries}))))
    loaded.kept = [*entries, *contacts]
    return loaded


def settle_message_outcome(db: Session, session_id: str, outcome: str, now: datetime | None = None) -> MessageSettled:
    """Apply a delivery report for a message of session ``session_id`` (see the module's
    docstring), in the caller's transaction. ``outcome`` is one of :data:`REPORTS`."""
    if outcome not in REPORTS:
        raise ValueError(f"a delivery report's outcome is one of {list(REPORTS)}, not {outcome!r}")
    now = now or utcnow()
    loaded: _Loaded | None = db.info.get(_SETTLING)
    batched = loaded is not None and session_id in loaded.session_ids
    if loaded is None or not batched:  # a batch of one, flushed here
        loaded = _load(db, [session_id])
    attempt = loaded.attempts.get(session_id)
    if attempt is None:  # a message of the messages API (POST /messages), or nobody's
        applied = apply_report(db, session_id, outcome, now)
        if applied is None:
            return MessageSettled(False, "not a campaign's message")
        return MessageSettled(applied.changed, applied.reason, applied.status, final=applied.final)
    if outcome in IN_PROGRESS_REPORTS:
        return MessageSettled(False, f"{outcome}: nothing to decide", attempt.outcome, attempt.campaign_contact_id)
    if outcome == READ:  # read implies delivered: that is what the attempt's rules know
        outcome = DELIVERED
    learned = attempt.outcome == UNKNOWN and outcome in DEFINITE_REPORTS
    if attempt.outcome != SENT and not learned:
        return MessageSettled(False, f"the attempt was already {attempt.outcome}", attempt.outcome,
                              attempt.campaign_contact_id)
    attempt.outcome, attempt.outcome_at = outcome, now
    entry = db.get(CampaignContact, attempt.campaign_contact_id)  # loaded: from the identity map
    campaign = loaded.campaigns.get(attempt.campaign_id)
    assert entry is not None and campaign is not None
    settled_by_it = (CampaignContactStatus.DONE, CampaignContactStatus.PENDING) if learned else (
        CampaignContactStatus.DONE,)  # pending: a retry the unknown's rule scheduled, not made yet
    if entry.attempts != attempt.attempt or entry.status not in settled_by_it:
        if not batched:
            db.flush()
        return MessageSettled(False, "a later attempt was made since", outcome, entry.id)
    decision = _decision(db, campaign, entry, outcome, now, loaded.settings_of(campaign))
    if not decision.final and campaign.status != CampaignStatus.CANCELLED:
        # the contact is due again: completion waits for this report, or this one sees it (a
        # final one leaves the campaign's row alone, so receipts never hold up the dialler)
        lifecycle.lock(db, campaign.id)
        db.refresh(campaign)
    _decide(db, campaign, entry, outcome, now, decision)
    if not batched:
        db.flush()
    final = entry.status == CampaignContactStatus.DONE
    reason = outcome if final else f"{outcome}: tried again"
    return MessageSettled(True, f"unknown, then {reason}" if learned else reason, outcome, entry.id, final,
                          entry.next_attempt_at)


def _decision(db: Session, campaign: Campaign, entry: CampaignContact, outcome: str, now: datetime,
              settings: CampaignSettings | None = None) -> Decision:
    """What the campaign's retry rule says after ``outcome`` (the contact's attempts already counted)."""
    contact = db.get(Contact, entry.contact_id)
    assert contact is not None
    settings = settings or CampaignSettings.model_validate(campaign.settings or {})
    return after_attempt(settings, outcome, entry.attempts, now, contact.timezone)


def _decide(db: Session, campaign: Campaign, entry: CampaignContact, outcome: str, now: datetime,
            decision: Decision | None = None) -> None:
    """The contact's next state after ``outcome`` (its attempts already counted)."""
    decision = decision or _decision(db, campaign, entry, outcome, now)
    entry.last_outcome = outcome
    entry.claimed_by = entry.claimed_until = None
    if decision.final or campaign.status == CampaignStatus.CANCELLED:
        entry.status, entry.final_at, entry.next_attempt_at = CampaignContactStatus.DONE, entry.final_at or now, None
        return
    entry.status, entry.final_at, entry.next_attempt_at = CampaignContactStatus.PENDING, None, decision.next_attempt_at
    if campaign.status == CampaignStatus.COMPLETED:
        lifecycle.reopen(db, campaign, RETRY_REASON)
