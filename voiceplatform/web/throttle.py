"""Sign-in throttling: failed sign-ins counted per account (e-mail address) and per IP address, and
a lockout once either reaches its limit within the window.

Everything is in the database (``signin_failures``, ``signin_lockouts``), so every worker process
agrees and a restart forgets nothing. An e-mail address nobody has is counted and locked exactly
as a real one is, so neither the answer nor its timing tells whether an account exists. While a
lockout lasts, every sign-in for that e-mail (or from that address) is refused, the right
password too; an admin may clear it early (``voiceplatform users unlock``, or the web UI's
Lockouts page). The limits are ``max_signin_failures_per_user``, ``max_signin_failures_per_ip``,
``signin_failure_window_seconds`` and ``signin_lockout_seconds`` in :mod:`voiceplatform.limits`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from voiceplatform.limits import ResourceLimits
from voiceplatform.models import SigninFailure, SigninLockout

USER = "user"
IP = "ip"
SCOPES = (USER, IP)


@dataclass(frozen=True)
class ThrottlePolicy:
    max_per_user: int
    max_per_ip: int
    window: timedelta
    lockout: timedelta

    @classmethod
    def from_limits(cls, limits: ResourceLimits) -> ThrottlePolicy:
        return cls(limits.max_signin_failures_per_user, limits.max_signin_failures_per_ip,
                   timedelta(seconds=limits.signin_failure_window_seconds), timedelta(seconds=limits.signin_lockout_seconds))


def active_lockout(session: Session, scope: str, key: str, now: datetime) -> SigninLockout | None:
    """The lockout of ``key`` in force at ``now``, if any (the one that lasts longest)."""
    return session.scalars(select(SigninLockout).where(
        SigninLockout.scope == scope, SigninLockout.key == key, SigninLockout.cleared_at.is_(None),
        SigninLockout.until > now).order_by(SigninLockout.until.desc())).first()


def blocking_lockout(session: Session, email: str, ip: str, now: datetime) -> SigninLockout | None:
    """What refuses a sign-in for ``email`` from ``ip`` now: the account's lockout, else the address's."""
    return active_lockout(session, USER, email, now) or active_lockout(session, IP, ip, now)


def record_failure(session: Session, email: str, ip: str, now: datetime, policy: ThrottlePolicy) -> list[SigninLockout]:
    """Count one failed sign-in; the lockouts it starts (none, the account's, the address's or both)."""
    session.execute(delete(SigninFailure).where(SigninFailure.at < now - policy.window))
    failure = SigninFailure(at=now, email=email, ip=ip)
    session.add(failure)
    session.flush()
    started: list[SigninLockout] = []
    for scope, key, limit, column in ((USER, email, policy.max_per_user, SigninFailure.email),
                                      (IP, ip, policy.max_per_ip, SigninFailure.ip)):
        if active_lockout(session, scope, key, now) is not None:
            continue
        if _failures_since_last_lockout(session, scope, key, column, now - policy.window) >= limit:
            lockout = SigninLockout(scope=scope, key=key, locked_at=now, until=now + policy.lockout,
                                    last_failure_id=failure.id)
            session.add(lockout)
            started.append(lockout)
    session.flush()
    return started


def _failures_since_last_lockout(session: Session, scope: str, key: str, column: InstrumentedAttribute[str],
                                 since: datetime) -> int:
    answered = session.scalar(select(func.max(SigninLockout.last_failure_id)).where(
        SigninLockout.scope == scope, SigninLockout.key == key)) or 0
    return session.scalar(select(func.count()).select_from(SigninFailure).where(
        column == key, SigninFailure.at >= since, SigninFailure.id > answered)) or 0


def forget_failures(session: Session, email: str) -> None:
    """After a right password (or an admin's unlock): the account's earlier failures no longer count."""
    session.execute(delete(SigninFailure).where(SigninFailure.email == email))


def clear(session: Session, scope: str, key: str, now: datetime, by: int | None) -> list[SigninLockout]:
    """End the lockouts of ``key`` now (``by``: the admin's user id, None from the command line),
    and forget an account's failures so that it starts afresh. The lockouts cleared."""
    if scope not in SCOPES:
        raise ValueError(f"unknown lockout scope {scope!r}")
    cleared = list(session.scalars(select(SigninLockout).where(
        SigninLockout.scope == scope, SigninLockout.key == key, SigninLockout.cleared_at.is_(None),
        SigninLockout.until > now)))
    for lockout in cleared:
        lockout.cleared_at, lockout.cleared_by = now, by
    if scope == USER:
        forget_failures(session, key)
    else:
        session.execute(delete(SigninFailure).where(SigninFailure.ip == key))
    session.flush()
    return cleared


def active_lockouts(session: Session, now: datetime, scope: str | None = None) -> list[SigninLockout]:
    query = select(SigninLockout).where(SigninLockout.cleared_at.is_(None), SigninLockout.until > now)
    if scope is not None:
        query = query.where(SigninLockout.scope == scope)
    return list(session.scalars(query.order_by(SigninLockout.locked_at.desc())))
