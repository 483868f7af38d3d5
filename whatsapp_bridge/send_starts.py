"""Marking sends started, a group at a time: the sender's greenlets each ask, just before a
message's first request of its claim, and every ask that came while the last write ran goes in
the next one (whatsapp_bridge.outbox.mark_started: one UPDATE for all of them, a group commit).
A send goes only once its mark is stored, so a bridge that dies leaves each claimed message
either not started (queued again by recovery: it was never written) or started (``unknown``
unless Meta's statuses tell).

:meth:`StartMarks.mark` answers whether the message may go: False when the claim is no longer
this worker's (recovery took it back: another may be sending it). It raises
:class:`StartNotStored` when the database could not be written after :data:`WRITE_TRIES` tries
(the send waits for another pass; nothing went).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import gevent
from gevent.event import AsyncResult
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from whatsapp_bridge import outbox

log = logging.getLogger(__name__)

WRITE_TRIES = 3
WRITE_RETRY = 0.5


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
                ids, answer = self._asked, self._answer
                self._asked, self._answer = [], AsyncResult()
                try:
                    answer.set(self._write(ids))
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
