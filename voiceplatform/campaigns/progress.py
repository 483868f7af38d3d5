"""A campaign's progress: contacts by state, final outcomes, calls by outcome, the current rate of
calls per second and the estimated time left. A few indexed GROUP BY queries, no full load."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from voiceplatform.campaigns.settings import CampaignSettings
from voiceplatform.models import Call, Campaign, CampaignContact, CampaignContactStatus

RATE_WINDOW = timedelta(seconds=30)


def progress(session: Session, campaign: Campaign, now: datetime) -> dict[str, Any]:
    by_status = {status.value: 0 for status in CampaignContactStatus}
    for status, count in session.execute(
            select(CampaignContact.status, func.count()).where(CampaignContact.campaign_id == campaign.id)
            .group_by(CampaignContact.status)):
        by_status[CampaignContactStatus(status).value] = count
    final_outcomes = dict(session.execute(
        select(CampaignContact.last_outcome, func.count())
        .where(CampaignContact.campaign_id == campaign.id, CampaignContact.status != CampaignContactStatus.PENDING,
               CampaignContact.status != CampaignContactStatus.DIALLING)
        .group_by(CampaignContact.last_outcome)).all())
    calls_by_outcome: dict[str, int] = {}
    recent = 0  # calls dialled within RATE_WINDOW, counted in the same pass over the campaign's calls
    for outcome, count, lately in session.execute(
            select(Call.outcome, func.count(), func.count(case((Call.dialling_at >= now - RATE_WINDOW, 1))))
            .where(Call.campaign_id == campaign.id).group_by(Call.outcome)):
        calls_by_outcome[outcome or "in_progress"] = count
        recent += lately
    total = sum(by_status.values())
    waiting = by_status["pending"] + by_status["dialling"]
    running_for = (now - campaign.started_at).total_seconds() if campaign.started_at else RATE_WINDOW.total_seconds()
    rate = recent / max(1.0, min(RATE_WINDOW.total_seconds(), running_for))
    settings = CampaignSettings.model_validate(campaign.settings or {})
    pace = rate or (settings.calls_per_second if campaign.status.value == "running" else 0)
    return {
        "campaign_id": campaign.id, "status": campaign.status.value, "reason": campaign.status_reason,
        "contacts": total, "final": total - waiting, "waiting": by_status["pending"], "in_progress": by_status["dialling"],
        "percent": round(100.0 * (total - waiting) / total, 1) if total else (100.0 if campaign.fanned_out_at else 0.0),
        "by_status": by_status,
        "outcomes": {str(key or "none"): value for key, value in final_outcomes.items()},
        "calls": sum(calls_by_outcome.values()), "calls_by_outcome": calls_by_outcome,
        "calls_per_second": round(rate, 3),
        "eta_seconds": round(waiting / pace) if waiting and pace else (0 if not waiting else None),
        "started_at": campaign.started_at.isoformat() if campaign.started_at else None,
        "finished_at": campaign.finished_at.isoformat() if campaign.finished_at else None,
    }
