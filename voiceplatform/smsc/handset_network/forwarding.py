"""Store and forward toward the gateways, as an SMSC does: every ``deliver_sm`` the handset
network sends (a delivery receipt, a part of a message from a handset) is *owed* until a gateway
answers it.

- No gateway is bound to receive: it is held, and sent when one binds.
- The connection ends before the answer (the gateway was killed, unbound, or the link dropped):
  it is sent again, to another receiver or to the next one that binds.
- The answer is a temporary error (:data:`TEMPORARY`: the gateway could not take it now): it is
  sent again after :data:`REDELIVER_SECONDS`, at most :data:`MAX_ATTEMPTS` times in all.
- Any other answer settles it: ``ESME_ROK``, or a permanent refusal (``ESME_RX_P_APPN``).

A gateway may so get a ``deliver_sm`` twice (it took one whose answer was lost with the
connection), as from a real SMSC: a receipt only moves a status forward, so a repeat changes
nothing. Each sending after the first is recorded (``redelivery``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from voiceplatform.smsc.handset_network.pdu import Status

#: ESME_RX_T_APPN: the gateway's "temporary application error, try again".
ESME_RX_T_APPN = 0x64
TEMPORARY = frozenset({ESME_RX_T_APPN, int(Status.ESME_RMSGQFUL), int(Status.ESME_RTHROTTLED)})
REDELIVER_SECONDS = 1.0
MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class Owed:
    """One ``deliver_sm`` body the network owes a gateway."""

    what: str  # "receipt" or "mo"
    body: bytes
    message_id: str | None = None  # a receipt's: the submit it reports on
    attempt: int = 1

    def again(self) -> Owed:
        return replace(self, attempt=self.attempt + 1)


def retry_after_answer(owed: Owed, status: int) -> bool:
    """Whether an answer of ``status`` leaves ``owed`` to send again later."""
    return status in TEMPORARY and owed.attempt < MAX_ATTEMPTS
