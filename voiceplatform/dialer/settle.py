"""Settling a finished call, in one transaction: the call's row, the campaign contact's next state
(final, or another attempt and when), the account's charge, and the ``call.ended`` webhook.

A contact is settled once: only while it is ``dialling`` this very call. A second report of the
same call (a retried save, a late switch event) updates the call's row and changes nothing else.

An unanswered call whose journey went on by another channel (its ``on.no_answer`` switched to
SMS or sent a message: voiceplatform.sessions.calls) reached the contact that way: the contact
is final with the outcome ``continued`` (the call keeps its own outcome, ``no-answer`` say, and
the webhook names the channel in ``continued_on``), whatever the retry rules say for the call's
outcome. Retrying it would place a second call and start a second session.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import gevent
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.campaigns.decisions import after_attempt
from voiceplatform.campaigns.pricing import Rates
from voiceplatform.campaigns.settings import CampaignSettings
from voiceplatform.dialer.events import call_event, emit
from voiceplatform.exceptions import VoicePlatformError
from voiceplatform.flow.outputs import HttpRequest
from voiceplatform.models import Account, Call, Campaign, CampaignContact, CampaignContactStatus, CampaignStatus, Contact
from voiceplatform.models.base import utcnow
from voiceplatform.switches.call_record import CallRecord
from voiceplatform.calls.store import copy_record
from voiceplatform.sessions.calls import CallSessions

log = logging.getLogger(__name__)
FINAL_WHEN_STOPPED = {CampaignStatus.CANCELLED}
CONTINUED = "continued"
SAVE_ATTEMPTS = 12  # about 40 s of backoff


@dataclass(frozen=True)
class Settled:
    call_id: str
    outcome: str
    final: bool
    campaign_id: int | None


def settle(session: Session, call: Call, outcome: str, rates: Rates, now: datetime,
           continued_on: str | None = None) -> Settled:
    """Apply a finished call (its row already written) to its campaign contact and account.
    ``continued_on``: the channel the unanswered call's journey went on by (see the docstring)."""
    entry = session.get(CampaignContact, call.campaign_contact_id) if call.campaign_contact_id else None
    if entry is None or entry.status != CampaignContactStatus.DIALLING or entry.last_call_id != call.id:
        return Settled(call.id, outcome, True, call.campaign_id)  # already settled: nothing more
    campaign = session.get(Campaign, entry.campaign_id)
    contact = session.get(Contact, entry.contact_id)
    assert campaign is not None and contact is not None
    settings = CampaignSettings.model_validate(campaign.settings or {})
    reached = CONTINUED if continued_on is not None and outcome != "answered" else outcome
    decision = after_attempt(settings, reached, entry.attempts, now, contact.timezone)
    entry.last_outcome = reached
    entry.claimed_by = entry.claimed_until = None
    if decision.final or campaign.status in FINAL_WHEN_STOPPED:
        entry.status, entry.final_at, entry.next_attempt_at = CampaignContactStatus.DONE, now, None
    else:
        entry.status, entry.next_attempt_at = CampaignContactStatus.PENDING, decision.next_attempt_at
    cost = rates.call_cost(float(call.billable_seconds or 0))
    if cost:
        account = session.get(Account, call.account_id)
        assert account is not None
        account.balance = (account.balance or 0) - cost
    event = call_event(call, entry, final=entry.status == CampaignContactStatus.DONE)
    if reached == CONTINUED:
        event["continued_on"] = continued_on
    emit(session, call.account_id, "call.ended", event)
    return Settled(call.id, outcome, entry.status == CampaignContactStatus.DONE, campaign.id)


class DialerCallSink:
    """The CallSink a dialling worker gives its switch driver: every finished call is settled.
    With ``call_sessions``, the call is also stored as the voice part of its session and the
    journey continues (an unanswered call's ``on.no_answer``, a ``switch_channel``'s handoff:
    voiceplatform.sessions.calls), in the same transaction as the settlement."""

    def __init__(self, sessions: sessionmaker[Session], rates: Rates,
                 call_sessions: CallSessions | None = None) -> None:
        self.sessions = sessions
        self.rates = rates
        self.call_sessions = call_sessions

    def call_ended(self, record: CallRecord) -> None:
        """Settle, retrying while the database is unreachable (a restart): a call's result is never
        dropped for a passing fault. If it still fails, recovery settles the claim later."""
        delay = 0.2
        for attempt in range(SAVE_ATTEMPTS):
            try:
                self._settle_with_session(record)
                return
            except OperationalError:
                if attempt == SAVE_ATTEMPTS - 1:
                    raise
                log.warning("call %s: database unavailable; retrying the save in %.1fs", record.call_id, delay)
                gevent.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _settle_with_session(self, record: CallRecord) -> None:
        """Settle, continuing the session; a session that cannot continue (a flow version that
        no longer parses, say) never costs the call its settlement: it is settled without."""
        if self.call_sessions is None:
            self._settle(record, None)
            return
        try:
            requests = self._settle(record, self.call_sessions)
        except VoicePlatformError as exc:
            log.exception("call %s: its session could not continue; settling the call alone", record.call_id)
            record.errors.append(f"session not continued: {exc}")
            self._settle(record, None)
            return
        if requests:  # webhooks of the continuation: after the commit, never inside it
            self.call_sessions.follow_http(record.call_id, requests)

    def _settle(self, record: CallRecord, call_sessions: CallSessions | None) -> list[HttpRequest]:
        requests: list[HttpRequest] = []
        with self.sessions.begin() as session:
            call = session.get(Call, record.call_id)
            if call is None:
                return requests  # not a campaign call (placed outside the dialer)
            first_report = call.ended_at is None
            copy_record(call, record)
            if call_sessions is not None:
                requests = call_sessions.settle_in(session, call, record)
            if call.direction == "inbound":  # no campaign to settle; the account hears of it once
                if first_report:
                    emit(session, call.account_id, "call.ended", call_event(call, None, final=True))
                return requests
            continued_on = call_sessions.continued_on(session, call) if call_sessions is not None else None
            settle(session, call, call.outcome or "failed", self.rates, utcnow(), continued_on)
        return requests
