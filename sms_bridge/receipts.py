"""Delivery receipts: a ``deliver_sm`` whose ``esm_class`` marks it as a receipt, read into the
message id it is about and a platform status. Pure.

The text is the SMPP 3.4 appendix B format, read leniently (keys in any case, ``submit_date`` or
``submit date``, fields in any order, a missing or empty field left out; a value starts right
after its colon, so ``id: stat:DELIVRD`` has no id)::

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:...

The id is the ``receipted_message_id`` TLV when present, else the ``id:`` of the text. The state
is the ``message_state`` TLV when present, else the ``stat:`` word. A receipt with neither id, an
id longer than SMPP's 64 characters, or no state we can read, raises :class:`~sms_bridge.errors.MalformedReceiptError`.

``ACCEPTD`` is final in SMPP 3.4 (read by customer care on the subscriber's behalf) but means
"accepted by the network" to the SMSCs the platform meets, so it maps to ``accepted``, which is
not final. ``DELETED`` maps to ``undelivered``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sms_bridge.delivery_status import DeliveryStatus
from sms_bridge.errors import MalformedReceiptError

#: ``esm_class`` message-type bits (2-5) of a delivery receipt and of an intermediate notification.
ESM_SMSC_RECEIPT = 0x04
ESM_INTERMEDIATE_NOTIFICATION = 0x20
_ESM_TYPE_MASK = 0x3C

#: The ``stat:`` words, with the spellings some SMSCs use in full.
STAT_WORDS = {
    "DELIVRD": DeliveryStatus.DELIVERED, "DELIVERED": DeliveryStatus.DELIVERED,
    "UNDELIV": DeliveryStatus.UNDELIVERED, "UNDELIVERABLE": DeliveryStatus.UNDELIVERED,
    "FAILED": DeliveryStatus.UNDELIVERED, "DELETED": DeliveryStatus.UNDELIVERED,
    "EXPIRED": DeliveryStatus.EXPIRED,
    "REJECTD": DeliveryStatus.REJECTED, "REJECTED": DeliveryStatus.REJECTED,
    "UNKNOWN": DeliveryStatus.UNKNOWN,
    "ACCEPTD": DeliveryStatus.ACCEPTED, "ACCEPTED": DeliveryStatus.ACCEPTED,
    "ENROUTE": DeliveryStatus.ENROUTE,
}
#: The ``message_state`` TLV (SMPP 3.4 5.3.2.35; 0 and 9 are SMPP 5.0's SCHEDULED and SKIPPED).
MESSAGE_STATES = {
    0: DeliveryStatus.ENROUTE, 1: DeliveryStatus.ENROUTE, 2: DeliveryStatus.DELIVERED,
    3: DeliveryStatus.EXPIRED, 4: DeliveryStatus.UNDELIVERED, 5: DeliveryStatus.UNDELIVERED,
    6: DeliveryStatus.ACCEPTED, 7: DeliveryStatus.UNKNOWN, 8: DeliveryStatus.REJECTED,
    9: DeliveryStatus.UNDELIVERED,
}

#: An SMPP message_id is a C-octet string of at most 65 octets, its NUL included.
MAX_MESSAGE_ID = 64

_FIELD = re.compile(r"\b(id|sub|dlvrd|submit[ _]date|done[ _]date|stat|err):(\S*)", re.IGNORECASE)
_TEXT = re.compile(r"\btext\s*:", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """``message_id`` is what to correlate on; ``text_id`` is the text's own ``id:`` (the
    fallback, kept for SMSCs whose TLV and text differ)."""

    message_id: str
    status: DeliveryStatus
    state: str
    text_id: str | None = None
    error: str | None = None
    submitted: int | None = None
    delivered: int | None = None
    submit_date: datetime | None = None
    done_date: datetime | None = None
    text: str = ""


def is_receipt(esm_class: int) -> bool:
    """Whether a ``deliver_sm`` with this ``esm_class`` is a receipt rather than a message."""
    return esm_class & _ESM_TYPE_MASK in (ESM_SMSC_RECEIPT, ESM_INTERMEDIATE_NOTIFICATION)


def _c_string(value: str | bytes | None) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if value is None:
        return None
    value = value.split("\x00", 1)[0].strip()
    return value or None


def _date(value: str | None) -> datetime | None:
    if value is None or not value.isdigit() or len(value) not in (10, 12):
        return None
    try:
        return datetime.strptime(value, "%y%m%d%H%M%S" if len(value) == 12 else "%y%m%d%H%M")
    except ValueError:
        return None


def _count(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def parse_receipt(short_message: str | bytes, receipted_message_id: str | bytes | None = None,
                  message_state: int | None = None) -> DeliveryReceipt:
    text = short_message.decode("latin-1") if isinstance(short_message, bytes) else short_message
    cut = _TEXT.search(text)
    head, tail = (text[:cut.start()], text[cut.end():]) if cut else (text, "")
    fields: dict[str, str] = {}
    for key, value in _FIELD.findall(head):
        fields.setdefault(key.lower().replace("_", " "), value)
    text_id = _c_string(fields.get("id"))
    message_id = _c_string(receipted_message_id) or text_id
    if message_id is None:
        raise MalformedReceiptError("a delivery receipt with no receipted_message_id and no id: in its text",
                                    "receipted_message_id")
    if len(message_id) > MAX_MESSAGE_ID:
        raise MalformedReceiptError(f"a receipt's message id is {len(message_id)} characters; SMPP allows "
                                    f"{MAX_MESSAGE_ID}", "receipted_message_id")
    word = fields.get("stat", "").upper()
    if message_state is not None and message_state in MESSAGE_STATES:
        status, state = MESSAGE_STATES[message_state], word or f"message_state {message_state}"
    elif word in STAT_WORDS:
        status, state = STAT_WORDS[word], word
    else:
        raise MalformedReceiptError(
            f"the receipt for {message_id[:64]!r} has no state we know (stat:{word[:16]!r}, message_state {message_state})",
            "stat")
    return DeliveryReceipt(
        message_id=message_id, status=status, state=state, text_id=text_id, error=fields.get("err") or None,
        submitted=_count(fields.get("sub")), delivered=_count(fields.get("dlvrd")),
        submit_date=_date(fields.get("submit date")), done_date=_date(fields.get("done date")), text=tail,
    )
