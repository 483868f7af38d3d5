"""The rows of ``sms_messages`` and ``sms_parts`` as the sender and the receipts change them: read
in one statement per table, written in one statement per table (voiceplatform.db.bulk_updates; no
ORM object per row: a batch of hundreds of answers or receipts is a handful of statements).

:func:`lock` reads the messages ``FOR UPDATE`` in id order on PostgreSQL (the write lock is the
caller's on SQLite: ``store.take_write_lock``), so the sender's answers and the receipts of one
message are applied one after the other, and two batches never deadlock.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceplatform.db.bulk_updates import update_by_key
from voiceplatform.models.sms import SmsMessage, SmsPart
from voiceplatform.sessions.store import one_of
from voiceplatform.sessions.writes import insert_later, table_of

MESSAGES = table_of(SmsMessage)
PARTS = table_of(SmsPart)


@dataclass(slots=True)
class MessageRow:
    """The columns of a message the sender and the receipts read and write."""

    id: int
    session_id: str | None
    parts: int
    send_state: str
    status: str | None
    status_at: datetime | None
    error: str | None
    attempts: int
    unconfirmed: int
    next_attempt_at: datetime | None
    claimed_by: str | None
    claimed_until: datetime | None
    submitted_at: datetime | None
    changed: bool = field(default=False, compare=False)


@dataclass(slots=True)
class PartRow:
    message_id: int
    seq: int
    submit_id: str | None
    status: str | None
    error: str | None = None
    submitted_at: datetime | None = None
    status_at: datetime | None = None
    changed: bool = field(default=False, compare=False)


_MESSAGE_COLUMNS = tuple(f.name for f in fields(MessageRow) if f.name != "changed")
_WRITTEN = tuple(name for name in _MESSAGE_COLUMNS if name not in ("id", "session_id", "parts"))
_PART_COLUMNS = tuple(f.name for f in fields(PartRow) if f.name != "changed")


def lock(db: Session, ids: Collection[int], *, skip_locked: bool = False) -> dict[int, MessageRow]:
    if not ids:
        return {}
    query = (select(*(MESSAGES.c[name] for name in _MESSAGE_COLUMNS)).where(one_of(db, MESSAGES.c.id, ids))
             .order_by(MESSAGES.c.id).with_for_update(skip_locked=skip_locked))
    return {row.id: MessageRow(*row) for row in db.execute(query)}


def parts_of(db: Session, message_ids: Collection[int]) -> dict[int, dict[int, PartRow]]:
    found: dict[int, dict[int, PartRow]] = {message_id: {} for message_id in message_ids}
    if message_ids:
        query = select(*(PARTS.c[name] for name in _PART_COLUMNS)).where(one_of(db, PARTS.c.message_id, message_ids))
        for row in db.execute(query):
            found[row.message_id][row.seq] = PartRow(*row)
    return found


def owners(db: Session, submit_ids: Collection[str]) -> dict[str, int]:
    """The message of each part whose SMSC id is among ``submit_ids``."""
    if not submit_ids:
        return {}
    return {submit_id: message_id for submit_id, message_id in db.execute(
        select(PARTS.c.submit_id, PARTS.c.message_id).where(one_of(db, PARTS.c.submit_id, submit_ids)))}


def write_messages(db: Session, rows: Iterable[MessageRow]) -> None:
    changed = [row for row in rows if row.changed]
    if changed:
        update_by_key(db, MESSAGES, ("id",), {name: [getattr(row, name) for row in changed] for name in ("id", *_WRITTEN)})


def insert_parts(db: Session, rows: list[PartRow]) -> None:
    """New parts: COPY on PostgreSQL, one executemany on SQLite (voiceplatform.sessions.writes)."""
    insert_later(db, PARTS, [{name: getattr(row, name) for name in _PART_COLUMNS} for row in rows])


def write_parts(db: Session, rows: Iterable[PartRow]) -> None:
    changed = [row for row in rows if row.changed]
    if changed:
        update_by_key(db, PARTS, ("message_id", "seq"),
                      {name: [getattr(row, name) for row in changed] for name in ("message_id", "seq", *_PART_WRITTEN)})


_PART_WRITTEN = ("status", "error", "status_at")
