"""What happens to a campaign contact after an attempt (a call, or a message and its delivery
report): final, or another attempt and when.

Pure: the dialer calls ``after_attempt`` with the outcome and the attempts made so far, and
stores the decision. A contact reached is final: an answered call, a call whose journey went on
by message (``continued``), a message sent or delivered. Other outcomes follow the campaign's
retry rules; the next attempt waits for the contact's calling (or sending) window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from voiceplatform.campaigns.settings import CampaignSettings
from voiceplatform.campaigns.windows import next_opening

#: Outcomes that reach the contact: final whatever the retry rules say, and not sent again by
#: ``resend`` (voiceplatform.campaigns.lifecycle.resend_failed).
REACHED = ("answered", "continued", "sent", "delivered")


@dataclass(frozen=True)
class Decision:
    final: bool
    next_attempt_at: datetime | None
    reason: str


def after_attempt(settings: CampaignSettings, outcome: str, attempts: int, now: datetime, zone_name: str) -> Decision:
    """``attempts`` counts the attempt that just ended."""
    if outcome in REACHED:
        return Decision(True, None, outcome)
    rule = settings.retries.get(outcome)
    if rule is None or attempts > rule.retries:
        return Decision(True, None, f"{outcome}: no retry left" if rule else f"{outcome}: not retried")
    due = now + timedelta(minutes=rule.minutes)
    return Decision(False, next_opening(settings.window.calling_window(), due, zone_name),
                    f"{outcome}: retry {attempts} of {rule.retries}")
