"""Many rows of one table updated by key in one statement: PostgreSQL's ``UPDATE ... FROM
unnest(...)``, each column sent as one binary array, and SQLite's ``executemany`` (its own loop,
no round trips). An ORM flush of the same rows is a statement per row (psycopg's pipeline still
runs each one: parse, plan, execute), and a Python object's worth of bookkeeping per row.

- :func:`update_by_key`: the columns of a batch, as lists.
- :func:`flush_changed`: the changed attributes of a batch of ORM objects of one class (say a
  bridge's batch of receipts settling their campaign attempts), grouped by which attributes
  changed, written so and then marked clean: the ORM's own flush has nothing left of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Dialect, Table, bindparam, inspect, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value


def update_by_key(db: Session, table: Table, keys: Sequence[str], columns: dict[str, list[Any]]) -> int:
    """``UPDATE table SET <columns> WHERE <keys>`` for each row: ``columns`` holds the key
    columns and the written ones, a list of values each, in the rows' order. Gives the rows
    changed."""
    written = [name for name in columns if name not in keys]
    count = len(columns[keys[0]])
    if not written or not count:
        return 0
    dialect = db.get_bind().dialect
    converted = {name: _bound(table, name, values, dialect) for name, values in columns.items()}
    if dialect.name == "postgresql":
        names = [*keys, *written]
        types = {name: table.c[name].type.compile(dialect=dialect) for name in names}
        statement = (f"UPDATE {table.name} AS t SET " + ", ".join(f"{name} = u.{name}" for name in written)
                     + " FROM unnest(" + ", ".join(f"%b::{types[name]}[]" for name in names)
                     + f") AS u({', '.join(names)}) WHERE " + " AND ".join(f"t.{key} = u.{key}" for key in keys))
        cursor = db.connection().connection.cursor()  # the DBAPI's own: each column goes as one array
        cursor.execute(statement, [converted[name] for name in names])
        return int(cursor.rowcount)
    with db.no_autoflush:  # the ORM must not write the same rows first, one by one
        result = db.execute(
            update(table).where(*(table.c[key] == bindparam(f"b_{key}") for key in keys))
            .values({name: bindparam(f"b_{name}") for name in written}),
            [{f"b_{name}": columns[name][n] for name in columns} for n in range(count)])
    return int(getattr(result, "rowcount", 0) or 0)


def flush_changed(db: Session, objects: Iterable[Any]) -> None:
    """Write the changed attributes of ``objects`` (mapped instances of one class, persistent,
    keyed by their primary key) in one statement per set of changed attributes, then mark them
    clean (see the module's docstring). Objects with nothing changed are left alone."""
    groups: dict[tuple[str, ...], list[Any]] = defaultdict(list)
    table: Table | None = None
    keys: tuple[str, ...] = ()
    for item in objects:
        state = inspect(item)
        if not state.modified or not state.persistent:
            continue
        mapper = state.mapper
        if table is None:
            table = mapper.local_table
            keys = tuple(column.key for column in mapper.primary_key)
        # the attributes set since the load, with their loaded values (state.attrs would build an
        # AttributeState per attribute, kept on the state: a reference cycle per object, which the
        # processes' rare full collections leave for long)
        changed = tuple(sorted(key for key, before in state.committed_state.items() if before is not state.dict.get(key)))
        if changed:
            groups[changed].append(item)
    if table is None:
        return
    for changed, items in groups.items():
        values = {name: [getattr(item, name) for item in items] for name in (*keys, *changed)}
        update_by_key(db, table, keys, values)
        for item in items:
            for name in changed:
                set_committed_value(item, name, getattr(item, name))


def _bound(table: Table, name: str, values: list[Any], dialect: Dialect) -> list[Any]:
    """The values as SQLAlchemy would bind them (an enum's value, a TypeDecorator's conversion)."""
    process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
    return values if process is None else [process(value) for value in values]
