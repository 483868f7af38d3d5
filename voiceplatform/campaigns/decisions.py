"""What happens to a campaign contact after a call: final, or another attempt and when.

Pure: the dialer calls ``after_call`` with the outcome and the attempts made so far, and stores
the decision. An answered call is final. Other outcomes follow the campaign's retry rules; the
next attempt waits for the contact's calling window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from voiceplatform.campaigns.settings import CampaignSettings
from voiceplatform.campaigns.windows import next_opening


@dataclass(frozen=True)
class Decision:
    final: bool
    next_attempt_at: datetime | None
    reason: str


def after_call(settings: CampaignSettings, outcome: str, attempts: int, now: datetime, zone_name: str) -> Decision:
    """``attempts`` counts the call that just ended."""
    if outcome == "answered":
        return Decision(True, None, "answered")
    rule = settings.retries.get(outcome)
    if rule is None or attempts > rule.retries:
        return Decision(True, None, f"{outcome}: no retry left" if rule else f"{outcome}: not retried")
    due = now + timedelta(minutes=rule.minutes)
    return Decision(False, next_opening(settings.window.calling_window(), due, zone_name),
                    f"{outcome}: retry {attempts} of {rule.retries}")
