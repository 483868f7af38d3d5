"""Phone numbers: the E.164 fast path gives exactly what phonenumbers' general parser gives."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from phonenumbers import timezone as number_zones

from voiceplatform.phone import InvalidPhoneNumber, parse_phone, to_e164


def _reference(text: str, region: str = "US") -> tuple[str, str] | None:
    """What the platform computed before the fast path: parse, is_valid_number, time zones."""
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    zones = number_zones.time_zones_for_number(number)
    return (phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
            zones[0] if zones and zones[0] != "Etc/Unknown" else "UTC")


def _ours(text: str) -> tuple[str, str] | None:
    try:
        phone = parse_phone(text)
    except InvalidPhoneNumber:
        return None
    return phone.e164, phone.zone


def test_the_fast_path_agrees_with_phonenumbers_on_many_numbers() -> None:
    rng = random.Random(20261201)
    codes = [1, 7, 20, 33, 39, 44, 49, 61, 86, 91, 212, 262, 599, 965, 966, 968, 971, 973, 974]
    cases = [f"+{rng.choice(codes)}{'0' if rng.random() < 0.1 else ''}{rng.randint(10**5, 10**11)}" for _ in range(5000)]
    cases += ["+113304643502", "+390612345678", "+39 06 1234 5678", "(202) 555-0123", "+1 202 555 0123"]
    mismatches = [(text, _reference(text), _ours(text)) for text in cases if _reference(text) != _ours(text)]
    assert not mismatches, mismatches[:5]
    assert sum(_ours(text) is not None for text in cases) > 200  # the sample holds valid numbers too


@pytest.mark.parametrize("text, e164, zone", [
    ("+966501234567", "+966501234567", "Asia/Riyadh"),
    ("+971501234567", "+971501234567", "Asia/Dubai"),
    ("(202) 555-0123", "+12025550123", "America/New_York"),
])
def test_numbers_and_their_zones(text: str, e164: str, zone: str) -> None:
    assert parse_phone(text) == parse_phone(e164)
    assert (parse_phone(text).e164, parse_phone(text).zone) == (e164, zone)
    assert to_e164(text) == e164


@pytest.mark.parametrize("text", ["", "   ", "+1", "+12345", "hello", "+9999999999999"])
def test_nonsense_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        parse_phone(text)
