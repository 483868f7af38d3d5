"""The session store: create a session row, take one (or a batch) under a lock, write the
engine's step back, append history rows in order, and read the history.

Locking is twofold, so that a resume is applied exactly once whatever the database:

* **the row lock**: :func:`lock` (one row) and :func:`lock_many` (a batch, in id order) take the
  rows with ``SELECT ... FOR UPDATE`` on PostgreSQL (a second resume of the same session waits
  for the first to commit, then reads its result; the sweeper adds ``SKIP LOCKED`` so two
  sweepers split the work); on SQLite, which has no row locks, the transaction first takes the
  database's write lock (:func:`take_write_lock`, a no-op UPDATE), so the reads that follow are
  already inside the write transaction and no other writer can interleave;
* **the row version**: every UPDATE of a session compares ``row_version`` and raises
  :class:`voiceplatform.exceptions.SessionConflictError` when someone else wrote the row since
  it was read (the ORM's ``version_id_col`` does the same for the rows it flushes itself).

**Writes.** Inside :func:`batched` (the router's and the sweeper's batches, the runner's own
transactions) nothing is written until the block ends; then the changed session rows go in one
UPDATE that compares each row's version and every table's new rows (history, outboxes) in one
INSERT (voiceplatform.sessions.writes). Outside a batch each call writes at once (a caller's
own transaction, such as a call's settlement).

The caller owns the transaction (``with sessionmaker.begin() as db``); nothing here commits.
"""

from __future__ import annotations

import secrets
import time
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Iterable, Iterator, Sequence

from sqlalchemy import ARRAY, ColumnElement, DateTime, Select, Text, any_, bindparam, cast, select, type_coerce, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key
from sqlalchemy.orm.exc import StaleDataError

from voiceplatform.exceptions import SessionConflictError, SessionNotFoundError
from voiceplatform.flow import Step
from voiceplatform.flow.state import SessionStatus as EngineStatus
from voiceplatform.models import Contact
from voiceplatform.models.base import UtcDateTime, utcnow
from voiceplatform.models.sessions import EventKind, FlowSession, SessionEvent, SessionStatus
from voiceplatform.sessions import json_text, writes
from voiceplatform.sessions.rows import COLUMNS, ClaimedRow, NewRow, SessionRow
from voiceplatform.sessions.writes import assign, write

_SESSIONS = writes.table_of(FlowSession)
_EVENTS = writes.table_of(SessionEvent)
_CLAIMED = (*(_SESSIONS.c[name] for name in COLUMNS[:-1]), cast(_SESSIONS.c.state, Text))  # ClaimedRow's order
# PostgreSQL's driver gives timestamps with their time zone already: UtcDateTime's own reading
# (a Python call per value) is left out; the instants are the same
_CLAIMED_PG = tuple(type_coerce(column, DateTime(timezone=True)) if isinstance(column.type, UtcDateTime) else column
                    for column in _CLAIMED)
_KINDS: dict[EventKind | str, str] = {kind.value: kind.value for kind in EventKind}  # an EventKind is its value too
_DEFER_NEW = "voiceplatform.sessions.store.defer_new"  # db.info: a batch inserts its new sessions together
_ENDED_AS = {EngineStatus.COMPLETED.value: SessionStatus.COMPLETED,
             EngineStatus.INTERRUPTED.value: SessionStatus.COMPLETED, EngineStatus.FAILED.value: SessionStatus.FAILED}


def new_id() -> str:
    """A new session id: 32 hex digits, the milliseconds since the epoch (12) then 80 random
    bits (20), the layout of a UUIDv7 without its version bits. Unguessable (a click-tracked
    link's token is the id: voiceplatform.flow.short_links), and in the order sessions start, so
    that the rows and index entries of sessions started together are written together: the
    sweep's batches (sessions that waited alike expire in the order they started) and their
    history rows touch a few index pages, not one page per session (docs/sessions.md,
    Performance)."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


# ---- transactions --------------------------------------------------------------------------------

@contextmanager
def batched(db: Session, *, defer_new: bool = False) -> Iterator[None]:
    """Keep this block's writes and write them together when it ends (see the module's
    docstring). ORM autoflush is off inside: a query must not flush rows one by one. An error
    inside voids the batch (the caller's transaction is to be rolled back).

    ``defer_new``: the new sessions (:func:`start_row`) are plain rows, not ORM objects, inserted
    together as their first steps left them (one statement, no UPDATE after the INSERT), by the
    caller's :func:`write_pending` before it adds ORM rows that refer to them, or at the block's
    end; for a batch that never reads its new sessions back from the database (a campaign's
    batch of attempts: voiceplatform.dialer.messaging)."""
    kept = writes.pending(db)
    kept.depth += 1
    deferring = db.info.get(_DEFER_NEW, False)
    db.info[_DEFER_NEW] = deferring or defer_new
    try:
        with db.no_autoflush:
            yield
        if kept.depth == 1:
            write(db)
    except BaseException:
        kept.clear()
        raise
    finally:
        kept.depth -= 1
        db.info[_DEFER_NEW] = deferring
        if not kept.depth:
            kept.held.clear()


def write_pending(db: Session) -> None:
    """Write what the batch holds so far (its new sessions, their history and outboxes) now."""
    write(db)


def take_write_lock(db: Session) -> None:
    """SQLite: take the database's write lock now (waits for busy_timeout), so that what this
    transaction reads next is the newest committed data and stays so until it ends. Nothing on
    PostgreSQL (its row locks are taken by :func:`lock` / :func:`lock_many`)."""
    if db.get_bind().dialect.name == "sqlite":
        db.execute(update(_SESSIONS).where(_SESSIONS.c.id == "").values(id=_SESSIONS.c.id))


def is_postgresql(db: Session) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def one_of(db: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column IN values`` for a batch's many values: on PostgreSQL ``= ANY(:array)``, one
    parameter (psycopg converts a statement with more than a few dozen parameters anew every
    time it is run); on SQLite an IN list."""
    listed = list(values)
    if len(listed) == 1:
        return column == listed[0]
    if is_postgresql(db):
        return column == any_(bindparam(None, listed, type_=ARRAY(column.type)))
    return column.in_(listed)


# ---- rows ----------------------------------------------------------------------------------------

def create(db: Session, *, session_id: str, account_id: int, flow_version_id: int, channel: str, address: str,
           state: dict[str, Any], contact_id: int | None = None, campaign_contact_id: int | None = None,
           our_address: str | None = None, number_id: int | None = None, now: datetime | None = None) -> FlowSession:
    """A new session row (status ``active``: its first step is being run), inserted now."""
    session = FlowSession(**_new_values(session_id, account_id, flow_version_id, channel, address, state, contact_id,
                                        campaign_contact_id, our_address, number_id, now or utcnow()))
    db.add(session)
    db.flush()
    return session


def start_row(db: Session, *, session_id: str, account_id: int, flow_version_id: int, channel: str, address: str,
              state: dict[str, Any], contact_id: int | None = None, campaign_contact_id: int | None = None,
              our_address: str | None = None, number_id: int | None = None, now: datetime | None = None) -> SessionRow:
    """:func:`create`; in a batch that defers its new sessions (:func:`batched`'s ``defer_new``)
    a plain :class:`~voiceplatform.sessions.rows.NewRow` instead, inserted by the batch's write
    as its first step leaves it."""
    if not db.info.get(_DEFER_NEW, False):
        return create(db, session_id=session_id, account_id=account_id, flow_version_id=flow_version_id,
                      channel=channel, address=address, state=state, contact_id=contact_id,
                      campaign_contact_id=campaign_contact_id, our_address=our_address, number_id=number_id, now=now)
    row = NewRow(**_new_values(session_id, account_id, flow_version_id, channel, address, state, contact_id,
                               campaign_contact_id, our_address, number_id, now or utcnow()))
    writes.add_new(db, row)
    return row


def _new_values(session_id: str, account_id: int, flow_version_id: int, channel: str, address: str,
                state: dict[str, Any], contact_id: int | None, campaign_contact_id: int | None,
                our_address: str | None, number_id: int | None, now: datetime) -> dict[str, Any]:
    return {"id": session_id, "account_id": account_id, "flow_version_id": flow_version_id, "channel": channel,
            "address": address, "our_address": our_address, "number_id": number_id, "contact_id": contact_id,
            "campaign_contact_id": campaign_contact_id, "status": SessionStatus.ACTIVE.value, "state": state,
            "last_seq": 0, "started_at": now, "updated_at": now}


def lock(db: Session, session_id: str) -> FlowSession:
    """The session, locked for the rest of ``db``'s transaction (see the module's docstring)."""
    take_write_lock(db)
    row = db.get(FlowSession, session_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise SessionNotFoundError(f"session {session_id} not found")
    return row


def lock_many(db: Session, *conditions: ColumnElement[bool], order_by: Sequence[Any] = (FlowSession.id,),
              limit: int | None = None, skip_locked: bool = False) -> list[FlowSession]:
    """The sessions matching ``conditions``, locked for the rest of the transaction in one
    statement (PostgreSQL: ``FOR UPDATE`` in ``order_by`` order, ``SKIP LOCKED`` if asked;
    SQLite: the write lock first), with their contacts read into the session too (the runner
    looks each one up). At most ``limit`` rows."""
    query = select(FlowSession).where(*conditions).execution_options(populate_existing=True)
    rows = list(db.scalars(_locking(db, query, order_by, limit, skip_locked)))
    _hold_contacts(db, rows)
    return rows


def claim_many(db: Session, *conditions: ColumnElement[bool], order_by: Sequence[Any] = (FlowSession.id,),
               limit: int | None = None, skip_locked: bool = False) -> list[ClaimedRow]:
    """:func:`lock_many` for a batch that no ORM object needs (the sweeper's): the same rows,
    locked the same way, read with one Core query into plain :class:`ClaimedRow` objects (no
    identity map, no per-row ORM state; the state's JSON decoded by json_text). The runner, the
    shared handling and the batch's writes take them as they take ORM rows."""
    query = select(*(_CLAIMED_PG if is_postgresql(db) else _CLAIMED)).where(*conditions)
    read = db.connection().execute(_locking(db, query, order_by, limit, skip_locked)).all()  # Core: no ORM loading
    rows = [ClaimedRow(values[:-1], json_text.loads(values[-1])) for values in read]
    _hold_contacts(db, rows)
    return rows


def _locking(db: Session, query: Select[Any], order_by: Sequence[Any], limit: int | None,
             skip_locked: bool) -> Select[Any]:
    """``query`` in ``order_by`` order, at most ``limit`` rows, locked (see lock_many)."""
    take_write_lock(db)
    query = query.order_by(*order_by)
    if limit is not None:
        query = query.limit(limit)
    if is_postgresql(db):
        query = query.with_for_update(skip_locked=skip_locked)
    return query


def _hold_contacts(db: Session, rows: Sequence[SessionRow]) -> None:
    """The rows' contacts read into the session in one statement (the runner looks each one up),
    held while the batch lasts (the session's identity map holds them weakly)."""
    contact_ids = {row.contact_id for row in rows if row.contact_id is not None
                   and identity_key(Contact, row.contact_id) not in db.identity_map}
    if contact_ids:
        writes.pending(db).held.extend(db.scalars(select(Contact).where(one_of(db, Contact.id, contact_ids))))


def status_of(step_status: str, wait: dict[str, Any] | None) -> SessionStatus:
    """The stored status for an engine state: waiting (with a wait), completed, or failed (an
    interrupted journey, say a hang-up with no handler, is completed: it ended as the flow says)."""
    if step_status == EngineStatus.WAITING.value:
        return SessionStatus.WAITING if wait is not None else SessionStatus.ACTIVE
    return _ENDED_AS[step_status]  # a KeyError: not an engine status


def save(db: Session, row: SessionRow, step: Step, *, now: datetime | None = None,
         status: SessionStatus | None = None, wait_expires_at: datetime | None = None) -> None:
    """Write ``step``'s state onto ``row`` (status, wait, ended time): at once, or at the end of
    the batch. The UPDATE compares the row version: a concurrent writer makes it raise
    SessionConflictError."""
    now = now or utcnow()
    wait = step.wait
    stored = status or status_of(step.state["status"], wait)
    values: dict[str, Any] = {"state": step.state, "status": stored.value, "wait_kind": wait.get("kind") if wait else None,
                              "wait_expires_at": wait_expires_at if wait_expires_at is not None else _expiry(wait),
                              "updated_at": now}
    if stored.value in ("completed", "failed", "expired"):
        values.update(ended_at=row.ended_at or now, end_reason=step.state.get("end_reason"), wait_kind=None,
                      wait_expires_at=None)
    assign(db, row, values)


def end(db: Session, row: SessionRow, status: SessionStatus, reason: str, now: datetime | None = None) -> None:
    """End ``row`` without the engine (opted out, expired with nothing to resume)."""
    now = now or utcnow()
    assign(db, row, {"status": status.value, "end_reason": reason, "ended_at": now, "updated_at": now,
                     "wait_kind": None, "wait_expires_at": None})


def flush(db: Session) -> None:
    """An ORM flush, with a stale row version reported as SessionConflictError."""
    try:
        db.flush()
    except StaleDataError as exc:
        raise SessionConflictError(f"the session was changed by another writer: {exc}") from exc


def append(db: Session, row: SessionRow, entries: Iterable[tuple[EventKind | str, str, dict[str, Any]]],
           channel: str | None = None, now: datetime | None = None) -> int:
    """Add history rows after the session's newest one, in order (written at once, or at the
    batch's end); gives how many. A kind is an EventKind or its value (the shared handling's
    HistoryEntry)."""
    now = now or utcnow()
    rows = []
    seq = row.last_seq
    channel = channel or row.channel
    for kind, type_, payload in entries:
        seq += 1
        rows.append({"session_id": row.id, "seq": seq, "at": now, "kind": _KINDS[kind], "type": type_,
                     "channel": channel, "payload": payload})
    if not rows:
        return 0
    assign(db, row, {"last_seq": seq}, (_EVENTS, rows))
    return len(rows)


def step_entries(step: Step) -> list[tuple[EventKind, str, dict[str, Any]]]:
    """A step's engine events then its outputs, as history rows."""
    entries = [(EventKind.EVENT, event.kind, event.to_dict()) for event in step.events]
    entries += [(EventKind.OUTPUT, output.kind, output.to_dict()) for output in step.outputs]
    return entries


def history(db: Session, session_id: str) -> list[SessionEvent]:
    write(db)
    return list(db.scalars(select(SessionEvent).where(SessionEvent.session_id == session_id)
                           .order_by(SessionEvent.seq)))


# ---- internals -----------------------------------------------------------------------------------

def _expiry(wait: dict[str, Any] | None) -> datetime | None:
    if not wait or not wait.get("expires_at"):
        return None
    return datetime.fromisoformat(wait["expires_at"])
