"""The sender loop: claims queued messages (whatsapp_bridge.outbox), sends each contact's in
order in one greenlet per contact, and writes the answers in batches.

**Sending one message** (:func:`send_message`):

1. a message the driver refused (no number of ours, a recipient that is neither a phone number
   nor a BSUID) fails without a request;
2. **the window decision, now**: the contact's window (``whatsapp_windows``, read with the
   claim) open, and Meta not having said otherwise (``template_only``), means free-form; else the
   Send's template (whatsapp_bridge.rendering.render; ``OutsideWindowError`` without one: the
   message fails with that error). Once a part of it went, the rest goes as rendered then;
3. each part waits for the contact's pair pacing (whatsapp_bridge.pairs); before the first of
   the pass asks for a grant, the message is marked started (whatsapp_bridge.send_starts: a
   group write, at most a tenth of a second of the tier ahead of the grants and a second of it
   ahead of the answers; a claim taken back meanwhile is ``lost``, nothing sent); each part
   waits for the number's throughput grant (whatsapp_bridge.throughput), then goes through the
   Graph client, carrying the message's id and the part as ``biz_opaque_callback_data``
   (whatsapp_bridge.callback_data: Meta's statuses echo it, so they can be matched even when
   the answer is never stored);
4. the answer is classified (whatsapp_bridge.errors): accepted (the wamid kept), throttled
   (``later``, 131056 backing off 4^X s), transient (``soon``), 131047 before anything went
   with a template to fall back on (``template``), a refusal (``never``), or no answer after
   the write (``unconfirmed``: never resent).

A contact's messages after one that did not go are ``deferred``: they wait for it (the claim
never takes them while it is queued), so a user never gets the second question before the
first.

**Writing** takes every answer waiting, up to :data:`MAX_RECORD` at a time, in one transaction
(under load after a short pause for more to arrive: whatsapp_bridge.gathering); a write that
fails (the database is away) is tried again with the same answers. Claims in flight are renewed
every third of the lease.

**Claiming** waits, while sends are in flight, until at least :data:`CLAIM_ROOM_SHARE` of the
claim batch (or of the in-flight limit, if smaller) is free: with the in-flight limit reached (sends waiting for their grants), each
answer used to free one place and start a claim of one message (a transaction and two queries a
message); with nothing in flight it claims at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Mapping, Protocol

import gevent
from gevent.event import Event
from gevent.queue import Empty, Queue
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.exceptions import InputRejectedError
from voiceplatform.models.base import utcnow

from whatsapp_bridge import outbox
from whatsapp_bridge.callback_data import FIELD as CALLBACK_FIELD
from whatsapp_bridge.callback_data import encode as callback_data
from whatsapp_bridge.config import WhatsAppSettings
from whatsapp_bridge.driver import send_from_dict
from whatsapp_bridge.gathering import Gathering
from whatsapp_bridge.errors import (GraphError, OutsideWindowError, ReengagementError, Retry, SendUnconfirmed,
                                    WhatsAppSendError)
from whatsapp_bridge.graph_client import SendResult as GraphAnswer
from whatsapp_bridge.outbox import Claimed, Outcome, SendResult
from whatsapp_bridge.pairs import PairPacer
from whatsapp_bridge.rendering import render
from whatsapp_bridge.send_starts import SendLanes, StartMarks, StartNotStored
from whatsapp_bridge.throughput import Throughput, Turns, acquire
from whatsapp_bridge.window import window_open

log = logging.getLogger(__name__)

MAX_RECORD = 500
CLAIM_ROOM_SHARE = 0.25  # of claim_batch: the free places a claim waits for while sends are in flight
DATABASE_RETRY = 1.0
PAIR_LIMIT_CODE = 131056
#: a pair pacing wait up to this long is slept in the contact's greenlet; a longer one requeues
PAIR_WAIT_IN_PLACE = 2.0
#: how long a part waits for the number's throughput before it goes back to the queue
THROUGHPUT_WAIT = 5.0


class GraphSender(Protocol):
    def send(self, phone_number_id: str, payload: Mapping[str, Any]) -> GraphAnswer: ...


class Sending:
    """What one send needs besides the message: the client, the limits, the settings, the clock."""

    def __init__(self, client: GraphSender, settings: WhatsAppSettings, throughput: Throughput, pacer: PairPacer,
                 clock: Callable[[], datetime] = utcnow, sleep: Callable[[float], Any] = gevent.sleep) -> None:
        self.client = client
        self.settings = settings
        self.throughput = throughput
        self.pacer = pacer
        self.clock = clock
        self.sleep = sleep
        self.turns = Turns()  # this process's sends ask the throughput limiter one at a time
        self.lanes = SendLanes()  # how many may be marked started before their grants, their answers


def _rendered(message: Claimed, now: datetime) -> tuple[list[Any], str | None] | SendResult:
    """The message's request bodies (as rendered now, or as rendered when its first part went)."""
    if message.payloads:
        return list(message.payloads), None
    try:
        send = send_from_dict(message.send)
        opened = not message.template_only and window_open(message.last_inbound_at, now)
        payloads = [part.to_json(message.recipient) for part in render(send, window_open=opened)]
    except OutsideWindowError as exc:
        return SendResult(message.id, Outcome.NEVER, error=f"outside_window: {exc.message}")
    except InputRejectedError as exc:
        return SendResult(message.id, Outcome.NEVER, error=exc.message)
    except (KeyError, TypeError, ValueError) as exc:
        return SendResult(message.id, Outcome.NEVER, error=f"the queued Send cannot be read: {exc}")
    kind = payloads[-1].get("type") if payloads else None
    return payloads, kind if isinstance(kind, str) else None


def send_message(sending: Sending, message: Claimed, start: Callable[[int], bool] | None = None) -> SendResult:
    """Send ``message``'s parts not sent yet (see the module's docstring); ``start`` marks it
    started before its first request (whether it may go)."""
    if message.refused:
        return SendResult(message.id, Outcome.NEVER, error=message.refused)
    rendered = _rendered(message, sending.clock())
    if isinstance(rendered, SendResult):
        return rendered
    payloads, kind = rendered
    settings = sending.settings
    wamids: list[str] = []

    def result(outcome: Outcome, **fields: Any) -> SendResult:
        return SendResult(message.id, outcome, tuple(wamids), len(payloads), payloads, kind, **fields)

    for part, payload in enumerate(payloads[message.parts_sent:], start=message.parts_sent + 1):
        wait = sending.pacer.take(message.pair)
        if wait > PAIR_WAIT_IN_PLACE:
            return result(Outcome.LATER, delay=wait, error="paced: the pair limit (one message every few seconds)")
        if wait > 0:
            sending.sleep(wait)
        tier = settings.tier_of(message.phone_number_id)
        lane = sending.lanes.lane(message.phone_number_id, tier)
        with lane.unanswered:
            with lane.ungranted:
                if start is not None:
                    try:
                        if not start(message.id):
                            return result(Outcome.LOST)
                    except StartNotStored as exc:
                        return result(Outcome.DEFERRED, error=str(exc))
                    start = None
                granted = acquire(sending.throughput, message.phone_number_id, tier, THROUGHPUT_WAIT,
                                  sleep=sending.sleep, turns=sending.turns)
            if granted is None:
                return result(Outcome.LATER, delay=settings.retry_delay,
                              error=f"over the number's {tier}/s throughput")
            body = {**payload, CALLBACK_FIELD: callback_data(message.id, part, len(payloads))}
            try:
                answer = sending.client.send(message.phone_number_id, body)
            except SendUnconfirmed as exc:
                return result(Outcome.UNCONFIRMED, error=str(exc))
            except GraphError as exc:
                return _refused(sending, message, exc, bool(wamids), result)
            except WhatsAppSendError as exc:  # unreachable, a protocol error: nothing was sent
                return result(Outcome.SOON, delay=outbox.retry_delay(message.attempts, settings), error=str(exc))
            except InputRejectedError as exc:  # a path segment the client refused
                return result(Outcome.NEVER, error=exc.message)
        sending.pacer.clear(message.pair)
        wamids.append(answer.wamid)
    return result(Outcome.SENT)


def _refused(sending: Sending, message: Claimed, exc: GraphError, went: bool,
             result: Callable[..., SendResult]) -> SendResult:
    settings, code = sending.settings, exc.code
    if isinstance(exc, ReengagementError) and not went and message.parts_sent == 0 and not message.template_only \
            and send_from_dict(message.send).template is not None:
        return result(Outcome.TEMPLATE, error=str(exc), error_code=code)
    if code == PAIR_LIMIT_CODE:
        return result(Outcome.LATER, delay=sending.pacer.strike(message.pair), error=str(exc), error_code=code)
    if exc.retry is Retry.LATER:
        return result(Outcome.LATER, delay=outbox.retry_delay(message.attempts, settings), error=str(exc),
                      error_code=code)
    if exc.retry is Retry.SOON:
        return result(Outcome.SOON, delay=outbox.retry_delay(message.attempts, settings), error=str(exc),
                      error_code=code)
    return result(Outcome.NEVER, error=str(exc), error_code=code)


class Sender:
    def __init__(self, sessions: sessionmaker[Session], sending: Sending, worker: str) -> None:
        self.sessions = sessions
        self.sending = sending
        self.settings = sending.settings
        self.worker = worker
        self.clock = sending.clock
        self.starts = StartMarks(sessions, worker, self.clock)
        self.in_flight: dict[int, gevent.Greenlet] = {}  # message id -> its contact's greenlet
        self.counters: dict[str, int] = {"sent": 0, "requeued": 0, "failed": 0, "unconfirmed": 0}
        self._answers: Queue[SendResult | None] = Queue()
        self._gathering = Gathering()
        self._wake = Event()
        self._room = Event()
        self._stopping = Event()
        self._greenlets: list[gevent.Greenlet] = []
        self._writer: gevent.Greenlet | None = None

    def start(self) -> Sender:
        self._writer = gevent.spawn(self._write_loop)
        self._greenlets = [gevent.spawn(self._claim_loop), gevent.spawn(self._renew_loop)]
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming, let the sends in flight get their answers, write them, stop."""
        self._stopping.set()
        self._wake.set()
        self._room.set()
        gevent.joinall(self._greenlets, timeout=timeout)
        gevent.joinall(list(set(self.in_flight.values())), timeout=timeout)
        for greenlet in set(self.in_flight.values()):
            greenlet.kill(block=False)  # left to recovery: their claims run out
        self._answers.put(None)
        if self._writer is not None:
            self._writer.join(timeout=timeout)

    # ---- claiming ------------------------------------------------------------------------------

    def claim_once(self) -> int:
        """One claiming round; gives how many messages it started."""
        room = self.settings.max_in_flight - len(self.in_flight)
        wanted = min(self.settings.claim_batch, self.settings.max_in_flight) * CLAIM_ROOM_SHARE
        if room <= 0 or (self.in_flight and room < wanted):
            return 0
        with self.sessions.begin() as db:
            claimed = outbox.claim(db, self.worker, self.clock(), min(room, self.settings.claim_batch),
                                   self.settings.claim_lease)
        contacts: dict[tuple[str, str], list[Claimed]] = {}
        for message in claimed:
            contacts.setdefault(message.pair, []).append(message)
        for messages in contacts.values():
            greenlet = gevent.spawn(self._send_contact, messages)
            for message in messages:
                self.in_flight[message.id] = greenlet
        return len(claimed)

    def _claim_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                started = self.claim_once()
            except SQLAlchemyError as exc:
                log.warning("whatsapp sender: claiming failed (%s); trying again", exc)
                self._stopping.wait(DATABASE_RETRY)
                continue
            if started:
                gevent.sleep(0)  # the sends just spawned start (and mark) before the next claim's query
                continue
            if len(self.in_flight) >= self.settings.max_in_flight:
                self._room.clear()
                self._room.wait(self.settings.poll_every * 10)
            else:
                self._wake.wait(self.settings.poll_every)
                self._wake.clear()

    def _send_contact(self, messages: list[Claimed]) -> None:
        for result in self.send_contact(messages):
            self._answers.put(result)

    def send_contact(self, messages: list[Claimed]) -> list[SendResult]:
        """Send one contact's claimed messages in order; those after one that did not go are
        ``deferred``. A message whose send raised is left to recovery (its claim runs out)."""
        results: list[SendResult] = []
        stopped = False
        for message in messages:
            if stopped:
                results.append(SendResult(message.id, Outcome.DEFERRED))
                continue
            try:
                result = send_message(self.sending, message, self.starts.mark)
            except Exception:  # what went out is not known: the claim runs out, recovery settles it
                log.exception("whatsapp message %s: sending failed; left to recovery", message.id)
                self.in_flight.pop(message.id, None)
                stopped = True
                continue
            results.append(result)
            stopped = result.outcome is not Outcome.SENT
        return results

    def send_round(self) -> outbox.Recorded:
        """One whole round in the calling greenlet: claim, send every contact's messages (one
        greenlet each), record the answers in one transaction. For tests and tools; the loops
        do the same continuously."""
        now = self.clock()
        with self.sessions.begin() as db:
            claimed = outbox.claim(db, self.worker, now, self.settings.claim_batch, self.settings.claim_lease)
        contacts: dict[tuple[str, str], list[Claimed]] = {}
        for message in claimed:
            contacts.setdefault(message.pair, []).append(message)
        jobs = [gevent.spawn(self.send_contact, messages) for messages in contacts.values()]
        gevent.joinall(jobs, raise_error=True)
        results = [result for job in jobs for result in job.value or ()]
        if not results:
            return outbox.Recorded()
        with self.sessions.begin() as db:
            return outbox.record(db, results, self.worker, self.clock(), self.settings)

    # ---- writing -------------------------------------------------------------------------------

    def _write_loop(self) -> None:
        while True:
            batch = [self._answers.get()]
            if batch[0] is not None:
                self._gathering.before_write()
            while len(batch) < MAX_RECORD:
                try:
                    batch.append(self._answers.get_nowait())
                except Empty:
                    break
            results = [result for result in batch if result is not None]
            if results:
                self._write(results)
                self._gathering.wrote()
            if len(results) < len(batch):
                return

    def _write(self, batch: list[SendResult]) -> None:
        while True:
            try:
                with self.sessions.begin() as db:
                    recorded = outbox.record(db, batch, self.worker, self.clock(), self.settings)
                break
            except SQLAlchemyError as exc:
                log.warning("whatsapp sender: writing %d answers failed (%s); trying again", len(batch), exc)
                gevent.sleep(DATABASE_RETRY)
        for name in self.counters:
            self.counters[name] += getattr(recorded, name)
        for result in batch:
            self.in_flight.pop(result.message_id, None)
        self._room.set()
        self._wake.set()  # a contact's next message may be claimable now

    # ---- claims stay alive ---------------------------------------------------------------------

    def _renew_loop(self) -> None:
        every = self.settings.claim_lease / 3
        while not self._stopping.wait(every):
            if not self.in_flight:
                continue
            try:
                with self.sessions.begin() as db:
                    outbox.renew(db, self.worker, list(self.in_flight),
                                 self.clock() + timedelta(seconds=self.settings.claim_lease))
            except SQLAlchemyError as exc:
                log.warning("whatsapp sender: renewing claims failed (%s)", exc)
