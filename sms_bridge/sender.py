"""The sender loop: claims queued messages (sms_bridge.outbox), submits each in its own greenlet
through the binds' windows, and writes the answers in batches.

- **Claiming** keeps at most ``max_in_flight`` messages in flight, ``claim_batch`` per
  statement; an idle sender looks again every ``poll_every`` seconds, or at once when this
  process queued a message (:meth:`Sender.wake`: a reply to a handset's message).
- **Submitting** a message sends its parts in order, each encoded by
  sms_bridge.submit_encoding (UDH-concatenated ``short_message`` parts only, never
  ``message_payload``), from the sender ID's TON/NPI (sms_bridge.addressing), with a receipt
  asked for every part. A refusal stops the message; a slow-down or a missing bind leaves the
  remaining parts for the next pass; so does a temporary refusal (esme.TEMPORARY: the SMSC's own
  trouble) on the message's first ``temporary_refusals`` passes, after which it is a refusal; an
  unanswered part is passed on as such (the policy is the outbox's).
- **Writing** takes every answer waiting, up to :data:`MAX_RECORD` at a time, in one
  transaction: the messages table always lags the SMSC by one batch at most. A write that fails
  (the database is away) is tried again with the same answers until it succeeds.
- **A receipt that overtakes its answer's write** (the SMSC reports at once) waits for it in
  this process (:meth:`Sender.wait_written`), so it is applied right after, without going
  through the held receipts table (which remains for answers written by another process).
- **Claims are renewed** every third of the lease while their messages are in flight, so a
  slow SMSC never makes a live sender's messages look abandoned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Protocol

import gevent
from gevent.event import AsyncResult, Event
from gevent.queue import Empty, Queue
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.models.base import utcnow

from sms_bridge import outbox
from sms_bridge.addressing import WireAddress, destination_address, source_address
from sms_bridge.config import TEMPORARY_REFUSALS, BridgeSettings
from sms_bridge.counters import Counters
from sms_bridge.errors import SmsTextError
from sms_bridge.esme import SubmitAnswer, SubmitNotSent, SubmitRequest, SubmitUnanswered, status_name
from sms_bridge.outbox import Claimed, Outcome, PartResult, SendResult
from sms_bridge.submit_encoding import EncodedMessage, encode_message
from voiceplatform.exceptions import InputRejectedError

log = logging.getLogger(__name__)

MAX_RECORD = 500
DATABASE_RETRY = 1.0
WAIT_WRITTEN = 10.0  # longest a receipt waits for its answer's write before it is held


class SubmitInterrupted(Exception):
    """:func:`submit_message` failed unexpectedly after some of its parts were accepted:
    ``submit_ids`` (the SMSC's ids of those parts, which the sender stops waiting to write)."""

    def __init__(self, message_id: int, submit_ids: tuple[str, ...]) -> None:
        super().__init__(f"sms message {message_id}: submitting failed after {len(submit_ids)} part(s) went")
        self.submit_ids = submit_ids


class Submitter(Protocol):
    def submit(self, request: SubmitRequest) -> SubmitAnswer: ...


def submit_message(submitter: Submitter, message: Claimed, counters: Counters,
                   temporary_refusals: int = TEMPORARY_REFUSALS) -> SendResult:
    """Submit ``message``'s unanswered parts in order (see the module's docstring)."""
    if message.refused:
        return SendResult(message.id, failure=message.refused)
    try:
        encoded = encode_message(message.text, message.id & 0xFF)
        wire = source_address(message.sender)
        source = WireAddress(message.source_ton or wire.ton, message.source_npi or wire.npi, wire.address)
        destination = destination_address(message.destination)
    except (SmsTextError, InputRejectedError) as exc:
        return SendResult(message.id, failure=str(exc))
    results: list[PartResult] = []
    try:
        _submit_parts(submitter, message, counters, temporary_refusals, encoded, source, destination, results)
    except Exception as exc:  # a bug or a library's surprise: say which answers it leaves unwritten
        raise SubmitInterrupted(message.id, tuple(r.submit_id for r in results if r.submit_id)) from exc
    return SendResult(message.id, tuple(results))


def _submit_parts(submitter: Submitter, message: Claimed, counters: Counters, temporary_refusals: int,
                  encoded: EncodedMessage, source: WireAddress, destination: WireAddress,
                  results: list[PartResult]) -> None:
    for seq, part in enumerate(encoded.parts, start=1):
        if seq in message.answered:
            continue
        request = SubmitRequest(source, destination, part.short_message, encoded.data_coding, part.esm_class)
        try:
            counters.parts_submitted += 1
            answer = submitter.submit(request)
        except SubmitNotSent as exc:
            counters.parts_submitted -= 1
            results.append(PartResult(seq, Outcome.NOT_SENT, detail=str(exc)))
            break
        except SubmitUnanswered as exc:
            counters.parts_unanswered += 1
            results.append(PartResult(seq, Outcome.UNANSWERED, detail=str(exc)))
            continue
        if answer.accepted:
            counters.parts_accepted += 1
            results.append(PartResult(seq, Outcome.ACCEPTED, answer.message_id))
        elif answer.slow_down:
            counters.parts_slowed += 1
            results.append(PartResult(seq, Outcome.SLOW_DOWN, detail=status_name(answer.status)))
            break
        elif answer.temporary and message.attempts < temporary_refusals:
            counters.parts_deferred += 1  # the SMSC did not take it: the next pass sends it
            results.append(PartResult(seq, Outcome.SLOW_DOWN, detail=status_name(answer.status)))
            break
        else:
            counters.parts_refused += 1
            detail = status_name(answer.status) if answer.status else "accepted with no message id"
            results.append(PartResult(seq, Outcome.REFUSED, detail=detail))
            break


class Sender:
    def __init__(self, sessions: sessionmaker[Session], submitter: Submitter, settings: BridgeSettings, worker: str,
                 counters: Counters, clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions = sessions
        self.submitter = submitter
        self.settings = settings
        self.worker = worker
        self.counters = counters
        self.clock = clock
        self.in_flight: dict[int, gevent.Greenlet] = {}
        #: SMSC ids answered but not written yet (-> message id, 0 until its greenlet ran): a
        #: receipt for one waits for the write
        self.unwritten: dict[str, int] = {}
        self._written: AsyncResult = AsyncResult()
        self._answers: Queue[SendResult] = Queue()
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
        """Stop claiming (a round in progress finishes: no transaction is cut short), let the
        messages in flight get their answers, write them, stop."""
        self._stopping.set()
        self._wake.set()
        self._room.set()
        gevent.joinall(self._greenlets, timeout=timeout)
        gevent.joinall(list(self.in_flight.values()), timeout=timeout)
        for greenlet in list(self.in_flight.values()):
            greenlet.kill(block=False)  # left to recovery: their claims run out
        self._answers.put(SendResult(-1))  # wakes the writer, which writes what is left and stops
        if self._writer is not None:
            self._writer.join(timeout=timeout)

    # ---- claiming ------------------------------------------------------------------------------

    def claim_once(self) -> int:
        """One claiming round; gives how many messages it started."""
        room = self.settings.max_in_flight - len(self.in_flight)
        if room <= 0:
            return 0
        with self.sessions.begin() as db:
            claimed = outbox.claim(db, self.worker, self.clock(), min(room, self.settings.claim_batch),
                                   self.settings.claim_lease)
        for message in claimed:
            self.in_flight[message.id] = gevent.spawn(self._send, message)
        return len(claimed)

    def _claim_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                started = self.claim_once()
            except SQLAlchemyError as exc:
                log.warning("sms sender: claiming failed (%s); trying again", exc)
                self._stopping.wait(DATABASE_RETRY)
                continue
            if started:
                continue
            if len(self.in_flight) >= self.settings.max_in_flight:
                self._room.clear()
                self._room.wait(self.settings.poll_every * 10)
            else:
                self._wake.wait(self.settings.poll_every)
                self._wake.clear()

    def _send(self, message: Claimed) -> None:
        try:
            result = submit_message(self.submitter, message, self.counters, self.settings.temporary_refusals)
        except Exception as exc:  # which parts went out is not known: the claim runs out, recovery settles it
            log.exception("sms message %s: submitting failed; left to recovery", message.id)
            self.in_flight.pop(message.id, None)
            for submit_id in exc.submit_ids if isinstance(exc, SubmitInterrupted) else ():
                self.unwritten.pop(submit_id, None)  # never written by this process: receipts stop waiting
            return
        for part in result.parts:
            if part.submit_id:
                self.unwritten[part.submit_id] = message.id
        self._answers.put(result)

    def answered(self, submit_id: str) -> None:
        """A bind read an accepted answer (Esme.on_answer): from now until it is written, a
        receipt for it waits, even one read right after it, before its submit's greenlet ran."""
        self.unwritten.setdefault(submit_id, 0)

    def pending(self, submit_ids: Collection[str]) -> set[str]:
        """Those of ``submit_ids`` answered in this process and not written yet."""
        return {submit_id for submit_id in submit_ids if submit_id in self.unwritten}

    def wait_written(self, submit_ids: Collection[str], timeout: float = WAIT_WRITTEN) -> None:
        """Wait (at most ``timeout``) until the answers carrying ``submit_ids`` are written."""
        deadline = time.monotonic() + timeout
        while self.pending(submit_ids):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._written.wait(remaining)

    # ---- writing -------------------------------------------------------------------------------

    def _write_loop(self) -> None:
        while True:
            batch = [self._answers.get()]
            while len(batch) < MAX_RECORD:
                try:
                    batch.append(self._answers.get_nowait())
                except Empty:
                    break
            stop = any(result.message_id < 0 for result in batch)
            batch = [result for result in batch if result.message_id >= 0]
            if batch:
                self._write(batch)
            if stop:
                return

    def _write(self, batch: list[SendResult]) -> None:
        while True:
            try:
                with self.sessions.begin() as db:
                    recorded = outbox.record(db, batch, self.worker, self.clock(), self.settings)
                break
            except SQLAlchemyError as exc:
                log.warning("sms sender: writing %d answers failed (%s); trying again", len(batch), exc)
                gevent.sleep(DATABASE_RETRY)
        self.counters.messages_failed += recorded.failed
        for result in batch:
            self.in_flight.pop(result.message_id, None)
            for part in result.parts:
                if part.submit_id:
                    self.unwritten.pop(part.submit_id, None)
        written, self._written = self._written, AsyncResult()
        written.set(None)
        self._room.set()

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
                log.warning("sms sender: renewing claims failed (%s)", exc)
