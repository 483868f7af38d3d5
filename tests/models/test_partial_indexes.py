"""The outboxes' claims and recoveries are served by their partial indexes, on SQLite and in the
generic plan PostgreSQL caches for a prepared statement (voiceplatform.db.partial_indexes): the
statements the real functions send are captured and explained. With the state sent as a
parameter, PostgreSQL's generic plan scans the table (the claim's cost then grows with every
message ever sent)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from psycopg import sql
from sqlalchemy import Engine, event, insert, text
from sqlalchemy.orm import Session

from voiceplatform.db import session_factory
from voiceplatform.models import Account
from voiceplatform.models.base import utcnow
from voiceplatform.models.sms import SmsMessage
from voiceplatform.models.whatsapp import WhatsAppMessage

from sms_bridge import outbox as sms_outbox
from sms_bridge.config import BridgeSettings
from whatsapp_bridge import outbox as whatsapp_outbox

SENT = 3000  # rows already sent: a scan of them is what the index avoids
LATER = utcnow() + timedelta(days=1)


@pytest.fixture(scope="module")
def filled(engine: Engine) -> Engine:
    """Both outboxes with SENT finished rows and a few queued and claimed ones, analysed."""
    with session_factory(engine).begin() as db:
        owner = Account(name="partial-indexes", balance=Decimal("10"))
        db.add(owner)
        db.flush()
        common = {"account_id": owner.id}
        sms = {**common, "sender": "+12025559000", "source_ton": 1, "source_npi": 1, "text": "x", "encoding": "gsm7",
               "parts": 1, "cost": Decimal("0.01")}
        db.execute(insert(SmsMessage), [{**sms, "destination": f"+1202555{n:04d}", "send_state": state}
                                        for n, state in enumerate(["submitted"] * SENT + ["queued"] * 5 + ["submitting"] * 5)])
        whatsapp = {**common, "phone_number_id": "106540352242922", "our_number": "+12025559000", "send": {}}
        db.execute(insert(WhatsAppMessage), [{**whatsapp, "recipient": f"+1202555{n:04d}", "send_state": state}
                                             for n, state in enumerate(["sent"] * SENT + ["queued"] * 5 + ["sending"] * 5)])
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    return engine


@contextmanager
def captured(engine: Engine, table: str) -> Iterator[list[tuple[str, Any]]]:
    """The statements sent to the driver that read ``table`` (SELECT or UPDATE), with their parameters."""
    found: list[tuple[str, Any]] = []

    def keep(_connection: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if f"FROM {table}" in statement and statement.lstrip().startswith(("SELECT", "UPDATE")):
            found.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def plan(engine: Engine, statement: str, parameters: Any) -> str:
    """The plan the database uses for ``statement``: SQLite's, or PostgreSQL's generic one."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        return "\n".join(str(row[-1]) for row in rows)
    names: list[str] = []

    def numbered(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    prepared = re.sub(r"%\((\w+)\)s", numbered, statement)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE probe AS {prepared}")
        values = sql.SQL(", ").join(sql.Literal(parameters[name]) for name in names)
        cursor.execute(sql.SQL("EXPLAIN EXECUTE probe({})").format(values) if names else "EXPLAIN EXECUTE probe")
        found = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("DEALLOCATE probe")
        cursor.execute("RESET plan_cache_mode")
        return found
    finally:
        raw.rollback()
        raw.close()


def explained(engine: Engine, table: str, run: Callable[[Session], Any]) -> list[str]:
    with captured(engine, table) as statements:
        with session_factory(engine)() as db:
            run(db)
            db.rollback()  # nothing is claimed for real
    assert statements, f"no statement read {table}"
    return [plan(engine, statement, parameters) for statement, parameters in statements]


def test_the_sms_claim_and_recovery_use_their_partial_indexes(filled: Engine) -> None:
    claim = explained(filled, "sms_messages", lambda db: sms_outbox.claim(db, "w1", utcnow(), 100, 30.0))
    assert "ix_sms_messages_queued" in claim[0], claim[0]
    recover = explained(filled, "sms_messages", lambda db: sms_outbox.recover(db, LATER, BridgeSettings()))
    assert "ix_sms_messages_claims" in recover[0], recover[0]


def test_the_whatsapp_claim_and_recovery_use_their_partial_indexes(filled: Engine) -> None:
    claim = explained(filled, "whatsapp_messages", lambda db: whatsapp_outbox.claim(db, "w1", utcnow(), 100, 30.0))
    assert "ix_whatsapp_messages_queued" in claim[0], claim[0]
    assert "ix_whatsapp_messages_unsent" in claim[0], claim[0]  # the earlier-unsent test of each candidate
    recover = explained(filled, "whatsapp_messages", lambda db: whatsapp_outbox.recover(db, LATER))
    assert "ix_whatsapp_messages_claims" in recover[0], recover[0]
