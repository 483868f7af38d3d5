"""Phone numbers as E.164, with phonenumbers. Every number stored or dialled goes through here.

Parsing is the hot path of a contact import (a 1 MB file holds ~34,000 numbers), so a number
already written as E.164 skips phonenumbers' general parser, and the number's type is worked out
once and serves both validity and the time zone (phonenumbers' ``is_valid_number`` and
``time_zones_for_number`` each work it out again): about a quarter of the cost, same answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType
from phonenumbers import timezone as number_zones
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE, is_number_type_geographical

from voiceplatform.exceptions import VoicePlatformError

UNKNOWN_ZONE = "Etc/Unknown"


class InvalidPhoneNumber(VoicePlatformError):
    pass


@dataclass(frozen=True, slots=True)
class Phone:
    e164: str  # +15551234567
    zone: str  # the IANA time zone the number belongs to, "UTC" when phonenumbers cannot tell


def to_e164(raw: str, default_region: str = "US") -> str:
    """``raw`` as E.164 (+15551234567). Raises InvalidPhoneNumber with the reason."""
    return parse_phone(raw, default_region).e164


def parse_phone(raw: str, default_region: str = "US") -> Phone:
    """``raw`` as E.164 with its time zone. Raises InvalidPhoneNumber with the reason."""
    text = (raw or "").strip()
    if not text:
        raise InvalidPhoneNumber("the number is empty")
    number = _plain_e164(text)
    kind = phonenumbers.number_type(number) if number is not None else PhoneNumberType.UNKNOWN
    if number is None or kind == PhoneNumberType.UNKNOWN:  # not plain E.164, or needs the general parser's rules
        try:
            number = phonenumbers.parse(text, None if text.startswith("+") else default_region)
        except phonenumbers.NumberParseException as exc:
            raise InvalidPhoneNumber(f"{raw!r} is not a phone number: {exc}") from exc
        kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.UNKNOWN:
        region = phonenumbers.region_code_for_number(number) or default_region
        raise InvalidPhoneNumber(f"{raw!r} is not a valid number for {region}")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if is_number_type_geographical(kind, number.country_code or 0):  # always set once parsed
        zones = number_zones.time_zones_for_geographical_number(number)
    else:
        zones = number_zones._country_level_time_zones_for_number(number)  # what time_zones_for_number does
    return Phone(e164, zones[0] if zones and zones[0] != UNKNOWN_ZONE else "UTC")


def region_of(e164: str) -> str | None:
    """The ISO 3166 region (``SA``, ``US``) an E.164 number belongs to, as phonenumbers reads its
    prefix (a shared calling code such as +1 or +7 is told apart by the number's own digits);
    None for a number it cannot place."""
    number = _plain_e164(e164)
    if number is None:
        try:
            number = phonenumbers.parse(e164, None)
        except phonenumbers.NumberParseException:
            return None
    region = phonenumbers.region_code_for_number(number)
    return region if region and region != "ZZ" else None


def _plain_e164(text: str) -> phonenumbers.PhoneNumber | None:
    """``+`` and 8 to 15 digits, split into country code and national number without the general
    parser; None for anything else (leading zeros, national prefixes, punctuation...)."""
    digits = text[1:]
    if not (text.startswith("+") and digits.isascii() and digits.isdigit() and 8 <= len(digits) <= 15):
        return None
    for length in (1, 2, 3):
        code = int(digits[:length])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            national = digits[length:]
            if not national or national[0] == "0":
                return None
            return phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    return None
