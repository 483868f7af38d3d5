"""The public short links: ``GET /l/<token>`` records a click on a click-tracked link and
redirects (302) to the campaign's URL, or to the neutral page ``/l/`` when the campaign has
none, or when the link is unknown, forged or expired (voiceplatform.engagement.clicks). No token
is needed (recipients' phones follow these links), every answer is the same redirect whatever
went wrong, and nothing is redirected to but a URL a campaign saved (checked by
voiceplatform.safety.redirect_urls). ``HEAD`` (link previews) answers the same without
recording a click. docs/engagement.md."""

from __future__ import annotations

from flask import Blueprint, Response, request
from werkzeug.urls import iri_to_uri

from voiceplatform.db.request_session import db
from voiceplatform.engagement.clicks import follow
from voiceplatform.models.base import utcnow

blueprint = Blueprint("links", __name__, url_prefix="/l")
NEUTRAL_PATH = "/l/"
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
NEUTRAL_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>Thank you</title>
<style>body{font-family:system-ui,sans-serif;margin:20vh auto;max-width:30em;text-align:center;color:#333}</style>
</head><body><h1>Thank you</h1><p>You can close this page.</p><p lang="ar" dir="rtl">شكراً لك. يمكنك إغلاق هذه الصفحة.</p>
</body></html>
"""


@blueprint.get("/")
def neutral():  # type: ignore[no-untyped-def]
    """The content-neutral page a click lands on when the campaign gave no page of its own."""
    return Response(NEUTRAL_PAGE, mimetype="text/html", headers=PRIVATE)


@blueprint.get("/<token>")
def click(token: str):  # type: ignore[no-untyped-def]
    followed = follow(db(), token, user_agent=request.headers.get("User-Agent"), address=request.remote_addr,
                      now=utcnow(), record=request.method != "HEAD")
    location = iri_to_uri(followed.target) if followed.target else NEUTRAL_PATH
    return Response("", status=302, headers={"Location": location, **PRIVATE})
