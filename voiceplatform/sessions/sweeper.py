"""The expiry sweeper: sessions whose wait has expired (``wait_expires_at`` passed: nobody
replied, or a webhook's worker died) are resumed with a timeout input, each exactly once across
workers.

A sweep works in **batches** (:func:`sweep_once`): up to ``batch`` expired sessions are claimed
in one statement (store.claim_many: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two workers'
sweepers take different rows and a reply being applied elsewhere is skipped for now; the write
lock on SQLite; plain rows, no ORM objects), each is resumed with a timeout by the shared runner
at the batch's one reading of the clock, and the batch's rows are written together and committed
once (store.batched), as the inbound router does. A worker killed mid-sweep has not committed
its batch: those sessions' ``wait_expires_at`` is unchanged, so the next sweep (its own or
another worker's) takes them. A wait that does not accept a
timeout is ended as ``expired``. Webhooks that the timeout paths ask for are performed after
the commit, as the runner always does. An idle sweep is one plain read (on PostgreSQL the claim
itself, which locks nothing when nothing is due).

**Lanes.** On PostgreSQL a sweep with more than one batch to do runs :data:`LANES` of them at
once, each a loop of :func:`sweep_once` in its own thread (a greenlet in a gevent worker) with
its own connection: while one lane's batch is written and committed by the server (about as long
as the worker took to resume it), the other lane resumes the next batch, which ``SKIP LOCKED``
keeps apart from the first, exactly as it keeps two workers' sweepers apart. On SQLite the write
lock takes the batches one at a time whatever the lanes, so a sweep is one lane there.
"""

from __future__ import annotations

import itertools
import logging
import threading
from datetime import datetime
from typing import Iterator

from sqlalchemy import ColumnElement, select

from voiceplatform.flow import Input
from voiceplatform.flow.outputs import HttpRequest
from voiceplatform.models.sessions import EventKind, FlowSession, SessionStatus
from voiceplatform.sessions import store
from voiceplatform.sessions.runner import RunResult, SessionRunner

log = logging.getLogger(__name__)

BATCH = 1000  # sessions claimed, resumed and committed together
MAX_ROUNDS = 1000  # batches in one sweep (a sweep always ends, even with zero-second waits)
LANES = {"postgresql": 2}  # batches in flight at once, by database (others: one)
OPEN = (SessionStatus.WAITING.value, SessionStatus.ACTIVE.value)


def sweep(runner: SessionRunner, *, now: datetime | None = None, batch: int = BATCH,
          lanes: int | None = None) -> int:
    """Resume every session expired at ``now`` (default: the runner's clock); gives how many.
    ``lanes``: batches in flight at once (default: :data:`LANES` for the database), the others
    started only after a full first batch. A lane's error stops the others after their batch
    and is raised here."""
    rounds = itertools.count(1)
    first = sweep_once(runner, now=now, batch=batch)
    if not first:
        return 0
    count = 1 if first < batch else lanes if lanes is not None else _lanes_for(runner)
    stopping = threading.Event()
    done = [0] * count
    errors: list[BaseException] = []

    def lane(index: int) -> None:
        try:
            done[index] = _lane(runner, now, batch, rounds, stopping)
        except BaseException as exc:  # the sweep's own: raised by it once the lanes stopped
            errors.append(exc)
            stopping.set()

    others = [threading.Thread(target=lane, args=(index,), name=f"sweep lane {index}", daemon=True)
              for index in range(1, count)]
    for thread in others:
        thread.start()
    lane(0)  # the calling thread is the first lane
    for thread in others:
        thread.join()
    if errors:
        raise errors[0]
    return first + sum(done)


def _lane(runner: SessionRunner, now: datetime | None, batch: int, rounds: Iterator[int],
          stopping: threading.Event) -> int:
    """Batches until none is due (or the sweep's rounds are spent, or another lane failed)."""
    total = 0
    while not stopping.is_set() and next(rounds) < MAX_ROUNDS:
        done = sweep_once(runner, now=now, batch=batch)
        total += done
        if not done:
            break
    return total


def _lanes_for(runner: SessionRunner) -> int:
    with runner.sessions() as db:  # no connection is taken to read the dialect
        return LANES.get(db.get_bind().dialect.name, 1)


def sweep_once(runner: SessionRunner, *, now: datetime | None = None, batch: int = BATCH) -> int:
    """One batch: claim up to ``batch`` expired sessions, resume each with a timeout, commit;
    gives how many (0: none was due, or every due one is being handled by someone else)."""
    moment = now or runner.clock()
    due = _expired(FlowSession.wait_expires_at <= moment)
    follow: list[tuple[RunResult, list[HttpRequest]]] = []
    with runner.sessions.begin() as db:
        if not store.is_postgresql(db) and db.scalar(select(FlowSession.id).where(*due).limit(1)) is None:
            return 0  # a plain read: an idle sweep never takes SQLite's write lock (PostgreSQL's claim locks no row)
        with store.batched(db):
            rows = store.claim_many(db, *due, order_by=(FlowSession.wait_expires_at, FlowSession.id), limit=batch,
                                    skip_locked=True)
            clock = runner.clock()  # once for the batch: its rows share their timestamps' conversions
            timeout = Input.timeout()
            for row in rows:
                result, requests = runner.resume_in(db, row, timeout, now=clock)
                if result.outcome == "refused":  # the wait takes no timeout: the session expires
                    store.append(db, row, [(EventKind.INPUT, "timeout", timeout.to_dict()),
                                           (EventKind.RUNTIME, "expired", {"wait": row.wait_kind})], now=moment)
                    store.end(db, row, SessionStatus.EXPIRED, "wait_expired", moment)
                elif requests:
                    follow.append((result, requests))
    for result, requests in follow:
        try:
            runner.follow_http(result, requests)
        except Exception:
            log.exception("session %s: its webhook could not be followed; it will expire again", result.session_id)
    return len(rows)


def _expired(*conditions: ColumnElement[bool]) -> tuple[ColumnElement[bool], ...]:
    return (FlowSession.status.in_(OPEN), FlowSession.wait_expires_at.is_not(None), *conditions)
