"""What one WhatsApp message costs, under per-message pricing (since 1 July 2025).

Meta charges per **delivered** template message, by the template's category:

* ``marketing`` (and ``marketing_lite``), ``authentication`` (and ``authentication_international``):
  every delivered message;
* ``utility``: only outside the customer-service window (the webhook's pricing type ``regular``);
  inside it (``free_customer_service``) it is free;
* ``service`` (free-form replies inside the window): free;
* anything with pricing type ``free_customer_service`` or ``free_entry_point`` (the 72-hour window
  after a click-to-WhatsApp ad): free; ``billable: false`` in the webhook: free.

Rates are the caller's (an account's rate card, per category, in its currency): the brief's
0.25 SAR a WhatsApp message is the marketing rate (:data:`BRIEF_MARKETING_RATE_SAR`). The caller
charges once per message, on the first delivered (or read) status carrying ``pricing``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Mapping

from whatsapp_bridge.errors import UnpricedCategoryError, WhatsAppPayloadError

BRIEF_MARKETING_RATE_SAR = Decimal("0.25")
FREE_TYPES = frozenset({"free_customer_service", "free_entry_point"})
FREE_CATEGORIES = frozenset({"service"})
WINDOW_FREE_CATEGORIES = frozenset({"utility"})  # free unless the pricing type is regular
RATE_FALLBACKS = {"marketing_lite": "marketing", "authentication_international": "authentication"}
ZERO = Decimal("0")


def rate(rates: Mapping[str, object], category: str) -> Decimal:
    """The rate of ``category`` in ``rates`` (strings, ints or Decimals; a float is refused, as
    0.1 is not 0.1). ``marketing_lite`` and ``authentication_international`` fall back to
    ``marketing`` and ``authentication`` when they have no rate of their own."""
    value = rates.get(category)
    if value is None and category in RATE_FALLBACKS:
        value = rates.get(RATE_FALLBACKS[category])
    if value is None:
        raise UnpricedCategoryError(category)
    field = f"rates.{category}"
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise WhatsAppPayloadError(f"{field} must be a decimal string, not {type(value).__name__}", field)
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise WhatsAppPayloadError(f"{field} is not a number: {str(value)[:20]!r}", field) from exc
    if not amount.is_finite() or amount < 0:
        raise WhatsAppPayloadError(f"{field} must be a finite amount of 0 or more", field)
    return amount


def charge(category: str | None, pricing_type: str | None, rates: Mapping[str, object], *,
           billable: bool | None = None) -> Decimal:
    """The charge for one delivered message priced ``category`` / ``pricing_type`` (the
    webhook's ``pricing.category`` and ``pricing.type``). Raises :class:`UnpricedCategoryError`
    for a billable category that ``rates`` has no rate for (record it, do not guess)."""
    if billable is False or pricing_type in FREE_TYPES or category is None or category in FREE_CATEGORIES:
        return ZERO
    category = category.lower()
    if category in FREE_CATEGORIES:
        return ZERO
    if category in WINDOW_FREE_CATEGORIES and pricing_type not in (None, "regular"):
        return ZERO
    return rate(rates, category)
