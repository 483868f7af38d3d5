"""Fan-out on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Engine, select

from voiceplatform.campaigns.fanout import fan_out
from voiceplatform.db import session_factory
from voiceplatform.models import (
    Account, Campaign, CampaignContact, CampaignContactStatus, Contact, ContactList, ContactListMember, DoNotCall,
    FlowVersion,
)

NOW = datetime(2026, 11, 26, 13, 0, tzinfo=timezone.utc)  # 08:00 in New York, 13:00 in London


def test_fan_out_queues_by_zone_and_sets_aside_blocked_numbers(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as session:
        account = Account(name="fanout")
        session.add(account)
        session.flush()
        people = [Contact(account_id=account.id, phone="+12025550101", timezone="America/New_York"),
                  Contact(account_id=account.id, phone="+442079460958", timezone="Europe/London"),
                  Contact(account_id=account.id, phone="+12025550102", timezone="America/New_York"),
                  Contact(account_id=account.id, phone="+12025550103", timezone="America/New_York", opted_out_at=NOW)]
        contact_list = ContactList(account_id=account.id, name="all")
        flow = FlowVersion(account_id=account.id, name="f", version=1, definition="x", checksum="x")
        session.add_all([*people, contact_list, flow, DoNotCall(account_id=account.id, phone="+12025550102")])
        session.flush()
        session.add_all([ContactListMember(list_id=contact_list.id, contact_id=p.id) for p in people])
        campaign = Campaign(account_id=account.id, name="c", flow_version_id=flow.id, contact_list_id=contact_list.id,
                            settings={"window": {"start": "09:00", "end": "20:00"}})
        session.add(campaign)
        session.flush()
        campaign_id, ids = campaign.id, [p.id for p in people]
    report = fan_out(sessions, campaign_id, NOW)
    assert (report.added, report.skipped_do_not_call, report.skipped_opted_out) == (2, 1, 1)
    assert fan_out(sessions, campaign_id, NOW).already_queued == 4  # running it twice adds nothing
    with sessions() as session:
        rows = {row.contact_id: row for row in session.scalars(select(CampaignContact).where(CampaignContact.campaign_id == campaign_id))}
    assert rows[ids[0]].next_attempt_at == datetime(2026, 11, 26, 14, 0, tzinfo=timezone.utc)  # 09:00 New York
    assert rows[ids[1]].next_attempt_at == NOW  # London is already open
    assert (rows[ids[2]].status, rows[ids[2]].last_outcome) == (CampaignContactStatus.SKIPPED, "do-not-call")
    assert (rows[ids[3]].status, rows[ids[3]].last_outcome) == (CampaignContactStatus.SKIPPED, "opted-out")
