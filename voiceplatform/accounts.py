"""Finding accounts by name, for the command line and the embedded defaults."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceplatform.models import Account

DEFAULT_ACCOUNT = "default"


def account_named(session: Session, name: str = DEFAULT_ACCOUNT, *, create: bool = True) -> Account | None:
    account = session.scalars(select(Account).where(Account.name == name).order_by(Account.id)).first()
    if account is None and create:
        account = Account(name=name)
        session.add(account)
        session.flush()
    return account
