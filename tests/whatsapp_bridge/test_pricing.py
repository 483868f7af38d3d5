"""Per-message pricing: marketing and authentication per delivered message, utility outside the
window only, service and free entry points free."""

from __future__ import annotations

from decimal import Decimal

import pytest

from whatsapp_bridge.errors import UnpricedCategoryError, WhatsAppPayloadError
from whatsapp_bridge.pricing import BRIEF_MARKETING_RATE_SAR, charge

RATES = {"marketing": "0.25", "utility": "0.08", "authentication": "0.08"}


@pytest.mark.parametrize(("category", "pricing_type", "expected"), [
    ("marketing", "regular", "0.25"), ("authentication", "regular", "0.08"), ("utility", "regular", "0.08"),
    ("utility", "free_customer_service", "0"), ("service", "regular", "0"), ("service", None, "0"),
    ("marketing", "free_entry_point", "0"), ("marketing", "free_customer_service", "0"),
    ("MARKETING", "regular", "0.25"), ("marketing_lite", "regular", "0.25"),
    ("authentication_international", "regular", "0.08"), (None, "regular", "0"),
])
def test_charge(category: str | None, pricing_type: str | None, expected: str) -> None:
    assert charge(category, pricing_type, RATES) == Decimal(expected)


def test_not_billable_is_free_and_the_brief_rate() -> None:
    assert charge("marketing", "regular", RATES, billable=False) == 0
    assert charge("marketing", "regular", {"marketing": BRIEF_MARKETING_RATE_SAR}) == Decimal("0.25")
    assert charge("marketing", "regular", RATES) * 180_000 == Decimal("45000")  # the brief: 180,000 a month


def test_missing_and_bad_rates() -> None:
    with pytest.raises(UnpricedCategoryError) as caught:
        charge("referral_conversion", "regular", RATES)
    assert caught.value.category == "referral_conversion"
    for bad in (0.25, "abc", "-1", "NaN", True, None, [1]):
        with pytest.raises((WhatsAppPayloadError, UnpricedCategoryError)):
            charge("marketing", "regular", {"marketing": bad})
