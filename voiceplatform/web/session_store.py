"""Server-side sessions of the web UI (table ``web_sessions``).

Signing in makes a row and puts a random id in the (signed) session cookie; the row keeps only
the id's SHA-256, so the database alone signs nobody in. A session ends when it is revoked
(logout, a password change), when it has been idle for ``WEB_SESSION_IDLE_MINUTES`` or when it is
``WEB_SESSION_HOURS`` old, whichever comes first. A cookie saved before the end is worth nothing
after it, whoever replays it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from voiceplatform.models import WebSession

DEFAULT_HOURS = 12.0
DEFAULT_IDLE_MINUTES = 60.0
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often (not on every range request)


@dataclass(frozen=True)
class SessionPolicy:
    lifetime: timedelta  # absolute, from sign-in
    idle: timedelta  # since the last request

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SessionPolicy:
        return cls(timedelta(hours=float(config["WEB_SESSION_HOURS"])),
                   timedelta(minutes=float(config["WEB_SESSION_IDLE_MINUTES"])))


def resolve_settings(config: dict[str, Any], environ: Mapping[str, str] = os.environ) -> None:
    """Fill ``WEB_SESSION_HOURS`` and ``WEB_SESSION_IDLE_MINUTES`` from the environment
    (``VOICEPLATFORM_WEB_SESSION_HOURS``, ``VOICEPLATFORM_WEB_SESSION_IDLE_MINUTES``) or the
    defaults, unless the app's config sets them; a value that is not a positive number is refused."""
    for key, default in (("WEB_SESSION_HOURS", DEFAULT_HOURS), ("WEB_SESSION_IDLE_MINUTES", DEFAULT_IDLE_MINUTES)):
        raw = config.get(key, environ.get(f"VOICEPLATFORM_{key}") or default)
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"{key}={raw!r} is not a number") from None
        if not value > 0:
            raise ValueError(f"{key}={raw!r} must be positive")
        config[key] = value


def hash_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(session: Session, user_id: int, now: datetime, policy: SessionPolicy, ip: str | None) -> str:
    """A new session for ``user_id``; the id to put in the cookie. The person's ended sessions are
    deleted on the way (their rows serve no purpose once over)."""
    session.execute(delete(WebSession).where(WebSession.user_id == user_id, WebSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=hash_id(token), user_id=user_id, created_at=now, last_seen_at=now,
                           expires_at=now + policy.lifetime, ip=(ip or "")[:64] or None))
    session.flush()
    return token


def find(session: Session, token: str, now: datetime, policy: SessionPolicy) -> WebSession | None:
    """The live session with this id (its last-seen time brought up to date), else None."""
    row = session.scalars(select(WebSession).where(WebSession.token_hash == hash_id(token))).first()
    if row is None or row.revoked_at is not None or now >= row.expires_at or now >= row.last_seen_at + policy.idle:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row


def revoke(session: Session, token: str, now: datetime) -> None:
    session.execute(update(WebSession).where(WebSession.token_hash == hash_id(token), WebSession.revoked_at.is_(None))
                    .values(revoked_at=now))


def revoke_all(session: Session, user_id: int, now: datetime) -> int:
    """End every session of one person (a password change); how many were live."""
    result = session.execute(update(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None),
                                                      WebSession.expires_at > now).values(revoked_at=now))
    return int(getattr(result, "rowcount", 0) or 0)
