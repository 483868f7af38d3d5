"""The inbox processor: takes the webhook POSTs the endpoint stored (``whatsapp_webhook_events``)
and applies them, after they were answered.

Per event, oldest first (an event is claimed with a lease, ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so several bridge processes share the inbox):

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

An event that fails (the database away, a message the router could not apply) is tried again
after a backoff, at most ``inbox_attempts`` times; every step above is idempotent, so a retry
applies what the first try did not and nothing twice. A body that is not JSON is marked
processed with its error (Meta signed it: sending it again would not help).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
        """One round: claim stored events and apply them in order; gives how many were claimed."""
        with self.sessions.begin() as db:
            events = claim(db, self.worker, self.clock(), self.settings.inbox_batch, self.settings.inbox_attempts,
                           self.settings.inbox_lease)
        for event in events:
            try:
                self.process(event)
            except Exception as exc:
                self._failed(event, exc)
        return len(events)

    def process(self, event: ClaimedEvent) -> Processed:
        try:
            body = json.loads(event.body)
        except (ValueError, RecursionError) as exc:
            log.warning("whatsapp webhook event %s is not JSON (%s); marked processed", event.id, exc)
            self._done(event, WebhookBatch(), f"not JSON: {exc}")
            return Processed(events=1)
        batch = parse(body)
        for problem in batch.problems:
            log.warning("whatsapp webhook event %s: %s", event.id, problem)
        for error in batch.errors:
            log.warning("whatsapp webhook event %s: Meta reported error %s for %s: %s", event.id, error.error.code,
                        error.phone_number_id, error.error.message or error.error.title)
        messages: list[InboundMessage] = []
        for inbound in batch.inbound:
            try:
                messages.append(self.driver.inbound_message(inbound))
            except InputRejectedError as exc:
                log.warning("whatsapp webhook event %s: message %s not routed: %s", event.id, inbound.message_id,
                            exc.message)
        now = self.clock()
        if batch.inbound:
            with self.sessions.begin() as db:
                refresh_windows(db, batch.inbound, now)
        if self.voice_notes is not None:
            last_try = event.attempts + 1 >= self.settings.inbox_attempts
            messages = [self.voice_notes.resolve(message, last_try=last_try)
                        if needs_transcription(message.input) else message for message in messages]
        routed = self.router.receive_many(messages) if messages else []
        failed = [(message, outcome) for message, outcome in zip(messages, routed) if outcome.outcome == "failed"]
        if failed:
            message, outcome = failed[0]
            raise RuntimeError(f"{len(failed)} messages not applied (the first, {message.message_id}: {outcome.error})")
        for message, outcome in zip(messages, routed):
            if outcome.outcome == "unknown_number":
                log.warning("whatsapp message %s to %s: no whatsapp number of ours", message.message_id,
                            message.our_address)
        self._done(event, batch, None)
        if any(outcome.outcome in ROUTED for outcome in routed):
            self.on_queued()
        self._mark_read(batch.inbound)
        self.counters["events"] += 1
        self.counters["inbound"] += len(messages)
        self.counters["statuses"] += len(batch.statuses)
        return Processed(1, len(messages), len(batch.statuses), 0, routed)

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

    def _done(self, event: ClaimedEvent, batch: WebhookBatch, error: str | None) -> None:
        with self.sessions.begin() as db:
            now = self.clock()
            apply_statuses(db, batch.statuses, now, self.settings.rates)
            db.execute(update(WhatsAppWebhookEvent).where(WhatsAppWebhookEvent.id == event.id)
                       .values(processed_at=now, claimed_by=None, claimed_until=None, attempts=event.attempts + 1,
                               error=error[:MAX_ERROR] if error else None)
                       .execution_options(synchronize_session=False))

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
