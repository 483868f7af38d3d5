"""The audit log of the web UI: who listened to, downloaded or scored which recording, signed in,
or exported a list. Written in the request's transaction (the media route commits it before the
first byte leaves)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import request
from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceplatform.models import AuditEvent
from voiceplatform.models.base import utcnow

LOGIN = "login"
LOGIN_FAILED = "login.failed"
LOGOUT = "logout"
LOCKED = "login.locked"  # an e-mail or an IP address reached its failed sign-in limit
UNLOCKED = "login.unlocked"  # an admin cleared a lockout
PASSWORD_CHANGE = "password.change"
LISTEN = "listen"
DOWNLOAD = "download"
QA_UPDATE = "qa.update"
EXPORT = "export"
ACTIONS = (LISTEN, DOWNLOAD, QA_UPDATE, EXPORT, LOGIN, LOGIN_FAILED, LOGOUT, LOCKED, UNLOCKED, PASSWORD_CHANGE,
           "retention.delete")


def record(session: Session, action: str, account_id: int, user_id: int | None, *, recording_id: int | None = None,
           details: dict[str, Any] | None = None, at: datetime | None = None) -> AuditEvent:
    event = AuditEvent(action=action, account_id=account_id, user_id=user_id, recording_id=recording_id,
                       details=details or {}, ip=request.remote_addr if request else None, at=at or utcnow())
    session.add(event)
    return event


def url_already_used(session: Session, action: str, recording_id: int, user_id: int, nonce: str, window: timedelta) -> bool:
    """Whether a media URL (its ``nonce``) was already logged: one event per URL, not per range request."""
    since = utcnow() - window
    rows = session.scalars(select(AuditEvent.details).where(
        AuditEvent.recording_id == recording_id, AuditEvent.action == action, AuditEvent.user_id == user_id,
        AuditEvent.at >= since))
    return any((details or {}).get("nonce") == nonce for details in rows)
