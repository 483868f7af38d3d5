"""Claiming the next contact to dial or to message, in one transaction that makes a duplicate
attempt impossible.

The transaction starts by locking the campaign's row (a no-op UPDATE: a row lock on PostgreSQL,
the write lock on SQLite), so claims for one campaign are serialised across every worker. Inside
it, the contact is re-checked at the moment of dialling or sending, on the campaign's channel:

- on the do-not-call list (every channel), or opted out of everything or of the campaign's
  channel → ``skipped`` (final), nothing sent;
- outside its calling (sending) window → it waits for the next opening (still ``pending``);
- at the cap → nothing is claimed: on voice, ``max_concurrent`` contacts being dialled; on
  messaging, ``max_sessions_per_second`` sessions started in the last second.

A call (:func:`claim_next`): the contact becomes ``dialling`` with the worker's name and a lease,
its attempt is counted and its ``calls`` row is written (queued) before any call is placed: if
the worker dies from here on, recovery finds the claim and settles it; nothing dials the contact
meanwhile. A message (:func:`next_to_message`, or :func:`due_to_message` for a batch of them):
the caller starts the sessions and records the attempts in this same transaction
(voiceplatform.dialer.messaging), so there is no in-between state to recover: a worker that dies
before the commit leaves the contacts ``pending``. The due contacts, their contact rows and the
do-not-call list are read in one statement each, whatever the batch's size.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voiceplatform.campaigns.lifecycle import lock as lock_campaign
from voiceplatform.campaigns.settings import CampaignSettings
from voiceplatform.campaigns.windows import next_opening
from voiceplatform.contacts.opt_out import accepts
from voiceplatform.models import (Call, Campaign, CampaignContact, CampaignContactStatus, CampaignMessage, Contact,
                                  DoNotCall)
from voiceplatform.sessions.store import one_of

PENDING, DIALLING = CampaignContactStatus.PENDING, CampaignContactStatus.DIALLING


@dataclass(frozen=True)
class Claim:
    campaign_contact_id: int
    call_id: str
    contact_id: int
    phone: str
    contact: dict[str, Any]  # what the flow sees: the attributes plus phone, timezone, language
    attempt: int


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim | None
    skipped: int = 0  # set aside at dialling time (do-not-call, opted out)
    deferred: int = 0  # outside their window: moved to the next opening
    at_capacity: bool = False
    nothing_due: bool = False


def dialling_count(session: Session, campaign_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(CampaignContact).where(
        CampaignContact.campaign_id == campaign_id, CampaignContact.status == DIALLING)) or 0)


@dataclass(frozen=True)
class Due:
    """The next contact that may be reached now (None: see the counts), re-checked and unclaimed."""

    entry: CampaignContact | None
    contact: Contact | None
    skipped: int = 0
    deferred: int = 0
    at_capacity: bool = False
    nothing_due: bool = False


@dataclass(frozen=True)
class DueBatch:
    """The contacts that may be messaged now, in their queue's order, re-checked and unclaimed
    (empty: see the counts)."""

    ready: list[tuple[CampaignContact, Contact]]
    skipped: int = 0
    deferred: int = 0
    at_capacity: bool = False
    nothing_due: bool = False


def sessions_started_since(session: Session, campaign_id: int, since: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(CampaignMessage).where(
        CampaignMessage.campaign_id == campaign_id, CampaignMessage.sent_at > since)) or 0)


def claim_next(session: Session, campaign: Campaign, settings: CampaignSettings, *, now: datetime,
               worker: str, lease: timedelta, call_id: str | None = None, scan: int = 50) -> ClaimResult:
    """Claim one due contact of ``campaign`` for a call (the caller commits). ``call_id`` names the call."""
    lock_campaign(session, campaign.id)
    if dialling_count(session, campaign.id) >= settings.max_concurrent:
        return ClaimResult(None, at_capacity=True)
    due = _due(session, campaign, settings, now, scan, wanted=1)
    if not due.ready:
        return ClaimResult(None, due.skipped, due.deferred, nothing_due=due.nothing_due)
    entry, contact = due.ready[0]
    claim = _claim(session, campaign, entry, contact, now, worker, lease, call_id)
    return ClaimResult(claim, due.skipped, due.deferred)


def next_to_message(session: Session, campaign: Campaign, settings: CampaignSettings, *, now: datetime,
                    scan: int = 50) -> Due:
    """The next due contact of messaging ``campaign``, in the caller's transaction (which then
    starts its session and records the attempt, and commits)."""
    due = due_to_message(session, campaign, settings, now=now, limit=1, scan=scan)
    entry, contact = due.ready[0] if due.ready else (None, None)
    return Due(entry, contact, due.skipped, due.deferred, due.at_capacity, due.nothing_due)


def due_to_message(session: Session, campaign: Campaign, settings: CampaignSettings, *, now: datetime, limit: int,
                   scan: int = 50) -> DueBatch:
    """Up to ``limit`` due contacts of messaging ``campaign`` (fewer when the per-second cap
    leaves less room), in the caller's transaction, which then starts their sessions, records
    the attempts and commits. ``scan`` more rows are read than wanted, for those set aside."""
    lock_campaign(session, campaign.id)
    room = settings.max_sessions_per_second - sessions_started_since(session, campaign.id, now - timedelta(seconds=1))
    if room < 1:
        return DueBatch([], at_capacity=True)
    wanted = min(limit, int(room))
    return _due(session, campaign, settings, now, wanted + scan, wanted)


def _due(session: Session, campaign: Campaign, settings: CampaignSettings, now: datetime, scan: int,
         wanted: int) -> DueBatch:
    window = settings.window.calling_window()
    skipped = deferred = 0
    due = session.scalars(
        select(CampaignContact)
        .where(CampaignContact.campaign_id == campaign.id, CampaignContact.status == PENDING,
               CampaignContact.next_attempt_at <= now)
        .order_by(CampaignContact.next_attempt_at, CampaignContact.id)
        .limit(scan)
    ).all()
    if not due:
        return DueBatch([], nothing_due=True)
    contacts = {contact.id: contact for contact in session.scalars(
        select(Contact).where(one_of(session, Contact.id, {entry.contact_id for entry in due})))}
    blocked = set(session.scalars(select(DoNotCall.phone).where(
        DoNotCall.account_id == campaign.account_id,
        one_of(session, DoNotCall.phone, {contact.phone for contact in contacts.values()}))))
    openings: dict[str | None, datetime] = {}  # one computation per time zone
    ready: list[tuple[CampaignContact, Contact]] = []
    for entry in due:
        contact = contacts[entry.contact_id]
        # Opted out entirely (opted_out_at), or of the campaign's channel (it left the contact's
        # channels by a flow's opt_out, an opt-out word or an import): skipped at dialling or
        # sending time, whenever the opt-out happened. Opted out of calls, a contact still gets SMS.
        if contact.phone in blocked or not accepts(contact.channels, contact.opted_out_at, campaign.channel):
            entry.status = CampaignContactStatus.SKIPPED
            entry.last_outcome = "do-not-call" if contact.phone in blocked else "opted-out"
            entry.final_at, entry.next_attempt_at = now, None
            skipped += 1
            continue
        opening = openings.get(contact.timezone)
        if opening is None:
            opening = openings[contact.timezone] = next_opening(window, now, contact.timezone)
        if opening > now:
            entry.next_attempt_at = opening
            deferred += 1
            continue
        ready.append((entry, contact))
        if len(ready) >= wanted:
            break
    return DueBatch(ready, skipped, deferred)


def _claim(session: Session, campaign: Campaign, entry: CampaignContact, contact: Contact, now: datetime,
           worker: str, lease: timedelta, call_id: str | None) -> Claim:
    reuse = _unplaced_call(session, entry)  # a call written ahead (the single-call endpoint)
    call_id = reuse.id if reuse is not None else (call_id or uuid.uuid4().hex)
    entry.status = DIALLING
    entry.attempts += 1
    entry.last_call_id = call_id
    entry.next_attempt_at = None
    entry.claimed_by, entry.claimed_until = worker, now + lease
    if reuse is None:
        session.add(Call(id=call_id, account_id=campaign.account_id, campaign_id=campaign.id,
                         campaign_contact_id=entry.id, contact_id=contact.id, flow_version_id=campaign.flow_version_id,
                         flow_name="", to=contact.phone, switch="", queued_at=now))
    view = {**(contact.attributes or {}), "phone": contact.phone, "timezone": contact.timezone}
    if contact.language:
        view["language"] = contact.language
    return Claim(entry.id, call_id, contact.id, contact.phone, view, entry.attempts)


def _unplaced_call(session: Session, entry: CampaignContact) -> Call | None:
    if entry.attempts != 0 or not entry.last_call_id:
        return None
    call = session.get(Call, entry.last_call_id)
    return call if call is not None and call.outcome is None and call.dialling_at is None else None


def unclaim(session: Session, campaign_contact_id: int, call_id: str, now: datetime) -> None:
    """Give back a claim whose call was never placed (no switch slot): as if never claimed."""
    entry = session.get(CampaignContact, campaign_contact_id)
    if entry is None or entry.status != DIALLING or entry.last_call_id != call_id:
        return
    entry.status, entry.attempts, entry.next_attempt_at = PENDING, entry.attempts - 1, now
    entry.claimed_by = entry.claimed_until = None
    call = session.get(Call, call_id)
    if call is not None and call.dialling_at is None and call.outcome is None and entry.attempts > 0:
        session.delete(call)
