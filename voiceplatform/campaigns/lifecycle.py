"""A campaign's states and the moves between them (the state machine), shared by the API and the
dialer.

    draft ──start──▶ running ◀──resume── paused
      │                │  ▲                 ▲
   schedule          pause └──resend──┐     │
      ▼                ▼              │     │   (and reopen: a delivery report asks a retry)
    scheduled ─(time)─▶ running ──▶ completed (every contact final)
                       │
                       └──▶ failed (out of credit; pending contacts keep waiting: resend)
    any but completed ──cancel──▶ cancelled (waiting contacts become final ``cancelled``)

Each move is checked, written with the webhook event in the caller's transaction, and refused
with a ``TransitionRefused`` (the API answers 409, or 402 for credit) when it does not apply.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from voiceplatform.campaigns.decisions import REACHED
from voiceplatform.campaigns.pricing import Rates
from voiceplatform.db import rows_changed
from voiceplatform.models import Account, Campaign, CampaignContact, CampaignContactStatus, CampaignStatus
from voiceplatform.webhooks.events import emit

S, C = CampaignStatus, CampaignContactStatus
INSUFFICIENT_CREDIT = "insufficient_credit"
NO_CREDIT = "the balance does not cover the next call or message; add credit first"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def campaign_event(campaign: Campaign, **extra: object) -> dict[str, object]:
    return {"campaign_id": campaign.id, "name": campaign.name, "status": campaign.status.value,
            "reason": campaign.status_reason, "started_at": _iso(campaign.started_at),
            "finished_at": _iso(campaign.finished_at), **extra}


class TransitionRefused(Exception):
    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _require(campaign: Campaign, action: str, *allowed: CampaignStatus) -> None:
    if campaign.status not in allowed:
        raise TransitionRefused("invalid_state", f"cannot {action} a {campaign.status.value} campaign "
                                                 f"(only {', '.join(s.value for s in allowed)})")


def _move(session: Session, campaign: Campaign, status: CampaignStatus, event: str, reason: str | None = None,
          **extra: object) -> None:
    campaign.status, campaign.status_reason = status, reason
    session.flush()
    emit(session, campaign.account_id, event, campaign_event(campaign, **extra))


def lock(session: Session, campaign_id: int) -> None:
    """Serialise writers of the campaign for the rest of the transaction: a no-op UPDATE of its row
    (the row lock on PostgreSQL, the write lock on SQLite), taken before reading what the write
    depends on (the dialler's claims, completion, a delivery report that reopens it)."""
    session.execute(update(Campaign).where(Campaign.id == campaign_id).values(status=Campaign.status))


def has_credit(session: Session, campaign: Campaign, rates: Rates) -> bool:
    account = session.get(Account, campaign.account_id)
    return account is not None and (account.balance or 0) >= rates.minimum_charge(campaign.channel)


def schedule(session: Session, campaign: Campaign, at: datetime) -> None:
    _require(campaign, "schedule", S.DRAFT, S.SCHEDULED)
    campaign.scheduled_at = at
    campaign.status = S.SCHEDULED


def start(session: Session, campaign: Campaign, rates: Rates, now: datetime) -> None:
    _require(campaign, "start", S.DRAFT, S.SCHEDULED)
    if not has_credit(session, campaign, rates):
        raise TransitionRefused(INSUFFICIENT_CREDIT, NO_CREDIT, 402)
    campaign.started_at = campaign.started_at or now
    _move(session, campaign, S.RUNNING, "campaign.started")


def start_scheduled(session: Session, campaign: Campaign, rates: Rates, now: datetime) -> bool:
    """The scheduled time came: start, or fail for lack of credit (the brief: never left hanging)."""
    if campaign.status != S.SCHEDULED or (campaign.scheduled_at and campaign.scheduled_at > now):
        return False
    try:
        start(session, campaign, rates, now)
    except TransitionRefused as refused:
        fail(session, campaign, refused.code, now)
    return True


def pause(session: Session, campaign: Campaign) -> None:
    _require(campaign, "pause", S.RUNNING, S.SCHEDULED)
    _move(session, campaign, S.PAUSED, "campaign.paused")


def resume(session: Session, campaign: Campaign, rates: Rates) -> None:
    _require(campaign, "resume", S.PAUSED)
    if not has_credit(session, campaign, rates):
        raise TransitionRefused(INSUFFICIENT_CREDIT, NO_CREDIT, 402)
    _move(session, campaign, S.RUNNING, "campaign.resumed")


def cancel(session: Session, campaign: Campaign, now: datetime) -> int:
    """Waiting contacts become final; calls in progress finish and are recorded. Returns how many."""
    _require(campaign, "cancel", S.DRAFT, S.SCHEDULED, S.RUNNING, S.PAUSED, S.FAILED)
    cancelled = rows_changed(session,
        update(CampaignContact)
        .where(CampaignContact.campaign_id == campaign.id, CampaignContact.status == C.PENDING)
        .values(status=C.CANCELLED, final_at=now, next_attempt_at=None)
    )
    campaign.finished_at = now
    _move(session, campaign, S.CANCELLED, "campaign.cancelled", cancelled_contacts=cancelled)
    return cancelled


def fail(session: Session, campaign: Campaign, reason: str, now: datetime) -> None:
    campaign.finished_at = now
    _move(session, campaign, S.FAILED, "campaign.failed", reason)


def resend_failed(session: Session, campaign: Campaign, rates: Rates, now: datetime) -> int:
    """Run again for the contacts that were not reached (and, after a credit failure, the ones that
    were still waiting). Returns how many contacts will be dialled."""
    _require(campaign, "resend", S.COMPLETED, S.FAILED)
    if not has_credit(session, campaign, rates):
        raise TransitionRefused(INSUFFICIENT_CREDIT, NO_CREDIT, 402)
    reset = rows_changed(session,
        update(CampaignContact)
        .where(CampaignContact.campaign_id == campaign.id, CampaignContact.status == C.DONE,
               CampaignContact.last_outcome.not_in(REACHED))
        .values(status=C.PENDING, attempts=0, next_attempt_at=now, final_at=None)
    )
    waiting = remaining(session, campaign.id)
    campaign.finished_at = None
    _move(session, campaign, S.RUNNING, "campaign.resumed", resent_contacts=reset)
    return waiting


def reopen(session: Session, campaign: Campaign, reason: str) -> None:
    """A completed campaign runs again because one of its contacts is due another attempt (a
    messaging attempt's delivery report asked for a retry: campaigns.message_outcomes)."""
    _require(campaign, "reopen", S.COMPLETED)
    campaign.finished_at = None
    _move(session, campaign, S.RUNNING, "campaign.resumed", reason)


def remaining(session: Session, campaign_id: int) -> int:
    """Contacts not yet final (waiting or being dialled)."""
    return int(session.scalar(select(func.count()).select_from(CampaignContact).where(
        CampaignContact.campaign_id == campaign_id, CampaignContact.status.in_([C.PENDING, C.DIALLING]))) or 0)


def complete_if_done(session: Session, campaign: Campaign, now: datetime) -> bool:
    """Complete ``campaign`` when every contact is final (the caller took :func:`lock` first, so
    a delivery report that makes a contact due again cannot slip in between)."""
    if campaign.status != S.RUNNING or campaign.fanned_out_at is None or remaining(session, campaign.id):
        return False
    campaign.finished_at = now
    _move(session, campaign, S.COMPLETED, "campaign.completed")
    return True
