"""What one bridge process has done since it started, for its log, its status line and the
benchmark. Counted in memory (the database has the messages themselves)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Counters:
    parts_submitted: int = 0  # submit_sm written
    parts_accepted: int = 0
    parts_slowed: int = 0  # answered ESME_RTHROTTLED or ESME_RMSGQFUL: tried again later
    parts_deferred: int = 0  # refused with a temporary error (esme.TEMPORARY): tried again later
    parts_refused: int = 0  # any other error status: the message is rejected
    parts_unanswered: int = 0  # written, no submit_sm_resp: unknown (or resent, by the policy)
    messages_failed: int = 0  # nothing could be sent (no sender, a text SMPP cannot carry)
    receipts: int = 0
    receipts_held: int = 0  # came before their submit_sm_resp was stored
    receipts_malformed: int = 0
    mo_parts: int = 0
    mo_messages: int = 0
    mo_incomplete: int = 0  # delivered with parts missing, after the reassembly timeout
    mo_malformed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
