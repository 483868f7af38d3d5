"""A campaign's clicks: the summary (clicks, unique clickers, click-through rate, per link) and
the per-recipient export. Indexed aggregate queries; the export is streamed.

**Recipients reached**, the rate's denominator, are the campaign's contacts that were sent
something: on SMS and WhatsApp a contact with an attempt whose outcome is ``sent`` or
``delivered`` (not one whose every attempt failed, was undelivered, expired or rejected); on
voice a contact with an answered call (links reach a caller in the messages the call sends).
**Click-through rate** = unique clickers / recipients reached (None while nobody was reached).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Unpack

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from voiceplatform.campaigns.message_outcomes import DELIVERED, SENT
from voiceplatform.models import Call, Campaign, CampaignContact, CampaignMessage, Contact
from voiceplatform.models.engagement import EngagementEvent, EngagementKind
from voiceplatform.safety.spreadsheet_cells import CsvLines

ANSWERED = "answered"  # voiceplatform.calls.outcomes.CallOutcome.ANSWERED
EXPORT_COLUMNS = ("recipient", "phone", "sent_at", "clicks", "first_click_at", "last_click_at")
BATCH = 1000


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def reached_by_contact(campaign: Campaign) -> Select[Unpack[tuple[Any, ...]]]:
    """Each reached campaign contact with when it was first reached (see the module docstring)."""
    if campaign.channel == "voice":
        return (select(Call.campaign_contact_id.label("entry_id"), func.min(Call.answered_at).label("sent_at"))
                .where(Call.campaign_id == campaign.id, Call.outcome == ANSWERED, Call.campaign_contact_id.is_not(None))
                .group_by(Call.campaign_contact_id))
    return (select(CampaignMessage.campaign_contact_id.label("entry_id"), func.min(CampaignMessage.sent_at).label("sent_at"))
            .where(CampaignMessage.campaign_id == campaign.id, CampaignMessage.outcome.in_((SENT, DELIVERED)))
            .group_by(CampaignMessage.campaign_contact_id))


def _clicks(campaign_id: int) -> Any:
    return select(EngagementEvent).where(EngagementEvent.campaign_id == campaign_id,
                                         EngagementEvent.kind == EngagementKind.CLICK.value)


def click_summary(db: Session, campaign: Campaign) -> dict[str, Any]:
    clicks = _clicks(campaign.id).subquery()
    total, clickers, first, last = db.execute(select(
        func.count(), func.count(func.distinct(clicks.c.campaign_contact_id)), func.min(clicks.c.at),
        func.max(clicks.c.at)).select_from(clicks)).one()
    reached = db.scalar(select(func.count()).select_from(reached_by_contact(campaign).subquery())) or 0
    by_link = [{"link": link or None, "clicks": count, "unique_clickers": unique} for link, count, unique in db.execute(
        select(clicks.c.link, func.count(), func.count(func.distinct(clicks.c.campaign_contact_id)))
        .group_by(clicks.c.link).order_by(clicks.c.link))]
    return {"campaign_id": campaign.id, "channel": campaign.channel, "clicks": total, "unique_clickers": clickers,
            "recipients_reached": reached, "click_through_rate": round(clickers / reached, 4) if reached else None,
            "first_click_at": _stamp(first), "last_click_at": _stamp(last), "by_link": by_link}


def recipient_rows(db: Session, campaign: Campaign) -> Iterator[tuple[Any, ...]]:
    """One row per campaign contact, in :data:`EXPORT_COLUMNS` order (``recipient`` is the
    contact's id; ``sent_at`` empty for a contact not reached), read :data:`BATCH` at a time."""
    reached = reached_by_contact(campaign).subquery()
    clicks = _clicks(campaign.id).subquery()
    per_contact = (select(clicks.c.campaign_contact_id.label("entry_id"), func.count().label("clicks"),
                          func.min(clicks.c.at).label("first"), func.max(clicks.c.at).label("last"))
                   .group_by(clicks.c.campaign_contact_id).subquery())
    query = (select(CampaignContact.contact_id, Contact.phone, reached.c.sent_at, per_contact.c.clicks,
                    per_contact.c.first, per_contact.c.last)
             .join(Contact, Contact.id == CampaignContact.contact_id)
             .outerjoin(reached, reached.c.entry_id == CampaignContact.id)
             .outerjoin(per_contact, per_contact.c.entry_id == CampaignContact.id)
             .where(CampaignContact.campaign_id == campaign.id).order_by(CampaignContact.id))
    for contact_id, phone, sent_at, count, first, last in db.execute(query.execution_options(yield_per=BATCH)):
        yield contact_id, phone, _stamp(sent_at), count or 0, _stamp(first), _stamp(last)


def recipient_lines(db: Session, campaign: Campaign) -> Iterator[str]:
    """:func:`recipient_rows` as CSV lines, the header first (cells made safe for spreadsheets)."""
    line = CsvLines().line
    yield line(EXPORT_COLUMNS)
    for row in recipient_rows(db, campaign):
        yield line(row)
