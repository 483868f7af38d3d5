"""PostgreSQL: a statement that looks up a batch's rows (``column = ANY(:array)``, the store's
``one_of``) is planned for its own array every time, never run from a cached generic plan.

psycopg prepares a statement on its fifth execution, and PostgreSQL then keeps the plan it made
without the parameters' values (the generic plan) when it looks no worse than the first five.
For a lookup of a batch that plan is made with no idea of the array's size, and with the table's
size as it was then: a table that was nearly empty when the process started (a new installation,
a new campaign's receipts) got a sequential scan, kept while the table grew. In a benchmark run
the bridge's read of a batch's parts took 8-13 ms, a scan of 20,000 rows, instead of a few index
look-ups. Planning these statements each time costs a fraction of a millisecond per batch, not
per row. The statements that take one row (``id = :id``) are left prepared: their generic plan is
an index look-up from the start.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event

_BATCH = "= ANY ("


def plan_batches_each_time(engine: Engine) -> None:
    """Make ``engine`` (PostgreSQL with psycopg) send batch look-ups unprepared."""

    @event.listens_for(engine, "do_execute")
    def _unprepared(cursor: Any, statement: str, parameters: Any, _context: Any) -> bool | None:
        if _BATCH not in statement:
            return None  # the dialect's own execute
        cursor.execute(statement, parameters, prepare=False)
        return True
