"""Running messaging campaigns in process for the tests: a campaign on the sms (or whatsapp)
channel with the ``notice`` flow (it sends each contact its own ``text`` attribute and ends),
and a dialler runtime with no switch: the dev channel carries the messages (its outbox)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

import gevent
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.campaigns.pricing import Rates
from voiceplatform.dialer.dispatcher import DialerContext
from voiceplatform.dialer.leases import LocalCampaignLock, LocalStore
from voiceplatform.dialer.supervisor import DialerRuntime
from voiceplatform.models import Campaign, CampaignContact, CampaignMessage, CampaignStatus, Contact, FlowVersion
from voiceplatform.models.base import utcnow
from voiceplatform.models.sessions import DevMessage, FlowSession
from voiceplatform.sessions import runtime as messaging
from voiceplatform.testing.campaign_seed import Seeded, seed_campaign

NOTICE = (Path(__file__).parent / "notice.yaml").read_text()


def numbers(count: int, start: int = 100) -> list[str]:
    return [f"+1202555{start + i:04d}" for i in range(count)]


def seed_messaging(sessions: sessionmaker[Session], phones: list[str], *, channel: str = "sms",
                   texts: dict[str, str] | None = None, definition: str = NOTICE, **options: Any) -> Seeded:
    """A running ``channel`` campaign of the notice flow; each contact's text is ``texts[phone]``
    (default ``Hello <phone>``)."""
    seeded = seed_campaign(sessions, phones, **options)
    with sessions.begin() as db:
        campaign = db.get(Campaign, seeded.campaign_id)
        assert campaign is not None
        campaign.channel = channel
        version = db.get(FlowVersion, campaign.flow_version_id)
        assert version is not None
        version.name, version.definition = "notice", definition
        version.checksum = FlowVersion.checksum_of(definition)
        for contact_id in seeded.contact_ids:
            contact = db.get(Contact, contact_id)
            assert contact is not None
            contact.attributes = {"text": (texts or {}).get(contact.phone, f"Hello {contact.phone}")}
    return seeded


class Clock:
    """The dispatcher's clock: real time plus an offset the test moves (a retry due in an hour)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset


class MessagingWorld:
    """A worker with no switch: it adopts messaging campaigns only."""

    def __init__(self, sessions: sessionmaker[Session], worker: str = "w1", rates: Rates | None = None) -> None:
        self.sessions = sessions
        self.clock = Clock()
        self.messaging = messaging.build(sessions)
        self.store = LocalStore()
        self.worker = worker
        self.context = DialerContext(sessions, None, None, worker, rates or Rates(), clock=self.clock,
                                     runner=self.messaging.runner)
        self.runtime = self.new_runtime()

    def new_runtime(self) -> DialerRuntime:
        return DialerRuntime(self.context, lambda name: LocalCampaignLock(name, self.worker, 15.0, store=self.store),
                             poll_seconds=0.1, deliver_webhooks=False, sweep_sessions=False)

    def run_until(self, campaign_id: int, done: Callable[[Campaign], bool], timeout: float = 30.0) -> Campaign:
        self.runtime.start()
        try:
            with gevent.Timeout(timeout):
                while True:
                    with self.sessions() as db:
                        campaign = db.get(Campaign, campaign_id)
                        assert campaign is not None
                        if done(campaign):
                            return campaign
                    gevent.sleep(0.05)
        finally:
            self.runtime.stop(timeout=10)
            self.runtime = self.new_runtime()

    def run_for(self, seconds: float) -> None:
        """Let the worker run for a while (to see that it does nothing)."""
        self.runtime.start()
        try:
            gevent.sleep(seconds)
        finally:
            self.runtime.stop(timeout=10)
            self.runtime = self.new_runtime()

    def completed(self, campaign_id: int, timeout: float = 30.0) -> Campaign:
        return self.run_until(campaign_id, lambda c: c.status == CampaignStatus.COMPLETED, timeout)


def contacts(sessions: sessionmaker[Session], campaign_id: int) -> list[CampaignContact]:
    with sessions() as db:
        return list(db.scalars(select(CampaignContact).where(CampaignContact.campaign_id == campaign_id)
                               .order_by(CampaignContact.id)))


def attempts(sessions: sessionmaker[Session], campaign_id: int) -> list[CampaignMessage]:
    with sessions() as db:
        return list(db.scalars(select(CampaignMessage).where(CampaignMessage.campaign_id == campaign_id)
                               .order_by(CampaignMessage.id)))


def sessions_of(sessions: sessionmaker[Session], campaign_contact_ids: list[int]) -> list[FlowSession]:
    with sessions() as db:
        return list(db.scalars(select(FlowSession).where(FlowSession.campaign_contact_id.in_(campaign_contact_ids))))


def outbox(sessions: sessionmaker[Session], account_id: int) -> list[DevMessage]:
    with sessions() as db:
        return list(db.scalars(select(DevMessage).where(DevMessage.account_id == account_id).order_by(DevMessage.id)))
