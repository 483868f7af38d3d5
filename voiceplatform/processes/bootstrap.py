"""The embedded defaults' first start: a ``default`` account with some credit and an admin token,
written to ``.state/api-token`` (mode 0600) so the command line and the demo can call the API.
A later start reuses the token while it still works."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.accounts import DEFAULT_ACCOUNT, account_named
from voiceplatform.models import Account, ApiToken, Role
from voiceplatform.models.accounts import hash_token
from voiceplatform.settings import paths

TOKEN_FILE = paths().token_file  # the instance folder's .state/api-token (voiceplatform.settings)
STARTING_BALANCE = Decimal("100")


def ensure_admin_token(sessions: sessionmaker[Session], path: Path = TOKEN_FILE, account: str = DEFAULT_ACCOUNT) -> str:
    if path.exists():
        secret = path.read_text().strip()
        with sessions() as session:
            row = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(secret))).first()
            if row is not None and row.usable():
                return secret
    with sessions.begin() as session:
        owner = account_named(session, account, create=False)
        if owner is None:
            owner = Account(name=account, balance=STARTING_BALANCE)
            session.add(owner)
            session.flush()
        row, secret = ApiToken.issue(owner, Role.ADMIN, name="embedded admin (.state/api-token)")
        session.add(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret + "\n")
    return secret


DEMO_SUPERVISOR = "supervisor@demo.voiceplatform.local"


def demo_supervisor(sessions: sessionmaker[Session], account: str = DEFAULT_ACCOUNT) -> tuple[str, str]:
    """A supervisor of the default account for the demo, with a fresh password each run (printed
    by the demo, never stored in clear). Returns (e-mail, password)."""
    import secrets

    from voiceplatform.models import Role, User
    from voiceplatform.web.people import create_user, hash_password, user_by_email

    password = secrets.token_urlsafe(12)
    with sessions.begin() as session:
        owner = account_named(session, account)
        assert owner is not None
        user: User | None = user_by_email(session, DEMO_SUPERVISOR)
        if user is None:
            create_user(session, DEMO_SUPERVISOR, Role.SUPERVISOR, owner, password, name="Demo supervisor")
        else:
            user.password_hash, user.active = hash_password(password), True
    return DEMO_SUPERVISOR, password
