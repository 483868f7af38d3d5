"""People who sign in to the web UI (not API tokens): password hashes and who may review.

Passwords are hashed with werkzeug.security (scrypt by default). A supervisor or an admin may use
the review UI; only an admin may read the audit log. Either sees their own account and, for a
master account, its sub-accounts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from voiceplatform.models import Account, Role, User

REVIEWERS = frozenset({Role.ADMIN, Role.SUPERVISOR})  # may use the review UI
AUDITORS = frozenset({Role.ADMIN})  # may read the audit log
MIN_PASSWORD = 8
# Checked against when the e-mail is unknown, so that a wrong address costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password of anyone")


class UserError(ValueError):
    """A user could not be created as asked (bad e-mail, short password, taken address)."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(func.lower(User.email) == normalise_email(email))).first()


def check_login(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else None."""
    user = user_by_email(session, email)
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def check_password(user: User, password: str) -> bool:
    return bool(user.password_hash) and check_password_hash(user.password_hash or "", password)


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password needs at least {MIN_PASSWORD} characters")


def set_password(session: Session, user: User, password: str, now: datetime) -> int:
    """Give ``user`` a new password and end every session they have (wherever a stolen or
    forgotten cookie may be); how many sessions were live."""
    from voiceplatform.web.session_store import revoke_all

    check_new_password(password)
    user.password_hash = hash_password(password)
    return revoke_all(session, user.id, now)


def create_user(session: Session, email: str, role: Role, account: Account, password: str, name: str = "") -> User:
    email = normalise_email(email)
    if "@" not in email or len(email) > 320:
        raise UserError(f"{email!r} is not an e-mail address")
    check_new_password(password)
    if user_by_email(session, email) is not None:
        raise UserError(f"a user with e-mail {email} exists already")
    user = User(email=email, role=role, account=account, password_hash=hash_password(password), name=name, active=True)
    session.add(user)
    session.flush()
    return user
