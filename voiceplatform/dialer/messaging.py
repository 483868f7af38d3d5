"""One messaging attempt of a campaign (sms, whatsapp), in **one transaction**: lock the campaign,
take the next due contact (re-checked for the do-not-call list, opt-outs on the campaign's
channel, its sending window and the per-second cap: dialer.claims.next_to_message), start its
session through the shared runner (voiceplatform.sessions.runner: the first step's messages are
queued by the channel's driver inside the same transaction), and record the attempt with its
messages, parts and charge (campaigns.message_outcomes.record_sent).

So a session exists if and only if its attempt is recorded: a worker that dies before the commit
leaves the contact ``pending`` with nothing sent, and the next worker sends it once. No switch and
no switch slot is involved: a worker with no switch runs messaging campaigns.

The transport is the channel registry's: the bridge registered for the campaign's channel, else
the ``dev`` channel standing in (voiceplatform.channels.registry). The session speaks from the
campaign's ``sender`` (one of the account's numbers, so that replies come back to it, or one of its
registered sender IDs: voiceplatform.messages.senders.resolve), else the account's first number on
that transport. A ``sender`` that is no longer the account's (a sender ID removed since the
campaign was created) fails the attempt with the reason; nothing is sent from another address.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.campaigns import lifecycle
from voiceplatform.campaigns.message_outcomes import record_failed, record_sent
from voiceplatform.campaigns.pricing import Rates
from voiceplatform.campaigns.settings import CampaignSettings
from voiceplatform.dialer.claims import next_to_message
from voiceplatform.exceptions import ChannelUnavailableError, VoicePlatformError
from voiceplatform.flow import outputs as out
from voiceplatform.inbound.router import contact_view
from voiceplatform.messages.senders import Sender, default_number, resolve
from voiceplatform.models import Campaign, CampaignContact, CampaignContactStatus, CampaignStatus, Contact
from voiceplatform.models.base import utcnow
from voiceplatform.models.sessions import EventKind
from voiceplatform.sessions import store
from voiceplatform.sessions.runner import RunResult, SessionRunner

log = logging.getLogger(__name__)


class _NotStarted(Exception):
    def __init__(self, campaign_contact_id: int, transport: str, reason: str) -> None:
        super().__init__(reason)
        self.campaign_contact_id, self.transport, self.reason = campaign_contact_id, transport, reason


@dataclass(frozen=True)
class SendResult:
    """``outcome`` as the dispatcher's loop reads it: ``placed`` (an attempt was made), ``wait``
    (at the cap, or the campaign is not running), ``idle`` (nothing due) or ``again``."""

    outcome: str
    skipped: int = 0
    deferred: int = 0
    session_id: str | None = None


def can_send(runner: SessionRunner | None, channel: str) -> bool:
    """Whether this process has a driver for a ``channel`` campaign."""
    if runner is None:
        return False
    try:
        runner.channels.for_engine_channel(channel)
    except ChannelUnavailableError:
        return False
    return True


class MessageSender:
    def __init__(self, sessions: sessionmaker[Session], runner: SessionRunner, rates: Rates,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions = sessions
        self.runner = runner
        self.rates = rates
        self.clock = clock

    def send_next(self, campaign_id: int, settings: CampaignSettings) -> SendResult:
        try:
            with self.sessions.begin() as db:
                campaign = db.get(Campaign, campaign_id)
                if campaign is None or campaign.status != CampaignStatus.RUNNING:
                    return SendResult("wait")
                now = self.clock()
                if not lifecycle.has_credit(db, campaign, self.rates):
                    lifecycle.fail(db, campaign, lifecycle.INSUFFICIENT_CREDIT, now)
                    return SendResult("wait")
                due = next_to_message(db, campaign, settings, now=now)
                if due.entry is None or due.contact is None:
                    outcome = "wait" if due.at_capacity else ("idle" if due.nothing_due else "again")
                    return SendResult(outcome, due.skipped, due.deferred)
                result, requests = self._start(db, campaign, settings, due.entry, due.contact, now)
        except _NotStarted as failed:  # the transaction was rolled back: nothing of the session is kept
            self._record_failure(failed.campaign_contact_id, failed.transport, failed.reason)
            return SendResult("placed")
        if requests:  # the first step's webhooks: after the commit, never inside it
            self.runner.follow_http(result, requests)
        return SendResult("placed", due.skipped, due.deferred, result.session_id)

    def _start(self, db: Session, campaign: Campaign, settings: CampaignSettings, entry: CampaignContact,
               contact: Contact, now: datetime) -> tuple[RunResult, list[out.HttpRequest]]:
        """Start the contact's session and record the attempt; raises _NotStarted when it cannot."""
        try:
            driver = self.runner.channels.for_engine_channel(campaign.channel)
            transport = driver.capabilities.name
            sender = campaign_sender(db, campaign.account_id, transport, settings.sender)
            result, requests = self.runner.start_in(
                db, account_id=campaign.account_id, flow_version_id=campaign.flow_version_id, channel=transport,
                address=contact.phone, our_address=sender.address if sender else None,
                number_id=sender.number_id if sender else None, contact_id=contact.id, contact=contact_view(contact),
                campaign_contact_id=entry.id, language=contact.language, renders_as=campaign.channel)
        except VoicePlatformError as exc:
            raise _NotStarted(entry.id, self._transport(campaign), str(exc)) from exc
        if result.status == "failed":  # the flow failed at its first step
            record_failed(db, campaign, entry, transport=transport, reason="the session failed at once",
                          session_id=result.session_id, now=now)
        else:
            channels = frozenset({campaign.channel, driver.capabilities.renders_as.value})
            record_sent(db, campaign, entry, session_id=result.session_id, transport=transport,
                        texts=sent_texts(db, result.session_id, channels), rates=self.rates, now=now)
        return result, requests

    def _transport(self, campaign: Campaign) -> str:
        try:
            return self.runner.channels.for_engine_channel(campaign.channel).capabilities.name
        except ChannelUnavailableError:
            return campaign.channel

    def _record_failure(self, campaign_contact_id: int, transport: str, reason: str) -> None:
        log.warning("campaign contact %s: the session could not start: %s", campaign_contact_id, reason)
        with self.sessions.begin() as db:
            entry = db.get(CampaignContact, campaign_contact_id)
            if entry is None or entry.status != CampaignContactStatus.PENDING:
                return
            campaign = db.get(Campaign, entry.campaign_id)
            assert campaign is not None
            record_failed(db, campaign, entry, transport=transport, reason=reason, session_id=None, now=self.clock())


def campaign_sender(db: Session, account_id: int, transport: str, sender: str | None) -> Sender | None:
    """What a campaign's sessions speak from: ``sender`` (its ``settings.sender``: one of the
    account's numbers in any spelling, or a registered sender ID; MessageRefusedError when it is
    neither), else the account's first number that takes ``transport``; None when it has none."""
    if sender is not None:
        return resolve(db, account_id, sender, transport)
    number = default_number(db, account_id, transport)
    return Sender(number.number, number.id, frozenset()) if number else None


def sent_texts(db: Session, session_id: str, channels: frozenset[str]) -> list[str]:
    """The texts of the ``send`` outputs to the session's own contact on one of ``channels`` that
    session ``session_id`` has in its history so far (its first step's, right after the start)."""
    return [str(event.payload.get("text", "")) for event in store.history(db, session_id)
            if event.kind == EventKind.OUTPUT.value and event.type == out.Send.kind
            and event.payload.get("channel") in channels and event.payload.get("to") is None]
