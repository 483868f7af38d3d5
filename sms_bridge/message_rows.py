"""The rows of ``sms_messages`` and ``sms_parts`` as the sender and the receipts change them: read
in one statement per table, written in one executemany per table (no ORM object per row: a batch
of hundreds of answers or receipts is a handful of statements).

:func:`lock` reads the messages ``FOR UPDATE`` in id order on PostgreSQL (the write lock is the
caller's on SQLite: ``store.take_write_lock``), so the sender's answers and the receipts of one
message are applied one after the other, and two batches never deadlock.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from voiceplatform.models.sms import SmsMessage, SmsPart
from voiceplatform.sessions.store import is_postgresql, one_of
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
    if not changed:
        return
    if is_postgresql(db):  # one UPDATE ... FROM unnest for the batch, its columns as arrays
        _update_postgresql(db, "sms_messages", ("id",), _WRITTEN, _PG_MESSAGE_TYPES,
                           [[getattr(row, name) for row in changed] for name in ("id", *_WRITTEN)])
        return
    db.execute(update(MESSAGES).where(MESSAGES.c.id == bindparam("b_id")).values(
        {name: bindparam(name) for name in _WRITTEN}),
        [{"b_id": row.id, **{name: getattr(row, name) for name in _WRITTEN}} for row in changed])


def insert_parts(db: Session, rows: list[PartRow]) -> None:
    """New parts: COPY on PostgreSQL, one executemany on SQLite (voiceplatform.sessions.writes)."""
    insert_later(db, PARTS, [{name: getattr(row, name) for name in _PART_COLUMNS} for row in rows])


def write_parts(db: Session, rows: Iterable[PartRow]) -> None:
    changed = [row for row in rows if row.changed]
    if not changed:
        return
    if is_postgresql(db):
        _update_postgresql(db, "sms_parts", ("message_id", "seq"), _PART_WRITTEN, _PG_PART_TYPES,
                           [[getattr(row, name) for row in changed] for name in ("message_id", "seq", *_PART_WRITTEN)])
        return
    db.execute(update(PARTS).where(PARTS.c.message_id == bindparam("b_message_id"), PARTS.c.seq == bindparam("b_seq"))
               .values({name: bindparam(name) for name in _PART_WRITTEN}),
               [{"b_message_id": row.message_id, "b_seq": row.seq, **{name: getattr(row, name) for name in _PART_WRITTEN}}
                for row in changed])


_PG_MESSAGE_TYPES = {"id": "integer", "send_state": "varchar", "status": "varchar", "status_at": "timestamptz",
                     "error": "varchar", "attempts": "integer", "unconfirmed": "integer",
                     "next_attempt_at": "timestamptz", "claimed_by": "varchar", "claimed_until": "timestamptz",
                     "submitted_at": "timestamptz"}
_PG_PART_TYPES = {"message_id": "integer", "seq": "integer", "status": "varchar", "error": "varchar",
                  "status_at": "timestamptz"}
_PART_WRITTEN = ("status", "error", "status_at")


def _update_postgresql(db: Session, table: str, keys: tuple[str, ...], written: tuple[str, ...],
                       types: dict[str, str], columns: list[list[object]]) -> None:
    names = (*keys, *written)
    statement = (f"UPDATE {table} AS t SET " + ", ".join(f"{name} = u.{name}" for name in written)
                 + " FROM unnest(" + ", ".join(f"%b::{types[name]}[]" for name in names) + f") AS u({', '.join(names)})"
                 + " WHERE " + " AND ".join(f"t.{key} = u.{key}" for key in keys))
    cursor = db.connection().connection.cursor()  # the DBAPI's own: psycopg sends each column as one array
    cursor.execute(statement, columns)
