"""A message's statuses, and the rule that they only move forward.

``accepted`` when the platform handed it to the channel (charged, on submission); delivery
reports then move it to ``queued`` and ``sent`` (on its way: the SMSC took the submit), to
``enroute`` (the network's intermediate receipt) and to one final status: ``delivered``,
``undelivered``, ``expired``, ``rejected``, ``failed`` or ``unknown`` (a submit the SMSC, or a
send the Graph API, never answered: the message may or may not have arrived). A report never
moves a message back (``sent`` after ``delivered`` changes nothing) and the first final one
decides, with two exceptions: a definite status (delivered, read, undelivered, expired, rejected)
may still replace ``unknown``, as the SMS bridge's own rule has it (an SMSC that first did not
know may learn); and ``read`` (WhatsApp: the contact opened it) comes after ``delivered``, so a
delivered message may still become read (a read one is read for good).
The report words are those of voiceplatform.campaigns.message_outcomes.REPORTS.
"""

from __future__ import annotations

ACCEPTED = "accepted"
UNKNOWN = "unknown"
DELIVERED = "delivered"
READ = "read"
IN_PROGRESS = ("accepted", "queued", "sent", "enroute")
#: What a receipt says for certain: each may replace ``unknown``.
DEFINITE = (DELIVERED, READ, "undelivered", "expired", "rejected")
FINAL = DEFINITE + ("failed", UNKNOWN)
#: The statuses in their order (``read`` after ``delivered``).
STATUSES = IN_PROGRESS + (DELIVERED, READ, "undelivered", "expired", "rejected", "failed", UNKNOWN)
#: Final statuses that a later one may still follow: ``delivered`` by ``read``.
FOLLOWED_BY = {DELIVERED: (READ,)}
_STEP = {status: step for step, status in enumerate(IN_PROGRESS)}


def advance(current: str, report: str) -> str | None:
    """The status after ``report`` for a message at ``current``; None when it changes nothing
    (a step back, the same status again, anything after a final status but a definite one after
    ``unknown``)."""
    if report not in STATUSES:
        raise ValueError(f"a message's status is one of {list(STATUSES)}, not {report!r}")
    if current in FINAL:
        if current == UNKNOWN and report in DEFINITE or report in FOLLOWED_BY.get(current, ()):
            return report
        return None
    if report in _STEP and _STEP[report] <= _STEP.get(current, -1):
        return None
    return report
