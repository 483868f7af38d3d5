"""A message's statuses, and the rule that they only move forward.

``accepted`` when the platform handed it to the channel (charged, on submission); delivery
reports then move it to ``queued`` and ``sent`` (on its way) and to one final status:
``delivered``, ``undelivered``, ``expired``, ``rejected`` or ``failed``. A report never moves a
message back (``sent`` after ``delivered`` changes nothing) and the first final one decides.
The report words are those of voiceplatform.campaigns.message_outcomes.REPORTS.
"""

from __future__ import annotations

ACCEPTED = "accepted"
IN_PROGRESS = ("accepted", "queued", "sent")
FINAL = ("delivered", "undelivered", "expired", "rejected", "failed")
STATUSES = IN_PROGRESS + FINAL
_RANK = {**{status: rank for rank, status in enumerate(IN_PROGRESS)}, **dict.fromkeys(FINAL, len(IN_PROGRESS))}


def advance(current: str, report: str) -> str | None:
    """The status after ``report`` for a message at ``current``; None when it changes nothing
    (a step back, the same status again, anything after a final status)."""
    if report not in _RANK:
        raise ValueError(f"a message's status is one of {list(STATUSES)}, not {report!r}")
    if current in FINAL or _RANK[report] <= _RANK.get(current, -1):
        return None
    return report
