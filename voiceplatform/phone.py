"""Phone numbers as E.164, with phonenumbers. Every number stored or dialled goes through here."""

from __future__ import annotations

import phonenumbers

from voiceplatform.exceptions import VoicePlatformError


class InvalidPhoneNumber(VoicePlatformError):
    pass


def to_e164(raw: str, default_region: str = "US") -> str:
    """``raw`` as E.164 (+15551234567). Raises InvalidPhoneNumber with the reason."""
    text = (raw or "").strip()
    if not text:
        raise InvalidPhoneNumber("the number is empty")
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"{raw!r} is not a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(f"{raw!r} is not a valid number for {phonenumbers.region_code_for_number(number) or default_region}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
