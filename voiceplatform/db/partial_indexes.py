"""Conditions that match a partial index's WHERE, written so that the database can use the index.

A partial index (``ix_sms_messages_queued``: ``WHERE send_state = 'queued'``, and the
WhatsApp outbox's) serves a query only when the query's own text implies the index's predicate.
``send_state = :state`` does not: PostgreSQL uses the index only in a plan made for that one
value, never in the generic plan it caches for a prepared statement (psycopg prepares a statement
on its fifth execution), so the sender's claim of queued messages became a scan of the whole
outbox, its cost growing with every message ever sent. (SQLite plans with the values bound, and
an ``IN`` list of them needs literals there too: whatsapp_bridge.outbox's UNSENT_STATES.)
:func:`inline` puts the value into the statement's text (SQLAlchemy still caches the compiled
statement).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, bindparam


def inline(value: Any) -> BindParameter[Any]:
    """``value`` written into the SQL as a literal, not sent as a parameter; a tuple is a list of
    them, for ``column.in_(inline((a, b)))``."""
    return bindparam(None, value, expanding=isinstance(value, tuple), literal_execute=True)
