"""Who is looking: the signed-in person, from the session cookie.

The (signed) cookie holds a random session id and the CSRF token, nothing else. The id names a
row of ``web_sessions`` (see ``voiceplatform.web.session_store``), which logout and a password
change revoke, and which ends after ``WEB_SESSION_IDLE_MINUTES`` idle or ``WEB_SESSION_HOURS`` in
all. The user row is read again on every request, so a user made inactive, moved or given
another role loses access at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from typing import Any, Callable, TypeVar
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, session, url_for

from voiceplatform.db.request_session import db
from voiceplatform.models import Account, Role, User
from voiceplatform.web import session_store
from voiceplatform.web.clock import now
from voiceplatform.web.session_store import SessionPolicy

F = TypeVar("F", bound=Callable[..., Any])
SESSION_KEY = "sid"  # the cookie's one value besides the CSRF token


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
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        return None
    live = session_store.find(db(), token, now(), SessionPolicy.from_config(current_app.config))
    if live is None:
        return None
    user = db().get(User, live.user_id)
    if user is None or not user.active:
        return None
    account = db().get(Account, user.account_id)
    assert account is not None
    return Viewer(user.id, user.email, user.name or "", user.role, account.id, account.name, tuple(account.tree_ids()))


def sign_in(user: User) -> None:
    """A fresh session for ``user`` (nothing from before the login survives; a session the
    cookie named before is revoked)."""
    from voiceplatform.web.csrf import new_token

    sign_out()
    session[SESSION_KEY] = session_store.start(db(), user.id, now(), SessionPolicy.from_config(current_app.config),
                                               request.remote_addr)
    new_token()


def sign_out() -> None:
    """Revoke the cookie's session on the server (a saved copy of the cookie is then worthless)
    and empty the cookie."""
    token = session.get(SESSION_KEY)
    if isinstance(token, str) and token:
        session_store.revoke(db(), token, now())
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
