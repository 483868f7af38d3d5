"""Seeding a campaign for dialler tests: an account with credit, a published flow, contacts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.models import (
    Account, Campaign, CampaignStatus, Contact, ContactList, ContactListMember, FlowStatus, FlowVersion,
)
from voiceplatform.models.base import utcnow
from voiceplatform.settings import paths

FLOW = paths().flows_dir / "payment_reminder.yaml"
ALWAYS_OPEN = {"start": "00:00", "end": "24:00"}


@dataclass
class Seeded:
    account_id: int
    campaign_id: int
    contact_ids: list[int]


def seed_campaign(sessions: sessionmaker[Session], phones: list[str], *, settings: dict[str, Any] | None = None,
                  balance: str = "100", status: CampaignStatus = CampaignStatus.RUNNING, name: str = "dialer",
                  timezone: str = "UTC", attributes: dict[str, Any] | None = None) -> Seeded:
    """An account, its published payment-reminder flow, a contact per phone (``attributes``
    as every contact's fields, else a name) and a campaign calling them."""
    definition = FLOW.read_text()
    with sessions.begin() as session:
        account = Account(name=name, balance=Decimal(balance))
        session.add(account)
        session.flush()
        flow = FlowVersion(account_id=account.id, name="payment_reminder", version=1, definition=definition,
                           checksum=FlowVersion.checksum_of(definition), status=FlowStatus.PUBLISHED, published_at=utcnow())
        people = [Contact(account_id=account.id, phone=phone, timezone=timezone, attributes=dict(attributes) if attributes else {"name": f"Contact {i}"})
                  for i, phone in enumerate(phones)]
        contact_list = ContactList(account_id=account.id, name="list")
        session.add_all([flow, *people, contact_list])
        session.flush()
        session.add_all([ContactListMember(list_id=contact_list.id, contact_id=p.id) for p in people])
        campaign = Campaign(account_id=account.id, name=name, flow_version_id=flow.id, contact_list_id=contact_list.id,
                            status=status, started_at=utcnow() if status == CampaignStatus.RUNNING else None,
                            settings={"window": ALWAYS_OPEN, **(settings or {})})
        session.add(campaign)
        session.flush()
        return Seeded(account.id, campaign.id, [p.id for p in people])
