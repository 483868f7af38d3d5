"""Who is looking: the signed-in person, from the session cookie.

The session holds the user's id, when they signed in and their CSRF token; the user row is read
again on every request, so a user made inactive, moved or given another role loses access at
once. A session older than ``WEB_SESSION_HOURS`` (default 12) is over.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import wraps
from typing import Any, Callable, TypeVar
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, session, url_for

from voiceplatform.api.database import db
from voiceplatform.models import Account, Role, User

F = TypeVar("F", bound=Callable[..., Any])
SESSION_HOURS = 12


@dataclass(frozen=True)
class Viewer:
    user_id: int
    email: str
    name: str
    role: Role
    account_id: int
    account_name: str
    account_ids: tuple[int, ...]  # the account and its sub-accounts

    def sees(self, account_id: int) -> bool:
        return account_id in self.account_ids


def current_viewer() -> Viewer | None:
    if "viewer" not in g:
        g.viewer = _load()
    found: Viewer | None = g.viewer
    return found


def _load() -> Viewer | None:
    user_id, since = session.get("user_id"), session.get("login_at", 0)
    hours = current_app.config.get("WEB_SESSION_HOURS", SESSION_HOURS)
    if not isinstance(user_id, int) or time.time() - float(since) > hours * 3600:
        return None
    user = db().get(User, user_id)
    if user is None or not user.active:
        return None
    account = db().get(Account, user.account_id)
    assert account is not None
    return Viewer(user.id, user.email, user.name or "", user.role, account.id, account.name, tuple(account.tree_ids()))


def sign_in(user: User) -> None:
    """A fresh session for ``user`` (nothing from before the login survives)."""
    from voiceplatform.web.csrf import new_token

    session.clear()
    session["user_id"] = user.id
    session["login_at"] = int(time.time())
    new_token()
    g.pop("viewer", None)


def sign_out() -> None:
    session.clear()
    g.pop("viewer", None)


def requires(roles: frozenset[Role]) -> Callable[[F], F]:
    """The view needs a signed-in person with one of ``roles``: others are sent to the login page
    (a page they asked for) or refused with 401 (anything else), and a wrong role gets 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            viewer = current_viewer()
            if viewer is None:
                if request.method == "GET":
                    return redirect(url_for("web.auth.login", next=request.full_path.rstrip("?")))
                abort(401)
            if viewer.role not in roles:
                abort(403, f"the {viewer.role.value} role cannot use this page")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def viewer() -> Viewer:
    """The signed-in person (inside a view guarded by ``requires``)."""
    found = current_viewer()
    assert found is not None
    return found


def safe_next(target: str | None, default: str) -> str:
    """Where to go after signing in: a path on this site only (never another host)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
