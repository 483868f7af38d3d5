"""The webhook payload the dialer emits: ``call.ended`` (a campaign's state changes are emitted by
``voiceplatform.campaigns.lifecycle``).
Emitted inside the transaction that makes the change (the outbox), so an event is recorded if and
only if its change is."""

from __future__ import annotations

from typing import Any

from voiceplatform.models import Call, CampaignContact
from voiceplatform.webhooks.events import emit

__all__ = ["call_event", "emit"]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def call_event(call: Call, entry: CampaignContact | None, *, final: bool) -> dict[str, Any]:
    return {
        "call_id": call.id, "campaign_id": call.campaign_id, "contact_id": call.contact_id, "to": call.to,
        "direction": call.direction, "caller": call.caller,  # an inbound call: to is the account's number
        "flow": call.flow_name, "outcome": call.outcome, "cause": call.cause, "amd": call.amd,
        "answered_at": _iso(call.answered_at), "ended_at": _iso(call.ended_at),
        "billable_seconds": float(call.billable_seconds or 0), "results": call.results or {},
        "attempt": entry.attempts if entry else None, "contact_final": final,
        "recordings": [recording.path for recording in call.recordings],
    }
