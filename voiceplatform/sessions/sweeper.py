"""The expiry sweeper: sessions whose wait has expired (``wait_expires_at`` passed: nobody
replied, or a webhook's worker died) are resumed with a timeout input, each exactly once across
workers.

A batch is claimed and resumed in **one transaction**: on PostgreSQL the rows are taken with
``FOR UPDATE SKIP LOCKED`` (two sweepers take different rows, a resume on another worker waits);
on SQLite the sweeper takes the database's write lock first. A worker killed mid-sweep never
commits, so its batch is still expired and the next sweep (its own or another worker's) takes
it. A wait that does not accept a timeout is ended as ``expired``. Webhooks that the timeout
paths ask for are performed after the commit, as the runner always does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, select, update

from voiceplatform.flow import Input
from voiceplatform.flow.outputs import HttpRequest
from voiceplatform.models.sessions import EventKind, FlowSession, SessionStatus
from voiceplatform.sessions import store
from voiceplatform.sessions.runner import RunResult, SessionRunner

BATCH = 200
MAX_ROUNDS = 1000  # batches in one sweep (a sweep always ends, even with zero-second waits)
OPEN = (SessionStatus.WAITING.value, SessionStatus.ACTIVE.value)


def sweep(runner: SessionRunner, *, now: datetime | None = None, batch: int = BATCH) -> int:
    """Resume every session expired at ``now`` (default: the runner's clock); gives how many."""
    total = 0
    for _ in range(MAX_ROUNDS):
        moment = now or runner.clock()
        due = _expired(FlowSession.wait_expires_at <= moment)
        with runner.sessions.begin() as db:
            if db.scalar(select(FlowSession.id).where(*due).limit(1)) is None:
                break  # a plain read: an idle sweep never takes a write lock
            query = select(FlowSession).where(*due).order_by(FlowSession.wait_expires_at, FlowSession.id).limit(batch)
            if db.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            else:  # SQLite: the write lock first, so the rows read below are this sweep's alone
                db.execute(update(FlowSession).where(FlowSession.id == "").values(id=FlowSession.id)
                           .execution_options(synchronize_session=False))
            rows = list(db.scalars(query.execution_options(populate_existing=True)))
            follow: list[tuple[RunResult, list[HttpRequest]]] = []
            for row in rows:
                result, requests = runner.resume_in(db, row, Input.timeout())
                if result.outcome == "refused":  # the wait takes no timeout: the session expires
                    store.append(db, row, [(EventKind.INPUT, "timeout", Input.timeout().to_dict()),
                                           (EventKind.RUNTIME, "expired", {"wait": row.wait_kind})], now=moment)
                    store.end(db, row, SessionStatus.EXPIRED, "wait_expired", moment)
                elif requests:
                    follow.append((result, requests))
        for result, requests in follow:
            runner.follow_http(result, requests)
        total += len(rows)
        if not rows:
            break
    return total


def _expired(*conditions: ColumnElement[bool]) -> tuple[ColumnElement[bool], ...]:
    return (FlowSession.status.in_(OPEN), FlowSession.wait_expires_at.is_not(None), *conditions)
