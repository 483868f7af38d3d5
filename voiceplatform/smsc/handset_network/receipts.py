"""Delivery receipts as an SMSC sends them: a deliver_sm with esm_class 0x04, the
``receipted_message_id`` and ``message_state`` TLVs, and the customary text
``id:... sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DELIVRD err:000 text:...``
(SMPP 3.4, appendix B).
"""

from __future__ import annotations

import time

from voiceplatform.smsc.handset_network.numbers import MESSAGE_STATES
from voiceplatform.smsc.handset_network.pdu import ESM_DELIVERY_RECEIPT, MessageState, ShortMessage, Tag

#: network_error_code: the GSM network type (3) and an error code, for failed deliveries.
GSM_NETWORK = 3


def _stamp(moment: float) -> str:
    return time.strftime("%y%m%d%H%M", time.gmtime(moment))


def receipt_text(message_id: str, stat: str, err: str, text: str, submitted: float, done: float) -> str:
    delivered = "001" if stat == "DELIVRD" else "000"
    excerpt = "".join(ch if " " <= ch < "\x7f" else "?" for ch in text[:20])
    return (f"id:{message_id} sub:001 dlvrd:{delivered} submit date:{_stamp(submitted)} "
            f"done date:{_stamp(done)} stat:{stat} err:{err} text:{excerpt}")


def receipt(submitted: ShortMessage, text: str, message_id: str, stat: str, err: str,
            submitted_at: float, done_at: float) -> ShortMessage:
    """The receipt of ``submitted``: from the handset (its destination) back to its sender."""
    state = MESSAGE_STATES.get(stat, MessageState.UNKNOWN)
    tlvs = {
        Tag.RECEIPTED_MESSAGE_ID: message_id.encode("ascii") + b"\x00",
        Tag.MESSAGE_STATE: bytes((state,)),
    }
    if state != MessageState.DELIVERED:
        tlvs[Tag.NETWORK_ERROR_CODE] = bytes((GSM_NETWORK,)) + int(err or 0).to_bytes(2, "big")
    body = receipt_text(message_id, stat, err, text, submitted_at, done_at).encode("ascii")
    return ShortMessage(
        source_addr=submitted.destination_addr,
        destination_addr=submitted.source_addr,
        short_message=body,
        esm_class=ESM_DELIVERY_RECEIPT,
        source_addr_ton=submitted.dest_addr_ton,
        source_addr_npi=submitted.dest_addr_npi,
        dest_addr_ton=submitted.source_addr_ton,
        dest_addr_npi=submitted.source_addr_npi,
        tlvs={int(tag): value for tag, value in tlvs.items()},
    )
