"""Recovering the claims of a worker that died: contacts left ``dialling`` whose lease ran out.

A live worker renews the lease of its calls every few seconds, so an expired lease means the
worker is gone. Its calls died with it: the switch hangs up a channel whose FastAGI or ESL socket
closes, and an originate still ringing finds nobody to run the flow. Each such call is settled
with outcome ``failed`` and cause ``worker_lost`` (or ``answered`` when the answer was recorded),
through the same settlement as any call, so the retry rules decide what happens next and the
contact still ends in exactly one final state.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceplatform.campaigns.pricing import Rates
from voiceplatform.dialer.settle import settle
from voiceplatform.models import Call, CampaignContact, CampaignContactStatus

WORKER_LOST = "worker_lost"


def recover_abandoned(session: Session, campaign_id: int, rates: Rates, now: datetime,
                      keep: set[str] | frozenset[str] = frozenset()) -> int:
    """Settle the expired claims of ``campaign_id``, except the calls in ``keep`` (the caller's own)."""
    stale = session.scalars(
        select(CampaignContact).where(
            CampaignContact.campaign_id == campaign_id, CampaignContact.status == CampaignContactStatus.DIALLING,
            (CampaignContact.claimed_until.is_(None)) | (CampaignContact.claimed_until < now))
    ).all()
    stale = [entry for entry in stale if entry.last_call_id not in keep]
    for entry in stale:
        call = session.get(Call, entry.last_call_id) if entry.last_call_id else None
        if call is None:
            entry.status, entry.next_attempt_at = CampaignContactStatus.PENDING, now
            entry.claimed_by = entry.claimed_until = None
            continue
        if call.outcome is None:
            call.outcome = "answered" if call.answered_at is not None else "failed"
            call.cause = WORKER_LOST
            call.ended_at = call.ended_at or now
            call.errors = [*(call.errors or []), f"the worker dialling this call stopped ({entry.claimed_by})"]
        settle(session, call, call.outcome, rates, now)
    return len(stale)
