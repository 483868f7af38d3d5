"""What the SMSC delivers (``deliver_sm``): delivery receipts and messages from handsets.

The bind's reader hands each one here (:meth:`Deliveries.on_deliver`, which never blocks); two
greenlets store them in batches, each ``deliver_sm`` answered only after its batch committed, so
an SMSC resends whatever was never stored:

- **receipts** (sms_bridge.receipts.is_receipt) are read (a malformed one is answered
  ESME_RX_P_APPN and counted), wait for the write of this process's own answers they
  overtook (``answers``), and are applied in one transaction per batch
  (sms_bridge.delivery_reports); if the database is away they are answered ESME_RX_T_APPN, and
  the SMSC sends them again;
- **messages** are read (sms_bridge.mo_messages.read_mo), long ones put back together in memory
  (sms_bridge.reassembly.Reassembler, one per process shared by every bind: a part is answered
  as soon as it is kept; only the part that completes a message waits for the commit), read into
  an InboundMessage by the ``sms`` driver and routed by
  voiceplatform.sessions.inbound.MessageRouter.receive_many: opt-out words first, then the
  sender's waiting session on that number's account, the number's inbound flow, or an
  unsolicited message. A message whose parts have not all come within ``reassembly_timeout``
  is routed with what arrived, its input marked ``incomplete`` with the missing part numbers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Protocol

import gevent
from gevent.event import Event
from gevent.queue import Empty, Queue
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.channels.contract import InboundMessage
from voiceplatform.exceptions import InputRejectedError
from voiceplatform.models.base import utcnow
from voiceplatform.sessions.inbound import MessageRouter

from sms_bridge.counters import Counters
from sms_bridge.delivery_reports import apply_receipts
from sms_bridge.driver import SmsChannel
from sms_bridge.errors import MalformedReceiptError, MalformedUserDataError
from sms_bridge.esme import ESME_ROK, ESME_RX_P_APPN, ESME_RX_T_APPN, Deliver, Esme
from sms_bridge.mo_messages import MoMessage
from sms_bridge.mo_messages import read_mo
from sms_bridge.reassembly import Reassembler
from sms_bridge.receipts import DeliveryReceipt, is_receipt, parse_receipt

log = logging.getLogger(__name__)

MAX_BATCH = 500
STOP = None


class Answers(Protocol):
    """The sender's answers not written yet (sms_bridge.sender.Sender)."""

    def pending(self, submit_ids: Collection[str]) -> set[str]: ...

    def wait_written(self, submit_ids: Collection[str]) -> None: ...


@dataclass(frozen=True, slots=True)
class Received:
    esme: Esme
    deliver: Deliver

    def answer(self, status: int = ESME_ROK) -> None:
        self.esme.respond(self.deliver.sequence, status)


@dataclass(frozen=True, slots=True)
class _Completed:
    message: MoMessage
    last: Received | None  # the part that completed it (answered after the commit); None: given up
    ton: tuple[int, int]


class Deliveries:
    def __init__(self, sessions: sessionmaker[Session], router: MessageRouter, driver: SmsChannel,
                 counters: Counters, *, reassembly_timeout: float, on_queued: Callable[[], None] = lambda: None,
                 answers: Answers | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.sessions = sessions
        self.router = router
        self.driver = driver
        self.counters = counters
        self.on_queued = on_queued
        self.answers = answers
        self.reassembler = Reassembler(reassembly_timeout, clock)
        self.reassembly_timeout = reassembly_timeout
        self._receipts: Queue[Received | None] = Queue()  # None: stop
        self._messages: Queue[Received | None] = Queue()
        self._stopping = Event()
        self._tons: dict[tuple[str, str], tuple[int, int]] = {}  # an open long message's address types
        self._greenlets: list[gevent.Greenlet] = []

    def start(self) -> Deliveries:
        self._greenlets = [gevent.spawn(self._loop, self._receipts, self.store_receipts),
                           gevent.spawn(self._loop, self._messages, self.store_messages),
                           gevent.spawn(self._expire_loop)]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Store what was queued, then stop (a batch being stored is never cut short)."""
        self._stopping.set()
        self._receipts.put(STOP)
        self._messages.put(STOP)
        gevent.joinall(self._greenlets, timeout=timeout)
        for greenlet in self._greenlets:
            greenlet.kill(block=False)

    def on_deliver(self, esme: Esme, deliver: Deliver) -> None:
        """From a bind's reader: queue it (never blocks)."""
        received = Received(esme, deliver)
        (self._receipts if is_receipt(deliver.esm_class) else self._messages).put(received)

    @staticmethod
    def _loop(queue: Queue[Received | None], store: Callable[[list[Received]], None]) -> None:
        while True:
            batch = [queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(queue.get_nowait())
                except Empty:
                    break
            received = [item for item in batch if item is not None]
            try:
                if received:
                    store(received)
            except Exception:  # answered nothing: the SMSC sends them again; the loop goes on
                log.exception("%d deliveries could not be stored", len(received))
            if len(received) < len(batch):
                return

    # ---- receipts ------------------------------------------------------------------------------

    def store_receipts(self, batch: list[Received]) -> None:
        parsed: list[tuple[Received, DeliveryReceipt]] = []
        for received in batch:
            deliver = received.deliver
            try:
                parsed.append((received, parse_receipt(deliver.short_message, deliver.receipted_message_id,
                                                       deliver.message_state)))
            except MalformedReceiptError as exc:
                self.counters.receipts_malformed += 1
                log.warning("a malformed receipt from %s: %s", received.esme.name, exc)
                received.answer(ESME_RX_P_APPN)
        if not parsed:
            return
        if self.answers is not None:  # receipts overtaking this process's own answers wait for their write
            ids = {receipt.message_id for _, receipt in parsed} | {r.text_id for _, r in parsed if r.text_id}
            early = self.answers.pending(ids)
            if early:
                self.answers.wait_written(early)
        try:
            with self.sessions.begin() as db:
                applied = apply_receipts(db, [receipt for _, receipt in parsed], utcnow())
        except SQLAlchemyError as exc:
            log.warning("%d receipts not stored (%s); the SMSC will send them again", len(parsed), exc)
            for received, _ in parsed:
                received.answer(ESME_RX_T_APPN)
            return
        self.counters.receipts += len(parsed)
        self.counters.receipts_held += applied.held
        for received, _ in parsed:
            received.answer()

    # ---- messages from handsets ----------------------------------------------------------------

    def store_messages(self, batch: list[Received]) -> None:
        completed: list[_Completed] = []
        for received in batch:
            deliver = received.deliver
            try:
                part = read_mo(deliver.source_addr, deliver.destination_addr, deliver.short_message,
                               deliver.data_coding, deliver.esm_class, deliver.sar)
            except MalformedUserDataError as exc:
                self.counters.mo_malformed += 1
                log.warning("a malformed message from %s: %s", deliver.source_addr, exc)
                received.answer(ESME_RX_P_APPN)
                continue
            self.counters.mo_parts += 1
            ton = (deliver.source_ton, deliver.destination_ton)
            message = self.reassembler.add(part)
            if message is None:
                self._tons[(deliver.source_addr, deliver.destination_addr)] = ton
                received.answer()  # kept in memory until its message is whole
                continue
            completed.append(_Completed(message, received, ton))
        self._route(completed)

    def expire_once(self) -> int:
        """Route the long messages given up on (timed out), incomplete; gives how many."""
        given_up = self.reassembler.expire()
        if given_up:
            self.counters.mo_incomplete += len(given_up)
            self._route([_Completed(message, None, self._tons.get((message.sender, message.our_address), (0, 0)))
                         for message in given_up])
        return len(given_up)

    def _expire_loop(self) -> None:
        while not self._stopping.wait(max(0.05, min(1.0, self.reassembly_timeout / 4))):
            try:
                self.expire_once()
            except Exception:
                log.exception("incomplete messages could not be routed")

    def _route(self, completed: list[_Completed]) -> None:
        routable: list[tuple[_Completed, InboundMessage]] = []
        for item in completed:
            self._tons.pop((item.message.sender, item.message.our_address), None)
            try:
                routable.append((item, self.driver.parse_inbound(_raw(item))))
            except InputRejectedError as exc:
                self.counters.mo_malformed += 1
                log.warning("a message from %r to %r refused: %s", item.message.sender, item.message.our_address, exc)
                if item.last is not None:
                    item.last.answer(ESME_RX_P_APPN)
        if not routable:
            return
        try:
            outcomes = self.router.receive_many([message for _, message in routable])
        except SQLAlchemyError as exc:
            log.warning("%d messages not stored (%s)", len(routable), exc)
            for item, _ in routable:
                if item.last is not None:
                    item.last.answer(ESME_RX_T_APPN)
            return
        self.counters.mo_messages += len(routable)
        for (item, message), routed in zip(routable, outcomes):
            status = ESME_ROK
            if routed.outcome == "failed":  # nothing of it was committed: the SMSC sends it again
                log.error("a message from %s to %s could not be applied: %s", message.address, message.our_address,
                          routed.error)
                status = ESME_RX_T_APPN
            elif routed.outcome == "unknown_number":
                log.warning("a message from %s to %s, which is no sms number of ours", message.address,
                            message.our_address)
            if item.last is not None:
                item.last.answer(status)
        self.on_queued()


def _raw(item: _Completed) -> dict[str, object]:
    message = item.message
    return {"from": message.sender, "to": message.our_address, "text": message.text, "from_ton": item.ton[0],
            "to_ton": item.ton[1], "parts": message.total, "missing": list(message.missing)}
