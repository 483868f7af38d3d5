"""What a transaction still has to write, and the few statements that write it.

The session store (voiceplatform.sessions.store) and the drivers that queue in the session's
transaction (``ChannelDriver.deliver``) hand their rows here: history rows, outbox rows and
the session rows a step changed. Inside a batch (``store.batched``) they are kept and written
when it ends, each table in one statement:

* new rows (new sessions first: a batch that defers them, ``store.batched(defer_new=True)``,
  inserts them as their first steps left them): on SQLite one ``executemany`` (SQLite's own
  loop, no round trips); on PostgreSQL one ``COPY ... FROM STDIN`` (a multi-row INSERT would be
  a statement with thousands of parameters, which psycopg converts anew each time; an
  executemany, one statement per row);
* changed session rows: an UPDATE that compares each row's version (``WHERE id = :id AND
  row_version = :seen``) and sets the next one; on SQLite one executemany, on PostgreSQL one
  ``UPDATE ... FROM unnest(...)`` statement for the whole batch, its columns sent as binary
  arrays. Fewer rows updated than given means another writer got there first:
  :class:`SessionConflictError`.

Outside a batch every row is written at once. Either way a session's ORM object is kept clean:
the values are set as its committed ones and so is its new row version once written, so the ORM
never writes them itself, and a later ORM flush of the same row (a column set directly, such as
a ``switch_channel``'s ``channel``) compares the right version. A plain row (the sweeper's
:class:`~voiceplatform.sessions.rows.ClaimedRow`) simply has the values set, and its row version
moved on once written.

JSON columns are written as voiceplatform.sessions.json_text makes them (orjson where it gives
the same decoded values).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable

from sqlalchemy import JSON, DateTime, Dialect, Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state, set_committed_value

from voiceplatform.exceptions import SessionConflictError
from voiceplatform.models.base import Base
from voiceplatform.models.sessions import FlowSession
from voiceplatform.sessions import json_text
from voiceplatform.sessions.rows import NewRow, SessionRow

#: The columns of a session row that a step changes (the store's save, end and append, and a
#: ``switch_channel``): what an UPDATE writes.
WRITTEN = ("channel", "status", "wait_kind", "wait_expires_at", "state", "end_reason", "last_seq", "updated_at",
           "ended_at")
_KEY = "voiceplatform.sessions.writes"


def table_of(model: type[Base]) -> Table:
    """A mapped class's Table (``__table__`` is typed as any FromClause)."""
    return model.metadata.tables[model.__tablename__]


_SESSIONS = table_of(FlowSession)
_SQLITE_UPDATE = ("UPDATE sessions SET " + ", ".join(f"{name} = ?" for name in (*WRITTEN, "row_version"))
                  + " WHERE id = ? AND row_version = ?")
_PG_TYPES = {"channel": "varchar", "status": "varchar", "wait_kind": "varchar", "wait_expires_at": "timestamptz",
             "state": "jsonb", "end_reason": "varchar", "last_seq": "integer", "updated_at": "timestamptz",
             "ended_at": "timestamptz"}
_PG_UPDATE = (
    "UPDATE sessions AS s SET " + ", ".join(f"{name} = u.{name}" for name in WRITTEN) + ", row_version = u.seen + 1 "
    "FROM unnest(%b::varchar[], %b::integer[], " + ", ".join(f"%b::{kind}[]" for kind in _PG_TYPES.values())
    + ") AS u(id, seen, " + ", ".join(WRITTEN) + ") WHERE s.id = u.id AND s.row_version = u.seen"
    # the ids again, as an index condition: without it the planner may join a whole table's scan
    # to the batch (a hash join, chosen for tables of a few ten thousand rows: 10 times slower)
    " AND s.id = ANY(%b::varchar[])")


@dataclass
class Pending:
    """A transaction's rows not written yet."""

    depth: int = 0  # nested batches
    inserts: dict[Table, list[dict[str, Any]]] = field(default_factory=dict)
    rows: dict[str, SessionRow] = field(default_factory=dict)
    new: dict[str, NewRow] = field(default_factory=dict)  # sessions started in the batch, not inserted yet
    held: list[Any] = field(default_factory=list)  # rows read ahead for the batch: the ORM keeps them weakly

    def clear(self) -> None:
        self.inserts.clear()
        self.rows.clear()
        self.new.clear()


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


def add_new(db: Session, row: NewRow) -> None:
    """A session started in the batch: inserted by its write, with whatever its steps set on it."""
    pending(db).new[row.id] = row


def assign(db: Session, row: SessionRow, values: dict[str, Any],
           new: tuple[Table, list[dict[str, Any]]] | None = None) -> None:
    """Set ``values`` (:data:`WRITTEN` columns) on ``row`` (and ``new`` rows of a table go with
    the change): written at the batch's end, or at once. They are set as the ORM's committed
    values: the ORM must not write the row itself (that would be a statement per row), and this
    module's UPDATE writes them."""
    _set_committed(row, values)
    kept = pending(db)
    if row.id not in kept.new:  # a new row is inserted as it stands: nothing to update
        kept.rows[row.id] = row
    if new is not None:
        kept.inserts.setdefault(new[0], []).extend(new[1])
    if not kept.depth:
        write(db)


def write(db: Session) -> None:
    """Write everything kept: the changed session rows first, then the new rows by table."""
    kept = pending(db)
    rows, inserts = list(kept.rows.values()), list(kept.inserts.items())
    if kept.new:  # first: the history and outbox rows refer to them
        inserts.insert(0, (_SESSIONS, [row.values() for row in kept.new.values()]))
    kept.clear()
    if not rows and not inserts:
        return
    dialect = db.get_bind().dialect
    postgresql = dialect.name == "postgresql"
    states = [instance_state(row) if isinstance(row, FlowSession) else None for row in rows]
    with db.no_autoflush:  # the ORM must not write these rows itself meanwhile
        if any(state is not None and not state.persistent for state in states):
            db.flush()  # a row added but not flushed yet (store.create always flushes)
        values = [_written(row, state) for row, state in zip(rows, states)]
        cursor = db.connection().connection.cursor()  # the DBAPI's own: no per-row work of SQLAlchemy's
        try:
            written = 0
            if rows:
                written = (_update_postgresql if postgresql else _update_sqlite)(cursor, rows, values, dialect)
            for table, new in inserts:
                (_copy_postgresql if postgresql else _insert_sqlite)(cursor, table, new, dialect)
        except dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy reports it (an IntegrityError: a retry)
            raise DBAPIError.instance(None, None, exc, dialect.loaded_dbapi.Error, dialect=dialect) from exc
        finally:
            cursor.close()
    if written != len(rows):
        raise SessionConflictError(f"{len(rows) - written} of {len(rows)} sessions were changed by another writer")
    for row, state, changes in zip(rows, states, values):
        if state is None:
            row.row_version += 1
            continue
        if state.modified:  # a column set directly (a switch_channel's channel): now written too
            for name in WRITTEN:
                set_committed_value(row, name, changes[name])
        _set_committed(row, {"row_version": row.row_version + 1})


def _written(row: SessionRow, state: Any) -> dict[str, Any]:
    """The row's :data:`WRITTEN` values (from the instance's dict when all are loaded)."""
    if state is None:  # a plain row
        return {name: getattr(row, name) for name in WRITTEN}
    loaded = row.__dict__
    if not state.expired_attributes and all(name in loaded for name in WRITTEN):
        return {name: loaded[name] for name in WRITTEN}
    return {name: getattr(row, name) for name in WRITTEN}


def _set_committed(row: SessionRow, values: dict[str, Any]) -> None:
    """``values`` as the row's committed ones (no history: the ORM will not write them). Into
    the instance's dict when none of its attributes has history or is expired (what
    set_committed_value does, without its per-attribute bookkeeping), else one by one. A
    plain row just takes them."""
    if not isinstance(row, FlowSession):
        for name, value in values.items():
            setattr(row, name, value)
        return
    state = instance_state(row)
    if not state.committed_state and not state.expired_attributes:
        row.__dict__.update(values)
        return
    for name, value in values.items():
        set_committed_value(row, name, value)


def _update_sqlite(cursor: Any, rows: list[SessionRow], values: list[dict[str, Any]], dialect: Dialect) -> int:
    columns = _columns(values, WRITTEN, _converters(_SESSIONS, WRITTEN, dialect))
    columns += [[row.row_version + 1 for row in rows], [row.id for row in rows], [row.row_version for row in rows]]
    cursor.executemany(_SQLITE_UPDATE, zip(*columns))
    return int(cursor.rowcount)


def _insert_sqlite(cursor: Any, table: Table, rows: list[dict[str, Any]], dialect: Dialect) -> None:
    names = tuple(rows[0])
    columns = _columns(rows, names, _converters(table, names, dialect))
    cursor.executemany(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
                       zip(*columns))


def _columns(rows: list[dict[str, Any]], names: tuple[str, ...], convert: list[Converter]) -> list[list[Any]]:
    """The rows' values column by column, each converted as the driver needs it."""
    columns = []
    for name, (to, once) in zip(names, convert):
        values = [row[name] for row in rows]
        if to is not None:
            values = _once_each(to, values) if once else list(map(to, values))
        columns.append(values)
    return columns


def _once_each(to: Callable[[Any], Any], values: list[Any]) -> list[Any]:
    """``to`` of each value, an object repeated one after the other converted once (a step's
    history rows, and a batch's rows, share their timestamp). Nothing is kept between calls: two
    threads' batches (the sweeper's lanes) never see each other's values."""
    converted: list[Any] = []
    last, done = _NOTHING, None
    for value in values:
        if value is not last:
            last, done = value, to(value)
        converted.append(done)
    return converted


def _update_postgresql(cursor: Any, rows: list[SessionRow], values: list[dict[str, Any]], dialect: Dialect) -> int:
    columns: list[list[Any]] = [[row.id for row in rows], [row.row_version for row in rows]]
    for name in WRITTEN:
        columns.append([json_text.dumps(changes[name]) if name == "state" else changes[name] for changes in values])
    cursor.execute(_PG_UPDATE, [*columns, columns[0]])
    return int(cursor.rowcount)


def _copy_postgresql(cursor: Any, table: Table, rows: list[dict[str, Any]], dialect: Dialect) -> None:
    """The rows in COPY's text format, made column by column and sent in one write (the
    driver's own row formatting costs a Python call per row)."""
    names = tuple(rows[0])
    columns = [_copy_column(values) for values in _columns(rows, names, _converters(table, names, dialect))]
    with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        copy.write("\n".join(map("\t".join, zip(*columns))) + "\n")


def _copy_column(values: list[Any]) -> list[str]:
    """A column's values as COPY's text format has them: NULL as ``\\N``; text with a backslash,
    newline, carriage return or tab escaped; timestamps and dates in ISO form; bytes in hex; a
    number as Python writes it (an object repeated one after the other is made once)."""
    text: list[str] = []
    last, done = _NOTHING, ""
    for value in values:
        if value is last:
            text.append(done)
            continue
        if value is None:
            done = "\\N"
        elif isinstance(value, str):
            special = "\\" in value or "\n" in value or "\r" in value or "\t" in value
            done = _copy_escaped(value) if special else value
        elif isinstance(value, (datetime, date)):
            done = value.isoformat()
        elif isinstance(value, bytes):
            done = "\\\\x" + value.hex()
        else:
            done = str(value)  # int, bool (True), Decimal, float
        last = value
        text.append(done)
    return text


def _copy_escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


#: What a column's values go through (None: nothing) and whether a repeated object is converted
#: once (timestamps).
Converter = tuple[Callable[[Any], Any] | None, bool]
_CONVERTERS: dict[tuple[str, tuple[str, ...], str], list[Converter]] = {}
_NOTHING = object()


def _converters(table: Table, names: tuple[str, ...], dialect: Dialect) -> list[Converter]:
    """For each column, what SQLAlchemy would do to a value before the driver sees it (JSON to
    its text, a TypeDecorator's own conversion such as UTC timestamps, SQLite's timestamp
    format), worked out once."""
    key = (table.name, names, dialect.name)
    found = _CONVERTERS.get(key)
    if found is None:
        found = _CONVERTERS[key] = [_converter(table.c[name].type, dialect) for name in names]
    return found


def _converter(kind: Any, dialect: Dialect) -> Converter:
    if isinstance(kind.dialect_impl(dialect), JSON):
        if dialect.name == "postgresql":  # COPY's text format
            return _json_or_null, False
        return json_text.dumps, False  # the text SQLite stores (None as JSON's null, as SQLAlchemy writes it)
    return kind.dialect_impl(dialect).bind_processor(dialect), _is_time(kind)


def _json_or_null(value: Any) -> str | None:
    return None if value is None else json_text.dumps(value)


def _is_time(kind: Any) -> bool:
    return isinstance(getattr(kind, "impl", kind), DateTime)  # a TypeDecorator's impl, or the type
