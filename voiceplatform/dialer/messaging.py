"""Messaging attempts of a campaign (sms, whatsapp), a batch of them in **one transaction**: lock
the campaign, take the next due contacts (re-checked for the do-not-call list, opt-outs on the
campaign's channel, their sending window and the per-second cap: dialer.claims.due_to_message),
start their sessions through the shared runner (voiceplatform.sessions.runner: the first step's
messages are queued by the channel's driver inside the same transaction; the batch's rows are
written together, voiceplatform.sessions.store.batched), and record each attempt with its
messages, parts and charge (campaigns.message_outcomes.record_sent).

So a session exists if and only if its attempt is recorded: a worker that dies before the commit
leaves the batch's contacts ``pending`` with nothing sent, and the next worker sends them once.
A contact whose session cannot start voids its batch (nothing of it is kept); its contacts are
then sent one by one, each in its own transaction, so that one is recorded ``failed`` and the
others are sent. A batch is at most as large as the balance covers at the minimum charge per
attempt (the balance is checked once per batch). No switch and no switch slot is involved: a
worker with no switch runs messaging campaigns.

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
from typing import Callable, Sequence

from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.campaigns import lifecycle
from voiceplatform.campaigns.message_outcomes import SentAttempt, record_failed, record_sent
from voiceplatform.campaigns.pricing import Rates
from voiceplatform.campaigns.settings import CampaignSettings
from voiceplatform.dialer.claims import due_to_message
from voiceplatform.exceptions import ChannelUnavailableError, VoicePlatformError
from voiceplatform.flow import outputs as out
from voiceplatform.inbound.router import contact_view
from voiceplatform.messages.senders import Sender, default_number, resolve
from voiceplatform.channels.contract import ChannelDriver
from voiceplatform.models import Account, Campaign, CampaignContact, CampaignContactStatus, CampaignStatus, Contact
from voiceplatform.models.base import utcnow
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
    session_id: str | None = None  # the last attempt's session
    placed: int = 0  # attempts made


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
        return self.send_batch(campaign_id, settings, 1)

    def send_batch(self, campaign_id: int, settings: CampaignSettings, limit: int) -> SendResult:
        """Up to ``limit`` attempts in one transaction (see the module's docstring)."""
        try:
            with self.sessions.begin() as db, store.batched(db, defer_new=True):
                campaign = db.get(Campaign, campaign_id)
                if campaign is None or campaign.status != CampaignStatus.RUNNING:
                    return SendResult("wait")
                now = self.clock()
                if not lifecycle.has_credit(db, campaign, self.rates):
                    lifecycle.fail(db, campaign, lifecycle.INSUFFICIENT_CREDIT, now)
                    return SendResult("wait")
                due = due_to_message(db, campaign, settings, now=now, limit=self._affordable(db, campaign, limit))
                if not due.ready:
                    outcome = "wait" if due.at_capacity else ("idle" if due.nothing_due else "again")
                    return SendResult(outcome, due.skipped, due.deferred)
                driver, sender = self._transport_of(db, campaign, settings, due.ready[0][0])
                started = [self._start(db, campaign, driver, sender, entry, contact, now)
                           for entry, contact in due.ready]
                store.write_pending(db)  # the batch's sessions in one statement, before the attempts that name them
                self._record(db, campaign, driver, [(entry, result) for (entry, _contact), (result, _requests)
                                                    in zip(due.ready, started)], now)
        except _NotStarted as failed:  # the transaction was rolled back: nothing of the sessions is kept
            if limit > 1:
                return self._one_by_one(campaign_id, settings, limit)
            self._record_failure(failed.campaign_contact_id, failed.transport, failed.reason)
            return SendResult("placed", placed=1)
        for result, requests in started:
            if requests:  # the first step's webhooks: after the commit, never inside it
                self.runner.follow_http(result, requests)
        return SendResult("placed", due.skipped, due.deferred, started[-1][0].session_id, len(started))

    def _affordable(self, db: Session, campaign: Campaign, limit: int) -> int:
        """``limit``, or fewer: the attempts the balance covers at the minimum charge (at least one)."""
        if limit <= 1:
            return limit
        account = db.get(Account, campaign.account_id)
        minimum = self.rates.minimum_charge(campaign.channel)
        if account is None or not minimum:
            return limit
        return max(1, min(limit, int((account.balance or 0) // minimum)))

    def _one_by_one(self, campaign_id: int, settings: CampaignSettings, limit: int) -> SendResult:
        """A batch that failed, sent again an attempt a transaction."""
        total = SendResult("again")
        for _ in range(limit):
            one = self.send_next(campaign_id, settings)
            total = SendResult(one.outcome if not total.placed else "placed", total.skipped + one.skipped,
                               total.deferred + one.deferred, one.session_id or total.session_id,
                               total.placed + one.placed)
            if one.outcome != "placed":
                break
        return total

    def _transport_of(self, db: Session, campaign: Campaign, settings: CampaignSettings,
                      first: CampaignContact) -> tuple[ChannelDriver, Sender | None]:
        """The campaign's driver and the address its sessions speak from (raises _NotStarted)."""
        try:
            driver = self.runner.channels.for_engine_channel(campaign.channel)
            return driver, campaign_sender(db, campaign.account_id, driver.capabilities.name, settings.sender)
        except VoicePlatformError as exc:
            raise _NotStarted(first.id, self._transport(campaign), str(exc)) from exc

    def _start(self, db: Session, campaign: Campaign, driver: ChannelDriver, sender: Sender | None,
               entry: CampaignContact, contact: Contact, now: datetime) -> tuple[RunResult, list[out.HttpRequest]]:
        """Start the contact's session; raises _NotStarted when it cannot."""
        try:
            return self.runner.start_in(
                db, account_id=campaign.account_id, flow_version_id=campaign.flow_version_id,
                channel=driver.capabilities.name, address=contact.phone, our_address=sender.address if sender else None,
                number_id=sender.number_id if sender else None, contact_id=contact.id, contact=contact_view(contact),
                campaign_contact_id=entry.id, language=contact.language, renders_as=campaign.channel)
        except VoicePlatformError as exc:
            raise _NotStarted(entry.id, driver.capabilities.name, str(exc)) from exc

    def _record(self, db: Session, campaign: Campaign, driver: ChannelDriver,
                started: list[tuple[CampaignContact, RunResult]], now: datetime) -> None:
        """The attempts of the sessions the batch started: sent, or failed when the flow failed at once."""
        transport = driver.capabilities.name
        channels = frozenset({campaign.channel, driver.capabilities.renders_as.value})
        sent = []
        for entry, result in started:
            if result.status == "failed":
                record_failed(db, campaign, entry, transport=transport, reason="the session failed at once",
                              session_id=result.session_id, now=now)
            else:
                sent.append(SentAttempt(entry, result.session_id, sent_texts(result.outputs, channels)))
        record_sent(db, campaign, sent, transport=transport, rates=self.rates, now=now)

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


def sent_texts(outputs: Sequence[out.Output], channels: frozenset[str]) -> list[str]:
    """The texts of the ``send`` outputs to the session's own contact on one of ``channels``
    among a step's ``outputs`` (its first step's: what its history holds right after the start)."""
    return [output.text for output in outputs
            if isinstance(output, out.Send) and output.channel in channels and output.to is None]
