"""What bench/sms.py puts in the database before it measures: SMS queued as the sessions queue
them, messages already submitted (for a flood of receipts), an account with a number on ``sms``
and a published flow, sessions waiting on it, and a personalised campaign's contacts.

Every row is written the platform's own way (the ``sms`` driver, the runner, the contact
importer) or, where only the end state matters (messages already submitted), in bulk."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Sequence

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from sms_bridge.config import BridgeSettings
from sms_bridge.driver import SmsChannel
from voiceplatform.channels.contract import Delivery
from voiceplatform.contacts.importer import import_contacts
from voiceplatform.flow.outputs import Send
from voiceplatform.models import Account, Campaign, CampaignStatus, FlowStatus, FlowVersion, Number, NumberChannel
from voiceplatform.models.base import utcnow
from voiceplatform.models.sms import SUBMITTED, SmsMessage, SmsPart
from voiceplatform.sessions import store

CHUNK = 1000


@dataclass(frozen=True)
class SmsAccount:
    account_id: int
    version_id: int
    number_id: int
    our_address: str


def account(sessions: sessionmaker[Session], name: str, balance: str = "1000000") -> int:
    with sessions.begin() as db:
        owner = Account(name=f"{name}-{time.time_ns()}", balance=Decimal(balance))
        db.add(owner)
        db.flush()
        return owner.id


def sms_account(sessions: sessionmaker[Session], flow_yaml: str, flow_name: str, our_address: str,
                name: str) -> SmsAccount:
    """An account with ``flow_yaml`` published and ``our_address`` as its number on ``sms``."""
    account_id = account(sessions, name)
    with sessions.begin() as db:
        version = FlowVersion(account_id=account_id, name=flow_name, version=1, status=FlowStatus.PUBLISHED,
                              definition=flow_yaml, checksum=FlowVersion.checksum_of(flow_yaml), published_at=utcnow())
        number = Number(account_id=account_id, number=our_address, kind="phone")
        db.add_all([version, number])
        db.flush()
        db.add(NumberChannel(number_id=number.id, channel="sms"))
        return SmsAccount(account_id, version.id, number.id, our_address)


def queue_messages(sessions: sessionmaker[Session], account_id: int, destinations: Sequence[str], sender: str,
                   text: str) -> None:
    """One SMS per destination, queued by the ``sms`` driver as a session step queues it, in
    one transaction (so the sender sees them all at once)."""
    driver = SmsChannel(BridgeSettings())
    with sessions.begin() as db:
        for first in range(0, len(destinations), CHUNK):
            with store.batched(db):
                for n in range(first, min(len(destinations), first + CHUNK)):
                    driver.deliver(db, Delivery(None, account_id, destinations[n], sender, "sms",
                                                (Send("sms", f"{text} #{n}"),)))


def seed_submitted(sessions: sessionmaker[Session], account_id: int, destinations: Sequence[str], sender: str,
                   submit_ids: Sequence[str]) -> None:
    """Messages already submitted and accepted, one part each carrying ``submit_ids[i]``: what a
    flood of receipts is about."""
    now = utcnow()
    with sessions.begin() as db:
        for first in range(0, len(submit_ids), 5000):
            chunk = range(first, min(len(submit_ids), first + 5000))
            rows: list[dict[str, Any]] = [
                {"account_id": account_id, "session_id": None, "sender": sender, "source_ton": 1, "source_npi": 1,
                 "destination": destinations[n % len(destinations)], "text": f"receipt bench #{n}",
                 "encoding": "gsm7", "parts": 1, "cost": Decimal("0.0075"), "send_state": SUBMITTED,
                 "status": "accepted", "attempts": 1, "unconfirmed": 0, "created_at": now, "submitted_at": now,
                 "status_at": now} for n in chunk]
            ids = list(db.scalars(insert(SmsMessage).returning(SmsMessage.id, sort_by_parameter_order=True), rows))
            db.execute(insert(SmsPart), [{"message_id": message_id, "seq": 1, "submit_id": submit_ids[n],
                                          "status": "accepted", "submitted_at": now, "status_at": now}
                                         for message_id, n in zip(ids, chunk)])


def contacts_csv(phones: Sequence[str]) -> bytes:
    """The personalised campaign's file: a phone and the columns its template reads."""
    lines = ["phone,first_name,amount,due_date"]
    lines += [f"{phone},Name{i},{i % 500}.{i % 100:02d},2025-0{1 + i % 9}-{10 + i % 18}"
              for i, phone in enumerate(phones)]
    return ("\n".join(lines) + "\n").encode()


def personalised_campaign(sessions: sessionmaker[Session], owner: SmsAccount, phones: Sequence[str],
                          settings: dict[str, Any]) -> tuple[int, float]:
    """The contacts imported from a CSV (the importer: list, attributes) and a ``channel: sms``
    campaign on them, still a draft; gives its id and the import's seconds."""
    began = time.perf_counter()
    report = import_contacts(sessions, owner.account_id, io.BytesIO(contacts_csv(phones)), "campaign.csv",
                             list_name="bench")
    imported = time.perf_counter() - began
    if report.error_count or report.list_id is None:
        raise RuntimeError(f"the campaign's contacts were not all imported: {report.to_dict()}")
    with sessions.begin() as db:
        campaign = Campaign(account_id=owner.account_id, name="bench-sms", flow_version_id=owner.version_id,
                            contact_list_id=report.list_id, channel="sms", status=CampaignStatus.DRAFT,
                            settings=settings)
        db.add(campaign)
        db.flush()
        return campaign.id, imported
