"""Strings checked against their ``String(n)`` columns, for every model, in one place.

SQLite ignores the length of a ``VARCHAR(n)`` and keeps a 10 MB token name; PostgreSQL refuses
it with ``StringDataRightTruncation`` in the middle of the transaction, and the client sees a 500.
:func:`install` puts an attribute listener on every ``String(n)`` column of every mapped model:
assigning a longer string (in a constructor or later) raises
:class:`~voiceplatform.exceptions.ValueTooLongError` at once, naming the table and the column,
before any SQL is sent. The API translates it to a 422 naming the field
(voiceplatform.api.errors), so every route, and every later edge that writes through the ORM
(the SMS and WhatsApp bridges), inherits the check without a line of its own.

Bulk writes that bypass the ORM (``session.execute(insert(Model), rows)``, as contact imports
do) call :func:`check_row` on each row dictionary.

Enum columns (stored as ``VARCHAR(20)``) are skipped: their values are checked by their enum.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Enum as SqlEnum
from sqlalchemy import String, Table, event
from sqlalchemy.orm import DeclarativeBase

from voiceplatform.exceptions import ValueTooLongError

_INSTALLED: set[type] = set()


def column_lengths(table: Table) -> dict[str, int]:
    """``{column key: length}`` of the table's length-limited string columns."""
    return {column.key: column.type.length for column in table.columns
            if isinstance(column.type, String) and not isinstance(column.type, SqlEnum) and column.type.length}


def check_value(table: str, column: str, max_length: int, value: Any) -> None:
    if isinstance(value, str) and len(value) > max_length:
        raise ValueTooLongError(table, column, max_length, len(value))


def check_row(table: Table, row: Mapping[str, Any]) -> None:
    """For core inserts and updates: every string of ``row`` fits its column."""
    for key, length in column_lengths(table).items():
        if key in row:
            check_value(table.name, key, length, row[key])


def install(base: type[DeclarativeBase]) -> None:
    """Listen on every ``String(n)`` attribute of every model mapped on ``base`` (idempotent)."""
    base.registry.configure()
    for mapper in base.registry.mappers:
        cls = mapper.class_
        if cls in _INSTALLED:
            continue
        _INSTALLED.add(cls)
        table = mapper.local_table
        if not isinstance(table, Table):  # a mapped join or subquery: no table of its own
            continue
        for prop in mapper.column_attrs:
            column = prop.columns[0]
            kind = column.type
            if not isinstance(kind, String) or isinstance(kind, SqlEnum) or not kind.length:
                continue
            event.listen(getattr(cls, prop.key), "set", _listener(str(table.name), column.key, kind.length))


def _listener(table: str, column: str, max_length: int) -> Any:
    def on_set(target: Any, value: Any, oldvalue: Any, initiator: Any) -> None:
        check_value(table, column, max_length, value)

    return on_set
