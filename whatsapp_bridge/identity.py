"""Who a WhatsApp user is, and how a message is addressed to them.

From April 2026 every webhook names the user by a business-scoped user id (BSUID, ``user_id`` /
``from_user_id``: ``US.13491208655302741918``, a parent BSUID ``US.ENT.11815799212886844830``),
and a user who adopts a username may come with no phone number (``wa_id``, ``from``) at all. So a
contact's identity holds both (:class:`ContactIdentity`), and **its address (the key sessions,
contacts and campaigns use) is the phone number in E.164 when Meta gives one, else the BSUID**:
the platform's contacts and campaigns are keyed on phone numbers, so a reply from a user known by
both must resume the session a campaign started with their number. The BSUID is kept beside it
(the windows are stored under both). This is the one rule: the driver and the inbox use
:func:`contact_address`.

Sending goes the other way (:func:`recipient_field`): a phone number goes in ``to`` as digits
without ``+``, a BSUID in ``recipient``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from whatsapp_bridge.errors import WhatsAppPayloadError

PHONE = re.compile(r"\+?([1-9][0-9]{5,14})")  # E.164: at most 15 digits, no leading 0
BSUID = re.compile(r"[A-Z]{2}(?:\.[A-Za-z0-9]{1,64}){1,3}")
MAX_BSUID_CHARS = 128


def is_bsuid(value: str) -> bool:
    return len(value) <= MAX_BSUID_CHARS and BSUID.fullmatch(value) is not None


def e164(phone: str) -> str | None:
    """``phone`` (``15551234567`` or ``+15551234567``) as ``+15551234567``; None if it is not one."""
    match = PHONE.fullmatch(phone)
    return f"+{match.group(1)}" if match else None


def recipient_field(address: str) -> tuple[str, str]:
    """Where ``address`` goes in a send request: ``("to", "15551234567")`` for a phone number
    (with or without ``+``), ``("recipient", "US.1349…")`` for a BSUID. Raises
    :class:`WhatsAppPayloadError` (field ``recipient``) for anything else."""
    if not isinstance(address, str):
        raise WhatsAppPayloadError("the recipient must be a phone number or a BSUID", "recipient")
    phone = e164(address)
    if phone is not None:
        return "to", phone[1:]
    if is_bsuid(address):
        return "recipient", address
    raise WhatsAppPayloadError(
        f"the recipient {address[:32]!r} is neither a phone number (digits, E.164) nor a BSUID", "recipient")


@dataclass(frozen=True, slots=True)
class ContactIdentity:
    """A WhatsApp user: ``user_id`` (BSUID) and/or ``phone`` (E.164 with ``+``)."""

    user_id: str | None
    phone: str | None

    @property
    def key(self) -> str:
        """The contact's address: the phone number (E.164) when known, else the BSUID."""
        found = self.phone or self.user_id
        assert found is not None  # contact_identity never builds one with neither
        return found


class Identified(Protocol):
    """What :func:`contact_address` reads (an inbound event, a status's recipient)."""

    @property
    def user_id(self) -> str | None: ...

    @property
    def wa_id(self) -> str | None: ...


def contact_identity(user_id: str | None, wa_id: str | None) -> ContactIdentity:
    """The identity of a user named by a BSUID and/or a ``wa_id`` (digits); values that are not
    what they claim are dropped. Raises :class:`WhatsAppPayloadError` when neither is usable."""
    bsuid = user_id if isinstance(user_id, str) and is_bsuid(user_id) else None
    phone = e164(wa_id) if isinstance(wa_id, str) else None
    if bsuid is None and phone is None:
        raise WhatsAppPayloadError("the user has neither a BSUID nor a phone number", "from")
    return ContactIdentity(bsuid, phone)


def contact_address(event: Identified) -> str:
    """The contact's address for ``event``: its phone number in E.164 when present, else its
    BSUID (a user with a username and no number)."""
    return contact_identity(event.user_id, event.wa_id).key
