"""The session store: create a session row, take one under a lock, write the engine's step back,
append history rows in order, and read the history.

Locking is twofold, so that a resume is applied exactly once whatever the database:

* **the row lock**: :func:`lock` takes the row with ``SELECT ... FOR UPDATE`` on PostgreSQL (a
  second resume of the same session waits for the first to commit, then reads its result); on
  SQLite, which has no row locks, it first takes the database's write lock with a no-op UPDATE
  of the row, so the read that follows is already inside the write transaction and no other
  writer can interleave;
* **the row version**: every UPDATE of a session compares ``row_version`` (SQLAlchemy's
  ``version_id_col``) and raises ``StaleDataError`` when someone else wrote the row since it was
  read; :func:`save` turns that into :class:`voiceplatform.exceptions.SessionConflictError`.

The caller owns the transaction (``with sessionmaker.begin() as db``); nothing here commits.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from voiceplatform.exceptions import SessionConflictError, SessionNotFoundError
from voiceplatform.flow import Step
from voiceplatform.flow.state import SessionStatus as EngineStatus
from voiceplatform.models.base import utcnow
from voiceplatform.models.sessions import EventKind, FlowSession, SessionEvent, SessionStatus


def new_id() -> str:
    return uuid.uuid4().hex


def create(db: Session, *, session_id: str, account_id: int, flow_version_id: int, channel: str, address: str,
           state: dict[str, Any], contact_id: int | None = None, campaign_contact_id: int | None = None,
           our_address: str | None = None, number_id: int | None = None, now: datetime | None = None) -> FlowSession:
    """A new session row (status ``active``: its first step is being run)."""
    now = now or utcnow()
    row = FlowSession(id=session_id, account_id=account_id, flow_version_id=flow_version_id, channel=channel,
                      address=address, our_address=our_address, number_id=number_id, contact_id=contact_id,
                      campaign_contact_id=campaign_contact_id, status=SessionStatus.ACTIVE.value, state=state,
                      last_seq=0, started_at=now, updated_at=now)
    db.add(row)
    db.flush()
    return row


def lock(db: Session, session_id: str) -> FlowSession:
    """The session, locked for the rest of ``db``'s transaction (see the module's docstring)."""
    if db.get_bind().dialect.name == "sqlite":
        # Take SQLite's write lock first (waits for busy_timeout): the read below then sees the
        # newest committed row and nobody can write it before this transaction ends.
        db.execute(update(FlowSession).where(FlowSession.id == session_id).values(id=FlowSession.id)
                   .execution_options(synchronize_session=False))
    row = db.get(FlowSession, session_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise SessionNotFoundError(f"session {session_id} not found")
    return row


def status_of(step_status: str, wait: dict[str, Any] | None) -> SessionStatus:
    """The stored status for an engine state: waiting (with a wait), completed, or failed (an
    interrupted journey, say a hang-up with no handler, is completed: it ended as the flow says)."""
    engine = EngineStatus(step_status)
    if engine is EngineStatus.WAITING:
        return SessionStatus.WAITING if wait is not None else SessionStatus.ACTIVE
    if engine is EngineStatus.FAILED:
        return SessionStatus.FAILED
    return SessionStatus.COMPLETED


def save(db: Session, row: FlowSession, step: Step, *, now: datetime | None = None,
         status: SessionStatus | None = None, wait_expires_at: datetime | None = None) -> None:
    """Write ``step``'s state onto ``row`` (status, wait, ended time) and flush: the UPDATE
    compares the row version, so a concurrent writer makes this raise SessionConflictError."""
    now = now or utcnow()
    wait = step.wait
    stored = status or status_of(step.state["status"], wait)
    row.state = step.state
    row.status = stored.value
    row.wait_kind = wait.get("kind") if wait else None
    row.wait_expires_at = wait_expires_at if wait_expires_at is not None else _expiry(wait)
    row.updated_at = now
    if stored.value in ("completed", "failed", "expired"):
        row.ended_at = row.ended_at or now
        row.end_reason = step.state.get("end_reason")
        row.wait_kind = None
        row.wait_expires_at = None
    flush(db)


def end(db: Session, row: FlowSession, status: SessionStatus, reason: str, now: datetime | None = None) -> None:
    """End ``row`` without the engine (opted out, expired with nothing to resume)."""
    now = now or utcnow()
    row.status = status.value
    row.end_reason = reason
    row.ended_at = now
    row.updated_at = now
    row.wait_kind = None
    row.wait_expires_at = None
    flush(db)


def flush(db: Session) -> None:
    try:
        db.flush()
    except StaleDataError as exc:
        raise SessionConflictError(f"the session was changed by another writer: {exc}") from exc


def append(db: Session, row: FlowSession, entries: Iterable[tuple[EventKind, str, dict[str, Any]]],
           channel: str | None = None, now: datetime | None = None) -> int:
    """Add history rows after the session's newest one, in order; gives how many."""
    now = now or utcnow()
    count = 0
    for kind, type_, payload in entries:
        row.last_seq += 1
        db.add(SessionEvent(session_id=row.id, seq=row.last_seq, at=now, kind=kind.value, type=type_,
                            channel=channel or row.channel, payload=payload))
        count += 1
    return count


def step_entries(step: Step) -> list[tuple[EventKind, str, dict[str, Any]]]:
    """A step's engine events then its outputs, as history rows."""
    entries = [(EventKind.EVENT, event.kind, event.to_dict()) for event in step.events]
    entries += [(EventKind.OUTPUT, output.kind, output.to_dict()) for output in step.outputs]
    return entries


def history(db: Session, session_id: str) -> list[SessionEvent]:
    return list(db.scalars(select(SessionEvent).where(SessionEvent.session_id == session_id)
                           .order_by(SessionEvent.seq)))


def _expiry(wait: dict[str, Any] | None) -> datetime | None:
    if not wait or not wait.get("expires_at"):
        return None
    return datetime.fromisoformat(wait["expires_at"])
