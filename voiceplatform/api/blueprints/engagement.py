"""A campaign's clicks on its click-tracked links: ``GET /campaigns/<id>/clicks`` (clicks, unique
clickers, recipients reached, click-through rate, per link) and ``GET /campaigns/<id>/clicks/export``
(CSV, one row per recipient: recipient, phone, sent at, clicks, first and last click). Visible to
the campaign's account and its master accounts only (voiceplatform.engagement.report)."""

from __future__ import annotations

from flask import Blueprint

from voiceplatform.api.auth import owned, requires
from voiceplatform.api.csv_download import campaign_csv
from voiceplatform.db.request_session import db
from voiceplatform.engagement.report import click_summary, recipient_lines
from voiceplatform.models import Campaign, Role

blueprint = Blueprint("engagement", __name__, url_prefix="/campaigns")


@blueprint.get("/<int:campaign_id>/clicks")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def clicks(campaign_id: int):  # type: ignore[no-untyped-def]
    return click_summary(db(), owned(db().get(Campaign, campaign_id), f"campaign {campaign_id}"))


@blueprint.get("/<int:campaign_id>/clicks/export")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def clicks_export(campaign_id: int):  # type: ignore[no-untyped-def]
    owned(db().get(Campaign, campaign_id), f"campaign {campaign_id}")
    return campaign_csv(campaign_id, f"campaign-{campaign_id}-clicks.csv", recipient_lines)
