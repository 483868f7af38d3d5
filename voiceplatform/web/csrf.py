"""CSRF protection for the web UI: one random token per session, sent back by every form
(hidden field ``csrf_token``) and every JavaScript POST (header ``X-CSRF-Token``). A state-changing
request to the web UI without the session's token is refused with 400."""

from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def new_token() -> str:
    session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


def token() -> str:
    """The session's token (made on first use: the login form gets one before anyone signs in)."""
    existing = session.get("csrf")
    return existing if isinstance(existing, str) else new_token()


def check() -> None:
    if request.method in SAFE_METHODS:
        return
    expected = session.get("csrf")
    given = request.form.get(FIELD) or request.headers.get(HEADER) or ""
    if not isinstance(expected, str) or not given or not hmac.compare_digest(expected.encode(), given.encode()):
        abort(400, "the form's security token is missing or out of date: reload the page and try again")
