"""Fan-out: put a campaign's contacts in the queue, each due at its calling (or sending) window's
next opening in its own time zone. Numbers on the do-not-call list and contacts opted out of the
campaign's channel (or of everything) are set aside (``skipped``) here, and checked again at the
moment of dialling or sending. Running it twice adds nothing twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.campaigns.settings import CampaignSettings
from voiceplatform.campaigns.windows import next_opening
from voiceplatform.contacts.opt_out import accepts
from voiceplatform.models import Campaign, CampaignContact, CampaignContactStatus, Contact, ContactListMember, DoNotCall
from voiceplatform.sessions.writes import insert_later, table_of

CHUNK = 5000
_QUEUE = table_of(CampaignContact)


@dataclass
class FanOutReport:
    added: int = 0
    skipped_do_not_call: int = 0
    skipped_opted_out: int = 0
    already_queued: int = 0


def fan_out(sessions: sessionmaker[Session], campaign_id: int, now: datetime) -> FanOutReport:
    report = FanOutReport()
    with sessions.begin() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None or campaign.contact_list_id is None:
            raise ValueError(f"campaign {campaign_id} has no contact list")
        window = CampaignSettings.model_validate(campaign.settings or {}).window.calling_window()
        blocked = set(session.scalars(select(DoNotCall.phone).where(DoNotCall.account_id == campaign.account_id)))
        queued = set(session.scalars(select(CampaignContact.contact_id).where(CampaignContact.campaign_id == campaign_id)))
        members = session.execute(
            select(Contact.id, Contact.phone, Contact.timezone, Contact.opted_out_at, Contact.channels)
            .join(ContactListMember, ContactListMember.contact_id == Contact.id)
            .where(ContactListMember.list_id == campaign.contact_list_id, Contact.account_id == campaign.account_id)
            .order_by(Contact.id)
        ).yield_per(CHUNK)
        openings: dict[str, datetime] = {}  # one computation per time zone
        rows: list[dict[str, Any]] = []
        for contact_id, phone, zone_name, opted_out_at, channels in members:
            if contact_id in queued:
                report.already_queued += 1
                continue
            status, outcome = CampaignContactStatus.PENDING, None
            if phone in blocked:
                status, outcome = CampaignContactStatus.SKIPPED, "do-not-call"
                report.skipped_do_not_call += 1
            elif not accepts(channels, opted_out_at, campaign.channel):
                status, outcome = CampaignContactStatus.SKIPPED, "opted-out"
                report.skipped_opted_out += 1
            else:
                report.added += 1
            due = openings.get(zone_name)
            if due is None:
                due = openings[zone_name] = next_opening(window, now, zone_name)
            rows.append({"campaign_id": campaign_id, "contact_id": contact_id, "status": status,
                         "attempts": 0, "next_attempt_at": due if status is CampaignContactStatus.PENDING else None,
                         "final_at": now if status is CampaignContactStatus.SKIPPED else None,
                         "last_outcome": outcome})
            if len(rows) >= CHUNK:
                insert_later(session, _QUEUE, rows)  # now: one COPY on PostgreSQL, an executemany on SQLite
                rows = []
        if rows:
            insert_later(session, _QUEUE, rows)
    return report
