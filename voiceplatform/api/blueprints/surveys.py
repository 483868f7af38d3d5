"""A campaign's survey results, on any channel: ``GET /campaigns/<id>/survey`` (per question:
counts per answer with labels, and count, average, min, max and distribution of numeric answers)
and ``GET /campaigns/<id>/survey/export`` (CSV, UTF-8 with a byte-order mark: every answer, with
the recipient, phone, question, value, label, what was typed, when and on which channel).
Visible to the campaign's account and its master accounts only (voiceplatform.surveys)."""

from __future__ import annotations

from flask import Blueprint

from voiceplatform.api.auth import owned, requires
from voiceplatform.api.csv_download import campaign_csv
from voiceplatform.db.request_session import db
from voiceplatform.models import Campaign, Role
from voiceplatform.surveys.export import answer_lines
from voiceplatform.surveys.results import survey_results

blueprint = Blueprint("surveys", __name__, url_prefix="/campaigns")


@blueprint.get("/<int:campaign_id>/survey")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def survey(campaign_id: int):  # type: ignore[no-untyped-def]
    return survey_results(db(), owned(db().get(Campaign, campaign_id), f"campaign {campaign_id}"))


@blueprint.get("/<int:campaign_id>/survey/export")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def survey_export(campaign_id: int):  # type: ignore[no-untyped-def]
    owned(db().get(Campaign, campaign_id), f"campaign {campaign_id}")
    return campaign_csv(campaign_id, f"campaign-{campaign_id}-survey.csv", answer_lines)
