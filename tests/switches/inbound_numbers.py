"""Shared set-up for the inbound-call tests (Asterisk over SIP, FreeSWITCH emulator): an account
with the satisfaction survey published, a voice number running it, an SMS-only number, a number
nobody owns, and an existing contact (Ann)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from tests.switches.lab_calls import FLOWS

EXISTING = "+12025550177"  # Ann, already a contact of the account


def new_caller() -> str:
    return f"+1202555{7000 + uuid.uuid4().int % 1000:04d}"


@dataclass(frozen=True)
class Seeded:
    account_id: int
    account: str
    numbers: dict[str, str]  # survey, sms-only, unknown
    ann_id: int


def seed(sessions: sessionmaker[Session]) -> Seeded:
    from voiceplatform.models import Account, Contact, FlowStatus, FlowVersion, Number, NumberChannel
    from voiceplatform.models.base import utcnow

    account = f"inbound-{uuid.uuid4().hex[:8]}"
    tail = uuid.uuid4().int % 1000
    numbers = {"survey": f"+1202555{6000 + tail:04d}", "sms-only": f"+1202555{8000 + tail:04d}",
               "unknown": f"+1202555{9000 + tail:04d}"}
    definition = (FLOWS / "satisfaction_survey.yaml").read_text()
    with sessions.begin() as session:
        owner = Account(name=account, balance=Decimal("10"))
        session.add(owner)
        session.flush()
        session.add(FlowVersion(account_id=owner.id, name="satisfaction_survey", version=1, status=FlowStatus.PUBLISHED,
                                definition=definition, checksum=FlowVersion.checksum_of(definition), published_at=utcnow()))
        session.add(Number(account_id=owner.id, number=numbers["survey"], flow_name="satisfaction_survey",
                           channels=[NumberChannel(channel="voice")]))
        session.add(Number(account_id=owner.id, number=numbers["sms-only"], flow_name="satisfaction_survey",
                           channels=[NumberChannel(channel="sms")]))
        ann = Contact(account_id=owner.id, phone=EXISTING, attributes={"first_name": "Ann", "ticket_id": "T-9"})
        session.add(ann)
        session.flush()
        return Seeded(owner.id, account, numbers, ann.id)


class LogLines(logging.Handler):
    """The messages logged under ``voiceplatform.switches`` while a fixture runs its calls."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def __enter__(self) -> LogLines:
        logging.getLogger("voiceplatform.switches").addHandler(self)
        return self

    def __exit__(self, *_exc: object) -> None:
        logging.getLogger("voiceplatform.switches").removeHandler(self)
