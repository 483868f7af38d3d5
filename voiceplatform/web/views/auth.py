"""Signing in and out (``/login``, ``/logout``) with an e-mail and a password, and changing one's
password (``/password``).

A wrong password and an unknown e-mail get the same answer (401). While the e-mail or the IP
address is locked out after too many failures, every attempt, the right password too, gets that
answer plus "try again later" (429, with ``Retry-After``). Logout revokes the session on the
server; a password change revokes every session of that person and signs this browser in afresh.
"""

from __future__ import annotations

from datetime import datetime
from math import ceil

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from voiceplatform.db.request_session import db
from voiceplatform.limits import current as current_limits
from voiceplatform.models import Role, User
from voiceplatform.web import audit
from voiceplatform.web.clock import now
from voiceplatform.web.people import REVIEWERS, UserError, check_password, set_password
from voiceplatform.web.signin import attempt
from voiceplatform.web.throttle import ThrottlePolicy, record_failure
from voiceplatform.web.viewer import current_viewer, requires, safe_next, sign_in, sign_out, viewer

blueprint = Blueprint("auth", __name__)
WRONG = "Wrong e-mail or password."
LOCKED = WRONG + " Too many failed attempts: try again later."
EVERYONE = frozenset(Role)  # anyone signed in may change their own password


def _refused(target: str, email: str, locked_until: datetime | None) -> tuple[str, int, dict[str, str]]:
    if locked_until is None:
        return render_template("login.html", next=target, email=email, error=WRONG), 401, {}
    wait = max(1, ceil((locked_until - now()).total_seconds()))
    return render_template("login.html", next=target, email=email, error=LOCKED), 429, {"Retry-After": str(wait)}


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int, dict[str, str]] | str:
    target = safe_next(request.values.get("next"), url_for("web.recordings.listing"))
    if request.method == "GET":
        if current_viewer() is not None:
            return redirect(target)  # type: ignore[return-value]
        return render_template("login.html", next=target, email="")
    email = (request.form.get("email") or "").strip()
    result = attempt(db(), email, request.form.get("password") or "", request.remote_addr, now(),
                     ThrottlePolicy.from_limits(current_limits()))
    if result.user is None:
        return _refused(target, email, result.locked_until)
    user = result.user
    sign_in(user)
    audit.record(db(), audit.LOGIN, user.account_id, user.id)
    if user.role not in REVIEWERS:
        return redirect(url_for("web.recordings.listing"))  # type: ignore[return-value]  # answers 403 there
    return redirect(target)  # type: ignore[return-value]


@blueprint.route("/logout", methods=["POST"])
def logout() -> Response:
    person = current_viewer()
    if person is not None:
        audit.record(db(), audit.LOGOUT, person.account_id, person.user_id)
    sign_out()
    return redirect(url_for("web.auth.login"))  # type: ignore[return-value]


@blueprint.route("/password", methods=["GET", "POST"])
@requires(EVERYONE)
def change_password() -> Response | tuple[str, int] | str:
    person = viewer()
    if request.method == "GET":
        return render_template("password.html", viewer=person)
    user = db().get(User, person.user_id)
    assert user is not None
    new, again = request.form.get("new_password") or "", request.form.get("new_password_again") or ""
    if not check_password(user, request.form.get("password") or ""):
        record_failure(db(), user.email, request.remote_addr or "unknown", now(), ThrottlePolicy.from_limits(current_limits()))
        return render_template("password.html", viewer=person, error="The current password is wrong."), 400
    if new != again:
        return render_template("password.html", viewer=person, error="The new passwords differ."), 400
    try:
        ended = set_password(db(), user, new, now())
    except UserError as exc:
        return render_template("password.html", viewer=person, error=f"Not changed: {exc}."), 400
    audit.record(db(), audit.PASSWORD_CHANGE, user.account_id, user.id, details={"sessions_ended": ended, "by": "self"})
    sign_in(user)
    flash("Password changed. Every other session of yours is signed out.", "ok")
    return redirect(url_for("web.recordings.listing"))  # type: ignore[return-value]
