"""One sign-in attempt from start to end, and an admin's unlock, with their audit events.

An attempt is refused unread while the e-mail or the IP address is locked out (see
``voiceplatform.web.throttle``); otherwise the password is checked (a dummy hash when the e-mail is
unknown, so a wrong address costs what a wrong password does), a failure is counted and may start
a lockout, and a success forgets the account's earlier failures. Lockouts and unlocks are written
to the audit log of the account concerned; an address or an e-mail that belongs to no account has
no audit log to go to, so it is logged (``voiceplatform.web.signin``) instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voiceplatform.models import SigninLockout, User
from voiceplatform.web import audit
from voiceplatform.web.people import check_login, normalise_email, user_by_email
from voiceplatform.web.throttle import IP, USER, ThrottlePolicy, blocking_lockout, clear, forget_failures, record_failure

log = logging.getLogger(__name__)
UNKNOWN_IP = "unknown"


@dataclass(frozen=True)
class Attempt:
    user: User | None  # the person signed in, or None (refused)
    locked_until: datetime | None = None  # set when a lockout refused the attempt (or this failure started one)


def attempt(session: Session, email: str, password: str, ip: str | None, now: datetime, policy: ThrottlePolicy) -> Attempt:
    email, address = normalise_email(email)[:320], (ip or UNKNOWN_IP)[:64]
    lockout = blocking_lockout(session, email, address, now)
    if lockout is not None:
        log.info("sign-in refused while %s %s is locked out", lockout.scope, lockout.key)
        return Attempt(None, lockout.until)
    user = check_login(session, email, password)
    if user is not None:
        forget_failures(session, email)
        return Attempt(user)
    known = user_by_email(session, email)
    if known is not None:
        audit.record(session, audit.LOGIN_FAILED, known.account_id, known.id, at=now)
    started = record_failure(session, email, address, now, policy)
    for lockout in started:
        _audit_lockout(session, lockout, known, now)
    return Attempt(None, max(lockout.until for lockout in started) if started else None)


def _audit_lockout(session: Session, lockout: SigninLockout, known: User | None, now: datetime) -> None:
    log.warning("sign-in lockout: %s %s until %s", lockout.scope, lockout.key, lockout.until.isoformat())
    if known is not None:
        audit.record(session, audit.LOCKED, known.account_id, known.id, at=now, details={
            "scope": lockout.scope, "key": lockout.key, "until": lockout.until.isoformat()})


def unlock(session: Session, scope: str, key: str, now: datetime, by: User | None) -> list[SigninLockout]:
    """Clear the lockouts of an e-mail (``scope`` "user") or an IP address (``scope`` "ip") and
    forget its failures; audited in the admin's account (or, from the command line, the account
    the e-mail belongs to)."""
    key = normalise_email(key) if scope == USER else key.strip()
    cleared = clear(session, scope, key, now, by.id if by else None)
    owner = user_by_email(session, key) if scope == USER else None
    account_id = by.account_id if by is not None else (owner.account_id if owner is not None else None)
    details = {"scope": scope, "key": key, "lockouts": len(cleared), "by": by.email if by else "command line"}
    if account_id is not None:
        audit.record(session, audit.UNLOCKED, account_id, by.id if by else None, at=now, details=details)
    log.warning("sign-in unlock: %s", details)
    return cleared


def lockouts_of_accounts(session: Session, account_ids: tuple[int, ...], now: datetime) -> list[tuple[SigninLockout, User]]:
    """The accounts' people locked out now, with their lockouts (what an admin may clear)."""
    rows = session.execute(select(SigninLockout, User).join(User, func.lower(User.email) == SigninLockout.key).where(
        SigninLockout.scope == USER, SigninLockout.cleared_at.is_(None), SigninLockout.until > now,
        User.account_id.in_(account_ids)).order_by(SigninLockout.locked_at.desc())).all()
    return [(lockout, user) for lockout, user in rows]


__all__ = ["IP", "USER", "Attempt", "attempt", "lockouts_of_accounts", "unlock"]
