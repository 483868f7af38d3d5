"""The inbox processor: takes the webhook POSTs the endpoint stored (``whatsapp_webhook_events``)
and applies them, after they were answered.

A round claims up to ``inbox_batch`` events, oldest first (with a lease, ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so several bridge processes share the inbox), and applies them together:
each step below is done once for the whole round, in the events' order (one transaction for all
their windows, the router's batches for all their messages, one for all their statuses and marks),
so a round of 50 POSTs costs a handful of transactions rather than four per POST:

1. the body is parsed tolerantly (whatsapp_bridge.webhook_payloads.parse: what cannot be used is
   a logged problem, the rest of the batch goes on);
2. **the windows first**: every user message opens or refreshes its contact's 24-hour window
   (``whatsapp_windows``, under the phone number and the BSUID when both are known), committed
   before the messages are routed, so the reply a resumed session queues is sent free-form;
3. **voice notes are heard** (whatsapp_bridge.voice_notes: the audio downloaded and kept, decoded,
   transcribed in a child process with a time limit), so their sessions resume with the text;
4. the user messages go to the platform's router (voiceplatform.sessions.inbound.MessageRouter,
   through the ``whatsapp`` driver's ``inbound_message``): opt-out words first, then the
   contact's waiting session on that number's account (resumed, exactly once: the router keeps
   each wamid's receipt), the number's inbound flow, or an unsolicited message;
5. the statuses are applied (whatsapp_bridge.status_updates: once per (wamid, status), forward
   only, priced, reported to campaigns and the messages API; held when early), and the event is
   marked processed in the same transaction;
6. with ``mark_read`` on, each user message is marked read (the blue ticks): once, after it was
   applied; a failure is logged and not tried again (the message was applied: only the ticks
   are missing).

An event that fails (the database away, a message the router could not apply, statuses that
could not be applied: the round's statuses are then applied event by event, so only the failing
event's are left) is tried again after a backoff, at most ``inbox_attempts`` times; every step
above is idempotent, so a retry applies what the first try did not and nothing twice. A body that is not JSON is marked
processed with its error (Meta signed it: sending it again would not help).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable
from datetime import datetime, timedelta

import gevent
from gevent.event import Event
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.channels.contract import InboundMessage
from voiceplatform.exceptions import InputRejectedError
from voiceplatform.models.base import utcnow
from voiceplatform.models.whatsapp import WhatsAppWebhookEvent, WhatsAppWindow
from voiceplatform.sessions.inbound import MessageRouter, Routed
from voiceplatform.sessions.store import one_of, take_write_lock

from whatsapp_bridge.config import WhatsAppSettings
from whatsapp_bridge.driver import WhatsAppChannel
from whatsapp_bridge.identity import e164
from whatsapp_bridge.errors import WhatsAppSendError
from whatsapp_bridge.status_updates import apply_statuses
from whatsapp_bridge.voice_notes import VoiceNotes
from whatsapp_bridge.webhook_payloads import InboundEvent, WebhookBatch, needs_transcription, parse

log = logging.getLogger(__name__)

MAX_ERROR = 500
RETRY_DELAY = 1.0
RETRY_DELAY_MAX = 300.0
LEASE = 120.0
ROUTED = ("resumed", "started", "opted_out")  # outcomes that may queue a message


@runtime_checkable
class ReadMarker(Protocol):
    """What marks a user's message read (whatsapp_bridge.graph_client.GraphClient)."""

    def mark_read(self, phone_number_id: str, message_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    id: int
    body: bytes
    attempts: int


@dataclass
class Processed:
    events: int = 0
    inbound: int = 0
    statuses: int = 0
    failed: int = 0
    routed: list[Routed] | None = None


@dataclass
class _Parsed:
    """A claimed event, parsed: its batch, the messages it carries as the router takes them, and
    what the router made of them."""

    event: ClaimedEvent
    batch: WebhookBatch
    error: str | None  # the body was not JSON: marked processed with this
    messages: list[InboundMessage] = field(default_factory=list)
    routed: list[Routed] = field(default_factory=list)


def _processed_row(item: _Parsed, now: datetime) -> dict[str, object]:
    """The UPDATE (by primary key) that marks ``item``'s event processed."""
    return {"id": item.event.id, "processed_at": now, "claimed_by": None, "claimed_until": None,
            "attempts": item.event.attempts + 1, "error": item.error[:MAX_ERROR] if item.error else None}


def claim(db: Session, worker: str, now: datetime, limit: int, max_attempts: int,
          lease: float = LEASE) -> list[ClaimedEvent]:
    e = WhatsAppWebhookEvent
    due = (select(e.id).where(e.processed_at.is_(None), e.attempts < max_attempts,
                              or_(e.next_attempt_at.is_(None), e.next_attempt_at <= now),
                              or_(e.claimed_until.is_(None), e.claimed_until < now))
           .order_by(e.id).limit(limit).with_for_update(skip_locked=True))
    rows = db.execute(update(e).where(e.id.in_(due.scalar_subquery()))
                      .values(claimed_by=worker, claimed_until=now + timedelta(seconds=lease))
                      .returning(e.id, e.body, e.attempts).execution_options(synchronize_session=False)).all()
    return sorted((ClaimedEvent(row.id, bytes(row.body), row.attempts) for row in rows), key=lambda event: event.id)


def window_keys(event: InboundEvent) -> list[str]:
    phone = e164(event.wa_id) if event.wa_id else None
    return [key for key in (phone, event.user_id) if key]


def refresh_windows(db: Session, events: Sequence[InboundEvent], now: datetime) -> int:
    """Open or refresh each sender's window at its message's time (never later than ``now``,
    never earlier than what is stored); gives how many rows were written."""
    latest: dict[tuple[str, str], tuple[datetime, InboundEvent]] = {}
    for event in events:
        moment = min(event.timestamp, now) if event.timestamp is not None else now
        for key in window_keys(event):
            pair = (event.phone_number_id, key)
            if pair not in latest or latest[pair][0] < moment:
                latest[pair] = (moment, event)
    if not latest:
        return 0
    take_write_lock(db)
    existing = {(row.phone_number_id, row.contact): row for row in db.scalars(
        select(WhatsAppWindow).where(one_of(db, WhatsAppWindow.contact, {key for _, key in latest}))
        .with_for_update())}
    for (number_id, key), (moment, event) in latest.items():
        row = existing.get((number_id, key))
        phone = e164(event.wa_id) if event.wa_id else None
        if row is None:
            db.add(WhatsAppWindow(phone_number_id=number_id, contact=key, user_id=event.user_id, phone=phone,
                                  last_inbound_at=moment, updated_at=now))
        else:
            row.last_inbound_at = max(row.last_inbound_at, moment)
            row.user_id, row.phone, row.updated_at = event.user_id or row.user_id, phone or row.phone, now
    db.flush()
    return len(latest)


class Inbox:
    def __init__(self, sessions: sessionmaker[Session], router: MessageRouter, driver: WhatsAppChannel,
                 settings: WhatsAppSettings, worker: str, *, on_queued: Callable[[], None] = lambda: None,
                 clock: Callable[[], datetime] = utcnow, voice_notes: VoiceNotes | None = None,
                 reader: ReadMarker | None = None) -> None:
        self.sessions = sessions
        self.voice_notes = voice_notes  # None: voice notes reach the session as the empty marker
        self.reader = reader if settings.mark_read else None
        self.router = router
        self.driver = driver
        self.settings = settings
        self.worker = worker
        self.on_queued = on_queued
        self.clock = clock
        self.counters: dict[str, int] = {"events": 0, "inbound": 0, "statuses": 0, "event_failures": 0,
                                         "marked_read": 0, "mark_read_failures": 0}
        self._wake = Event()
        self._stopping = Event()
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> Inbox:
        self._greenlet = gevent.spawn(self._loop)
        return self

    def wake(self, event_id: int | None = None) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the event being processed (and those claimed with it), then stop."""
        self._stopping.set()
        self._wake.set()
        if self._greenlet is not None:
            self._greenlet.join(timeout)
            self._greenlet.kill(block=False)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                done = self.process_once()
            except Exception:
                log.exception("whatsapp inbox: a round failed; next round")
                done = 0
            if not done:
                self._wake.wait(self.settings.inbox_poll_every)
                self._wake.clear()

    def process_once(self) -> int:
        """One round: claim stored events and apply them together, in order (:meth:`apply`);
        gives how many were claimed. The claim's transaction also opens or refreshes the windows
        of the messages they carry (one commit fewer before a reply can be queued); should that
        fail, the events are claimed alone and their windows written as :meth:`apply` does."""
        now = self.clock()
        try:
            with self.sessions.begin() as db:
                events = self._claim(db, now)
                parsed = [self._parse(event) for event in events]
                inbound = [inbound for item in parsed for inbound in item.batch.inbound]
                if inbound:
                    refresh_windows(db, inbound, now)
        except Exception as exc:  # noqa: BLE001 - a window that cannot be written must not hold the claim back
            log.warning("whatsapp inbox: claiming with the windows failed (%s: %s); claiming alone",
                        type(exc).__name__, exc)
            with self.sessions.begin() as db:
                events = self._claim(db, self.clock())
            if events:
                self.apply(events)
            return len(events)
        if events:
            self.apply(events, parsed)
        return len(events)

    def _claim(self, db: Session, now: datetime) -> list[ClaimedEvent]:
        return claim(db, self.worker, now, self.settings.inbox_batch, self.settings.inbox_attempts,
                     self.settings.inbox_lease)

    def apply(self, events: Sequence[ClaimedEvent], parsed_with_windows: list[_Parsed] | None = None) -> Processed:
        """Apply a round's events as one: the windows of all their messages in one transaction
        (unless ``parsed_with_windows``: the events, parsed, their windows already committed),
        all their messages through the router at once (its batches), then all their statuses and
        the events' marks in one transaction. An event whose part fails (its windows, one of its
        messages, its statuses) is tried again later on its own schedule; the others are applied.
        Every step is idempotent, so what a failed event's first try did is not done twice."""
        parsed = parsed_with_windows if parsed_with_windows is not None else [self._parse(event) for event in events]
        now = self.clock()
        with_inbound = [item for item in parsed if item.batch.inbound]
        if with_inbound and parsed_with_windows is None:
            try:
                with self.sessions.begin() as db:
                    refresh_windows(db, [inbound for item in with_inbound for inbound in item.batch.inbound], now)
            except Exception as exc:
                for item in with_inbound:
                    self._failed(item.event, exc)
                parsed = [item for item in parsed if not item.batch.inbound]
        if self.voice_notes is not None:
            for item in parsed:
                last_try = item.event.attempts + 1 >= self.settings.inbox_attempts
                item.messages = [self.voice_notes.resolve(message, last_try=last_try)
                                 if needs_transcription(message.input) else message for message in item.messages]
        messages = [message for item in parsed for message in item.messages]
        routed = self.router.receive_many(messages) if messages else []
        good: list[_Parsed] = []
        first = 0
        for item in parsed:
            item.routed = routed[first:first + len(item.messages)]
            first += len(item.messages)
            failed = [(message, outcome) for message, outcome in zip(item.messages, item.routed)
                      if outcome.outcome == "failed"]
            if failed:
                message, outcome = failed[0]
                self._failed(item.event, RuntimeError(
                    f"{len(failed)} messages not applied (the first, {message.message_id}: {outcome.error})"))
                continue
            for message, outcome in zip(item.messages, item.routed):
                if outcome.outcome == "unknown_number":
                    log.warning("whatsapp message %s to %s: no whatsapp number of ours", message.message_id,
                                message.our_address)
            good.append(item)
        if any(outcome.outcome in ROUTED for item in good for outcome in item.routed):
            self.on_queued()  # what the router queued is committed: the sender need not wait for the marks
            gevent.sleep(0)  # the sender claims it now, before this round's statuses and marks are written
        done = self._done_all(good)
        summary = Processed(routed=[])
        for item in done:
            self._mark_read(item.batch.inbound)
            summary.events += 1
            summary.inbound += len(item.messages)
            summary.statuses += len(item.batch.statuses)
            assert summary.routed is not None
            summary.routed += item.routed
        summary.failed = len(events) - len(done)
        self.counters["events"] += summary.events
        self.counters["inbound"] += summary.inbound
        self.counters["statuses"] += summary.statuses
        return summary

    def _parse(self, event: ClaimedEvent) -> _Parsed:
        try:
            body = json.loads(event.body)
        except (ValueError, RecursionError) as exc:
            log.warning("whatsapp webhook event %s is not JSON (%s); marked processed", event.id, exc)
            return _Parsed(event, WebhookBatch(), f"not JSON: {exc}")
        batch = parse(body)
        for problem in batch.problems:
            log.warning("whatsapp webhook event %s: %s", event.id, problem)
        for error in batch.errors:
            log.warning("whatsapp webhook event %s: Meta reported error %s for %s: %s", event.id, error.error.code,
                        error.phone_number_id, error.error.message or error.error.title)
        item = _Parsed(event, batch, None)
        for inbound in batch.inbound:
            try:
                item.messages.append(self.driver.inbound_message(inbound))
            except InputRejectedError as exc:
                log.warning("whatsapp webhook event %s: message %s not routed: %s", event.id, inbound.message_id,
                            exc.message)
        return item

    def _done_all(self, items: Sequence[_Parsed]) -> list[_Parsed]:
        """Apply the statuses of ``items`` in their order and mark them processed, in one
        transaction; should it fail, each on its own (so one event's failure is only its own).
        Gives the items marked processed."""
        if not items:
            return []
        if len(items) > 1:
            try:
                self._mark_done(items)
                return list(items)
            except Exception as exc:
                log.warning("whatsapp inbox: %d events' statuses failed together (%s: %s); one by one", len(items),
                            type(exc).__name__, exc)
        done: list[_Parsed] = []
        for item in items:
            try:
                self._mark_done([item])
                done.append(item)
            except Exception as exc:
                self._failed(item.event, exc)
        return done

    def _mark_done(self, items: Sequence[_Parsed]) -> None:
        """One transaction: the statuses of ``items`` in their order, and their events marked processed."""
        with self.sessions.begin() as db:
            now = self.clock()
            apply_statuses(db, [status for item in items for status in item.batch.statuses], now, self.settings.rates)
            db.execute(update(WhatsAppWebhookEvent), [_processed_row(item, now) for item in items])

    def _mark_read(self, inbound: Sequence[InboundEvent]) -> None:
        """The blue ticks, once the messages were applied; a failure is logged, never retried."""
        if self.reader is None:
            return
        for message in inbound:
            if self.settings.by_id(message.phone_number_id) is None:
                continue  # not a number of ours: nothing to mark with
            try:
                self.reader.mark_read(message.phone_number_id, message.message_id)
                self.counters["marked_read"] += 1
            except (WhatsAppSendError, InputRejectedError) as exc:
                self.counters["mark_read_failures"] += 1
                log.warning("whatsapp message %s: not marked read (%s)", message.message_id, exc)

    def _failed(self, event: ClaimedEvent, exc: Exception) -> None:
        self.counters["event_failures"] += 1
        attempts = event.attempts + 1
        last = attempts >= self.settings.inbox_attempts
        (log.error if last else log.warning)("whatsapp webhook event %s failed (pass %d%s): %s: %s", event.id,
                                             attempts, ", given up" if last else "", type(exc).__name__, exc)
        delay = min(RETRY_DELAY * 2 ** (attempts - 1), RETRY_DELAY_MAX)
        try:
            with self.sessions.begin() as db:
                db.execute(update(WhatsAppWebhookEvent).where(WhatsAppWebhookEvent.id == event.id)
                           .values(attempts=attempts, claimed_by=None, claimed_until=None,
                                   next_attempt_at=self.clock() + timedelta(seconds=delay),
                                   error=f"{type(exc).__name__}: {exc}"[:MAX_ERROR])
                           .execution_options(synchronize_session=False))
        except Exception:  # the claim runs out and the event is tried again
            log.exception("whatsapp webhook event %s: its failure could not be recorded", event.id)
