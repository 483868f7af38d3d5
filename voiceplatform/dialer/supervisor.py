"""What runs in every dialling worker (and in the embedded server): the supervisor.

Every second it looks at the database, which is the only source of truth:

- scheduled campaigns whose time has come are started (rq's scheduler also nudges this, but a
  Redis that lost its jobs cannot lose a start);
- a running campaign that no dispatcher drives is adopted: the worker that takes its lock runs
  its dispatcher in a greenlet (so a dead worker's campaigns move to a live one within the
  lock's TTL). A worker adopts only the campaigns it can run: voice needs a switch, sms and
  whatsapp a driver for the channel (a worker with no switch runs messaging campaigns only);
- claims left by a dead worker are settled (``recovery``);
- background tasks run on their own interval: webhook deliveries that are due are sent, stored
  sessions whose wait expired are resumed with a timeout (voiceplatform.sessions.sweeper), and
  (given by the process) recordings are transcribed and old audio is deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import gevent
from gevent import Greenlet
from gevent.event import Event
from sqlalchemy import select

from voiceplatform.campaigns import lifecycle
from voiceplatform.dialer.dispatcher import CampaignDispatcher, DialerContext
from voiceplatform.dialer.leases import CampaignLock
from voiceplatform.dialer.recovery import recover_abandoned
from voiceplatform.exceptions import QueueBackendError
from voiceplatform.models import Campaign, CampaignContact, CampaignContactStatus, CampaignStatus

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
RECOVER_EVERY = 5  # polls


@dataclass(frozen=True)
class BackgroundTask:
    name: str
    run: Callable[[], Any]
    every_seconds: float


class DialerRuntime:
    def __init__(self, context: DialerContext, lock_for: Callable[[str], CampaignLock], *,
                 poll_seconds: float = POLL_SECONDS, deliver_webhooks: bool = True, sweep_sessions: bool = True,
                 background: Sequence[BackgroundTask] = ()) -> None:
        self.context = context
        self.lock_for = lock_for
        self.poll_seconds = poll_seconds
        self.background = list(background)
        if deliver_webhooks:
            self.background.insert(0, BackgroundTask("webhook deliveries", self._deliver_webhooks, poll_seconds))
        if sweep_sessions:  # expired waits of stored sessions resumed with a timeout (sessions.sweeper)
            self.background.append(BackgroundTask("session expiry", self._sweep_sessions, poll_seconds))
        self._messaging: Any = None
        self.dispatchers: dict[int, tuple[CampaignDispatcher, Greenlet]] = {}
        self._wake = Event()
        self._greenlets: list[Greenlet] = []
        self._stopping = False

    def start(self) -> DialerRuntime:
        self._greenlets.append(gevent.spawn(self._supervise))
        self._greenlets.extend(gevent.spawn(self._repeat, task) for task in self.background)
        return self

    def wake(self) -> None:
        """Look at the database now (a new campaign, a single call)."""
        self._wake.set()

    def stop(self, timeout: float = 60.0) -> None:
        """Stop placing calls, let the calls in flight finish (up to ``timeout``), then stop."""
        self._stopping = True
        for dispatcher, _ in list(self.dispatchers.values()):
            dispatcher.stop()
        gevent.joinall([greenlet for _, greenlet in self.dispatchers.values()], timeout=timeout)
        gevent.killall(self._greenlets, timeout=5)

    # ---- the loops ------------------------------------------------------------------------------

    def _supervise(self) -> None:
        polls = 0
        while not self._stopping:
            try:
                self.tick(recover=polls % RECOVER_EVERY == 0)
            except Exception:
                log.exception("dialer supervisor: this round failed; trying again")
            polls += 1
            self._wake.clear()
            self._wake.wait(self.poll_seconds)

    def tick(self, *, recover: bool = True) -> None:
        now = self.context.clock()
        with self.context.sessions.begin() as session:
            for campaign in session.scalars(select(Campaign).where(
                    Campaign.status == CampaignStatus.SCHEDULED, Campaign.scheduled_at <= now)):
                lifecycle.start_scheduled(session, campaign, self.context.rates, now)
            running = [campaign_id for campaign_id, channel in session.execute(
                select(Campaign.id, Campaign.channel).where(Campaign.status == CampaignStatus.RUNNING))
                if self.context.serves(channel)]
        for campaign_id, (dispatcher, greenlet) in list(self.dispatchers.items()):
            if greenlet.dead:
                del self.dispatchers[campaign_id]
        for campaign_id in running:
            if campaign_id not in self.dispatchers and not self._stopping:
                self._adopt(campaign_id)
        if recover:
            self._recover(now)

    def _adopt(self, campaign_id: int) -> None:
        lock = self.lock_for(f"campaign:{campaign_id}")
        try:
            if not lock.acquire():
                return  # another worker drives it
        except QueueBackendError:
            return
        dispatcher = CampaignDispatcher(self.context, campaign_id, lock)
        self.dispatchers[campaign_id] = (dispatcher, gevent.spawn(dispatcher.run))
        log.info("campaign %s: dialling from worker %s", campaign_id, self.context.worker)

    def _recover(self, now: object) -> None:
        mine = {call_id for dispatcher, _ in self.dispatchers.values() for call_id in dispatcher.in_flight}
        with self.context.sessions.begin() as session:
            stale = session.scalars(select(CampaignContact.campaign_id).distinct().where(
                CampaignContact.status == CampaignContactStatus.DIALLING,
                CampaignContact.claimed_until < self.context.clock())).all()
            for campaign_id in stale:
                count = recover_abandoned(session, campaign_id, self.context.rates, self.context.clock(), keep=mine)
                if count:
                    log.warning("campaign %s: settled %d calls left by a worker that stopped", campaign_id, count)

    def _deliver_webhooks(self) -> None:
        from voiceplatform.webhooks.delivery import deliver_due

        deliver_due(self.context.sessions)

    def _sweep_sessions(self) -> None:
        from voiceplatform.sessions import runtime, sweeper

        if self.context.runner is not None:  # the worker's own messaging runtime
            sweeper.sweep(self.context.runner)
            return
        if self._messaging is None:
            self._messaging = runtime.build(self.context.sessions)
        sweeper.sweep(self._messaging.runner)

    def _repeat(self, task: BackgroundTask) -> None:
        while not self._stopping:
            try:
                task.run()
            except Exception:
                log.exception("%s: this round failed; trying again", task.name)
            gevent.sleep(task.every_seconds)
