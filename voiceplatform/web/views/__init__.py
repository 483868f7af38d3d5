"""The web UI's routes: one blueprint ``web`` (every endpoint is named ``web.*``) holding a
blueprint per concept: auth (sign in and out, password), recordings (list, CSV, page, QA), media
(signed audio), audit (the admins' log) and lockouts (the admins' sign-in lockouts). The parent
checks CSRF on every state-changing request, answers errors as HTML pages (the API keeps its JSON
errors) and sets the security headers."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from voiceplatform.web import csrf
from voiceplatform.web.viewer import current_viewer
from voiceplatform.web.views import audit_log, auth, lockouts, media, recordings

PACKAGE = Path(__file__).resolve().parent.parent
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

blueprint = Blueprint("web", __name__, template_folder=str(PACKAGE / "templates"), static_folder=str(PACKAGE / "static"),
                      static_url_path="/static/web")
for child in (auth.blueprint, recordings.blueprint, media.blueprint, audit_log.blueprint, lockouts.blueprint):
    blueprint.register_blueprint(child)


@blueprint.route("/")
def home() -> Response:
    return redirect(url_for("web.recordings.listing"))  # type: ignore[return-value]


@blueprint.before_request
def check_csrf() -> None:
    csrf.check()


@blueprint.after_request
def security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")  # signed media URLs never leak in a Referer
    if request.endpoint != "web.static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


@blueprint.errorhandler(HTTPException)
def html_error(error: HTTPException) -> tuple[str, int]:
    status = error.code or 500
    return render_template("error.html", status=status, title=error.name, message=error.description,
                           viewer=current_viewer()), status
