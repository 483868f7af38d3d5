"""One running campaign's loop of interactions, on any channel: pacing, the cap, switch slots
(voice), and completion.

Exactly one dispatcher drives a campaign at a time (it holds the campaign's lock). It makes its
interactions no faster than ``calls_per_second`` (a schedule of evenly spaced times, each
attempt's share counted from when it began, catching up only a sleep's overshoot: it never
bursts; :func:`next_slot`). It re-reads the campaign every
second, so pause, resume and cancel take effect within a second.

- **voice**: an interaction is a call. Never more than ``max_concurrent`` at once (counted by the
  claim, in the database, across workers); each call needs a slot on the switch (a lease shared
  by every worker). While calls run, it renews their slots and their claims.
- **sms, whatsapp**: an interaction is a stored session started through the shared runner, in
  the transaction that claims the contact and records the attempt (dialer.messaging); the cap is
  ``max_sessions_per_second``. No switch, no slot: a worker with no switch runs these. Above ten
  a second, the sessions of a tenth of a second (``calls_per_second`` x :data:`BATCH_SECONDS`,
  at most :data:`MAX_BATCH`) are started together, in one transaction: the schedule then moves
  by a batch at a time, and the rate is the campaign's or what the database takes, whichever is
  lower. When a batch takes longer than its tenth of a second (the database is behind), the
  next one is as large as that batch's duration at the campaign's rate (:func:`batch_size`).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Protocol

import gevent
from gevent.event import Event
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.campaigns.fanout import fan_out
from voiceplatform.campaigns.pricing import Rates
from voiceplatform.campaigns.settings import CampaignSettings
from voiceplatform.campaigns import lifecycle
from voiceplatform.dialer.claims import Claim, claim_next, unclaim
from voiceplatform.dialer.leases import CampaignLock, SwitchSlots
from voiceplatform.dialer.messaging import MessageSender, can_send
from voiceplatform.exceptions import QueueBackendError
from voiceplatform.flow import Flow, load_flow_text
from voiceplatform.models import Campaign, CampaignContact, CampaignContactStatus, CampaignStatus, FlowVersion
from voiceplatform.models.base import utcnow
from voiceplatform.sessions.runner import SessionRunner
from voiceplatform.switches.placed_call import PlacedCall

log = logging.getLogger(__name__)

REFRESH_SECONDS = 1.0  # re-read the campaign (status, settings) this often
RENEW_SECONDS = 3.0  # renew slots, claims and the lock this often
IDLE_SECONDS = 1.0  # nothing due: look again after this long
BATCH_SECONDS = 0.1  # messaging: the sessions of this long (at the campaign's rate) start in one transaction
CATCH_UP = 0.05  # of an interval: how late an attempt may start and still keep its place in the schedule
MAX_BATCH = 1000  # the batch's fixed costs (claim, round trips, commit) spread; 500 was 12 % slower at 150,000


def batch_size(calls_per_second: float, last_batch_seconds: float) -> int:
    """How many messaging attempts the next batch makes: the campaign's rate times a tenth of a
    second, or times the last batch's duration when that was longer (the database is behind the
    schedule: a larger batch spreads each batch's fixed cost, its round trips and its commit,
    over more attempts), at most :data:`MAX_BATCH`; at least one."""
    return max(1, min(MAX_BATCH, int(calls_per_second * max(BATCH_SECONDS, last_batch_seconds))))


def next_slot(scheduled: float, began: float, placed: int, calls_per_second: float) -> float:
    """When the next interaction may start, after ``placed`` ones that began at ``began``
    (monotonic seconds) when the schedule said ``scheduled``: they take ``placed`` intervals of
    the schedule from when they began. Counted from their start, not from when the attempt
    returned: a batch that took longer than its intervals leaves the next one due at once
    (counted from its end, the rate was spent twice, on the batch's duration and then on its
    intervals: a 2,000-a-second SMS campaign ran at 930). Since an attempt begins only after the
    previous one returned, the one after next begins at least an interval (less the catch-up)
    after this one ended, wherever in an attempt its time is taken: never three within 95 % of an
    interval. A late start is caught up by at most :data:`CATCH_UP` of an interval (a sleep's
    overshoot), never as a burst."""
    interval = 1.0 / calls_per_second
    return max(scheduled, began - interval * CATCH_UP) + interval * placed


class CallPlacer(Protocol):
    def place_call(self, flow: Flow, to: str, contact: dict[str, Any] | None = None, *,
                   caller_id: str | None = None, variables: dict[str, str] | None = None,
                   timeout: float | None = None, account: str | None = None,
                   call_id: str | None = None) -> PlacedCall: ...


@dataclass
class DialerContext:
    """What a worker shares with all its dispatchers. ``placer`` and ``slots`` are the switch's
    (None: a worker with no switch, which runs messaging campaigns only); ``runner`` is the
    messaging runtime's shared runner (None: voice campaigns only)."""

    sessions: sessionmaker[Session]
    placer: CallPlacer | None
    slots: SwitchSlots | None
    worker: str
    rates: Rates = field(default_factory=Rates)
    claim_lease: timedelta = timedelta(seconds=20)
    clock: Callable[[], datetime] = utcnow
    runner: SessionRunner | None = None

    def serves(self, channel: str) -> bool:
        """Whether this worker can run a ``channel`` campaign (and so may adopt it)."""
        if channel == "voice":
            return self.placer is not None and self.slots is not None
        return can_send(self.runner, channel)

    def sender(self) -> MessageSender:
        assert self.runner is not None, "a messaging campaign needs the messaging runtime"
        return MessageSender(self.sessions, self.runner, self.rates, self.clock)


@dataclass
class DispatchStats:
    placed: int = 0
    peak_concurrent: int = 0
    dial_times: list[float] = field(default_factory=list)  # time.monotonic() of each call placed
    skipped_at_dial: int = 0
    deferred_at_dial: int = 0
    no_slot: int = 0


class CampaignDispatcher:
    def __init__(self, context: DialerContext, campaign_id: int, lock: CampaignLock) -> None:
        self.context = context
        self.campaign_id = campaign_id
        self.lock = lock
        self.in_flight: dict[str, tuple[Claim, PlacedCall]] = {}
        self.stats = DispatchStats()
        self.finished = Event()
        self._stop = False
        self._call_ended = Event()
        self._flow: tuple[int, Flow] | None = None
        self._status = CampaignStatus.RUNNING
        self._settings = CampaignSettings()
        self._campaign: Campaign | None = None
        self._channel = "voice"
        self._sender: MessageSender | None = None
        self._last_batch_seconds = 0.0  # how long the last batch of messaging attempts took

    # ---- control --------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop placing calls; the calls in flight finish and are recorded."""
        self._stop = True

    def run(self) -> None:
        try:
            self._run()
        except Exception:
            log.exception("campaign %s: dispatcher stopped on an error", self.campaign_id)
        finally:
            self._drain()
            try:
                self.lock.release()
            except QueueBackendError:
                pass  # the lock's TTL frees it
            self.finished.set()

    # ---- the loop -------------------------------------------------------------------------------

    def _run(self) -> None:
        last_refresh = last_renew = -1e9
        next_dial = time.monotonic()
        while not self._stop:
            now = time.monotonic()
            if now - last_renew >= RENEW_SECONDS:
                last_renew = now
                if not self._renew():
                    log.warning("campaign %s: lost its lock to another worker; stopping", self.campaign_id)
                    return
            if now - last_refresh >= REFRESH_SECONDS:
                last_refresh = now
                if not self._refresh():
                    return
            if self._status != CampaignStatus.RUNNING:
                gevent.sleep(0.2)
                continue
            if self._channel == "voice" and len(self.in_flight) >= self._settings.max_concurrent:
                self._call_ended.clear()
                self._call_ended.wait(0.2)
                continue
            if now < next_dial:
                gevent.sleep(min(next_dial - now, 0.2))
                continue
            began = time.monotonic()
            outcome, placed = (self._dial_one(), 1) if self._channel == "voice" else self._send_some()
            if outcome == "placed":
                next_dial = next_slot(next_dial, began, placed, self._settings.calls_per_second)
            elif outcome == "wait":
                self._call_ended.clear()
                self._call_ended.wait(0.2)
            elif outcome == "idle":
                last_refresh = -1e9 if self._complete_if_done() else last_refresh
                gevent.sleep(IDLE_SECONDS)
                next_dial = time.monotonic()

    def _refresh(self) -> bool:
        """Re-read the campaign; False when this dispatcher's work is over."""
        with self.context.sessions() as session:
            campaign = session.get(Campaign, self.campaign_id)
            needs_fan_out = campaign is not None and campaign.status == CampaignStatus.RUNNING and campaign.fanned_out_at is None
        if campaign is None:
            return False
        if needs_fan_out:
            self._fan_out(campaign)
        with self.context.sessions.begin() as session:
            campaign = session.get(Campaign, self.campaign_id)
            assert campaign is not None
            if campaign.status == CampaignStatus.RUNNING and not lifecycle.has_credit(session, campaign, self.context.rates):
                lifecycle.fail(session, campaign, lifecycle.INSUFFICIENT_CREDIT, self.context.clock())
            self._status = campaign.status
            self._settings = CampaignSettings.model_validate(campaign.settings or {})
            self._channel = campaign.channel
            if self._channel == "voice":
                self._load_flow(session, campaign)
            self._campaign = campaign
        return self._status in (CampaignStatus.RUNNING, CampaignStatus.PAUSED) or bool(self.in_flight)

    def _fan_out(self, campaign: Campaign) -> None:
        if campaign.contact_list_id is not None:
            fan_out(self.context.sessions, campaign.id, self.context.clock())
        with self.context.sessions.begin() as session:
            session.execute(update(Campaign).where(Campaign.id == campaign.id).values(fanned_out_at=self.context.clock()))

    def _load_flow(self, session: Session, campaign: Campaign) -> None:
        if self._flow is not None and self._flow[0] == campaign.flow_version_id:
            return
        version = session.get(FlowVersion, campaign.flow_version_id)
        assert version is not None
        self._flow = (version.id, load_flow_text(version.definition, f"{version.name} v{version.version}"))

    def _complete_if_done(self) -> bool:
        if self.in_flight:
            return False
        with self.context.sessions.begin() as session:
            lifecycle.lock(session, self.campaign_id)
            campaign = session.get(Campaign, self.campaign_id, populate_existing=True)
            return campaign is not None and lifecycle.complete_if_done(session, campaign, self.context.clock())

    def _send_some(self) -> tuple[str, int]:
        """A batch of messaging attempts (one below ten a second: see the module's docstring):
        'placed' and how many, 'wait' (at the cap), 'idle' (nothing due) or 'again'."""
        if self._sender is None:
            self._sender = self.context.sender()
        size = batch_size(self._settings.calls_per_second, self._last_batch_seconds)
        began = time.monotonic()
        result = self._sender.send_batch(self.campaign_id, self._settings, size)
        if result.outcome == "placed":
            self._last_batch_seconds = time.monotonic() - began
        self.stats.skipped_at_dial += result.skipped
        self.stats.deferred_at_dial += result.deferred
        if result.outcome == "placed":
            self.stats.placed += result.placed
            self.stats.dial_times.extend([time.monotonic()] * result.placed)
        return result.outcome, result.placed

    def _dial_one(self) -> str:
        """'placed', 'wait' (no slot or at the cap), 'idle' (nothing due) or 'again'."""
        assert self.context.slots is not None
        call_id = uuid.uuid4().hex
        try:
            if not self.context.slots.acquire(call_id):
                self.stats.no_slot += 1
                return "wait"
        except QueueBackendError:
            self.stats.no_slot += 1
            return "wait"
        with self.context.sessions.begin() as session:
            campaign = session.get(Campaign, self.campaign_id)
            if campaign is None or campaign.status != CampaignStatus.RUNNING:
                result = None
            elif not lifecycle.has_credit(session, campaign, self.context.rates):
                lifecycle.fail(session, campaign, lifecycle.INSUFFICIENT_CREDIT, self.context.clock())
                self._status, result = campaign.status, None
            else:
                result = claim_next(session, campaign, self._settings, now=self.context.clock(),
                                    worker=self.context.worker, lease=self.context.claim_lease, call_id=call_id)
        if result is None or result.claim is None:
            self.context.slots.release(call_id)
            if result is not None:
                self.stats.skipped_at_dial += result.skipped
                self.stats.deferred_at_dial += result.deferred
            if result is None or result.at_capacity:
                return "wait"
            return "idle" if result.nothing_due else "again"
        claim = result.claim
        if claim.call_id != call_id:  # a call written ahead: the slot follows its id
            self.context.slots.release(call_id)
            if not self._take_slot(claim.call_id):
                self._give_back(claim)
                return "wait"
        return self._place(claim)

    def _take_slot(self, call_id: str) -> bool:
        assert self.context.slots is not None
        try:
            return self.context.slots.acquire(call_id)
        except QueueBackendError:
            return False

    def _place(self, claim: Claim) -> str:
        assert self._flow is not None and self._campaign is not None and self.context.placer is not None
        try:
            placed = self.context.placer.place_call(
                self._flow[1], claim.phone, claim.contact, caller_id=self._settings.caller_id,
                timeout=self._settings.ring_seconds, account=str(self._campaign.account_id), call_id=claim.call_id)
        except Exception:
            log.exception("campaign %s: placing call %s failed", self.campaign_id, claim.call_id)
            self._give_back(claim)
            return "wait"
        self.in_flight[claim.call_id] = (claim, placed)
        self.stats.placed += 1
        self.stats.dial_times.append(time.monotonic())
        self.stats.peak_concurrent = max(self.stats.peak_concurrent, len(self.in_flight))
        gevent.spawn(self._watch, claim, placed)
        return "placed"

    def _give_back(self, claim: Claim) -> None:
        assert self.context.slots is not None
        self.context.slots.release(claim.call_id)
        with self.context.sessions.begin() as session:
            unclaim(session, claim.campaign_contact_id, claim.call_id, self.context.clock())

    def _watch(self, claim: Claim, placed: PlacedCall) -> None:
        placed.done.wait()
        self.in_flight.pop(claim.call_id, None)
        try:
            if self.context.slots is not None:
                self.context.slots.release(claim.call_id)
        except QueueBackendError:
            pass  # the slot's TTL frees it
        self._call_ended.set()

    # ---- keeping leases alive -------------------------------------------------------------------

    def _renew(self) -> bool:
        try:
            if not self.lock.renew():
                return False
        except QueueBackendError:
            log.warning("campaign %s: cannot reach the lock backend; carrying on", self.campaign_id)
        self._renew_calls()
        return True

    def _renew_calls(self) -> None:
        live = list(self.in_flight)
        if live and self.context.slots is not None:
            try:
                self.context.slots.renew(live)
            except QueueBackendError:
                pass
            with self.context.sessions.begin() as session:
                session.execute(
                    update(CampaignContact)
                    .where(CampaignContact.campaign_id == self.campaign_id, CampaignContact.claimed_by == self.context.worker,
                           CampaignContact.status == CampaignContactStatus.DIALLING)
                    .values(claimed_until=self.context.clock() + self.context.claim_lease))

    def _drain(self, timeout: float = 120.0) -> None:
        deadline = last_renew = time.monotonic()
        deadline += timeout
        while self.in_flight and time.monotonic() < deadline:
            if time.monotonic() - last_renew >= RENEW_SECONDS:
                last_renew = time.monotonic()
                self._renew_calls()
            self._call_ended.clear()
            self._call_ended.wait(0.5)
