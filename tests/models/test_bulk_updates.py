"""voiceplatform.db.bulk_updates on SQLite and PostgreSQL: rows updated by key in one statement,
and a batch of ORM objects' changes written grouped by what changed, then clean (the ORM's own
flush writes nothing more of them)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, event, select

from voiceplatform.db import session_factory
from voiceplatform.db.bulk_updates import flush_changed, update_by_key
from voiceplatform.models import (Account, Campaign, CampaignContact, CampaignContactStatus, Contact, FlowVersion)
from voiceplatform.models.base import utcnow


def _contacts(engine: Engine, name: str, count: int) -> list[int]:
    with session_factory(engine).begin() as db:
        owner = Account(name=name)
        db.add(owner)
        db.flush()
        flow = FlowVersion(account_id=owner.id, name=name, version=1, definition="spec_version: 1", checksum="0" * 64)
        db.add(flow)
        db.flush()
        campaign = Campaign(account_id=owner.id, name=name, flow_version_id=flow.id, channel="sms")
        db.add(campaign)
        db.flush()
        people = [Contact(account_id=owner.id, phone=f"+1202555{n:04d}") for n in range(count)]
        db.add_all(people)
        db.flush()
        entries = [CampaignContact(campaign_id=campaign.id, contact_id=person.id) for person in people]
        db.add_all(entries)
        db.flush()
        return [entry.id for entry in entries]


def _statements(engine: Engine) -> tuple[list[str], Any]:
    seen: list[str] = []

    def keep(_c: Any, _cur: Any, statement: str, _p: Any, _ctx: Any, _many: bool) -> None:
        if "campaign_contacts" in statement and statement.lstrip().upper().startswith("UPDATE"):
            seen.append(statement)

    return seen, keep


def test_update_by_key_writes_each_row_its_own_values(engine: Engine) -> None:
    ids = _contacts(engine, "bulk-by-key", 3)
    later = utcnow() + timedelta(hours=1)
    sessions = session_factory(engine)
    with sessions.begin() as db:
        changed = update_by_key(db, CampaignContact.__table__, ("id",), {  # type: ignore[arg-type]
            "id": ids, "attempts": [1, 2, 3], "last_outcome": ["a", None, "c"],
            "status": [CampaignContactStatus.DONE, CampaignContactStatus.PENDING, CampaignContactStatus.DONE],
            "next_attempt_at": [None, later, None]})
    assert changed in (3, -1)  # SQLite's executemany may not count
    with sessions() as db:
        rows = {row.id: row for row in db.scalars(select(CampaignContact).where(CampaignContact.id.in_(ids)))}
    assert [(rows[i].attempts, rows[i].last_outcome, rows[i].status) for i in ids] == [
        (1, "a", CampaignContactStatus.DONE), (2, None, CampaignContactStatus.PENDING), (3, "c", CampaignContactStatus.DONE)]
    assert rows[ids[1]].next_attempt_at == later and rows[ids[0]].next_attempt_at is None


def test_flush_changed_groups_by_what_changed_and_leaves_the_objects_clean(engine: Engine) -> None:
    ids = _contacts(engine, "bulk-orm", 5)
    sessions = session_factory(engine)
    seen, keep = _statements(engine)
    with sessions.begin() as db:
        entries = list(db.scalars(select(CampaignContact).where(CampaignContact.id.in_(ids)).order_by(CampaignContact.id)))
        for entry in entries[:3]:
            entry.last_outcome = f"outcome-{entry.id}"
        entries[3].attempts, entries[3].status = 7, CampaignContactStatus.SKIPPED
        event.listen(engine, "before_cursor_execute", keep)
        try:
            flush_changed(db, entries)
            db.flush()  # nothing left for the ORM to write
        finally:
            event.remove(engine, "before_cursor_execute", keep)
    # two sets of changed columns: two statements (on SQLite through SQLAlchemy, seen here; on
    # PostgreSQL through the driver's own cursor, not seen), and none from the ORM's flush
    assert len(seen) == (2 if engine.dialect.name == "sqlite" else 0), seen
    with sessions() as db:
        rows = {row.id: row for row in db.scalars(select(CampaignContact).where(CampaignContact.id.in_(ids)))}
    assert [rows[i].last_outcome for i in ids[:3]] == [f"outcome-{i}" for i in ids[:3]]
    assert (rows[ids[3]].attempts, rows[ids[3]].status) == (7, CampaignContactStatus.SKIPPED)
    assert (rows[ids[4]].attempts, rows[ids[4]].last_outcome) == (0, None)
