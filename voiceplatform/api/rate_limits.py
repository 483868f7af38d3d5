"""Requests per minute per account, counted in the database so a limit holds across processes
and workers: ``@rate_limited(scope, per_minute)`` after ``@requires``.

A sliding window: each request the limit lets through is a ``rate_limit_hits`` row; a request
is let through while fewer than ``per_minute`` rows of its account and scope are younger than 60
seconds, else it is answered 429 ``rate_limited`` with ``Retry-After`` (whole seconds until the
oldest of them leaves the window) and is not counted. Every request that is let through counts,
whatever its answer (a refused body costs the server as much). The check is one short
transaction of its own, serialised per account by a no-op UPDATE of the account's row (its row
lock on PostgreSQL, the write lock on SQLite), so two requests at once cannot both take the last
slot; it deletes the account's rows that left the window.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, Callable, TypeVar

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.api.auth import account_id
from voiceplatform.api.errors import ApiError
from voiceplatform.models import Account
from voiceplatform.models.base import utcnow
from voiceplatform.models.rate_limits import RateLimitHit

F = TypeVar("F", bound=Callable[..., Any])
WINDOW = timedelta(seconds=60)


def take(sessions: sessionmaker[Session], account: int, scope: str, per_window: int, now: datetime) -> float | None:
    """Count one request of ``account`` in ``scope`` at ``now``; None when it is let through, else
    the seconds until a slot frees (nothing counted)."""
    with sessions.begin() as db:
        db.execute(update(Account).where(Account.id == account).values(name=Account.name))
        window_start = now - WINDOW
        db.execute(delete(RateLimitHit).where(RateLimitHit.account_id == account, RateLimitHit.scope == scope,
                                              RateLimitHit.at <= window_start))
        hits = db.scalars(select(RateLimitHit.at).where(RateLimitHit.account_id == account, RateLimitHit.scope == scope)
                          .order_by(RateLimitHit.at.desc()).limit(per_window)).all()
        if len(hits) >= per_window:
            frees_at = hits[-1] + WINDOW  # the oldest of the newest per_window hits
            return max((frees_at - now).total_seconds(), 0.0)
        db.add(RateLimitHit(account_id=account, scope=scope, at=now))
    return None


def rate_limited(scope: str, per_window: Callable[[], int]) -> Callable[[F], F]:
    """The route lets ``per_window()`` requests of an account through in any 60 seconds."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            most = per_window()
            wait = take(current_app.extensions["vp_sessions"], account_id(), scope, most, utcnow())
            if wait is not None:
                seconds = max(1, math.ceil(wait))
                raise ApiError(429, "rate_limited", f"at most {most} of these requests a minute per account; "
                               f"try again in {seconds} s", {"limit": most, "window_seconds": int(WINDOW.total_seconds()),
                                                            "retry_after": seconds},
                               headers={"Retry-After": str(seconds)})
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
