"""Signing in to the web UI: failed attempts, lockouts and server-side sessions.

They live in the database (not in a process's memory) so that a throttle holds across every
worker process and a restart, and so that logging out or changing a password revokes a session
wherever it is used. None of these tables is called ``sessions``: that name is kept for flow
sessions.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from voiceplatform.models.base import Base, UtcDateTime, utcnow


class SigninFailure(Base):
    """One wrong password (or unknown e-mail) given to the sign-in form. Rows older than the
    counting window are deleted as new ones are written."""

    __tablename__ = "signin_failures"
    __table_args__ = (Index("ix_signin_failures_email_at", "email", "at"), Index("ix_signin_failures_ip_at", "ip", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    email: Mapped[str] = mapped_column(String(320))  # normalised (lower case), known to us or not
    ip: Mapped[str] = mapped_column(String(64))


class SigninLockout(Base):
    """An account (``scope`` "user", ``key`` the e-mail) or an address (``scope`` "ip") that may
    not sign in until ``until``, unless an admin clears it first (``cleared_at``)."""

    __tablename__ = "signin_lockouts"
    __table_args__ = (Index("ix_signin_lockouts_scope_key", "scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))  # user | ip
    key: Mapped[str] = mapped_column(String(320))
    locked_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    until: Mapped[datetime] = mapped_column(UtcDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cleared_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: from the command line
    #: The newest failure this lockout answered: once it ends, only later failures count again.
    last_failure_id: Mapped[int] = mapped_column(default=0)


class WebSession(Base):
    """A signed-in person's session. The cookie carries a random id; only its SHA-256 is stored,
    so a copy of the database signs nobody in."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())  # the absolute end, whatever the activity
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ip: Mapped[str | None] = mapped_column(String(64))
