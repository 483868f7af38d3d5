"""What a transaction still has to write, and the few statements that write it.

The session store (voiceplatform.sessions.store) and the drivers that queue in the session's
transaction (``ChannelDriver.deliver``) hand their rows here: history rows, outbox rows and
the session rows a step changed. Inside a batch (``store.batched``) they are kept and written
when it ends, each table in one statement:

* new rows: on SQLite one ``executemany`` (SQLite's own loop, no round trips); on PostgreSQL one
  ``COPY ... FROM STDIN`` (a multi-row INSERT would be a statement with thousands of
  parameters, which psycopg converts anew each time; an executemany, one statement per row);
* changed session rows: an UPDATE that compares each row's version (``WHERE id = :id AND
  row_version = :seen``) and sets the next one; on SQLite one executemany, on PostgreSQL one
  ``UPDATE ... FROM unnest(...)`` statement for the whole batch, its columns sent as binary
  arrays. Fewer rows updated than given means another writer got there first:
  :class:`SessionConflictError`.

Outside a batch every row is written at once. Either way a session's ORM object is kept clean:
the values are set as its committed ones and so is its new row version once written, so the ORM
never writes them itself, and a later ORM flush of the same row (a column set directly, such as
a ``switch_channel``'s ``channel``) compares the right version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, cast

from sqlalchemy import JSON, CursorResult, Dialect, Table, TypeDecorator, bindparam, inspect, insert, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from voiceplatform.exceptions import SessionConflictError
from voiceplatform.models.base import Base
from voiceplatform.models.sessions import FlowSession

#: The columns of a session row that a step changes (the store's save, end and append, and a
#: ``switch_channel``): what an UPDATE writes.
WRITTEN = ("channel", "status", "wait_kind", "wait_expires_at", "state", "end_reason", "last_seq", "updated_at",
           "ended_at")
_KEY = "voiceplatform.sessions.writes"


def table_of(model: type[Base]) -> Table:
    """A mapped class's Table (``__table__`` is typed as any FromClause)."""
    return model.metadata.tables[model.__tablename__]


_SESSIONS = table_of(FlowSession)
# executemany: the SET columns are the parameters' keys (WRITTEN and row_version)
_UPDATE = update(_SESSIONS).where(_SESSIONS.c.id == bindparam("b_id"), _SESSIONS.c.row_version == bindparam("b_seen"))
_PG_TYPES = {"channel": "varchar", "status": "varchar", "wait_kind": "varchar", "wait_expires_at": "timestamptz",
             "state": "jsonb", "end_reason": "varchar", "last_seq": "integer", "updated_at": "timestamptz",
             "ended_at": "timestamptz"}
_PG_UPDATE = (
    "UPDATE sessions AS s SET " + ", ".join(f"{name} = u.{name}" for name in WRITTEN) + ", row_version = u.seen + 1 "
    "FROM unnest(%b::varchar[], %b::integer[], " + ", ".join(f"%b::{kind}[]" for kind in _PG_TYPES.values())
    + ") AS u(id, seen, " + ", ".join(WRITTEN) + ") WHERE s.id = u.id AND s.row_version = u.seen")


@dataclass
class Pending:
    """A transaction's rows not written yet."""

    depth: int = 0  # nested batches
    inserts: dict[Table, list[dict[str, Any]]] = field(default_factory=dict)
    rows: dict[str, FlowSession] = field(default_factory=dict)
    held: list[Any] = field(default_factory=list)  # rows read ahead for the batch: the ORM keeps them weakly

    def clear(self) -> None:
        self.inserts.clear()
        self.rows.clear()


def pending(db: Session) -> Pending:
    found = db.info.get(_KEY)
    if found is None:
        found = db.info[_KEY] = Pending()
    return found


def insert_later(db: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """New rows for ``table``: with the batch's others at its end, or at once outside a batch."""
    if not rows:
        return
    kept = pending(db)
    kept.inserts.setdefault(table, []).extend(rows)
    if not kept.depth:
        write(db)


def assign(db: Session, row: FlowSession, values: dict[str, Any],
           new: tuple[Table, list[dict[str, Any]]] | None = None) -> None:
    """Set ``values`` (:data:`WRITTEN` columns) on ``row`` (and ``new`` rows of a table go with
    the change): written at the batch's end, or at once. They are set as the ORM's committed
    values: the ORM must not write the row itself (that would be a statement per row), and this
    module's UPDATE writes them."""
    for name, value in values.items():
        set_committed_value(row, name, value)
    kept = pending(db)
    kept.rows[row.id] = row
    if new is not None:
        kept.inserts.setdefault(new[0], []).extend(new[1])
    if not kept.depth:
        write(db)


def write(db: Session) -> None:
    """Write everything kept: the changed session rows first, then the new rows by table."""
    kept = pending(db)
    rows, inserts = list(kept.rows.values()), list(kept.inserts.items())
    kept.clear()
    if not rows and not inserts:
        return
    with db.no_autoflush:  # the ORM must not write these rows itself meanwhile
        if any(not inspect(row).persistent for row in rows):
            db.flush()  # a row added but not flushed yet (store.create always flushes)
        values = [{name: getattr(row, name) for name in WRITTEN} for row in rows]
        if db.get_bind().dialect.name == "postgresql":
            cursor = _psycopg(db).cursor()
            written = _update_postgresql(cursor, rows, values) if rows else 0
            for table, new in inserts:
                _copy_postgresql(cursor, table, new, db.get_bind().dialect)
        else:
            written = _update_sqlite(db, rows, values) if rows else 0
            for table, new in inserts:
                db.execute(insert(table), new)
    if written != len(rows):
        raise SessionConflictError(f"{len(rows) - written} of {len(rows)} sessions were changed by another writer")
    for row, changes in zip(rows, values):
        if inspect(row).modified:  # a column set directly (a switch_channel's channel): now written too
            for name in WRITTEN:
                set_committed_value(row, name, changes[name])
        set_committed_value(row, "row_version", row.row_version + 1)


def _update_sqlite(db: Session, rows: list[FlowSession], values: list[dict[str, Any]]) -> int:
    params = [{**changes, "b_id": row.id, "b_seen": row.row_version, "row_version": row.row_version + 1}
              for row, changes in zip(rows, values)]
    return int(cast("CursorResult[Any]", db.execute(_UPDATE, params)).rowcount or 0)  # a DML statement's result


def _update_postgresql(cursor: Any, rows: list[FlowSession], values: list[dict[str, Any]]) -> int:
    columns: list[list[Any]] = [[row.id for row in rows], [row.row_version for row in rows]]
    for name in WRITTEN:
        columns.append([json.dumps(changes[name]) if name == "state" else changes[name] for changes in values])
    cursor.execute(_PG_UPDATE, columns)
    return int(cursor.rowcount)


def _copy_postgresql(cursor: Any, table: Table, rows: list[dict[str, Any]], dialect: Dialect) -> None:
    names = list(rows[0])
    convert = [_copy_value(table.c[name].type, dialect) for name in names]
    with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([to(row[name]) for name, to in zip(names, convert)])


def _copy_value(kind: Any, dialect: Dialect) -> Callable[[Any], Any]:
    """How a column's Python value is written in COPY's text format (JSON as its text, a
    TypeDecorator's own conversion, such as UTC timestamps; anything else as psycopg does)."""
    if isinstance(kind, TypeDecorator):
        return lambda value: kind.process_bind_param(value, dialect)
    if isinstance(kind, JSON):
        return lambda value: None if value is None else json.dumps(value)
    return lambda value: value


def _psycopg(db: Session) -> Any:
    """The psycopg connection under ``db``'s transaction (COPY and binary parameters are
    psycopg's own, not SQLAlchemy's)."""
    return db.connection().connection.driver_connection
