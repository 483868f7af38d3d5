"""Per-message pricing, by the platform's rule (campaigns.pricing.whatsapp_charge on a Rates):
marketing and authentication per delivered message, utility outside the window only, service and
free entry points free, a category the rates do not name at the card's per-message rate."""

from __future__ import annotations

from decimal import Decimal

import pytest

from voiceplatform.campaigns.pricing import Rates, whatsapp_charge

from whatsapp_bridge.config import WhatsAppSettings
from whatsapp_bridge.errors import WhatsAppPayloadError
from whatsapp_bridge.pricing import BRIEF_MARKETING_RATE_SAR, bridge_rates, charge

RATES = {"marketing": "0.25", "utility": "0.08", "authentication": "0.08"}


@pytest.mark.parametrize(("category", "pricing_type", "expected"), [
    ("marketing", "regular", "0.25"), ("authentication", "regular", "0.08"), ("utility", "regular", "0.08"),
    ("utility", "free_customer_service", "0"), ("service", "regular", "0"), ("service", None, "0"),
    ("marketing", "free_entry_point", "0"), ("marketing", "free_customer_service", "0"),
    ("MARKETING", "regular", "0.25"), ("marketing_lite", "regular", "0.25"),
    ("authentication_international", "regular", "0.08"),
])
def test_charge(category: str | None, pricing_type: str | None, expected: str) -> None:
    assert charge(category, pricing_type, RATES) == Decimal(expected)


def test_not_billable_is_free_and_the_brief_rate() -> None:
    assert charge("marketing", "regular", RATES, billable=False) == 0
    assert charge("marketing", "regular", {"marketing": BRIEF_MARKETING_RATE_SAR}) == Decimal("0.25")
    assert charge("marketing", "regular", RATES) * 180_000 == Decimal("45000")  # the brief: 180,000 a month


def test_a_category_the_rates_do_not_name_pays_the_per_message_rate() -> None:
    card = Rates(whatsapp_per_message=Decimal("0.007"))
    assert charge("referral_conversion", "regular", bridge_rates(RATES, card)) == Decimal("0.007")
    assert charge(None, "regular", bridge_rates(RATES, card)) == Decimal("0.007")
    assert charge("referral_conversion", "free_entry_point", bridge_rates(RATES, card)) == 0


def test_bad_rates_are_refused() -> None:
    for bad in (0.25, "abc", "-1", "NaN", True, None, [1]):
        with pytest.raises(WhatsAppPayloadError):
            charge("marketing", "regular", {"marketing": bad})


@pytest.mark.parametrize(("category", "pricing_type"), [
    ("marketing", "regular"), ("utility", "regular"), ("utility", "free_customer_service"), ("service", "regular"),
    ("authentication", None), ("referral_conversion", "regular"), ("marketing", "free_entry_point")])
def test_one_rule_the_bridge_prices_as_the_platform_does(category: str, pricing_type: str | None) -> None:
    card = Rates.from_mapping({"whatsapp_per_message": "0.004", "whatsapp_per_category": {
        "marketing": "0.25", "utility": "0.02", "authentication": "0.03"}})
    assert charge(category, pricing_type, card) == whatsapp_charge(card, category, pricing_type)
    settings = WhatsAppSettings.from_env({"VOICEPLATFORM_WHATSAPP_RATES": "marketing=0.30"})
    assert settings.rates.whatsapp_rate("marketing") == Decimal("0.30")
    assert settings.rates.whatsapp_rate("marketing_lite") == Decimal("0.30")  # its parent's, unless given
    assert WhatsAppSettings(rates={"utility": "0.05"}).rates.whatsapp_rate("utility") == Decimal("0.05")
