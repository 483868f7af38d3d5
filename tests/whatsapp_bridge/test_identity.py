"""Contacts are keyed on the BSUID when there is one, else on the phone number (E.164)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from whatsapp_bridge.errors import WhatsAppPayloadError
from whatsapp_bridge.identity import contact_address, contact_identity, e164, is_bsuid, recipient_field


@dataclass
class Event:
    user_id: str | None
    wa_id: str | None


def test_the_phone_is_the_address_when_known_and_the_bsuid_kept() -> None:
    identity = contact_identity("US.13491208655302741918", "15551234567")
    assert identity.key == "+15551234567" and identity.user_id == "US.13491208655302741918"
    assert contact_address(Event("US.13491208655302741918", "15551234567")) == "+15551234567"
    assert contact_address(Event("US.13491208655302741918", None)) == "US.13491208655302741918"
    assert contact_address(Event(None, "15551234567")) == "+15551234567"
    assert is_bsuid("US.ENT.11815799212886844830")


def test_neither_is_refused() -> None:
    with pytest.raises(WhatsAppPayloadError):
        contact_address(Event(None, None))
    with pytest.raises(WhatsAppPayloadError):
        contact_address(Event("not a bsuid", "abc"))


def test_recipient_field() -> None:
    assert recipient_field("+966501234567") == ("to", "966501234567")
    assert recipient_field("966501234567") == ("to", "966501234567")
    assert recipient_field("US.13491208655302741918") == ("recipient", "US.13491208655302741918")
    assert e164("0501234567") is None
