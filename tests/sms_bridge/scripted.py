"""A submitter for the sender's tests that needs no SMSC: each destination answers from a script
(an answer, or an exception raised as the ESME would), and every request is recorded."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.channels.contract import Delivery
from voiceplatform.flow.outputs import Send
from voiceplatform.models import Account

from sms_bridge.driver import SmsChannel
from sms_bridge.esme import ESME_ROK, SubmitAnswer, SubmitRequest

Step = SubmitAnswer | Exception


class ScriptedSubmitter:
    def __init__(self, scripts: dict[str, Iterable[Step]] | None = None) -> None:
        self.scripts = {destination: list(steps) for destination, steps in (scripts or {}).items()}
        self.requests: list[SubmitRequest] = []
        self.by_destination: dict[str, list[SubmitRequest]] = defaultdict(list)
        self._ids = itertools.count(1)

    def submit(self, request: SubmitRequest) -> SubmitAnswer:
        self.requests.append(request)
        destination = "+" + request.destination.address
        self.by_destination[destination].append(request)
        steps = self.scripts.get(destination)
        step: Step = steps.pop(0) if steps else self.accept()
        if isinstance(step, Exception):
            raise step
        return step

    def accept(self) -> SubmitAnswer:
        return SubmitAnswer(ESME_ROK, f"smsc-{next(self._ids):06d}")


def account(sessions: sessionmaker[Session], name: str) -> int:
    with sessions.begin() as db:
        row = Account(name=name, balance=Decimal("10"))
        db.add(row)
        db.flush()
        return row.id


def queue(sessions: sessionmaker[Session], account_id: int, texts: dict[str, str], *, sender: str | None = "+12025559000",
          driver: SmsChannel | None = None, session_id: str | None = None) -> None:
    """The driver queues one message per destination -> text, in one committed transaction."""
    driver = driver or SmsChannel()
    with sessions.begin() as db:
        outputs = tuple(Send("sms", text, to=destination) for destination, text in texts.items())
        driver.deliver(db, Delivery(session_id, account_id, next(iter(texts)), sender, "sms", outputs))
