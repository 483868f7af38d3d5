"""Marking sends started, a group at a time: the sender's greenlets each ask, just before a
message's first request of its claim, and every ask that came while the last write ran goes in
the next one (whatsapp_bridge.outbox.mark_started: one UPDATE for all of them, a group commit;
under load the writer pauses a moment first so the group is larger: whatsapp_bridge.gathering).
A send goes only once its mark is stored, so a bridge that dies leaves each claimed message
either not started (queued again by recovery: it was never written) or started (``unknown``
unless Meta's statuses tell).

**Marked just ahead of the grants, and not too many unanswered.** A send is marked before it
asks for the number's throughput grant, so the grant and the request stay together (a mark's
write, however slow, never bunches granted requests: Meta counts a second's sends as it handles
them). Per number (:class:`SendLane`), what is marked and not granted yet is at most the tier's
grants of :data:`UNGRANTED_SECONDS`, and what is marked and not answered yet (waiting for its
grant, for a connection, for Meta) at most the tier's sends of :data:`UNANSWERED_SECONDS`: a
bridge that dies leaves at most a second of the tier ``unknown`` (less what Meta did take: its
statuses tell), and a Graph API slower than a second to answer slows the sender to fit.

:meth:`StartMarks.mark` answers whether the message may go: False when the claim is no longer
this worker's (recovery took it back: another may be sending it). It raises
:class:`StartNotStored` when the database could not be written after :data:`WRITE_TRIES` tries
(the send waits for another pass; nothing went).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import datetime

import gevent
from gevent.event import AsyncResult
from gevent.lock import BoundedSemaphore
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from whatsapp_bridge import outbox
from whatsapp_bridge.gathering import Gathering

log = logging.getLogger(__name__)

WRITE_TRIES = 3
WRITE_RETRY = 0.5
#: seconds of a number's tier that may be marked started before their grants
UNGRANTED_SECONDS = 0.1
#: seconds of a number's tier that may be marked started and not answered yet
UNANSWERED_SECONDS = 1.0


class SendLane:
    """One number's bounds: a send holds ``unanswered`` from before its mark until its answer,
    and ``ungranted`` from before its mark until its grant."""

    def __init__(self, tier: int) -> None:
        self.unanswered = BoundedSemaphore(max(1, math.ceil(tier * UNANSWERED_SECONDS)))
        self.ungranted = BoundedSemaphore(max(1, math.ceil(tier * UNGRANTED_SECONDS)))


class SendLanes:
    def __init__(self) -> None:
        self._lanes: dict[tuple[str, int], SendLane] = {}

    def lane(self, phone_number_id: str, tier: int) -> SendLane:
        found = self._lanes.get((phone_number_id, tier))
        if found is None:
            found = self._lanes[(phone_number_id, tier)] = SendLane(tier)
        return found


class StartNotStored(Exception):
    """The mark could not be written: the request must not go."""


class StartMarks:
    def __init__(self, sessions: sessionmaker[Session], worker: str, clock: Callable[[], datetime]) -> None:
        self.sessions = sessions
        self.worker = worker
        self.clock = clock
        self.writes = 0  # how many UPDATEs marked sends (for the bench and the logs)
        self._asked: list[int] = []
        self._answer: AsyncResult = AsyncResult()
        self._writer: gevent.Greenlet | None = None
        self._gathering = Gathering()

    def mark(self, message_id: int) -> bool:
        """Wait until ``message_id`` is marked started; whether it may go (:class:`StartNotStored`:
        not written)."""
        self._asked.append(message_id)
        answer = self._answer
        if self._writer is None:
            self._writer = gevent.spawn(self._write_groups)
        marked = answer.get()
        assert isinstance(marked, set)
        return message_id in marked

    def _write_groups(self) -> None:
        try:
            while self._asked:
                self._gathering.before_write()
                ids, answer = self._asked, self._answer
                self._asked, self._answer = [], AsyncResult()
                try:
                    answer.set(self._write(ids))
                    self._gathering.wrote()
                except Exception as exc:  # noqa: BLE001 - every waiting send must hear of it
                    log.exception("whatsapp sender: marking %d sends started failed", len(ids))
                    answer.set_exception(StartNotStored(str(exc)))
        finally:
            self._writer = None

    def _write(self, ids: list[int]) -> set[int]:
        for attempt in range(1, WRITE_TRIES + 1):
            try:
                with self.sessions.begin() as db:
                    marked = outbox.mark_started(db, self.worker, ids, self.clock())
                self.writes += 1
                return marked
            except SQLAlchemyError as exc:
                log.warning("whatsapp sender: marking %d sends started failed (%s), try %d of %d", len(ids), exc,
                            attempt, WRITE_TRIES)
                if attempt < WRITE_TRIES:
                    gevent.sleep(WRITE_RETRY)
                else:
                    raise StartNotStored(f"marking sends started failed {WRITE_TRIES} times: {exc}") from exc
        raise AssertionError("unreachable")
