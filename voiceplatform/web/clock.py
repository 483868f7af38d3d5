"""The web UI's idea of now, for sessions and sign-in throttling.

``WEB_CLOCK`` in the app's config (a callable returning an aware datetime) replaces the real
clock, so tests move time forward to see a lockout or a session end without sleeping.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from flask import current_app

from voiceplatform.models.base import utcnow


def now() -> datetime:
    clock: Callable[[], datetime] | None = current_app.config.get("WEB_CLOCK")
    return clock() if clock is not None else utcnow()
