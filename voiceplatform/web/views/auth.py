"""Signing in and out (``/login``, ``/logout``), with an e-mail and a password."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for

from voiceplatform.api.database import db
from voiceplatform.web import audit
from voiceplatform.web.people import REVIEWERS, check_login, user_by_email
from voiceplatform.web.viewer import current_viewer, safe_next, sign_in, sign_out

blueprint = Blueprint("auth", __name__)


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int] | str:
    target = safe_next(request.values.get("next"), url_for("web.recordings.listing"))
    if request.method == "GET":
        if current_viewer() is not None:
            return redirect(target)  # type: ignore[return-value]
        return render_template("login.html", next=target, email="")
    email = (request.form.get("email") or "").strip()
    user = check_login(db(), email, request.form.get("password") or "")
    if user is None:
        known = user_by_email(db(), email)
        if known is not None:
            audit.record(db(), audit.LOGIN_FAILED, known.account_id, known.id)
        return render_template("login.html", next=target, email=email, error="Wrong e-mail or password."), 401
    sign_in(user)
    audit.record(db(), audit.LOGIN, user.account_id, user.id)
    if user.role not in REVIEWERS:
        return redirect(url_for("web.recordings.listing"))  # type: ignore[return-value]  # answers 403 there
    return redirect(target)  # type: ignore[return-value]


@blueprint.route("/logout", methods=["POST"])
def logout() -> Response:
    viewer = current_viewer()
    if viewer is not None:
        audit.record(db(), audit.LOGOUT, viewer.account_id, viewer.user_id)
    sign_out()
    return redirect(url_for("web.auth.login"))  # type: ignore[return-value]
