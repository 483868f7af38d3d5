"""A campaign's progress: contacts by state, final outcomes, attempts by outcome on the campaign's
channel (calls on voice; messaging attempts on sms and whatsapp, with the messages and, for SMS,
the parts they took, and what they cost; on whatsapp the campaign's sessions' messages by their
last status: sent, delivered, read, failed), the current rate of interactions per second (``calls_per_second``: calls,
or sessions started) and the estimated time left. A few indexed GROUP BY queries, no full load."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from voiceplatform.campaigns.pricing import QUANTUM
from voiceplatform.campaigns.settings import CampaignSettings
from voiceplatform.models import Call, Campaign, CampaignContact, CampaignContactStatus, CampaignMessage
from voiceplatform.models.whatsapp import WhatsAppMessage

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
    if campaign.channel == "voice":
        attempts_by_outcome, recent = _calls(session, campaign, now)
        per_channel: dict[str, Any] = {}
    else:
        attempts_by_outcome, recent, per_channel = _messages(session, campaign, now)
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
        "channel": campaign.channel,
        "calls": sum(attempts_by_outcome.values()) if campaign.channel == "voice" else 0,
        "calls_by_outcome": attempts_by_outcome if campaign.channel == "voice" else {},
        "attempts": sum(attempts_by_outcome.values()), "attempts_by_outcome": attempts_by_outcome, **per_channel,
        "calls_per_second": round(rate, 3),
        "eta_seconds": round(waiting / pace) if waiting and pace else (0 if not waiting else None),
        "started_at": campaign.started_at.isoformat() if campaign.started_at else None,
        "finished_at": campaign.finished_at.isoformat() if campaign.finished_at else None,
    }


def _calls(session: Session, campaign: Campaign, now: datetime) -> tuple[dict[str, int], int]:
    """Calls by outcome, and how many were dialled within RATE_WINDOW (one pass)."""
    by_outcome: dict[str, int] = {}
    recent = 0
    for outcome, count, lately in session.execute(
            select(Call.outcome, func.count(), func.count(case((Call.dialling_at >= now - RATE_WINDOW, 1))))
            .where(Call.campaign_id == campaign.id).group_by(Call.outcome)):
        by_outcome[outcome or "in_progress"] = count
        recent += lately
    return by_outcome, recent


def _messages(session: Session, campaign: Campaign, now: datetime) -> tuple[dict[str, int], int, dict[str, Any]]:
    """Messaging attempts by outcome, how many started within RATE_WINDOW, and the messages and
    parts they sent (one pass)."""
    by_outcome: dict[str, int] = {}
    recent = messages = parts = 0
    cost = Decimal(0)
    for outcome, count, lately, sent, segments, spent in session.execute(
            select(CampaignMessage.outcome, func.count(),
                   func.count(case((CampaignMessage.sent_at >= now - RATE_WINDOW, 1))),
                   func.coalesce(func.sum(CampaignMessage.messages), 0), func.coalesce(func.sum(CampaignMessage.parts), 0),
                   func.coalesce(func.sum(CampaignMessage.cost), 0))
            .where(CampaignMessage.campaign_id == campaign.id).group_by(CampaignMessage.outcome)):
        by_outcome[outcome] = count
        recent += lately
        messages += int(sent)
        parts += int(segments)
        cost += Decimal(str(spent))
    extra: dict[str, Any] = {"messages": messages, "cost": str(cost.quantize(QUANTUM))}
    if campaign.channel == "sms":
        extra["parts"] = parts
    if campaign.channel == "whatsapp":
        extra["message_statuses"] = _whatsapp_statuses(session, campaign)
    return by_outcome, recent, extra


def _whatsapp_statuses(session: Session, campaign: Campaign) -> dict[str, int]:
    """The campaign's sessions' WhatsApp messages (every step's, not only the first) by their
    last status as Meta reported it (``sent``, ``delivered``, ``read``, ``failed``, ``unknown``;
    ``queued`` while not sent yet)."""
    return {str(status or "queued"): count for status, count in session.execute(
        select(WhatsAppMessage.status, func.count())
        .join(CampaignMessage, CampaignMessage.session_id == WhatsAppMessage.session_id)
        .where(CampaignMessage.campaign_id == campaign.id).group_by(WhatsAppMessage.status))}
