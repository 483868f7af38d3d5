"""The QA rubric a recording is scored against: its account's rubric items, else the master
account's (a sub-account inherits), else ``DEFAULT_RUBRIC``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceplatform.models import Account, QaRubricItem


@dataclass(frozen=True)
class RubricItem:
    key: str
    label: str
    max_score: int


DEFAULT_RUBRIC = (
    RubricItem("greeting", "Greeting and identification", 5),
    RubricItem("accuracy", "Accurate information", 5),
    RubricItem("compliance", "Compliance (disclosures, consent, do-not-call)", 5),
    RubricItem("resolution", "Resolution of the caller's need", 5),
    RubricItem("courtesy", "Courtesy and tone", 5),
)


def rubric_for(session: Session, account_id: int) -> tuple[RubricItem, ...]:
    account = session.get(Account, account_id)
    while account is not None:
        rows = session.scalars(select(QaRubricItem).where(QaRubricItem.account_id == account.id)
                               .order_by(QaRubricItem.position, QaRubricItem.id)).all()
        if rows:
            return tuple(RubricItem(row.key, row.label, row.max_score) for row in rows)
        account = account.parent
    return DEFAULT_RUBRIC
